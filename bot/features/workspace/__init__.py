"""What the bot knows about the workspace: people and channels (events and the user cache) and
`/adr settings`."""

from __future__ import annotations

from slack_bolt import App

from bot.core.adr_command import AdrCommand
from bot.core.commands import SlashCommand
from bot.engine.registry import Registry
from bot.features.workspace import listeners, settings, work
from bot.features.workspace.leaving import register_leaving


def register(app: App) -> None:
    listeners.register(app)


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    settings.register_verbs(adr)


__all__ = ["register", "register_leaving", "register_verbs", "register_work"]


def register_work(registry: Registry) -> None:
    work.register_work(registry)
