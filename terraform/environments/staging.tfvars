# terraform plan -var-file=environments/staging.tfvars -var="image=<registry>/kb:<tag>"
project_id  = "acme-kb-staging"
region      = "europe-west1"
zone        = "europe-west1-b"
environment = "staging"

confluence_url    = "https://acme.atlassian.net/wiki"
confluence_user   = "kb-bot@acme.com"
confluence_spaces = "ENG,HR"
slack_channels    = ""

min_instances = { search = 0, slack_events = 0, slack_actions = 0, slack_answer = 0 }
max_instances = { search = 3, slack_events = 3, slack_actions = 2, slack_answer = 3 }

confluence_sync_tasks = 1
chroma_machine_type   = "e2-standard-2"
chroma_disk_size_gb   = 20
