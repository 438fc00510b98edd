"""Documents from Slack: drafting, approval by area, versions, and publishing to Confluence (or, on one
machine, straight into the knowledge base)."""
