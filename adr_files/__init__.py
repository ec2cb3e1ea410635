"""ADR files in and out: read a repository's decision records (adr-tools / Nygard, MADR 2-4)
and write the log back as files. Pure: no database, no Slack."""
