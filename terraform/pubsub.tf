# Questions: slack_events publishes, a push subscription delivers each to slack_answer (OIDC-authenticated).
# Analytics: every component publishes events, the analytics-ingest job pulls them into DuckDB files.

resource "google_pubsub_topic" "questions" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; no customer-managed key is required for these messages.
  project                    = var.project_id
  name                       = "kb-questions"
  labels                     = local.labels
  message_retention_duration = "86400s"

  depends_on = [google_project_service.main]
}

resource "google_pubsub_topic" "questions_dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; no customer-managed key is required for these messages.
  project = var.project_id
  name    = "kb-questions-dead-letter"
  labels  = local.labels

  depends_on = [google_project_service.main]
}

resource "google_pubsub_topic" "analytics" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; no customer-managed key is required for these messages.
  project = var.project_id
  name    = "kb-analytics"
  labels  = local.labels

  depends_on = [google_project_service.main]
}

resource "google_pubsub_topic" "analytics_dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; no customer-managed key is required for these messages.
  project = var.project_id
  name    = "kb-analytics-dead-letter"
  labels  = local.labels

  depends_on = [google_project_service.main]
}

resource "google_pubsub_subscription" "questions_answer" {
  project = var.project_id
  name    = "kb-questions-answer"
  topic   = google_pubsub_topic.questions.id
  labels  = local.labels

  # As long as slack_answer may take (its request timeout).
  ack_deadline_seconds       = 600
  message_retention_duration = "86400s"

  push_config {
    push_endpoint = module.slack_answer.uri

    oidc_token {
      service_account_email = google_service_account.main["pubsub-push"].email
      audience              = module.slack_answer.uri
    }
  }

  # Outages are redelivered with backoff; after the 5th attempt slack_answer apologises to the asker and the
  # message is parked on the dead-letter topic. The dead-letter policy is also what makes Pub/Sub send
  # `deliveryAttempt` in each push, which slack_answer reads (common.infra.pubsub.MAX_DELIVERY_ATTEMPTS).
  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "300s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.questions_dead_letter.id
    max_delivery_attempts = 5
  }

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "analytics_ingest" {
  project = var.project_id
  name    = "kb-analytics-ingest"
  topic   = google_pubsub_topic.analytics.id
  labels  = local.labels

  # A batch is acknowledged only after its DuckDB file is saved: several minutes.
  ack_deadline_seconds       = 600
  message_retention_duration = "604800s"

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.analytics_dead_letter.id
    max_delivery_attempts = 5
  }

  expiration_policy {
    ttl = ""
  }
}

# Dead letters are kept on pull subscriptions for inspection and replay (a topic alone keeps nothing).
resource "google_pubsub_subscription" "dead_letters" {
  for_each = {
    "kb-questions-dead-letter-hold" = google_pubsub_topic.questions_dead_letter.id
    "kb-analytics-dead-letter-hold" = google_pubsub_topic.analytics_dead_letter.id
  }

  project                    = var.project_id
  name                       = each.key
  topic                      = each.value
  labels                     = local.labels
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }
}
