"""Decision Bot: decisions made in the open, in Slack."""
