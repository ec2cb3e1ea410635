"""Pure Block Kit builders: domain objects in, dicts out. No database, no network."""
