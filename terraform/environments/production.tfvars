# terraform plan -var-file=environments/production.tfvars -var="image=<registry>/kb:<tag>"
project_id  = "acme-kb-production"
region      = "europe-west1"
zone        = "europe-west1-b"
environment = "production"

confluence_url    = "https://acme.atlassian.net/wiki"
confluence_user   = "kb-bot@acme.com"
confluence_spaces = "ENG,HR,IT,SALES"
slack_channels    = ""

llm_api_url = "https://api.openai.com/v1"
llm_model   = ""

# slack_events stays warm so Slack's 3-second acknowledgement holds on the first message of the day.
min_instances = { search = 1, slack_events = 1, slack_actions = 1, slack_answer = 1 }
max_instances = { search = 10, slack_events = 10, slack_actions = 5, slack_answer = 10 }

confluence_sync_tasks = 4
chroma_machine_type   = "e2-standard-4"
chroma_disk_size_gb   = 100

schedules = {
  confluence_sync   = "15 * * * *"
  quality_decay     = "30 3 * * *"
  analytics_ingest  = "*/10 * * * *"
  backup            = "0 2 * * *"
  document_workflow = "45 * * * *"
  nightly_eval      = "0 4 * * *"
  weekly_gaps       = "0 8 * * 1"
}
