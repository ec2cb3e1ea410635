"""Decisions: `/adr new|edit|supersede|list|search|show|accept|reject|deprecate`, the decision
modal, the posted record and its refreshes, the "Log as decision" shortcut."""

from __future__ import annotations

from slack_bolt import App

from bot.core.adr_command import AdrCommand
from bot.core.commands import SlashCommand
from bot.engine.registry import Registry
from bot.features.decisions import decide_by, listeners, work
from bot.features.decisions.views import STATUS_LABELS, list_rows


def register(app: App) -> None:
    listeners.register(app)


adr_help = listeners.adr_help


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    listeners.register_verbs(adr)


def register_work(registry: Registry) -> None:
    work.register_work(registry)
    decide_by.register_work(registry)


__all__ = ["STATUS_LABELS", "list_rows", "register", "register_verbs", "register_work", "adr_help"]
