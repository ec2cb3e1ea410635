"""Pure parsing and validation of modal submissions (no Slack client, no database).

Each parser takes ``view["state"]["values"]`` and returns the parsed value and a dict of
``{block_id: message}`` errors, which the listener sends back as ``response_action: errors``.
Anything Slack can send — missing blocks, wrong shapes, huge strings — yields errors, never
an exception.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date, datetime, timedelta
from typing import Any

from bot.core.ids import Action, Field
from storage.decisions import DecisionDraft
from storage.errors import InvalidInput
from storage.models import DecisionStatus

TITLE_MAX = 200
TEXT_MAX = 3000
TAG_MAX = 10
PEOPLE_MAX = 30
_TAG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,29}$")
_USER = re.compile(r"^[UW][A-Z0-9]{2,31}$")
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,31}$")

Values = dict[str, Any]


def one_month_after(day: date) -> date:
    """The same day next month, clamped to the month's end (Jan 31 -> Feb 28/29)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def earliest_today(now: datetime) -> date:
    """The earliest calendar date that is 'today' somewhere (UTC-12): a date before it is past
    for everyone, so a user far west is never told their today is in the past."""
    return (now - timedelta(hours=12)).date()


def _element(values: Values, block: str) -> dict[str, Any]:
    block_state = values.get(block) if isinstance(values, dict) else None
    if not isinstance(block_state, dict):
        return {}
    element = block_state.get(Action.VALUE)
    if not isinstance(element, dict):
        # tolerate another action id inside the block
        element = next((v for v in block_state.values() if isinstance(v, dict)), {})
    return element


def text_value(values: Values, block: str) -> str:
    raw = _element(values, block).get("value")
    # NUL can't be typed, and Postgres text can't store it: drop it rather than fail the save.
    return raw.replace("\x00", "").strip() if isinstance(raw, str) else ""


def users_value(values: Values, block: str) -> list[str]:
    raw = _element(values, block).get("selected_users")
    if not isinstance(raw, list):
        return []
    return [u for u in raw if isinstance(u, str)]


def select_value(values: Values, block: str) -> str | None:
    option = _element(values, block).get("selected_option")
    if isinstance(option, dict) and isinstance(option.get("value"), str):
        return option["value"]
    return None


def date_value(values: Values, block: str) -> tuple[date | None, str | None]:
    raw = _element(values, block).get("selected_date")
    if raw in (None, ""):
        return None, None
    if not isinstance(raw, str):
        return None, "That isn't a date."
    try:
        return date.fromisoformat(raw), None
    except ValueError:
        return None, "That isn't a date."


def time_value(values: Values, block: str) -> str:
    """A timepicker's "HH:MM", or "" when none was picked."""
    raw = _element(values, block).get("selected_time")
    return raw if isinstance(raw, str) else ""


def conversation_value(values: Values, block: str) -> str | None:
    raw = _element(values, block).get("selected_conversation")
    return raw if isinstance(raw, str) else None


def checked_values(values: Values, block: str) -> list[str]:
    raw = _element(values, block).get("selected_options")
    if not isinstance(raw, list):
        return []
    return [o["value"] for o in raw if isinstance(o, dict) and isinstance(o.get("value"), str)]


def parse_tags(raw: str) -> tuple[list[str], str | None]:
    """'#db, infra  ops' -> ['db', 'infra', 'ops']; an error sentence if any tag is unusable."""
    tags: list[str] = []
    for piece in re.split(r"[\s,]+", raw.lower()):
        piece = piece.lstrip("#")
        if not piece:
            continue
        if not _TAG.match(piece):
            return [], (
                f"Tags are short words of letters, digits, - _ or . "
                f"(at most 30 characters each): {piece[:40]!r} isn't one."
            )
        if piece not in tags:
            tags.append(piece)
    if len(tags) > TAG_MAX:
        return [], f"At most {TAG_MAX} tags, please."
    return tags, None


def _checked_text(
    values: Values, block: str, errors: dict[str, str], *, required: bool, limit: int, label: str
) -> str:
    value = text_value(values, block)
    if required and not value:
        errors[block] = f"{label} is required."
    elif len(value) > limit:
        errors[block] = f"{label} can be at most {limit} characters (it has {len(value)})."
    return value


