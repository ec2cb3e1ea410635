"""Block Kit and text for the parking lot (pure): the answer when something is parked, list,
show (with the buttons its state allows), the requester's DMs, a deferred item coming back,
the scope watch's private offer and status, help and App Home's part.

Every request, reason and name a person typed goes through ``bot.core.render`` (escaped); mentions
come only from stored user ids; a permalink becomes a link only when it is a Slack archive URL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.core import durations
from bot.core.blocks import MESSAGE_BLOCKS, button, context, header, packed_sections, section
from bot.core.clock import slack_day
from bot.core.ids import Action
from bot.core.payloads import Blocks, SlackPayload
from bot.core.render import SECTION_LIMIT, Mrkdwn, escape, render, truncate
from bot.features.parking.forms import MOSCOW_LABELS
from storage import rules
from storage.models import ParkingItem, ParkingState

LIST_ROWS = 50
HOME_ROWS = 10
TOP_ROWS = 5
HISTORY_SHOWN = 20
REQUEST_IN_LINE = 120
REQUEST_IN_SHOW = 2800
WHY_IN_SHOW = 1000
TEXT_LIMIT = 12_000  # a text-only message (DM, ephemeral)

STATE_LABELS: dict[str, str] = {
    ParkingState.PARKED: "parked",
    ParkingState.ACCEPTED: "accepted",
    ParkingState.DEFERRED: "deferred",
    ParkingState.DECLINED: "declined",
    ParkingState.DONE: "done",
    ParkingState.WITHDRAWN: "withdrawn",
}
# Which buttons each state offers (the listener checks who may press them).
BUTTONS: dict[str, tuple[str, ...]] = {
    ParkingState.PARKED: (
        Action.PARK_SCORE,
        Action.PARK_ACCEPT,
        Action.PARK_DEFER,
        Action.PARK_DECLINE,
        Action.PARK_WITHDRAW,
    ),
    ParkingState.DEFERRED: (
        Action.PARK_SCORE,
        Action.PARK_ACCEPT,
        Action.PARK_DEFER,
        Action.PARK_DECLINE,
        Action.PARK_WITHDRAW,
    ),
    ParkingState.ACCEPTED: (Action.PARK_DONE, Action.PARK_WITHDRAW),
}
_BUTTON_TEXT: dict[str, str] = {
    Action.PARK_SCORE: "Score",
    Action.PARK_ACCEPT: "Accept into scope",
    Action.PARK_DEFER: "Defer until…",
    Action.PARK_DECLINE: "Decline",
    Action.PARK_DONE: "Done",
    Action.PARK_WITHDRAW: "Withdraw",
}
_BUTTON_STYLE: dict[str, str] = {Action.PARK_ACCEPT: "primary", Action.PARK_DECLINE: "danger"}
_CONFIRM: dict[str, tuple[str, str, str]] = {
    Action.PARK_DONE: ("Mark it done?", "The request was delivered.", "Done"),
    Action.PARK_WITHDRAW: (
        "Withdraw it?",
        "Only its requester can withdraw a request; it stays on the record as withdrawn.",
        "Withdraw",
    ),
}
_PERMALINK = re.compile(
    r"^https://[a-z0-9-]+(?:\.[a-z0-9-]+)*\.slack\.com/archives/[A-Z0-9]+/p\d+"
    r"(?:\?[A-Za-z0-9_.=&%-]*)?$"
)


# -- small pieces ------------------------------------------------------------------------------


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def waiting_long(item: ParkingItem, now: datetime) -> bool:
    """``rules.is_waiting_long`` for an item as stored (SQLite gives naive UTC back)."""
    created = _aware(item.created_at) if item.created_at is not None else None
    return rules.is_waiting_long(state=item.state, created_at=created, now=_aware(now))


def timeline_text(days: float | None) -> str:
    """``+3 working days``, ``-0.5 working days``, ``+1 working day``, ``no timeline change``."""
    if days is None:
        return ""
    if days == 0:
        return "no timeline change"
    shown = durations.format_number(abs(days))
    sign = "+" if days > 0 else "-"
    return f"{sign}{shown} working {'day' if shown == '1' else 'days'}"


def _number(value: float) -> str:
    return durations.format_number(value)


def rice_text(item: ParkingItem) -> str:
    """``RICE 120 (reach 500 × impact 2 × 80% ÷ effort 6.7w)``; empty while unscored."""
    if item.rice is None or None in (item.reach, item.impact, item.confidence, item.effort):
        return ""
    assert item.reach is not None and item.impact is not None
    assert item.confidence is not None and item.effort is not None
    return (
        f"RICE {_number(item.rice)} (reach {_number(item.reach)} × impact {_number(item.impact)}"
        f" × {item.confidence}% ÷ effort {_number(item.effort)}w)"
    )


def _partial_inputs(item: ParkingItem) -> str:
    parts = [
        f"{label} {shown}"
        for label, value, shown in (
            ("reach", item.reach, _number(item.reach) if item.reach is not None else ""),
            ("impact", item.impact, _number(item.impact) if item.impact is not None else ""),
            ("confidence", item.confidence, f"{item.confidence}%"),
            ("effort", item.effort, f"{_number(item.effort)}w" if item.effort is not None else ""),
        )
        if value is not None
    ]
    return ", ".join(parts)


def _moscow(item: ParkingItem) -> str:
    return MOSCOW_LABELS.get(item.moscow or "", "") if item.moscow else ""


def one_line(text: str, limit: int) -> str:
    return truncate(" ".join((text or "").split()), limit)


def _state(item: ParkingItem) -> str:
    return STATE_LABELS.get(item.state, item.state)


def permalink_link(permalink: str | None, label: str = "original message") -> Mrkdwn | str:
    if permalink and _PERMALINK.match(permalink):
        return Mrkdwn(f"<{permalink}|{label}>")
    return ""


def _line(kind: str, **fields: object) -> str:
    return render("parking/line.md.j2", kind=kind, limit=SECTION_LIMIT, **fields)


def _limited(lines: list[str], shown: int) -> list[str]:
    if len(lines) <= shown:
        return lines
    return lines[:shown] + [_line("more", count=len(lines) - shown)]


def item_line(item: ParkingItem, now: datetime) -> str:
    """One item as a list line (mrkdwn)."""
    return _line(
        "item",
        ref=item.ref,
        request=one_line(item.request, REQUEST_IN_LINE),
        requester=item.requester_id or "",
        state=_state(item),
        rice=rice_text(item),
        moscow=_moscow(item),
        timeline=timeline_text(item.timeline_days) if item.state == ParkingState.ACCEPTED else "",
        until=slack_day(item.deferred_until)
        if item.state == ParkingState.DEFERRED and item.deferred_until
        else "",
        waiting=waiting_long(item, now),
    )


# -- answers and DMs ---------------------------------------------------------------------------


def help_blocks(*, full: bool = False) -> Blocks:
    """`/parkinglot help`: the verbs people use; ``full`` (`/parkinglot help all`): every one."""
    return [section(render("parking/help_all.md.j2" if full else "parking/help.md.j2"))]


# -- list, show, App Home ----------------------------------------------------------------------

_SORT_LABELS = {"rice": "by RICE", "age": "oldest first"}


def build_list_blocks(
    items: Sequence[ParkingItem], *, state: str | None, sort: str, now: datetime
) -> Blocks:
    """`/parkinglot list`: the items in the order given (the caller sorts, unscored after
    scored, and filters visibility); ``state`` None means all states."""
    what = f"{STATE_LABELS.get(state, state)} requests" if state else "Requests"
    if not items:
        return [
            section(
                _line(
                    "heading",
                    label=f"No {what.lower()} in the parking lot.",
                    note="Park one with `/parkinglot` and the request.",
                )
            )
        ]
    heading = _line(
        "heading",
        label=f"{what[:1].upper()}{what[1:]} {_SORT_LABELS.get(sort, '')} ({len(items)})",
    )
    rows = _limited([item_line(i, now) for i in items], LIST_ROWS)
    blocks = packed_sections(heading, rows)[: MESSAGE_BLOCKS - 1]
    blocks.append(context("`/parkinglot show P-12` to score or decide one."))
    return blocks


def history_line(*, kind: str, actor_id: str | None, at: datetime, note: str = "") -> Mrkdwn:
    """One line of an item's history for ``build_show_blocks`` (``note`` is escaped)."""
    return Mrkdwn(
        _line(
            "history",
            when=slack_day(at),
            actor=actor_id or "",
            text=kind.replace("_", " "),
            note=truncate(note, 300),
        )
    )


