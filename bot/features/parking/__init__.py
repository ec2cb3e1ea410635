"""The parking lot: `/parkinglot`, the "Add to parking lot" shortcut, triage and scoring, the
scope-creep watch."""

from __future__ import annotations

from slack_bolt import App

from bot.engine.registry import Registry
from bot.features.parking import listeners, work
from bot.features.parking.views import home_section, timeline_text


def register(app: App) -> None:
    listeners.register(app)


def register_work(registry: Registry) -> None:
    work.register_work(registry)


def register_message_watch(app: App) -> None:
    """After every other message listener with a subtype (Bolt runs the first that matches)."""
    listeners.register_message_watch(app)


__all__ = [
    "home_section",
    "timeline_text",
    "register",
    "register_work",
    "register_message_watch",
]
