"""What a weekly digest says: the facts of one team's week, gathered with a fixed number of
queries (it never grows with the number of decisions, reviews, rounds or items in it).

``gather`` reads only the sections asked for, each in a handful of statements (``QUERIES``),
and returns plain values (no ORM objects), which ``bot/features/digest/views.py`` renders.

Coverage: a channel digest covers the rows posted in that channel, whatever its privacy (the
digest is posted there); a workspace digest covers the rows of public channels only
(``channel_private`` false), so a private channel's content never appears in a digest posted
anywhere else. Every statement filters by team and by coverage.

Windows: the week is ``[start, end)``; "coming up" is ``[end, end + 7 days)`` (for date
columns: ``[today, today + 7 days)``); the quarter is the 90 days ending at ``end``. The rules
for each figure are on the dataclass that carries it.

Each section has its own module, with its dataclasses and statements: ``storage.digest_decisions``,
``storage.digest_reviews``, ``storage.digest_estimates``, ``storage.digest_parking`` and
``storage.digest_health``; what they share is in ``storage.digest_common``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from sqlmodel import Session

from storage.digest_common import QUARTER, Params
from storage.digest_decisions import DecisionsPart, _decisions
from storage.digest_estimates import EstimatesPart, _estimates
from storage.digest_health import HealthPart, _health
from storage.digest_parking import ParkingPart, _parking
from storage.digest_reviews import ReviewsPart, _reviews
from storage.models import DigestSection

AHEAD = timedelta(days=7)  # "due this week": from the digest's end, a week ahead


# Statements per section (the query-count test and the benchmark check them).
QUERIES = {
    DigestSection.DECISIONS: 3,
    DigestSection.REVIEWS: 4,
    DigestSection.ESTIMATES: 3,
    DigestSection.PARKING: 4,
    DigestSection.HEALTH: 3,
}


@dataclass(frozen=True)
class Coverage:
    """Whose rows a digest covers: one channel's (any privacy), or with ``channel_id`` None
    every public channel of the workspace."""

    team_id: str
    channel_id: str | None


@dataclass(frozen=True)
class DigestData:
    """The sections gathered (None: not asked for)."""

    start: datetime
    end: datetime
    decisions: DecisionsPart | None = None
    reviews: ReviewsPart | None = None
    estimates: EstimatesPart | None = None
    parking: ParkingPart | None = None
    health: HealthPart | None = None

    @property
    def quiet(self) -> bool:
        """Nothing happened in the week and nothing is due in the week ahead: no decision
        recorded, no review due or answered, no round revealed or actual recorded, nothing
        parked, accepted or coming back. Standing figures (overdue reviews, the dissent
        record, the top items by RICE, calibration, health) alone do not make a digest worth
        posting; when there is news they are shown with it."""
        parts = (self.decisions, self.reviews, self.estimates, self.parking)
        return not any(p is not None and p.news for p in parts)


def _params(cov: Coverage, start: datetime, end: datetime, today: date) -> Params:
    return {
        "team": cov.team_id,
        "channel": cov.channel_id,
        "start": start,
        "end": end,
        "ahead": end + AHEAD,
        "since": end - QUARTER,
        "today": today,
        "today_ahead": today + AHEAD,
    }


Part = TypeVar("Part")
# a section's statements, run: (session, workspace coverage?, ``_params``) -> its part
Gather = Callable[[Session, bool, Params], Part]


def gather(
    session: Session,
    *,
    coverage: Coverage,
    start: datetime,
    end: datetime,
    sections: Collection[str],
    today: date,
) -> DigestData:
    """The facts of the week ``[start, end)`` for ``coverage``, for the sections asked for
    (``DigestSection`` values; an unknown name is a ValueError). ``today`` is the digest's
    local date, for date columns (deferred items coming back). At most ``sum(QUERIES)``
    statements, whatever the amount of data."""
    wanted = {DigestSection(s) for s in sections}
    workspace = coverage.channel_id is None
    params = _params(coverage, start, end, today)

    def part(section: DigestSection, gather_part: Gather[Part]) -> Part | None:
        return gather_part(session, workspace, params) if section in wanted else None

    return DigestData(
        start=start,
        end=end,
        decisions=part(DigestSection.DECISIONS, _decisions),
        reviews=part(DigestSection.REVIEWS, _reviews),
        estimates=part(DigestSection.ESTIMATES, _estimates),
        parking=part(DigestSection.PARKING, _parking),
        health=part(DigestSection.HEALTH, _health),
    )


__all__ = ["Coverage", "DigestData", "QUERIES", "gather"]
