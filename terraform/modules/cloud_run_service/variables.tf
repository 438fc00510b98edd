variable "project_id" {
  description = "Project that holds the service."
  type        = string
}

variable "region" {
  description = "Region of the service."
  type        = string
}

variable "name" {
  description = "Service name (lowercase letters, digits and hyphens)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,48}[a-z0-9]$", var.name))
    error_message = "name must be 2-50 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "image" {
  description = "Container image (the project's one image; FUNCTION_TARGET picks the function)."
  type        = string
}

variable "function_target" {
  description = "functions-framework target served by this service."
  type        = string

  validation {
    condition     = contains(["search", "slack_events", "slack_actions", "slack_answer"], var.function_target)
    error_message = "function_target must be one of search, slack_events, slack_actions, slack_answer."
  }
}

variable "service_account_email" {
  description = "The service's own service account (one per component)."
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
  description = "CPU limit per instance, e.g. \"1\" or \"2\"."
  type        = string
  default     = "1"
}

variable "memory" {
  description = "Memory limit per instance, e.g. \"512Mi\" or \"2Gi\"."
  type        = string
  default     = "512Mi"
}

variable "cpu_idle" {
  description = "true: CPU only while a request is handled; false: CPU always allocated (work after the reply)."
  type        = bool
  default     = true
}

variable "startup_cpu_boost" {
  description = "Give extra CPU during start-up (shorter cold starts)."
  type        = bool
  default     = true
}

variable "concurrency" {
  description = "Most requests one instance handles at once."
  type        = number
  default     = 80

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000
    error_message = "concurrency must be between 1 and 1000."
  }
}

variable "min_instances" {
  description = "Instances kept warm."
  type        = number
  default     = 0
}

variable "max_instances" {
  description = "Upper bound on instances."
  type        = number
  default     = 10
}

variable "timeout_seconds" {
  description = "Request timeout in seconds."
  type        = number
  default     = 60
}

variable "ingress" {
  description = "Who may reach the service over the network."
  type        = string
  default     = "INGRESS_TRAFFIC_ALL"

  validation {
    condition = contains([
      "INGRESS_TRAFFIC_ALL", "INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
    ], var.ingress)
    error_message = "ingress must be INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  }
}

variable "public" {
  description = "Grant roles/run.invoker to allUsers. Only for endpoints that authenticate requests themselves."
  type        = bool
  default     = false
}

variable "invoker_members" {
  description = "IAM members allowed to invoke the service (e.g. the Pub/Sub push identity)."
  type        = list(string)
  default     = []
}

variable "network" {
  description = "VPC network id for Direct VPC egress (to reach the Chroma VM)."
  type        = string
}

variable "subnetwork" {
  description = "Subnetwork id for Direct VPC egress."
  type        = string
}

variable "deletion_protection" {
  description = "Refuse to destroy the service from Terraform."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels on the service."
  type        = map(string)
  default     = {}
}
