"""The Disagree-and-commit and Block modals: typed metadata, views and parsers."""

from __future__ import annotations

from bot.core.blocks import (
    input_block,
    modal,
    plain,
    section,
    text_input,
)
from bot.core.forms import TEXT_MAX, Values, checked_text, checked_values
from bot.core.ids import Callback, Field
from bot.core.metadata import ModalMeta
from bot.core.payloads import SlackPayload
from bot.core.render import render, truncate
from bot.features.forecasts import forecast_input
from storage.models import (
    Decision,
    Stance,
    StanceKind,
)


def parse_disagree_form(values: Values) -> tuple[tuple[str, str] | None, dict[str, str]]:
    """Disagree & commit: a concern (required), what would change my mind, and the commitment."""
    errors: dict[str, str] = {}
    concern = checked_text(
        values, Field.CONCERN, errors, required=True, limit=TEXT_MAX, label="Your concern"
    )
    change = checked_text(
        values, Field.CHANGE_MY_MIND, errors, required=False, limit=TEXT_MAX, label="This"
    )
    if "commit" not in checked_values(values, Field.COMMIT):
        errors[Field.COMMIT] = "Tick the box to commit; if you can't commit, choose Block instead."
    if errors:
        return None, errors
    return (concern, change), {}


def parse_block_form(values: Values) -> tuple[str | None, dict[str, str]]:
    errors: dict[str, str] = {}
    reason = checked_text(
        values, Field.REASON, errors, required=True, limit=TEXT_MAX, label="A reason"
    )
    return (None, errors) if errors else (reason, {})


class StanceMeta(ModalMeta):
    """Which decision a Disagree or Block modal is about."""

    number: int
    channel: str | None = None  # where the card was clicked: the submit sees what it saw


def build_disagree_modal(
    decision: Decision,
    current: Stance | None = None,
    *,
    channel: str | None = None,
    forecast: int | None = None,
    takes_forecast: bool = True,
) -> SlackPayload:
    """Disagree & commit: the concern, what would change my mind, the commitment, and (unless
    the person's forecast is settled) their own forecast, ``forecast`` shown if pending."""
    concern = current.concern if current is not None else ""
    change = current.change_my_mind if current is not None else ""
    commit_option = {
        "text": plain("I disagree, and I commit to making this decision work."),
        "value": "commit",
    }
    return modal(
        callback_id=Callback.DISAGREE_FORM,
        title="Disagree & commit",
        submit="Commit",
        metadata=StanceMeta(number=decision.number, channel=channel).encode(),
        blocks=[
            section(
                render(
                    "decisions/field.md.j2",
                    label=f"{decision.ref}: {truncate(decision.title, 200)}",
                    text=truncate(decision.decision, 1000),
                )
            ),
            input_block(
                Field.CONCERN,
                "My concern",
                text_input(concern, multiline=True, max_length=TEXT_MAX),
            ),
            input_block(
                Field.CHANGE_MY_MIND,
                "What would change my mind",
                text_input(change, multiline=True, max_length=TEXT_MAX),
                optional=True,
            ),
            input_block(
                Field.COMMIT, "Commitment", {"type": "checkboxes", "options": [commit_option]}
            ),
            *([forecast_input(forecast)] if takes_forecast else []),
        ],
    )


def build_block_modal(
    decision: Decision,
    current: Stance | None = None,
    *,
    channel: str | None = None,
    forecast: int | None = None,
    takes_forecast: bool = True,
) -> SlackPayload:
    """Block: the reason, and (as in Disagree & commit) the person's own forecast."""
    reason = current.reason if current is not None and current.kind == StanceKind.BLOCK else ""
    return modal(
        callback_id=Callback.BLOCK_FORM,
        title="Block this decision",
        submit="Block",
        metadata=StanceMeta(number=decision.number, channel=channel).encode(),
        blocks=[
            section(
                render(
                    "decisions/field.md.j2",
                    label=f"{decision.ref}: {truncate(decision.title, 200)}",
                    text="A block stops a proposed decision from being accepted until you withdraw it (choose Agree or Disagree & commit) or a decider overrides it with a note.",
                )
            ),
            input_block(
                Field.REASON,
                "Why are you blocking it?",
                text_input(reason, multiline=True, max_length=TEXT_MAX),
            ),
            *([forecast_input(forecast)] if takes_forecast else []),
        ],
    )
