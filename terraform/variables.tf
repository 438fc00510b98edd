variable "project_id" {
  description = "Google Cloud project to deploy into (one project per environment is recommended)."
  type        = string
}

variable "region" {
  description = "Region of Cloud Run, Pub/Sub push, Cloud Scheduler, the bucket and the subnets."
  type        = string
  default     = "europe-west1"
}

variable "zone" {
  description = "Zone of the Chroma VM and its disk (inside region)."
  type        = string
  default     = "europe-west1-b"
}

variable "environment" {
  description = "Deployment environment; labels every resource and picks safe defaults."
  type        = string

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be staging or production."
  }
}

variable "image" {
  description = "Container image for every service and job, e.g. europe-west1-docker.pkg.dev/<project>/kb/kb:<tag>."
  type        = string
}

variable "bucket_name" {
  description = "Name of the analytics and index-artifact bucket; null: <project_id>-kb-<environment>."
  type        = string
  default     = null
}

variable "slack_channels" {
  description = "Channel ids the bot answers in (comma-separated, SLACK_CHANNELS); empty: every channel it is in."
  type        = string
  default     = ""
}

variable "knowledge_admin_channel" {
  description = "Slack channel id of the knowledge admins (KNOWLEDGE_ADMIN_CHANNEL): escalations, evaluation alerts, gap digests; empty: only logged."
  type        = string
  default     = ""
}

variable "golden_questions" {
  description = "Path in the image of a golden-questions JSONL file the nightly evaluation also runs (GOLDEN_QUESTIONS); empty: none."
  type        = string
  default     = ""
}

variable "confluence_url" {
  description = "Confluence base URL (CONFLUENCE_URL); empty: the bundled sample space and no Confluence token secret."
  type        = string
  default     = ""
}

variable "confluence_user" {
  description = "Confluence account email for Cloud API tokens (CONFLUENCE_USER); empty for a Data Center PAT."
  type        = string
  default     = ""
}

variable "confluence_spaces" {
  description = "Comma-separated Confluence space keys to sync (CONFLUENCE_SPACES)."
  type        = string
  default     = ""
}

variable "confluence_oauth_client_id" {
  description = "Atlassian OAuth 2.0 (3LO) app client id (CONFLUENCE_OAUTH_CLIENT_ID, Cloud); empty: users link by email or personal token only, no client secret."
  type        = string
  default     = ""
}

variable "llm_api_url" {
  description = "OpenAI-compatible API base (LLM_API_URL); empty: offline enricher and extractive answers, no LLM key secret."
  type        = string
  default     = ""
}

variable "llm_model" {
  description = "Model name (LLM_MODEL); empty: gpt-4o-mini (openai) or gemini-2.5-flash (vertex)."
  type        = string
  default     = ""
}

variable "llm_provider" {
  description = "LLM_PROVIDER: \"openai\" (an OpenAI-compatible API at llm_api_url, or none when it is empty) or \"vertex\" (Gemini on Vertex AI, no key: the service accounts get roles/aiplatform.user)."
  type        = string
  default     = "openai"

  validation {
    condition     = contains(["openai", "vertex"], var.llm_provider)
    error_message = "llm_provider must be openai or vertex."
  }
}

variable "vertex_location" {
  description = "Vertex AI region for Gemini (VERTEX_LOCATION), when llm_provider is vertex."
  type        = string
  default     = "us-central1"
}

variable "min_instances" {
  description = "Instances kept warm per service (keys: search, slack_events, slack_actions, slack_answer)."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.min_instances) : contains(["search", "slack_events", "slack_actions", "slack_answer"], k)])
    error_message = "min_instances keys must be among search, slack_events, slack_actions, slack_answer."
  }
}

variable "max_instances" {
  description = "Upper bound on instances per service (keys: search, slack_events, slack_actions, slack_answer)."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.max_instances) : contains(["search", "slack_events", "slack_actions", "slack_answer"], k)])
    error_message = "max_instances keys must be among search, slack_events, slack_actions, slack_answer."
  }
}

variable "confluence_sync_tasks" {
  description = "Parallel tasks of the confluence-sync job; the spaces are split between them."
  type        = number
  default     = 1

  validation {
    condition     = var.confluence_sync_tasks >= 1 && var.confluence_sync_tasks <= 50
    error_message = "confluence_sync_tasks must be between 1 and 50."
  }
}

variable "schedules" {
  description = "Cron schedules (UTC) of the jobs: confluence_sync, quality_decay, analytics_ingest, backup, document_workflow, nightly_eval, weekly_gaps."
  type = object({
    confluence_sync   = string
    quality_decay     = string
    analytics_ingest  = string
    backup            = string
    document_workflow = optional(string, "45 * * * *")
    nightly_eval      = optional(string, "0 4 * * *")
    weekly_gaps       = optional(string, "0 8 * * 1")
  })
  default = {
    confluence_sync   = "15 * * * *"
    quality_decay     = "30 3 * * *"
    analytics_ingest  = "*/10 * * * *"
    backup            = "0 2 * * *"
    document_workflow = "45 * * * *"
    nightly_eval      = "0 4 * * *"
    weekly_gaps       = "0 8 * * 1"
  }
}

variable "chroma_version" {
  description = "chromadb version installed on the Chroma VM (match the client in pyproject.toml)."
  type        = string
  default     = "1.5.9"
}

variable "chroma_machine_type" {
  description = "Machine type of the Chroma VM."
  type        = string
  default     = "e2-standard-2"
}

variable "chroma_disk_size_gb" {
  description = "Size of the Chroma data disk in GB."
  type        = number
  default     = 50
}

variable "chroma_snapshot_retention_days" {
  description = "Days a daily snapshot of the Chroma data disk is kept."
  type        = number
  default     = 14
}

variable "network_cidrs" {
  description = "Subnet ranges: chroma (the VM) and run (Cloud Run Direct VPC egress, /26 or larger)."
  type = object({
    chroma = string
    run    = string
  })
  default = {
    chroma = "10.10.0.0/24"
    run    = "10.10.4.0/22"
  }
}

variable "deletion_protection" {
  description = "Protect services, jobs, the VM and the bucket from terraform destroy; null: on in production only."
  type        = bool
  default     = null
}

variable "doc_review_reminder_days" {
  description = "Days after which approvers who have not decided on a document are reminded (DOC_REVIEW_REMINDER_DAYS)."
  type        = number
  default     = 3
}

variable "doc_required_approvals" {
  description = "Approvals a policy or procedure version needs before it is published (DOC_REQUIRED_APPROVALS)."
  type        = number
  default     = 1

  validation {
    condition     = var.doc_required_approvals >= 1 && var.doc_required_approvals <= 5
    error_message = "doc_required_approvals must be between 1 and 5."
  }
}
