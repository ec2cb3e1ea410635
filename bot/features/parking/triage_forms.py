"""The triage modals of a parked item: score (RICE and MoSCoW), accept (timeline impact and what\nit is linked to), defer (until when), decline (why); each view and its parser."""

from __future__ import annotations

from datetime import date, timedelta

from bot.core.blocks import input_block, modal, text_input
from bot.core.dates import DATE_HINT, PHRASE_MAX
from bot.core.forms import Values, checked_text, day_value, text_value
from bot.core.ids import Callback, ParkField
from bot.core.payloads import SlackPayload
from bot.core.render import truncate
from bot.features.parking.command import parse_timeline
from bot.features.parking.forms import (
    DEFER_DEFAULT_DAYS,
    DEFER_MAX_DAYS,
    NUMBER_MAX_LENGTH,
    REASON_MAX,
    RELATED_MAX,
    AcceptDraft,
    ItemMeta,
    Score,
    item_intro,
    parse_score,
    related_numbers,
    score_blocks,
)
from storage.models import ParkingItem


def build_score_modal(item: ParkingItem) -> SlackPayload:
    """RICE and MoSCoW for one item, prefilled with what it has."""
    return modal(
        callback_id=Callback.PARK_SCORE_FORM,
        title=f"Score {item.ref}",
        submit="Save",
        blocks=[item_intro(item, "score"), *score_blocks(item)],
        metadata=ItemMeta(item=item.number).encode(),
    )


def parse_score_form(values: Values) -> tuple[Score | None, dict[str, str]]:
    """Validate the score form (every input optional; partial RICE leaves it unscored)."""
    errors: dict[str, str] = {}
    score = parse_score(values, errors)
    return (None, errors) if errors else (score, {})


def build_accept_modal(item: ParkingItem) -> SlackPayload:
    """Accept into scope: the timeline impact (required) and what it changes."""
    return modal(
        callback_id=Callback.PARK_ACCEPT_FORM,
        title=f"Accept {item.ref}",
        submit="Accept",
        blocks=[
            item_intro(item, "accept"),
            input_block(
                ParkField.TIMELINE,
                "Timeline impact",
                text_input(max_length=NUMBER_MAX_LENGTH * 2, placeholder="+3d"),
                hint="How much later the work lands: +3d, 4h, 1.5w (a day is 8 hours, a week "
                "5 days; a plain number is days). -2d if it removes work, 0 if absorbed.",
            ),
            input_block(
                ParkField.CHANGES,
                "Which decision or estimate it changes",
                text_input(max_length=RELATED_MAX, placeholder="ADR-12 or E-3"),
                optional=True,
            ),
        ],
        metadata=ItemMeta(item=item.number).encode(),
    )


def parse_accept_form(values: Values) -> tuple[AcceptDraft | None, dict[str, str]]:
    errors: dict[str, str] = {}
    timeline: float | None = None
    raw = text_value(values, ParkField.TIMELINE)
    if not raw:
        errors[ParkField.TIMELINE] = "How much does it move the timeline? For example +3d."
    else:
        try:
            timeline = parse_timeline(raw)
        except ValueError as exc:
            errors[ParkField.TIMELINE] = truncate(str(exc), 150)
    decision, round_number = related_numbers(values, ParkField.CHANGES, errors)
    if errors or timeline is None:
        return None, errors
    return AcceptDraft(timeline, decision, round_number), {}


def build_defer_modal(item: ParkingItem, today: date) -> SlackPayload:
    """Defer until a day after ``today`` (the deciding person's today), typed as any date is:
    "in 2 weeks", "next tuesday", "3m" or "2027-03-06"."""
    initial = item.deferred_until if item.deferred_until and item.deferred_until > today else None
    until = initial or today + timedelta(days=DEFER_DEFAULT_DAYS)
    return modal(
        callback_id=Callback.PARK_DEFER_FORM,
        title=f"Defer {item.ref}",
        submit="Defer",
        blocks=[
            item_intro(item, "defer"),
            input_block(
                ParkField.UNTIL,
                "Bring it back on",
                text_input(
                    until.isoformat(),
                    max_length=PHRASE_MAX,
                    placeholder="in 2 weeks, next tuesday, 3m or 2027-03-06",
                ),
                hint=f"It comes back to its channel that day, for triage. {DATE_HINT}",
            ),
        ],
        metadata=ItemMeta(item=item.number).encode(),
    )


def parse_defer_form(values: Values, today: date) -> tuple[date | None, dict[str, str]]:
    day, error = day_value(values, ParkField.UNTIL, today=today)
    if error:
        return None, {ParkField.UNTIL: error}
    if day is None:
        return None, {ParkField.UNTIL: "Pick the day it should come back."}
    if day <= today:
        return None, {ParkField.UNTIL: "Pick a day after today: it comes back to the channel then."}
    if day > today + timedelta(days=DEFER_MAX_DAYS):
        return None, {ParkField.UNTIL: "Pick a day within five years."}
    return day, {}


def build_decline_modal(item: ParkingItem) -> SlackPayload:
    return modal(
        callback_id=Callback.PARK_DECLINE_FORM,
        title=f"Decline {item.ref}",
        submit="Decline",
        blocks=[
            item_intro(item, "decline"),
            input_block(
                ParkField.REASON,
                "Why not",
                text_input(multiline=True, max_length=REASON_MAX),
                hint="The requester is told, with this reason: be kind and specific.",
            ),
        ],
        metadata=ItemMeta(item=item.number).encode(),
    )


def parse_decline_form(values: Values) -> tuple[str | None, dict[str, str]]:
    errors: dict[str, str] = {}
    reason = checked_text(
        values, ParkField.REASON, errors, required=True, limit=REASON_MAX, label="A reason"
    )
    return (None, errors) if errors else (reason, {})
