# A private network for the Chroma VM. Cloud Run services and jobs reach it with Direct VPC egress from the
# "run" subnet; the firewall admits port 8000 from that range only. Chroma 1.x ignores its auth settings, so
# this network boundary and the services' identities are its protection.

resource "google_compute_network" "main" {
  project                 = var.project_id
  name                    = "kb"
  auto_create_subnetworks = false

  depends_on = [google_project_service.main]
}

resource "google_compute_subnetwork" "chroma" {
  project                  = var.project_id
  name                     = "kb-chroma"
  region                   = var.region
  network                  = google_compute_network.main.id
  ip_cidr_range            = var.network_cidrs.chroma
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_5_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Direct VPC egress addresses of Cloud Run instances come from this range.
resource "google_compute_subnetwork" "run" {
  project                  = var.project_id
  name                     = "kb-run"
  region                   = var.region
  network                  = google_compute_network.main.id
  ip_cidr_range            = var.network_cidrs.run
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_5_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_firewall" "chroma_from_run" {
  project   = var.project_id
  name      = "kb-allow-chroma-from-run"
  network   = google_compute_network.main.id
  direction = "INGRESS"
  priority  = 1000

  source_ranges = [var.network_cidrs.run]
  target_tags   = ["kb-chroma"]

  allow {
    protocol = "tcp"
    ports    = ["8000"]
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

# Everything else inbound is refused (explicitly, and logged).
resource "google_compute_firewall" "deny_ingress" {
  project   = var.project_id
  name      = "kb-deny-ingress"
  network   = google_compute_network.main.id
  direction = "INGRESS"
  priority  = 65000

  source_ranges = ["0.0.0.0/0"]

  deny {
    protocol = "all"
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

# The VM has no external address; Cloud NAT lets it install chromadb from PyPI at boot.
resource "google_compute_router" "main" {
  project = var.project_id
  name    = "kb"
  region  = var.region
  network = google_compute_network.main.id
}

resource "google_compute_router_nat" "main" {
  project                            = var.project_id
  name                               = "kb"
  router                             = google_compute_router.main.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "LIST_OF_SUBNETWORKS"

  subnetwork {
    name                    = google_compute_subnetwork.chroma.id
    source_ip_ranges_to_nat = ["ALL_IP_RANGES"]
  }

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}
