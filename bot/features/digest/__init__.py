"""The weekly digest: `/adr digest` (form, preview, off/on) and one digest per subscription and
week."""

from __future__ import annotations

from slack_bolt import App

from bot.core.adr_command import AdrCommand
from bot.core.commands import SlashCommand
from bot.engine.registry import Registry
from bot.features.digest import listeners, work


def register(app: App) -> None:
    listeners.register(app)


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    listeners.register_verbs(adr)


def register_work(registry: Registry) -> None:
    work.register_work(registry)
