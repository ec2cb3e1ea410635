"""`/adr redact`: replace a field of a decision everywhere it is kept."""

from __future__ import annotations

from bot.core.adr_command import AdrCommand
from bot.core.commands import SlashCommand
from bot.features.redaction import listeners


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    listeners.register_verbs(adr)
