# The whole deployment of the knowledge base: five Cloud Run services (one per function target), seven
# Cloud Run jobs with Cloud Scheduler triggers, Pub/Sub, a bucket, Secret Manager and the Chroma VM.
# Network: network.tf, Chroma: chroma.tf, Pub/Sub: pubsub.tf, bucket: storage.tf, secrets and IAM: iam.tf.

locals {
  protect = coalesce(var.deletion_protection, var.environment == "production")
  labels  = { app = "kb", environment = var.environment }
  bucket  = coalesce(var.bucket_name, "${var.project_id}-kb-${var.environment}")

  apis = [
    "artifactregistry.googleapis.com", "cloudscheduler.googleapis.com", "compute.googleapis.com",
    "iam.googleapis.com", "pubsub.googleapis.com", "run.googleapis.com", "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ]
  # Gemini on Vertex AI needs its API only when it is the LLM.
  enabled_apis = concat(local.apis, local.vertex ? ["aiplatform.googleapis.com"] : [])

  # Settings every component reads (names as in the README's settings table).
  common_env = {
    GCP_PROJECT = var.project_id
    CHROMA_URL  = "http://${google_compute_address.chroma.address}:8000"
    GCS_BUCKET  = google_storage_bucket.main.name
    # Events go to Pub/Sub when GCP_PROJECT is set.
    ANALYTICS_TOPIC = google_pubsub_topic.analytics.name
    LOG_FORMAT      = "json"
  }
  # Services answering requests side by side: one torch thread each (README, EMBEDDING_THREADS).
  server_env = { EMBEDDING_THREADS = "1" }
  slack_env  = { for k, v in { SLACK_CHANNELS = var.slack_channels } : k => v if v != "" }
  vertex     = var.llm_provider == "vertex"
  llm_env    = local.vertex ? { for k, v in { LLM_PROVIDER = "vertex", VERTEX_LOCATION = var.vertex_location, LLM_MODEL = var.llm_model } : k => v if v != "" } : { for k, v in { LLM_API_URL = var.llm_api_url, LLM_MODEL = var.llm_model } : k => v if v != "" && var.llm_api_url != "" }
  document_env = {
    DOC_REVIEW_REMINDER_DAYS = tostring(var.doc_review_reminder_days)
    DOC_REQUIRED_APPROVALS   = tostring(var.doc_required_approvals)
  }
  # The knowledge admins' channel: escalations (slack_actions, quality_decay), alerts, gap digests.
  admin_env      = { for k, v in { KNOWLEDGE_ADMIN_CHANNEL = var.knowledge_admin_channel } : k => v if v != "" }
  evaluation_env = merge(local.admin_env, { for k, v in { GOLDEN_QUESTIONS = var.golden_questions } : k => v if v != "" })
  confluence_env = { for k, v in {
    CONFLUENCE_URL    = var.confluence_url
    CONFLUENCE_USER   = var.confluence_user
    CONFLUENCE_SPACES = var.confluence_spaces
  } : k => v if v != "" }
  # Who may read what: the sync account's view of Confluence, and linking by OAuth. The callback's URL is
  # Cloud Run's deterministic one, so every component can name it without depending on the service.
  oauth_redirect_url = "https://kb-confluence-oauth-${data.google_project.main.number}.${var.region}.run.app"
  permission_env = merge(local.confluence_env, { for k, v in {
    CONFLUENCE_OAUTH_CLIENT_ID    = var.confluence_oauth_client_id
    CONFLUENCE_OAUTH_REDIRECT_URL = local.oauth_redirect_url
  } : k => v if var.confluence_oauth_client_id != "" })

  min_instances = merge(
    { search = 0, slack_events = var.environment == "production" ? 1 : 0, slack_actions = 0, slack_answer = 0, confluence_oauth = 0 },
    var.min_instances,
  )
  max_instances = merge({ search = 10, slack_events = 10, slack_actions = 5, slack_answer = 10, confluence_oauth = 2 }, var.max_instances)
}

resource "google_project_service" "main" {
  for_each = toset(local.enabled_apis)

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# --- Services --------------------------------------------------------------------------------------------

# The search JSON API. Not public: callers need roles/run.invoker (and SEARCH_API_KEY as a bearer token).
module "search" {
  source = "./modules/cloud_run_service"

  project_id            = var.project_id
  region                = var.region
  name                  = "kb-search"
  image                 = var.image
  function_target       = "search"
  service_account_email = google_service_account.main["search"].email
  network               = google_compute_network.main.id
  subnetwork            = google_compute_subnetwork.run.id
  cpu                   = "2"
  # Per worker: the embedding model, the BM25 index of every chunk, kept candidates (~0.8 GB at 100k chunks).
  memory          = "4Gi"
  concurrency     = 20
  timeout_seconds = 30
  min_instances   = local.min_instances["search"]
  max_instances   = local.max_instances["search"]
  # Two functions-framework (gunicorn) workers: one process's searches run on about one core (Python under
  # the GIL, one torch thread), which leaves the second vCPU mostly idle (docs/scale.md).
  env                 = merge(local.common_env, local.permission_env, local.server_env, { WORKERS = "2" })
  secret_env          = local.secret_env["search"]
  deletion_protection = local.protect
  labels              = local.labels

  depends_on = [google_secret_manager_secret_iam_member.main]
}

# Slack's Events API Request URL. Public (allUsers invoker) because Slack cannot send Google credentials:
# every request is authenticated in code by its Slack signature (SLACK_SIGNING_SECRET; 401 otherwise).
module "slack_events" {
  source = "./modules/cloud_run_service"

  project_id            = var.project_id
  region                = var.region
  name                  = "kb-slack-events"
  image                 = var.image
  function_target       = "slack_events"
  service_account_email = google_service_account.main["slack-events"].email
  network               = google_compute_network.main.id
  subnetwork            = google_compute_subnetwork.run.id
  cpu                   = "1"
  memory                = "512Mi" # imports nothing heavy: acknowledges within Slack's 3 s
  concurrency           = 80
  timeout_seconds       = 10
  min_instances         = local.min_instances["slack_events"]
  max_instances         = local.max_instances["slack_events"]
  public                = true
  env                   = merge(local.common_env, local.slack_env, { QUESTIONS_TOPIC = google_pubsub_topic.questions.name })
  secret_env            = local.secret_env["slack-events"]
  deletion_protection   = local.protect
  labels                = local.labels

  depends_on = [google_secret_manager_secret_iam_member.main]
}

# Slack's interactivity endpoint. Public for the same reason as slack_events: it verifies the Slack signature
# (401 for missing, wrong or stale) before doing anything. CPU stays allocated (cpu_idle = false) because it
# finishes work after acknowledging Slack (thank-you message, owner notices, drafting and publishing
# documents: it writes Confluence pages with the sync's credentials and drafts with the LLM when configured).
# Quality writes need no single-writer deployment: common/quality_writer.py recomputes scores from all votes
# with a read-write-verify loop, so any number of instances may write (see docs/quality.md).
module "slack_actions" {
  source = "./modules/cloud_run_service"

  project_id            = var.project_id
  region                = var.region
  name                  = "kb-slack-actions"
  image                 = var.image
  function_target       = "slack_actions"
  service_account_email = google_service_account.main["slack-actions"].email
  network               = google_compute_network.main.id
  subnetwork            = google_compute_subnetwork.run.id
  cpu                   = "1"
  memory                = "2Gi" # the embedding model, to index a published document at once
  cpu_idle              = false
  concurrency           = 40
  timeout_seconds       = 30
  min_instances         = local.min_instances["slack_actions"]
  max_instances         = local.max_instances["slack_actions"]
  public                = true
  env                   = merge(local.common_env, local.slack_env, local.permission_env, local.llm_env, local.document_env, local.admin_env)
  secret_env            = local.secret_env["slack-actions"]
  deletion_protection   = local.protect
  labels                = local.labels

  depends_on = [google_secret_manager_secret_iam_member.main]
}

# Atlassian's OAuth 2.0 (3LO) redirect, where a person's browser lands after consenting. Public because the
# browser carries no Google credentials: the request is authenticated by its signed, single-use state, bound
# to the Slack user who clicked "Link Confluence" (common/permissions/link_state.py).
module "confluence_oauth" {
  source = "./modules/cloud_run_service"

  project_id            = var.project_id
  region                = var.region
  name                  = "kb-confluence-oauth"
  image                 = var.image
  function_target       = "confluence_oauth"
  service_account_email = google_service_account.main["confluence-oauth"].email
  network               = google_compute_network.main.id
  subnetwork            = google_compute_subnetwork.run.id
  cpu                   = "1"
  memory                = "512Mi" # HTTP calls to Atlassian and one small DuckDB file; no model
  concurrency           = 20
  timeout_seconds       = 30
  min_instances         = local.min_instances["confluence_oauth"]
  max_instances         = local.max_instances["confluence_oauth"]
  public                = true
  env                   = merge(local.common_env, local.permission_env)
  secret_env            = local.secret_env["confluence-oauth"]
  deletion_protection   = local.protect
  labels                = local.labels

  depends_on = [google_secret_manager_secret_iam_member.main]
}

# The answer worker behind the kb-questions push subscription. Not public: only the push identity invokes it.
module "slack_answer" {
  source = "./modules/cloud_run_service"

  project_id            = var.project_id
  region                = var.region
  name                  = "kb-slack-answer"
  image                 = var.image
  function_target       = "slack_answer"
  service_account_email = google_service_account.main["slack-answer"].email
  network               = google_compute_network.main.id
  subnetwork            = google_compute_subnetwork.run.id
  cpu                   = "2"
  memory                = "2Gi" # embedding model, keyword index, answer writer
  concurrency           = 4
  timeout_seconds       = 600 # equals the subscription's ack deadline
  min_instances         = local.min_instances["slack_answer"]
  max_instances         = local.max_instances["slack_answer"]
  ingress               = "INGRESS_TRAFFIC_ALL" # Pub/Sub push comes from Google's network, authenticated by OIDC
  invoker_members       = ["serviceAccount:${google_service_account.main["pubsub-push"].email}"]
  env                   = merge(local.common_env, local.slack_env, local.permission_env, local.llm_env, local.server_env)
  secret_env            = local.secret_env["slack-answer"]
  deletion_protection   = local.protect
  labels                = local.labels

  depends_on = [google_secret_manager_secret_iam_member.main]
}

# --- Jobs ------------------------------------------------------------------------------------------------

module "confluence_sync" {
  source = "./modules/cloud_run_job"

  project_id                      = var.project_id
  region                          = var.region
  name                            = "confluence-sync"
  image                           = var.image
  job_module                      = "confluence_sync"
  service_account_email           = google_service_account.main["confluence-sync"].email
  network                         = google_compute_network.main.id
  subnetwork                      = google_compute_subnetwork.run.id
  cpu                             = "2"
  memory                          = "4Gi"
  task_count                      = var.confluence_sync_tasks
  timeout_seconds                 = 10800
  env                             = merge(local.common_env, local.confluence_env, local.llm_env)
  secret_env                      = local.secret_env["confluence-sync"]
  schedule                        = var.schedules.confluence_sync
  scheduler_service_account_email = google_service_account.main["scheduler"].email
  deletion_protection             = local.protect
  labels                          = local.labels

  depends_on = [google_secret_manager_secret_iam_member.main]
}

module "quality_decay" {
  source = "./modules/cloud_run_job"

  project_id                      = var.project_id
  region                          = var.region
  name                            = "quality-decay"
  image                           = var.image
  job_module                      = "quality_decay"
  service_account_email           = google_service_account.main["quality-decay"].email
  network                         = google_compute_network.main.id
  subnetwork                      = google_compute_subnetwork.run.id
  cpu                             = "1"
  memory                          = "2Gi"
  timeout_seconds                 = 3600
  env                             = merge(local.common_env, local.permission_env, local.admin_env)
  secret_env                      = local.secret_env["quality-decay"]
  schedule                        = var.schedules.quality_decay
  scheduler_service_account_email = google_service_account.main["scheduler"].email
  deletion_protection             = local.protect
  labels                          = local.labels

  depends_on = [google_secret_manager_secret_iam_member.main]
}

# Daily, after the decay job: ask yesterday's answered questions again, judge the answers (the LLM when one is
# configured), publish the scores and an evaluation report, and alert KNOWLEDGE_ADMIN_CHANNEL on a fall.
module "nightly_eval" {
  source = "./modules/cloud_run_job"

  project_id                      = var.project_id
  region                          = var.region
  name                            = "nightly-eval"
  image                           = var.image
  job_module                      = "nightly_eval"
  service_account_email           = google_service_account.main["nightly-eval"].email
  network                         = google_compute_network.main.id
  subnetwork                      = google_compute_subnetwork.run.id
  cpu                             = "1"
  memory                          = "2Gi" # embedding model, keyword index, answer writer, analytics files
  timeout_seconds                 = 3600
  env                             = merge(local.common_env, local.llm_env, local.evaluation_env)
  secret_env                      = local.secret_env["nightly-eval"]
  schedule                        = var.schedules.nightly_eval
  scheduler_service_account_email = google_service_account.main["scheduler"].email
  deletion_protection             = local.protect
  labels                          = local.labels

  depends_on = [google_secret_manager_secret_iam_member.main]
}

# Mondays: cluster last week's declined, down-voted and frustrated questions into topics, and tell the owners of
# the nearest spaces and KNOWLEDGE_ADMIN_CHANNEL what the knowledge base lacks (once a week each).
module "weekly_gaps" {
  source = "./modules/cloud_run_job"

  project_id                      = var.project_id
  region                          = var.region
  name                            = "weekly-gaps"
  image                           = var.image
  job_module                      = "weekly_gaps"
  service_account_email           = google_service_account.main["weekly-gaps"].email
  network                         = google_compute_network.main.id
  subnetwork                      = google_compute_subnetwork.run.id
  cpu                             = "1"
  memory                          = "2Gi" # embedding model, keyword index, analytics files
  timeout_seconds                 = 1800
  env                             = merge(local.common_env, local.admin_env)
  secret_env                      = local.secret_env["weekly-gaps"]
  schedule                        = var.schedules.weekly_gaps
  scheduler_service_account_email = google_service_account.main["scheduler"].email
  deletion_protection             = local.protect
  labels                          = local.labels

  depends_on = [google_secret_manager_secret_iam_member.main]
}

module "analytics_ingest" {
  source = "./modules/cloud_run_job"

  project_id            = var.project_id
  region                = var.region
  name                  = "analytics-ingest"
  image                 = var.image
  job_module            = "analytics_ingest"
  service_account_email = google_service_account.main["analytics-ingest"].email
  network               = google_compute_network.main.id
  subnetwork            = google_compute_subnetwork.run.id
  cpu                   = "1"
  memory                = "2Gi"
  timeout_seconds       = 1800
  env = merge(local.common_env, {
    ANALYTICS_SUBSCRIPTION      = google_pubsub_subscription.analytics_ingest.name
    ANALYTICS_DEAD_LETTER_TOPIC = google_pubsub_topic.analytics_dead_letter.name
  })
  secret_env                      = local.secret_env["analytics-ingest"]
  schedule                        = var.schedules.analytics_ingest
  scheduler_service_account_email = google_service_account.main["scheduler"].email
  deletion_protection             = local.protect
  labels                          = local.labels

  depends_on = [google_secret_manager_secret_iam_member.main]
}

# Daily backup of the collection and its votes before the decay job runs; kept by the bucket's lifecycle
# rules under backups/daily and backups/weekly (storage.tf, docs/operations.md).
module "backup" {
  source = "./modules/cloud_run_job"

  project_id                      = var.project_id
  region                          = var.region
  name                            = "backup"
  image                           = var.image
  job_module                      = "backup"
  service_account_email           = google_service_account.main["backup"].email
  network                         = google_compute_network.main.id
  subnetwork                      = google_compute_subnetwork.run.id
  cpu                             = "1"
  memory                          = "2Gi"
  timeout_seconds                 = 3600
  env                             = local.common_env
  secret_env                      = local.secret_env["backup"]
  schedule                        = var.schedules.backup
  scheduler_service_account_email = google_service_account.main["scheduler"].email
  deletion_protection             = local.protect
  labels                          = local.labels

  depends_on = [google_secret_manager_secret_iam_member.main]
}

# Hourly: publish approved documents Confluence was down for or refused, resend requests to decide that Slack
# did not take, remind approvers after DOC_REVIEW_REMINDER_DAYS. Exits 75 while a document still waits.
module "document_workflow" {
  source = "./modules/cloud_run_job"

  project_id                      = var.project_id
  region                          = var.region
  name                            = "document-workflow"
  image                           = var.image
  job_module                      = "document_workflow"
  service_account_email           = google_service_account.main["document-workflow"].email
  network                         = google_compute_network.main.id
  subnetwork                      = google_compute_subnetwork.run.id
  cpu                             = "1"
  memory                          = "2Gi"
  timeout_seconds                 = 1800
  env                             = merge(local.common_env, local.confluence_env, local.llm_env, local.document_env)
  secret_env                      = local.secret_env["document-workflow"]
  schedule                        = var.schedules.document_workflow
  scheduler_service_account_email = google_service_account.main["scheduler"].email
  deletion_protection             = local.protect
  labels                          = local.labels

  depends_on = [google_secret_manager_secret_iam_member.main]
}