def _checked_people(values: Values, block: str, errors: dict[str, str]) -> list[str]:
    users = users_value(values, block)
    if any(not _USER.match(u) for u in users):
        errors[block] = "Pick people from the list."
    elif len(users) > PEOPLE_MAX:
        errors[block] = f"At most {PEOPLE_MAX} people here."
    return list(dict.fromkeys(users))


def parse_decision_form(
    values: Values, *, now: datetime, editing: bool = False
) -> tuple[DecisionDraft | None, dict[str, str]]:
    """Validate the decision modal. Returns (draft, {}) or (None, {block_id: message})."""
    errors: dict[str, str] = {}
    title = _checked_text(
        values, Field.TITLE, errors, required=True, limit=TITLE_MAX, label="A title"
    )
    decision = _checked_text(
        values, Field.DECISION, errors, required=True, limit=TEXT_MAX, label="The decision"
    )
    texts = {
        name: _checked_text(values, name, errors, required=False, limit=TEXT_MAX, label=label)
        for name, label in (
            (Field.CONTEXT, "Context"),
            (Field.OPTIONS, "Options considered"),
            (Field.CONSEQUENCES, "Consequences"),
            (Field.SUCCESS, "What success looks like"),
        )
    }
    status = DecisionStatus.PROPOSED
    if not editing:
        raw_status = select_value(values, Field.STATUS) or DecisionStatus.PROPOSED
        if raw_status not in (DecisionStatus.PROPOSED, DecisionStatus.ACCEPTED):
            errors[Field.STATUS] = "A new decision is either proposed or accepted."
        else:
            status = DecisionStatus(raw_status)
    tags, tag_error = parse_tags(text_value(values, Field.TAGS))
    if tag_error:
        errors[Field.TAGS] = tag_error
    review_date, date_error = date_value(values, Field.REVIEW_DATE)
    if date_error:
        errors[Field.REVIEW_DATE] = date_error
    elif review_date is not None:
        if review_date < earliest_today(now):
            errors[Field.REVIEW_DATE] = "The review date is in the past: pick today or later."
        elif review_date > now.date() + timedelta(days=5 * 366):
            errors[Field.REVIEW_DATE] = "Pick a review date within five years."
    people = {
        block: _checked_people(values, block, errors)
        for block in (Field.DECIDERS, Field.CONSULTED, Field.INFORMED)
    }
    channel = ""
    if not editing:
        channel = conversation_value(values, Field.CHANNEL) or ""
        if not _CHANNEL.match(channel):
            errors[Field.CHANNEL] = "Pick the channel to post the decision in."
    if errors:
        return None, errors
    return (
        DecisionDraft(
            title=title,
            decision=decision,
            context=texts[Field.CONTEXT],
            options=texts[Field.OPTIONS],
            consequences=texts[Field.CONSEQUENCES],
            success_criteria=texts[Field.SUCCESS],
            status=status,
            tags=tags,
            review_date=review_date,
            deciders=people[Field.DECIDERS],
            consulted=people[Field.CONSULTED],
            informed=people[Field.INFORMED],
            channel_id=channel,
        ),
        {},
    )


def parse_disagree_form(values: Values) -> tuple[tuple[str, str] | None, dict[str, str]]:
    """Disagree & commit: a concern (required), what would change my mind, and the commitment."""
    errors: dict[str, str] = {}
    concern = _checked_text(
        values, Field.CONCERN, errors, required=True, limit=TEXT_MAX, label="Your concern"
    )
    change = _checked_text(
        values, Field.CHANGE_MY_MIND, errors, required=False, limit=TEXT_MAX, label="This"
    )
    if "commit" not in checked_values(values, Field.COMMIT):
        errors[Field.COMMIT] = "Tick the box to commit; if you can't commit, choose Block instead."
    if errors:
        return None, errors
    return (concern, change), {}


def parse_block_form(values: Values) -> tuple[str | None, dict[str, str]]:
    errors: dict[str, str] = {}
    reason = _checked_text(
        values, Field.REASON, errors, required=True, limit=TEXT_MAX, label="A reason"
    )
    return (None, errors) if errors else (reason, {})


def button_number(action: dict[str, Any], what: str) -> int:
    """The number a button carries (E-n, P-n); a broken value is said in one sentence."""
    raw = str(action.get("value") or "")
    if not raw.isdigit():
        raise InvalidInput(f"That button doesn't point at {what} any more.")
    return int(raw)
