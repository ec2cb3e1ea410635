"""The delivery engine: claim, lease, dispatch, retry, fail and wake-up of outbox rows.

It knows no feature. Features register their work kinds (``registry.WorkKind``) next to their
own code; ``bot.features.work_registry`` collects them.
"""
