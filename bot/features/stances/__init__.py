"""Stances: Agree, Disagree & commit (with the concern), Block; the tally on the record."""

from __future__ import annotations

from slack_bolt import App

from bot.features.stances import listeners


def register(app: App) -> None:
    listeners.register(app)
