"""The parking lot's modals: their Block Kit and the parsing of their submissions (pure).

- **Park** (``Callback.PARK_FORM``): the request, who asked, why it matters, the related
  decision or estimate, and optional scoring (RICE and MoSCoW). ``private_metadata`` keeps
  the channel, thread and permalink of where it was parked (``ParkMeta``).
- **Score**, **Accept**, **Defer**, **Decline**: one item each; ``private_metadata`` carries
  its number (``ItemMeta``).

Decided: RICE may be partial. Any of its four inputs may be given alone (each is checked);
the item stays unscored until all four are there, and the hint says so. Reach and effort must
be above zero; an effort of zero would make the score infinite.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bot.core.blocks import context, input_block, modal, options, plain, section, text_input
from bot.core.forms import Values, checked_text, select_value, text_value
from bot.core.ids import Action, Callback, ParkField
from bot.core.metadata import ModalMeta
from bot.core.payloads import Blocks, SlackPayload
from bot.core.render import render, truncate
from bot.features.parking.command import REQUEST_MAX, parse_related
from storage.models import Moscow, ParkingItem, utcnow
from storage.rules import rice

WHY_MAX = 3000
REASON_MAX = 1000
RELATED_MAX = 40
NUMBER_MAX_LENGTH = 20
REACH_MAX = 1_000_000_000.0
EFFORT_MAX = 1_000.0  # person-weeks
PERMALINK_MAX = 500  # ParkingItem.permalink
DEFER_DEFAULT_DAYS = 14
DEFER_MAX_DAYS = 5 * 366
REQUEST_IN_INTRO = 300
_USER = re.compile(r"^[UW][A-Z0-9]{2,31}$")

IMPACT_LABELS: dict[str, str] = {
    "3": "3 — massive",
    "2": "2 — high",
    "1": "1 — medium",
    "0.5": "0.5 — low",
    "0.25": "0.25 — minimal",
}
CONFIDENCE_LABELS: dict[str, str] = {
    "100": "100% — high",
    "80": "80% — medium",
    "50": "50% — low",
}
MOSCOW_LABELS: dict[str, str] = {
    Moscow.MUST: "Must have",
    Moscow.SHOULD: "Should have",
    Moscow.COULD: "Could have",
    Moscow.WONT: "Won't have (this time)",
}
RICE_HINT = (
    "RICE = reach × impact × confidence ÷ effort. Fill in what you know: "
    "the item stays unscored until all four are given."
)


@dataclass(frozen=True)
class Score:
    """RICE inputs (any may be None) and MoSCoW; ``rice`` is None until all four are given."""

    reach: float | None = None
    impact: float | None = None
    confidence: int | None = None
    effort: float | None = None
    moscow: Moscow | None = None

    @property
    def rice(self) -> float | None:
        return rice(self.reach, self.impact, self.confidence, self.effort)


@dataclass(frozen=True)
class ParkDraft:
    """A valid park form. ``requester_id`` None: the person parking it asked."""

    request: str
    requester_id: str | None
    why: str
    decision_number: int | None  # ADR-n
    round_number: int | None  # E-n
    score: Score


@dataclass(frozen=True)
class AcceptDraft:
    timeline_days: float  # working days; negative when it removes work
    decision_number: int | None
    round_number: int | None


class ParkMeta(ModalMeta):
    """Where the park modal was opened: the channel (and thread, and the message's link), and
    the interaction's response_url for the answer after Submit."""

    channel: str  # empty when Slack gave none: the submit says so
    thread_ts: str | None = None
    permalink: str | None = None
    # where the command or shortcut can be answered, and when it came (epoch seconds): the
    # new item is confirmed there while Slack still takes answers, else by DM
    response_url: str | None = None
    asked_at: int | None = None


class ItemMeta(ModalMeta):
    """Which item a score, accept, defer or decline modal is for, and the channel it was opened
    in (who may act depends on it)."""

    item: int
    channel: str | None = None


# -- small pieces ------------------------------------------------------------------------------


def number_text(value: float | None) -> str:
    """A stored number as typed back: 500, 6.7, 0.25 (empty for None)."""
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _select(labels: dict[str, str], initial: str | None, placeholder: str) -> SlackPayload:
    choices = options(labels)
    element: SlackPayload = {
        "type": "static_select",
        "options": choices,
        "placeholder": plain(placeholder, 150),
    }
    chosen = next((o for o in choices if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return element


def _number_input(initial: float | None) -> SlackPayload:
    element: SlackPayload = {"type": "number_input", "is_decimal_allowed": True}
    if initial is not None and math.isfinite(initial):
        element["initial_value"] = number_text(initial)
    return element


def _choice_text(value: float | None) -> str | None:
    """3.0 -> "3", 0.5 -> "0.5": the option value of a stored impact or confidence."""
    return None if value is None else number_text(value)


def score_blocks(item: ParkingItem | None) -> Blocks:
    return [
        input_block(
            ParkField.REACH,
            "Reach: people (or events) per month",
            _number_input(item.reach if item else None),
            optional=True,
            hint=RICE_HINT,
        ),
        input_block(
            ParkField.IMPACT,
            "Impact",
            _select(IMPACT_LABELS, _choice_text(item.impact if item else None), "How much"),
            optional=True,
        ),
        input_block(
            ParkField.CONFIDENCE,
            "Confidence",
            _select(CONFIDENCE_LABELS, _choice_text(item.confidence if item else None), "How sure"),
            optional=True,
        ),
        input_block(
            ParkField.EFFORT,
            "Effort in person-weeks",
            _number_input(item.effort if item else None),
            optional=True,
        ),
        input_block(
            ParkField.MOSCOW,
            "MoSCoW",
            _select(MOSCOW_LABELS, item.moscow if item else None, "Must, should, could, won't"),
            optional=True,
        ),
    ]


def item_intro(item: ParkingItem, kind: str) -> SlackPayload:
    return section(
        render(
            "parking/form.md.j2",
            kind=kind,
            ref=item.ref,
            request=truncate(item.request, REQUEST_IN_INTRO),
        )
    )


# -- park --------------------------------------------------------------------------------------


def build_park_modal(
    *,
    request: str,
    requester: str | None,
    permalink: str | None,
    channel_id: str,
    thread_ts: str | None,
    related: str = "",
    response_url: str | None = None,
) -> SlackPayload:
    """The park form, prefilled from a message (shortcut) or the command; ``related`` is
    ``ADR-12`` / ``E-3`` as the person typed it after the command."""
    link = permalink if permalink and len(permalink) <= PERMALINK_MAX else None
    metadata = ParkMeta(
        channel=channel_id,
        thread_ts=thread_ts,
        permalink=link,
        response_url=response_url or None,
        asked_at=int(utcnow().timestamp()),
    ).encode()
    requester_element: SlackPayload = {"type": "users_select"}
    if requester:
        requester_element["initial_user"] = requester
    blocks = [
        input_block(
            ParkField.REQUEST,
            "The request",
            text_input(
                (request or "").replace("\x00", "")[:REQUEST_MAX],
                multiline=True,
                max_length=REQUEST_MAX,
                placeholder="Export the report to CSV for finance",
            ),
        ),
        input_block(ParkField.REQUESTER, "Who asked", requester_element, optional=True),
        input_block(
            ParkField.WHY,
            "Why it matters",
            text_input(multiline=True, max_length=WHY_MAX),
            optional=True,
        ),
        input_block(
            ParkField.RELATED,
            "Related decision or estimate",
            text_input(related[:RELATED_MAX], max_length=RELATED_MAX, placeholder="ADR-12 or E-3"),
            optional=True,
        ),
        *score_blocks(None),
    ]
    if link:
        blocks.append(context("The original message's link is kept with the item."))
    return modal(
        callback_id=Callback.PARK_FORM,
        title="Park a request",
        submit="Park it",
        blocks=blocks,
        metadata=metadata,
    )


def _positive(
    values: Values, block: str, errors: dict[str, str], *, limit: float, what: str
) -> float | None:
    raw = text_value(values, block)
    if not raw:
        return None
    if len(raw) > NUMBER_MAX_LENGTH:
        errors[block] = "That's too long for a number."
        return None
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        errors[block] = f"{what} is a number, like 3 or 1.5."
        return None
    if not math.isfinite(value) or value <= 0:
        errors[block] = f"{what} must be more than zero."
        return None
    if value > limit:
        errors[block] = f"{what} can be at most {number_text(limit)}."
        return None
    return value


def _choice(
    values: Values, block: str, labels: dict[str, str], errors: dict[str, str], what: str
) -> str | None:
    raw = select_value(values, block)
    if raw is None:
        return None
    if raw not in labels:
        errors[block] = f"Pick {what} from the list."
        return None
    return raw


def parse_score(values: Values, errors: dict[str, str]) -> Score:
    reach = _positive(values, ParkField.REACH, errors, limit=REACH_MAX, what="Reach")
    effort = _positive(values, ParkField.EFFORT, errors, limit=EFFORT_MAX, what="Effort")
    impact = _choice(values, ParkField.IMPACT, IMPACT_LABELS, errors, "an impact")
    confidence = _choice(values, ParkField.CONFIDENCE, CONFIDENCE_LABELS, errors, "a confidence")
    moscow = _choice(
        values, ParkField.MOSCOW, MOSCOW_LABELS, errors, "must, should, could or won't"
    )
    return Score(
        reach=reach,
        impact=float(impact) if impact is not None else None,
        confidence=int(confidence) if confidence is not None else None,
        effort=effort,
        moscow=Moscow(moscow) if moscow is not None else None,
    )


def related_numbers(
    values: Values, block: str, errors: dict[str, str]
) -> tuple[int | None, int | None]:
    raw = text_value(values, block)
    if len(raw) > RELATED_MAX:
        errors[block] = "Just the reference, like ADR-12 or E-3."
        return None, None
    try:
        return parse_related(raw)
    except ValueError as exc:
        errors[block] = str(exc)
        return None, None


def parse_park_form(values: Values) -> tuple[ParkDraft | None, dict[str, str]]:
    """Validate the park form. Returns (draft, {}) or (None, {block_id: sentence})."""
    errors: dict[str, str] = {}
    request = checked_text(
        values, ParkField.REQUEST, errors, required=True, limit=REQUEST_MAX, label="The request"
    )
    requester = _selected_user(values, ParkField.REQUESTER)
    if requester is not None and not _USER.match(requester):
        errors[ParkField.REQUESTER] = "Pick the person from the list."
    why = checked_text(
        values, ParkField.WHY, errors, required=False, limit=WHY_MAX, label="Why it matters"
    )
    decision, round_number = related_numbers(values, ParkField.RELATED, errors)
    score = parse_score(values, errors)
    if errors:
        return None, errors
    return (
        ParkDraft(
            request=request,
            requester_id=requester,
            why=why,
            decision_number=decision,
            round_number=round_number,
            score=score,
        ),
        {},
    )


def _selected_user(values: Values, block: str) -> str | None:
    """A users_select's ``selected_user`` (bot.core.forms reads only multi-selects)."""
    state = values.get(block) if isinstance(values, dict) else None
    element = state.get(Action.VALUE) if isinstance(state, dict) else None
    user = element.get("selected_user") if isinstance(element, dict) else None
    return user if isinstance(user, str) and user else None


# -- score -------------------------------------------------------------------------------------


# -- accept ------------------------------------------------------------------------------------


# -- defer -------------------------------------------------------------------------------------


# -- decline -----------------------------------------------------------------------------------
