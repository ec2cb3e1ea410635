"""One package per feature. Each offers ``register(app, adr)`` (its listeners, and its verbs of
the `/adr` table) and, when it has outbox work, ``register_work(registry)``; ``bot.app`` calls
them. A feature reaches another only through the other's public functions."""
