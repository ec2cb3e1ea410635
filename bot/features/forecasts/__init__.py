"""Forecasts (issue 25): a person's own forecast of whether a decision will meet its success
criteria, added after an Agree or from the App Home (the decision form and the stance forms
take one too, with the input built here). Private to that person until it is scored."""

from __future__ import annotations

from slack_bolt import App

from bot.features.forecasts import listeners
from bot.features.forecasts.forms import (
    PRIVATE_UNTIL_REVIEW,
    ForecastRefused,
    forecast_input,
    forecast_value,
    open_forecast,
    save_from_form,
    takes_forecast,
)
from bot.features.forecasts.views import build_agree_confirmation


def register(app: App) -> None:
    listeners.register(app)


__all__ = [
    "PRIVATE_UNTIL_REVIEW",
    "ForecastRefused",
    "build_agree_confirmation",
    "forecast_input",
    "forecast_value",
    "open_forecast",
    "register",
    "save_from_form",
    "takes_forecast",
]
