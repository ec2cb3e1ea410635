"""The forecast input (one select of the allowed probabilities), shared by the decision form,
the Disagree & commit and Block forms and the "Add my forecast" modal; its parser; and the
one way a form's transaction turns a refused forecast into an inline error."""

from __future__ import annotations

from sqlmodel import Session

from bot.core.blocks import input_block, plain
from bot.core.forms import Values, select_value
from bot.core.ids import Field
from bot.core.payloads import SlackPayload
from storage import forecasts
from storage.errors import Conflict, InvalidInput
from storage.models import PROBABILITIES, Decision, Forecast, ForecastSource, ForecastState

FORECAST_LABEL = "How likely is it to meet its success criteria?"
PRIVATE_UNTIL_REVIEW = (
    "Only you see your forecast until the decision's first review is answered; "
    "then it is scored against the outcome."
)


def forecast_input(initial: int | None = None, *, optional: bool = True) -> SlackPayload:
    """The select of 10, 25, 40, 50, 60, 75, 90 and 95%, showing ``initial`` if it is one."""
    options = [{"text": plain(f"{p}%"), "value": str(p)} for p in PROBABILITIES]
    element: SlackPayload = {
        "type": "static_select",
        "options": options,
        "placeholder": plain("Pick a chance"),
    }
    if initial in PROBABILITIES:
        element["initial_option"] = options[PROBABILITIES.index(initial)]
    return input_block(
        Field.FORECAST, FORECAST_LABEL, element, optional=optional, hint=PRIVATE_UNTIL_REVIEW
    )


def forecast_value(values: Values, errors: dict[str, str]) -> int | None:
    """The probability picked (None: none), with a sentence in ``errors`` for anything else."""
    raw = select_value(values, Field.FORECAST)
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) not in PROBABILITIES:
        errors[Field.FORECAST] = forecasts.PICK_PROBABILITY
        return None
    return int(raw)


def open_forecast(forecast: Forecast | None) -> int | None:
    """What a form shows as the person's forecast: their pending one (a scored or unscored
    forecast is settled, and is not offered for change)."""
    if forecast is None or forecast.state != ForecastState.PENDING:
        return None
    return forecast.probability


def takes_forecast(forecast: Forecast | None) -> bool:
    """Whether a form offers the person a forecast at all: not once theirs is settled."""
    return forecast is None or forecast.state == ForecastState.PENDING


class ForecastRefused(Exception):
    """``save_forecast`` refused inside a form's transaction: raised to roll the whole
    submission back, and answered on the form's forecast field (the modal stays open)."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence

    def errors(self) -> dict[str, str]:
        return {Field.FORECAST: self.sentence[:300]}


def save_from_form(
    session: Session,
    *,
    decision: Decision,
    user_id: str,
    probability: int,
    source: ForecastSource,
) -> bool:
    """``storage.forecasts.save_forecast`` for a form: a refusal (the decision closed, its
    forecasts already scored) becomes ``ForecastRefused``. Returns whether it changed."""
    try:
        _, changed = forecasts.save_forecast(
            session, decision=decision, user_id=user_id, probability=probability, source=source
        )
    except (InvalidInput, Conflict) as refused:
        raise ForecastRefused(str(refused)) from refused
    return changed
