"""Every feature's work kinds, collected for the engine (which imports no feature)."""

from __future__ import annotations

from bot import (
    adr_export,
    decision_posts,
    digest_posts,
    estimate_posts,
    followups,
    notices,
    parking_posts,
    people,
)
from bot.engine.registry import Registry
from bot.listeners import home, workspace


def work_registry() -> Registry:
    registry = Registry()
    notices.register_work(registry)
    decision_posts.register_work(registry)
    followups.register_work(registry)
    people.register_work(registry)
    home.register_work(registry)
    workspace.register_work(registry)
    estimate_posts.register_work(registry)
    parking_posts.register_work(registry)
    digest_posts.register_work(registry)
    adr_export.register_work(registry)
    return registry
