"""Everything that touches the database. Nothing here imports Slack."""
