"""The delivery engine: claim, lease, dispatch, retry, fail and wake-up of outbox rows.

It knows no feature. Features register their work kinds (``registry.WorkKind``) next to their
own code; ``bot.app.work_registry`` collects them.
"""
