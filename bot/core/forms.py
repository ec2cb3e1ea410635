"""Pure parsing and validation of modal submissions (no Slack client, no database).

Each parser takes ``view["state"]["values"]`` and returns the parsed value and a dict of
``{block_id: message}`` errors, which the listener sends back as ``response_action: errors``.
Anything Slack can send — missing blocks, wrong shapes, huge strings — yields errors, never
an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from bot.core import dates
from bot.core.ids import Action
from bot.core.payloads import ActionPayload
from storage.errors import InvalidInput

TEXT_MAX = 3000

Values = Mapping[str, object]
"""``view["state"]["values"]`` (``bot.core.payloads.StateValues``), read as whatever JSON
arrives: a stale or forged form may hold any shape, and yields errors, not exceptions."""


def _element(values: Values, block: str) -> Mapping[str, object]:
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
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) else None


def day_value(values: Values, block: str, *, today: date) -> tuple[date | None, str | None]:
    """The day typed in a date field ("next tuesday", "in 2 weeks", "2027-03-06": see
    ``bot.core.dates.read_date``), counted from ``today`` (the person's); (None, None) when
    left empty, else the one sentence every date field says for what it cannot read.

    A datepicker's ``selected_date`` is still read: a form opened before these fields took
    typed phrases may be submitted afterwards.
    """
    element = _element(values, block)
    raw = element.get("selected_date")
    if raw is None:
        raw = element.get("value")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if not isinstance(raw, str):
        return None, dates.unreadable("")
    day = dates.read_date(raw, today=today)
    if isinstance(day, dates.Unreadable):
        return None, day.sentence
    return day, None


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


def checked_text(
    values: Values, block: str, errors: dict[str, str], *, required: bool, limit: int, label: str
) -> str:
    """The text of ``block``, with a sentence in ``errors`` if it is missing or too long."""
    value = text_value(values, block)
    if required and not value:
        errors[block] = f"{label} is required."
    elif len(value) > limit:
        errors[block] = f"{label} can be at most {limit} characters (it has {len(value)})."
    return value


def button_number(action: ActionPayload, what: str) -> int:
    """The number a button carries (E-n, P-n); a broken value is said in one sentence."""
    raw = str(action.get("value") or "")
    if not raw.isdigit():
        raise InvalidInput(f"That button doesn't point at {what} any more.")
    return int(raw)
