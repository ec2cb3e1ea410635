"""`/adr dm off|on`: whether the bot may DM a person."""

from __future__ import annotations

from bot.core.adr_command import AdrCommand
from bot.core.commands import SlashCommand
from bot.features.preferences import listeners


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    listeners.register_verbs(adr)
