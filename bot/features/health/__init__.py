"""Decision health: `/adr stats`, how a channel or the workspace decides, in numbers and
charts."""

from __future__ import annotations

from bot.core.adr_command import AdrCommand
from bot.core.commands import SlashCommand
from bot.engine.registry import Registry
from bot.features.health import command, work
from bot.features.health.charts import calibration_chart


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    command.register_verbs(adr)


def register_work(registry: Registry) -> None:
    work.register_work(registry)


__all__ = ["calibration_chart", "register_verbs", "register_work"]