def build_show_blocks(
    item: ParkingItem,
    history_lines: Sequence[str],
    *,
    now: datetime,
    related: str = "",
) -> tuple[str, Blocks]:
    """`/parkinglot show P-12`: the request, its score and state, its history (lines from
    ``history_line``; plain strings are escaped) and the buttons its state allows (value: the
    item number). ``related``: "ADR-12", "E-3" or both, as the caller resolved them."""
    # The fallback text is mrkdwn too (notifications): escaped like everything else.
    fallback = escape(f"{item.ref}: {one_line(item.request, 200)}")
    blocks: Blocks = [
        header(f"{item.ref}: {one_line(item.request, 140)}"),
        {
            "type": "section",
            "text": {
                "type": "plain_text",
                "text": truncate(item.request or " ", REQUEST_IN_SHOW),
                "emoji": False,
            },
        },
        section(
            render(
                "parking/item.md.j2",
                state=_state(item),
                decided_by=item.decided_by
                if item.state != ParkingState.PARKED and item.decided_by
                else "",
                decided_at=slack_day(item.decided_at)
                if item.state != ParkingState.PARKED and item.decided_at
                else "",
                waiting=waiting_long(item, now),
                requester=item.requester_id or "",
                parked_by=item.parked_by,
                channel=item.channel_id,
                created=slack_day(item.created_at) if item.created_at else "",
                link=permalink_link(item.permalink),
                why=truncate(item.why or "", WHY_IN_SHOW),
                related=related,
                rice=rice_text(item),
                inputs=_partial_inputs(item),
                moscow=_moscow(item),
                timeline=timeline_text(item.timeline_days)
                if item.state in (ParkingState.ACCEPTED, ParkingState.DONE)
                else "",
                until=slack_day(item.deferred_until)
                if item.state == ParkingState.DEFERRED and item.deferred_until
                else "",
                reason=truncate(item.reason or "", 1000)
                if item.state in (ParkingState.DECLINED, ParkingState.WITHDRAWN)
                else "",
            )
        ),
    ]
    lines = [line if isinstance(line, Mrkdwn) else escape(line) for line in history_lines]
    if lines:
        heading = _line("heading", label="History")
        blocks += packed_sections(heading, _limited(lines[-HISTORY_SHOWN:], HISTORY_SHOWN))[:10]
    actions = BUTTONS.get(item.state, ())
    if actions:
        blocks.append(
            {
                "type": "actions",
                "block_id": "parking.item",
                "elements": [_button(action, item.number) for action in actions],
            }
        )
    return fallback, blocks[:MESSAGE_BLOCKS]


def _button(action: str, number: int) -> SlackPayload:
    element = button(_BUTTON_TEXT[action], action, str(number), _BUTTON_STYLE.get(action))
    if action in _CONFIRM:
        title, text, confirm = _CONFIRM[action]
        element["confirm"] = {
            "title": {"type": "plain_text", "text": title},
            "text": {"type": "plain_text", "text": text},
            "confirm": {"type": "plain_text", "text": confirm},
            "deny": {"type": "plain_text", "text": "Cancel"},
        }
    return element


def home_section(
    waiting: Sequence[ParkingItem], top: Sequence[ParkingItem], now: datetime
) -> Blocks:
    """App Home's parking lot: items waiting for triage (oldest first, as given) and the top
    five by RICE."""
    blocks: Blocks = []
    for label, items, shown, empty in (
        ("Parking lot: waiting for triage", waiting, HOME_ROWS, "Nothing is waiting."),
        ("Parking lot: top five by RICE", top[:TOP_ROWS], TOP_ROWS, "Nothing scored yet."),
    ):
        heading = _line("heading", label=label, note="" if items else empty)
        blocks += packed_sections(heading, _limited([item_line(i, now) for i in items], shown))
    blocks.append({"type": "divider"})
    return blocks
