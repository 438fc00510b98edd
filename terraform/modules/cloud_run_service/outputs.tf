output "name" {
  description = "Service name."
  value       = google_cloud_run_v2_service.main.name
}

output "uri" {
  description = "The service's HTTPS URL."
  value       = google_cloud_run_v2_service.main.uri
}

output "id" {
  description = "Service id."
  value       = google_cloud_run_v2_service.main.id
}
