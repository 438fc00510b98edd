# Analytics files (DuckDB per month), the shared keyword index, votes kept during a Chroma outage, claims,
# backups.
resource "google_storage_bucket" "main" {
  #checkov:skip=CKV_GCP_62:Access logging buckets are legacy; object access is recorded by Cloud Audit Logs (Data Access) instead.
  project                     = var.project_id
  name                        = local.bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !local.protect
  labels                      = local.labels

  versioning {
    enabled = true
  }

  # Versioning lets an overwritten analytics file or index be recovered for 30 days, no longer.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  # Claims (one answer per question) are only needed while Slack and Pub/Sub may still retry.
  lifecycle_rule {
    condition {
      age            = 7
      matches_prefix = ["claims/"]
    }
    action {
      type = "Delete"
    }
  }

  # Which Slack message is which answer, for reactions and replies on it (behavioural signals): a reaction
  # three months after an answer says little about today's content.
  lifecycle_rule {
    condition {
      age            = 90
      matches_prefix = ["answers/"]
    }
    action {
      type = "Delete"
    }
  }

  # Backups (docs/operations.md): dailies for two weeks, Sunday weeklies for twelve weeks.
  lifecycle_rule {
    condition {
      age            = 14
      matches_prefix = ["backups/daily/"]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age            = 84
      matches_prefix = ["backups/weekly/"]
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.main]
}
