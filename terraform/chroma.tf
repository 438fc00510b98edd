# The Chroma server, the source of truth of every chunk: one VM without an external address, its data on a
# persistent disk with daily snapshots, reachable on port 8000 from the Cloud Run range only (network.tf).

resource "google_compute_address" "chroma" {
  project      = var.project_id
  name         = "kb-chroma"
  region       = var.region
  subnetwork   = google_compute_subnetwork.chroma.id
  address_type = "INTERNAL"
}

resource "google_compute_resource_policy" "chroma_snapshots" {
  project = var.project_id
  name    = "kb-chroma-daily"
  region  = var.region

  snapshot_schedule_policy {
    schedule {
      daily_schedule {
        days_in_cycle = 1
        start_time    = "02:00"
      }
    }

    retention_policy {
      max_retention_days    = var.chroma_snapshot_retention_days
      on_source_disk_delete = "KEEP_AUTO_SNAPSHOTS"
    }

    snapshot_properties {
      labels            = local.labels
      storage_locations = [var.region]
      guest_flush       = false
    }
  }
}

resource "google_compute_disk" "chroma" {
  #checkov:skip=CKV_GCP_37:Encrypted with Google-managed keys; customer-supplied keys would have to be handed to every restart.
  project = var.project_id
  name    = "kb-chroma-data"
  zone    = var.zone
  type    = "pd-balanced"
  size    = var.chroma_disk_size_gb
  labels  = local.labels
}

resource "google_compute_disk_resource_policy_attachment" "chroma" {
  project = var.project_id
  name    = google_compute_resource_policy.chroma_snapshots.name
  disk    = google_compute_disk.chroma.name
  zone    = var.zone
}

resource "google_compute_instance" "chroma" {
  #checkov:skip=CKV_GCP_38:Boot disk holds only the OS; encrypted with Google-managed keys (customer-supplied keys would block unattended restarts).
  project                   = var.project_id
  name                      = "kb-chroma"
  zone                      = var.zone
  machine_type              = var.chroma_machine_type
  tags                      = ["kb-chroma"]
  labels                    = local.labels
  deletion_protection       = local.protect
  allow_stopping_for_update = true

  boot_disk {
    initialize_params {
      image = "debian-cloud/debian-12"
      size  = 20
      type  = "pd-balanced"
    }
  }

  attached_disk {
    source      = google_compute_disk.chroma.id
    device_name = "chroma-data"
  }

  # No access_config block: no external IP. Egress to PyPI goes through Cloud NAT.
  network_interface {
    subnetwork = google_compute_subnetwork.chroma.id
    network_ip = google_compute_address.chroma.address
  }

  service_account {
    email  = google_service_account.main["chroma"].email
    scopes = ["cloud-platform"]
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }

  metadata = {
    block-project-ssh-keys = "true"
    enable-oslogin         = "TRUE"
    serial-port-enable     = "false"
  }

  metadata_startup_script = templatefile("${path.module}/chroma-startup.sh.tftpl", {
    chroma_version = var.chroma_version
  })

  depends_on = [google_compute_router_nat.main]
}
