# One service account per component, each granted only what its code uses, on the resource it uses.

locals {
  components = {
    "search"            = "kb search API"
    "slack-events"      = "kb Slack events webhook"
    "slack-actions"     = "kb Slack interactivity endpoint"
    "slack-answer"      = "kb answer worker"
    "confluence-sync"   = "kb Confluence sync job"
    "quality-decay"     = "kb quality decay job"
    "analytics-ingest"  = "kb analytics ingest job"
    "backup"            = "kb backup job"
    "document-workflow" = "kb document workflow job"
    "nightly-eval"      = "kb nightly evaluation job"
    "weekly-gaps"       = "kb weekly gap digest job"
    "confluence-oauth"  = "kb Confluence account linking (OAuth callback)"
    "scheduler"         = "kb Cloud Scheduler triggers"
    "pubsub-push"       = "kb Pub/Sub push identity"
    "chroma"            = "kb Chroma VM"
  }

  # Secrets: id => created when. Values are added with `gcloud secrets versions add`, never by Terraform.
  secrets = {
    "slack-bot-token"      = true
    "slack-signing-secret" = true
    "search-api-key"       = true
    "confluence-api-token" = var.confluence_url != ""
    "llm-api-key"          = var.llm_api_url != ""
    # Linking Slack users to Confluence by token: the Fernet key, and the Atlassian OAuth app's secret.
    "confluence-link-key"            = var.confluence_url != ""
    "confluence-oauth-client-secret" = var.confluence_oauth_client_id != ""
    "search-as-user-api-key"         = true
  }
  secret_ids = [for id, enabled in local.secrets : id if enabled]

  # component => the secrets it reads, and so may access. Secret "slack-bot-token" becomes SLACK_BOT_TOKEN.
  # Whatever shows content resolves who may read it, through the sync account (confluence-api-token), and
  # checks linked tokens (confluence-link-key, confluence-oauth-client-secret to refresh them).
  link_secrets = ["confluence-api-token", "confluence-link-key", "confluence-oauth-client-secret"]
  secret_readers = {
    "search"            = concat(["search-api-key", "search-as-user-api-key"], local.link_secrets)
    "slack-events"      = ["slack-signing-secret", "slack-bot-token"]
    "slack-actions"     = concat(["slack-signing-secret", "slack-bot-token", "llm-api-key"], local.link_secrets)
    "slack-answer"      = concat(["slack-bot-token", "llm-api-key"], local.link_secrets)
    "confluence-sync"   = ["confluence-api-token", "llm-api-key"]
    "quality-decay"     = concat(["slack-bot-token"], local.link_secrets)
    "analytics-ingest"  = []
    "backup"            = []
    "document-workflow" = concat(["slack-bot-token", "llm-api-key"], local.link_secrets)
    "nightly-eval"      = ["slack-bot-token", "llm-api-key"]
    "weekly-gaps"       = ["slack-bot-token"]
    "confluence-oauth"  = concat(["slack-bot-token"], local.link_secrets)
  }
  secret_env = {
    for component, ids in local.secret_readers : component => {
      for id in ids : upper(replace(id, "-", "_")) => google_secret_manager_secret.main[id].secret_id if local.secrets[id]
    }
  }
  secret_access = merge([
    for component, ids in local.secret_readers : {
      for id in ids : "${component}/${id}" => { component = component, secret = id } if local.secrets[id]
    }
  ]...)

  # Components that read and write objects in the bucket (keyword index, pending votes, claims, analytics,
  # backups, the document workflow, the Confluence links).
  bucket_users = ["search", "slack-actions", "slack-answer", "confluence-sync", "quality-decay", "analytics-ingest", "backup", "document-workflow", "confluence-oauth", "nightly-eval", "weekly-gaps"]
  # Components that publish analytics events.
  analytics_publishers = ["search", "slack-events", "slack-actions", "slack-answer", "confluence-sync", "quality-decay", "document-workflow", "confluence-oauth", "nightly-eval", "weekly-gaps"]
}

resource "google_service_account" "main" {
  for_each = local.components

  project      = var.project_id
  account_id   = "kb-${each.key}"
  display_name = each.value
}

data "google_project" "main" {
  project_id = var.project_id
}

locals {
  pubsub_agent = "serviceAccount:service-${data.google_project.main.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

# --- Secret Manager --------------------------------------------------------------------------------------

resource "google_secret_manager_secret" "main" {
  for_each = toset(local.secret_ids)

  project   = var.project_id
  secret_id = each.value
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.main]
}

resource "google_secret_manager_secret_iam_member" "main" {
  for_each = local.secret_access

  project   = var.project_id
  secret_id = google_secret_manager_secret.main[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.main[each.value.component].email}"
}

# --- Bucket ----------------------------------------------------------------------------------------------

resource "google_storage_bucket_iam_member" "users" {
  for_each = toset(local.bucket_users)

  bucket = google_storage_bucket.main.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.main[each.value].email}"
}

# --- Pub/Sub ---------------------------------------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "questions_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.questions.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.main["slack-events"].email}"
}

resource "google_pubsub_topic_iam_member" "analytics_publishers" {
  for_each = toset(local.analytics_publishers)

  project = var.project_id
  topic   = google_pubsub_topic.analytics.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.main[each.value].email}"
}

resource "google_pubsub_subscription_iam_member" "analytics_ingest" {
  project      = var.project_id
  subscription = google_pubsub_subscription.analytics_ingest.name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_service_account.main["analytics-ingest"].email}"
}

# The ingest job sends events it cannot store to the dead-letter topic itself, with the reason.
resource "google_pubsub_topic_iam_member" "analytics_dead_letter_ingest" {
  project = var.project_id
  topic   = google_pubsub_topic.analytics_dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.main["analytics-ingest"].email}"
}

# Pub/Sub's own agent forwards undeliverable messages: publisher on the dead-letter topics, subscriber on
# the subscriptions they come from, and it mints the OIDC tokens of the push identity.
resource "google_pubsub_topic_iam_member" "dead_letter_agent" {
  for_each = {
    questions = google_pubsub_topic.questions_dead_letter.name
    analytics = google_pubsub_topic.analytics_dead_letter.name
  }

  project = var.project_id
  topic   = each.value
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_agent" {
  for_each = {
    questions = google_pubsub_subscription.questions_answer.name
    analytics = google_pubsub_subscription.analytics_ingest.name
  }

  project      = var.project_id
  subscription = each.value
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

resource "google_service_account_iam_member" "push_token_creator" {
  service_account_id = google_service_account.main["pubsub-push"].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

# Gemini on Vertex AI: everything that writes with the LLM calls it as its own service account.
resource "google_project_iam_member" "vertex_user" {
  for_each = local.vertex ? toset(["slack-actions", "slack-answer", "confluence-sync", "document-workflow", "nightly-eval"]) : toset([])

  project = var.project_id
  role    = "roles/aiplatform.user"
  member  = "serviceAccount:${google_service_account.main[each.value].email}"
}

# --- Chroma VM -------------------------------------------------------------------------------------------

resource "google_project_iam_member" "chroma" {
  for_each = toset(["roles/logging.logWriter", "roles/monitoring.metricWriter"])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.main["chroma"].email}"
}
