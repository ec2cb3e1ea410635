"""Decision health: `/adr stats`, how a channel or the workspace decides, in numbers."""

from __future__ import annotations

from bot.core.adr_command import AdrCommand
from bot.core.commands import SlashCommand
from bot.features.health import command


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    command.register_verbs(adr)
