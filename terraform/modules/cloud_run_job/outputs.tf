output "name" {
  description = "Job name (for `gcloud run jobs execute`)."
  value       = google_cloud_run_v2_job.main.name
}

output "id" {
  description = "Job id."
  value       = google_cloud_run_v2_job.main.id
}

output "scheduler_job" {
  description = "Name of the Cloud Scheduler trigger, or null without a schedule."
  value       = one(google_cloud_scheduler_job.main[*].name)
}
