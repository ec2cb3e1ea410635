"""Rules with one home each (pure: no session, no Slack). Storage enforces them and the bot
shows them, so they live below both; ARCHITECTURE.md lists where every rule lives.

- **Live decisions**: proposed or accepted. Only a live decision takes stances (and shows
  the stance buttons), has a review to ask or move, or can be deprecated or superseded.
- **Lifecycle**: ``TRANSITIONS`` says which statuses a decision may move from; the buttons
  and commands offered for a decision follow from it.
- **Who may change a decision**: its author and its deciders (``may_change``), refused in
  one sentence (``CHANGE_REFUSED``). Redaction has its own rule (author, deciders and
  workspace admins: ``storage.redaction``).
- **RICE** = reach x impact x confidence / effort, in ``Decimal``, rounded half-up to 2
  places; the stored score, the shown score and the form's preview all come from ``rice``.
- **Waiting long**: a parked item with no decision for ``WAITING_LONG`` (30 days).
- **The review day**: a review is asked on its review date, or on the Monday after when that
  falls on a weekend (``review_day``); the card, `/adr show`, App Home and the export show
  that day, so the date people read is the day they are asked.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from storage.models import DecisionStatus, ParkingState

LIVE: frozenset[DecisionStatus] = frozenset({DecisionStatus.PROPOSED, DecisionStatus.ACCEPTED})

# Which statuses a lifecycle change may move a decision from.
TRANSITIONS: dict[DecisionStatus, frozenset[DecisionStatus]] = {
    DecisionStatus.ACCEPTED: frozenset({DecisionStatus.PROPOSED}),
    DecisionStatus.REJECTED: frozenset({DecisionStatus.PROPOSED}),
    DecisionStatus.DEPRECATED: LIVE,
    DecisionStatus.SUPERSEDED: LIVE,
}


def is_live(status: str) -> bool:
    """Proposed or accepted: the decision is still in force or on the way to it."""
    return status in LIVE


def can_become(status: str, to: DecisionStatus) -> bool:
    """Whether a decision in ``status`` may move to ``to``."""
    return status in TRANSITIONS[to]


CHANGE_REFUSED = (
    "Only the author and the deciders of {ref} can do that. "
    "Ask <@{author}> if something should change."
)


def may_change(*, author_id: str, deciders: list[str], user_id: str) -> bool:
    """The author and the deciders may change a decision, its status and its review."""
    return user_id == author_id or user_id in deciders


def change_refused(*, ref: str, author_id: str) -> str:
    return CHANGE_REFUSED.format(ref=ref, author=author_id)


_CENT = Decimal("0.01")


def rice(
    reach: float | None,
    impact: float | None,
    confidence_pct: float | None,
    effort: float | None,
) -> float | None:
    """RICE = reach x impact x confidence / effort, confidence as a percentage (80 is 0.8),
    computed in ``Decimal`` from the numbers as typed and rounded half-up to 2 places (29.595
    is 29.60, where float arithmetic gave 29.59). None while any input is missing, for an
    effort of zero, or any input negative or not finite: the item is unscored, never
    infinitely good."""
    inputs = (reach, impact, confidence_pct, effort)
    if any(v is None for v in inputs):
        return None
    values = [float(v) for v in inputs if v is not None]
    if not all(math.isfinite(v) and v >= 0 for v in values):
        return None
    r, i, c, e = (Decimal(repr(v)) for v in values)  # repr: the shortest decimal that is v
    if e == 0:
        return None
    score = r * i * c / (100 * e)
    try:
        return float(score.quantize(_CENT, rounding=ROUND_HALF_UP))
    except InvalidOperation:  # more digits than Decimal keeps: cents don't matter there
        return float(score)


WAITING_LONG = timedelta(days=30)


def is_waiting_long(*, state: str, created_at: datetime | None, now: datetime) -> bool:
    """Parked, with no decision, for ``WAITING_LONG`` or more (both instants aware)."""
    return (
        state == ParkingState.PARKED and created_at is not None and now - created_at >= WAITING_LONG
    )


SATURDAY = 5  # date.weekday(): Saturday and Sunday are the weekend


def review_day(planned: date) -> date:
    """The day a review planned for ``planned`` is asked: that day, or the Monday after it
    when it falls on a weekend."""
    while planned.weekday() >= SATURDAY:
        planned += timedelta(days=1)
    return planned
