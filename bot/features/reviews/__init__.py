""" "Did this decision work?": the review asks, outcomes, snoozes, nudges and dissent answers;
`/adr review` and `/adr remind`."""

from __future__ import annotations

from slack_bolt import App

from bot.core.adr_command import AdrCommand
from bot.core.commands import SlashCommand
from bot.engine.registry import Registry
from bot.features.reviews import listeners, work
from bot.features.reviews.views import (
    DISSENT_LABELS,
    OUTCOME_EMOJI,
    OUTCOME_LABELS,
    build_review_dm_now,
    outcome_context,
    review_summary_text,
)


def register(app: App) -> None:
    listeners.register(app)


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    listeners.register_verbs(adr)


def register_work(registry: Registry) -> None:
    work.register_work(registry)


__all__ = [
    "DISSENT_LABELS",
    "OUTCOME_EMOJI",
    "OUTCOME_LABELS",
    "build_review_dm_now",
    "outcome_context",
    "review_summary_text",
    "register",
    "register_verbs",
    "register_work",
]
