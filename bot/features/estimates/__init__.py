"""`/estimate`: blind ranged rounds, the reveal with its combined range and chart, actuals and
calibration."""

from __future__ import annotations

from slack_bolt import App

from bot.engine.registry import Registry
from bot.features.estimates import listeners, work
from bot.features.estimates.views import home_section, plan_words, round_plan


def register(app: App) -> None:
    listeners.register(app)


def register_work(registry: Registry) -> None:
    work.register_work(registry)


__all__ = ["home_section", "plan_words", "register", "register_work", "round_plan"]
