variable "project_id" {
  description = "Project that holds the job."
  type        = string
}

variable "region" {
  description = "Region of the job and its scheduler trigger."
  type        = string
}

variable "name" {
  description = "Job name (lowercase letters, digits and hyphens)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,48}[a-z0-9]$", var.name))
    error_message = "name must be 2-50 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "image" {
  description = "Container image (the project's one image; JOB_NAME picks the job)."
  type        = string
}

variable "job_module" {
  description = "Python module under jobs/ that the job runs (python -m jobs.<job_module>)."
  type        = string

  validation {
    condition     = contains(["confluence_sync", "quality_decay", "analytics_ingest", "backup", "document_workflow", "nightly_eval", "weekly_gaps"], var.job_module)
    error_message = "job_module must be one of confluence_sync, quality_decay, analytics_ingest, backup, document_workflow, nightly_eval, weekly_gaps."
  }
}

variable "service_account_email" {
  description = "The job's own service account (one per component)."
  type        = string
}

variable "env" {
  description = "Plain environment variables. Never credentials: those go in secret_env."
  type        = map(string)
  default     = {}
}

variable "secret_env" {
  description = "Environment variables read from Secret Manager at start: name => secret id (latest version)."
  type        = map(string)
  default     = {}
}

variable "cpu" {
  description = "CPU limit per task."
  type        = string
  default     = "1"
}

variable "memory" {
  description = "Memory limit per task."
  type        = string
  default     = "1Gi"
}

variable "task_count" {
  description = "Tasks per execution (confluence_sync splits the spaces between them)."
  type        = number
  default     = 1

  validation {
    condition     = var.task_count >= 1 && var.task_count <= 100
    error_message = "task_count must be between 1 and 100."
  }
}

variable "parallelism" {
  description = "Tasks run at once (0: as many as task_count)."
  type        = number
  default     = 0
}

variable "max_retries" {
  description = "Retries of a failed task."
  type        = number
  default     = 1
}

variable "timeout_seconds" {
  description = "Longest a task may run."
  type        = number
  default     = 3600
}

variable "network" {
  description = "VPC network id for Direct VPC egress (to reach the Chroma VM)."
  type        = string
}

variable "subnetwork" {
  description = "Subnetwork id for Direct VPC egress."
  type        = string
}

variable "schedule" {
  description = "Cron schedule of the Cloud Scheduler trigger; null: no trigger."
  type        = string
  default     = null
}

variable "time_zone" {
  description = "Time zone of the schedule."
  type        = string
  default     = "Etc/UTC"
}

variable "scheduler_service_account_email" {
  description = "Identity Cloud Scheduler uses to start the job (gets roles/run.invoker on this job only)."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Refuse to destroy the job from Terraform."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels on the job."
  type        = map(string)
  default     = {}
}
