"""Slack: request verification, the Web API client, message blocks and the interactivity handlers."""
