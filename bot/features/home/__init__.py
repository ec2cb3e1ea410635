"""App Home: the Home tab, published from the outbox."""

from __future__ import annotations

from slack_bolt import App

from bot.engine.registry import Registry
from bot.features.home import listeners, work


def register(app: App) -> None:
    listeners.register(app)


def register_work(registry: Registry) -> None:
    work.register_work(registry)
