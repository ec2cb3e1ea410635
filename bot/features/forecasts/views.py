"""What a person sees of their own forecast: the "Add my forecast" button after an Agree, the
modal it opens, and the confirmation once saved. Shown only to that person."""

from __future__ import annotations

from bot.core.blocks import button, context, modal, section
from bot.core.ids import Action, Callback
from bot.core.metadata import ModalMeta
from bot.core.payloads import Blocks, SlackPayload
from bot.core.render import render, truncate
from bot.features.forecasts.forms import forecast_input
from storage.models import Decision


class ForecastMeta(ModalMeta):
    """Which decision the "Add my forecast" modal is about, where it was opened from (the
    channel the card was in, for what the person may see), and whether from the App Home
    (which is refreshed once the forecast is saved)."""

    number: int
    channel: str | None = None
    home: bool = False


def _about(decision: Decision) -> SlackPayload:
    return section(
        render(
            "decisions/field.md.j2",
            label=f"{decision.ref}: {truncate(decision.title, 200)}",
            text="",
        )
    )


def build_agree_confirmation(
    decision: Decision, current: int | None = None, *, offer: bool = True
) -> SlackPayload:
    """The ephemeral answer to an Agree: what was recorded and, unless the person's forecast
    is settled (``offer`` False), **Add my forecast** (**Change my forecast**, with theirs,
    when they have one pending: only they see this)."""
    text = f"You agree with {decision.ref}."
    blocks: Blocks = [
        section(render("decisions/field.md.j2", label=text, text=truncate(decision.title, 200)))
    ]
    if offer:
        label = "Add my forecast" if current is None else "Change my forecast"
        note = (
            "How likely is it to meet its success criteria?"
            if current is None
            else f"Your forecast: {current}%."
        )
        blocks += [
            {
                "type": "actions",
                "block_id": "decision.forecast",
                "elements": [button(label, Action.FORECAST_ADD, str(decision.number))],
            },
            context(f"{note} Only you see your forecast until its first review is answered."),
        ]
    return {"response_type": "ephemeral", "replace_original": False, "text": text, "blocks": blocks}


def build_forecast_modal(
    decision: Decision, current: int | None, *, channel: str | None = None, home: bool = False
) -> SlackPayload:
    """The "Add my forecast" modal: the select, prefilled with the person's pending forecast."""
    return modal(
        callback_id=Callback.FORECAST_FORM,
        title="Your forecast",
        submit="Save",
        metadata=ForecastMeta(number=decision.number, channel=channel, home=home).encode(),
        blocks=[_about(decision), forecast_input(current, optional=False)],
    )


def saved_sentence(decision: Decision, probability: int) -> str:
    return f"Your forecast for {decision.ref}: {probability}%. Only you see it until the review."


def build_forecast_saved(decision: Decision, probability: int) -> SlackPayload:
    """What the modal turns into once the forecast is saved (only its author sees it)."""
    return modal(
        callback_id=Callback.FORECAST_FORM,
        title="Your forecast",
        submit=None,
        blocks=[section(saved_sentence(decision, probability))],
    )
