output "slack_events_url" {
  description = "Slack app: Event Subscriptions Request URL."
  value       = module.slack_events.uri
}

output "slack_actions_url" {
  description = "Slack app: Interactivity Request URL, and the URL of the /kb-add slash command."
  value       = module.slack_actions.uri
}

output "search_url" {
  description = "Search API (private: callers need roles/run.invoker and the SEARCH_API_KEY)."
  value       = module.search.uri
}

output "slack_answer_url" {
  description = "Answer worker (private: invoked only by the kb-questions push subscription)."
  value       = module.slack_answer.uri
}

output "confluence_oauth_url" {
  description = "Atlassian OAuth app: the callback URL to register (CONFLUENCE_OAUTH_REDIRECT_URL points at it)."
  value       = module.confluence_oauth.uri
}

output "chroma_url" {
  description = "Chroma server, reachable from the services over the VPC only."
  value       = local.common_env.CHROMA_URL
}

output "bucket" {
  description = "Bucket of analytics files and index artifacts."
  value       = google_storage_bucket.main.name
}

output "jobs" {
  description = "Cloud Run job names (gcloud run jobs execute NAME --region REGION)."
  value = {
    confluence_sync   = module.confluence_sync.name
    quality_decay     = module.quality_decay.name
    analytics_ingest  = module.analytics_ingest.name
    backup            = module.backup.name
    document_workflow = module.document_workflow.name
    nightly_eval      = module.nightly_eval.name
    weekly_gaps       = module.weekly_gaps.name
  }
}

output "secrets" {
  description = "Secret ids to fill with `gcloud secrets versions add`."
  value       = local.secret_ids
}
