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
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, bindparam, case, false, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from storage.models import (
    Decision,
    DecisionEvent,
    DecisionStatus,
    DigestSection,
    DissentAnswer,
    EstimateRound,
    Outcome,
    ParkingEvent,
    ParkingItem,
    ParkingState,
    Review,
    ReviewAsk,
    ReviewState,
    RoundState,
    Stance,
    StanceKind,
)
from storage.reviews import DISSENTER

SHOWN = 15  # rows of a list a digest shows; the rest is "… and N more"
TOP_BY_RICE = 5
AHEAD = timedelta(days=7)  # "due this week": from the digest's end, a week ahead
QUARTER = timedelta(days=90)  # health, dissent and overdue reviews look this far back
TREND_ROUNDS = 5  # calibration: the latest 5 rounds with actuals against the 5 before
# Statements per section (the query-count test and the benchmark check them).
QUERIES = {
    DigestSection.DECISIONS: 1,
    DigestSection.REVIEWS: 4,
    DigestSection.ESTIMATES: 3,
    DigestSection.PARKING: 4,
    DigestSection.HEALTH: 3,
}

T = TypeVar("T")


@dataclass(frozen=True)
class Coverage:
    """Whose rows a digest covers: one channel's (any privacy), or with ``channel_id`` None
    every public channel of the workspace."""

    team_id: str
    channel_id: str | None


@dataclass(frozen=True)
class Listing(Generic[T]):
    """The first rows of a list and how many there are in all ("… and 14 more")."""

    total: int = 0
    shown: tuple[T, ...] = ()

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.shown))


@dataclass(frozen=True)
class DecisionLine:
    number: int
    title: str
    status: str
    agree: int = 0
    disagree_and_commit: int = 0
    block: int = 0

    @property
    def ref(self) -> str:
        return f"ADR-{self.number}"


@dataclass(frozen=True)
class ReviewLine:
    """A review round of decision ADR-``number``: when it is (was) due, and its outcome."""

    number: int
    title: str
    due_at: datetime
    outcome: str | None = None

    @property
    def ref(self) -> str:
        return f"ADR-{self.number}"


@dataclass(frozen=True)
class RoundLine:
    """An estimate round with its figures as stored at the reveal (None: not computed yet)
    and its actual, all in ``unit``."""

    number: int
    topic: str
    unit: str
    p50: float | None = None
    p90: float | None = None
    actual: float | None = None

    @property
    def ref(self) -> str:
        return f"E-{self.number}"

    @property
    def ratio(self) -> float | None:
        """actual / the 50% figure (the pooled median, what the team called likely)."""
        if self.actual is None or not self.p50:
            return None
        return self.actual / self.p50


@dataclass(frozen=True)
class ItemLine:
    number: int
    request: str
    state: str
    rice: float | None = None
    timeline_days: float | None = None
    deferred_until: date | None = None
    resurfaced: bool = False  # came back (parked again) during the week

    @property
    def ref(self) -> str:
        return f"P-{self.number}"


@dataclass(frozen=True)
class DecisionsPart:
    """Decisions recorded (created) in the week, newest first, with their current stances:
    the order of `/adr list`, whose next page carries on where the digest stops."""

    recorded: Listing[DecisionLine] = field(default_factory=Listing)

    @property
    def news(self) -> bool:
        return self.recorded.total > 0

    @property
    def empty(self) -> bool:
        return not self.news


@dataclass(frozen=True)
class ReviewsPart:
    """``due``: reviews still scheduled with their due instant in the week ahead, soonest first.
    ``overdue``: reviews asked and not answered (open, or closed unanswered after the last
    nudge), due before ``end`` and within the quarter (older ones are not repeated every
    week), most overdue first. ``outcomes``: first outcomes recorded in the week, newest first,
    with ``outcome_counts`` over all of them. Dissent: the answers of people who disagreed
    and committed, given in the quarter: ``dissent_right`` "yes, the concern materialised"
    of ``dissent_answered`` yes + no; "too early to tell" is no verdict and is left out."""

    due: Listing[ReviewLine] = field(default_factory=Listing)
    overdue: Listing[ReviewLine] = field(default_factory=Listing)
    outcomes: Listing[ReviewLine] = field(default_factory=Listing)
    outcome_counts: dict[str, int] = field(default_factory=dict)
    dissent_right: int = 0
    dissent_answered: int = 0

    @property
    def news(self) -> bool:
        return self.due.total > 0 or self.outcomes.total > 0

    @property
    def empty(self) -> bool:
        return not (self.news or self.overdue.total or self.dissent_answered)


@dataclass(frozen=True)
class Trend:
    """Calibration: mean actual / 50% figure over the latest ``TREND_ROUNDS`` revealed rounds
    with an actual recorded before ``end`` (by when it was recorded), and over the
    ``TREND_ROUNDS`` before them (None: no such rounds). 1.0 is perfectly calibrated; the
    trend improves when the recent mean is nearer 1 (in ratio: 2x over and 0.5x under are
    equally far)."""

    recent: float | None = None
    recent_rounds: int = 0
    before: float | None = None
    before_rounds: int = 0


@dataclass(frozen=True)
class EstimatesPart:
    """Rounds revealed in the week and actuals recorded in the week (newest first). The
    calibration trend goes with them, never alone: it changes only when an actual comes in."""

    revealed: Listing[RoundLine] = field(default_factory=Listing)
    actuals: Listing[RoundLine] = field(default_factory=Listing)
    trend: Trend = field(default_factory=Trend)

    @property
    def news(self) -> bool:
        return self.revealed.total > 0 or self.actuals.total > 0

    @property
    def empty(self) -> bool:
        return not self.news


@dataclass(frozen=True)
class ParkingPart:
    """``new``: items parked in the week (newest first). ``top``: parked, scored items by RICE
    (as `/parkinglot list`; its total counts every parked scored item). ``returning``:
    deferred items due back in the week ahead (by ``deferred_until``) and items that came
    back during the week. ``accepted``: items accepted in the week (by their ``accepted``
    event, whatever happened to them since), with ``scope_added_days`` the sum of their
    timeline impact in working days."""

    new: Listing[ItemLine] = field(default_factory=Listing)
    top: Listing[ItemLine] = field(default_factory=Listing)
    returning: Listing[ItemLine] = field(default_factory=Listing)
    accepted: Listing[ItemLine] = field(default_factory=Listing)
    scope_added_days: float = 0.0

    @property
    def news(self) -> bool:
        return bool(self.new.total or self.returning.total or self.accepted.total)

    @property
    def empty(self) -> bool:
        return not (self.news or self.top.total)


@dataclass(frozen=True)
class HealthPart:
    """Over the quarter (the 90 days ending at ``end``):

    - response rate: reviews asked (due in the quarter and opened: open, answered or
      unanswered; cancelled ones left out) and how many have an outcome. Counted per review,
      not per person: the first owner's answer closes a review for every owner.
    - reversals: decisions recorded in the quarter, and how many of them a decision recorded
      before ``end`` superseded (so within 90 days of being recorded).
    - time to accept: the median from recording to acceptance of the decisions accepted in
      the quarter (``status_changed`` to accepted). Decisions recorded as already accepted
      are left out: they were decided before anyone recorded them, and counting them as 0
      would measure how the bot is used, not how long the team takes to agree."""

    reviews_asked: int = 0
    reviews_answered: int = 0
    decisions_recorded: int = 0
    decisions_reversed: int = 0
    accepted: int = 0
    median_to_accept: timedelta | None = None

    @property
    def empty(self) -> bool:
        return not (self.reviews_asked or self.decisions_recorded or self.accepted)


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


# -- the statements --------------------------------------------------------------------------
#
# Built once per shape (channel or workspace coverage) with bind parameters, like the prebuilt
# statements of storage/reviews.py: building a statement costs more Python than running it
# here. Parameters (``_params``): team, channel, start, end, ahead (end + 7 days), since (end -
# 90 days), today, today_ahead (today + 7 days).

Params = dict[str, Any]


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


def _covers(workspace: bool, channel: Any, private: Any) -> Any:
    """Coverage: every public channel's rows, or one channel's (whatever its privacy)."""
    return private == false() if workspace else channel == bindparam("channel")


def _in(column: Any, start: str, end: str) -> Any:
    return and_(column >= bindparam(start), column < bindparam(end))


def _decision_covered(workspace: bool) -> tuple[Any, Any]:
    return (
        Decision.team_id == bindparam("team"),
        _covers(workspace, Decision.channel_id, Decision.channel_private),
    )


def _first(rows: Any) -> int:
    """The ``total`` every row carries (``count() over ()``); no rows: 0."""
    return int(rows[0].total) if rows else 0


# decisions


@cache
def _decisions_statement(workspace: bool) -> Any:
    newest = (
        select(
            Decision.id,
            Decision.number,
            Decision.title,
            Decision.status,
            func.count().over().label("total"),
        )
        .where(*_decision_covered(workspace), _in(Decision.created_at, "start", "end"))
        .order_by(Decision.number.desc())
        .limit(SHOWN)
        .subquery()
    )

    def tally(kind: StanceKind) -> Any:
        return func.coalesce(func.sum(case((Stance.kind == kind.value, 1), else_=0)), 0)

    return (
        select(
            newest.c.number,
            newest.c.title,
            newest.c.status,
            newest.c.total,
            tally(StanceKind.AGREE),
            tally(StanceKind.DISAGREE_AND_COMMIT),
            tally(StanceKind.BLOCK),
        )
        .select_from(newest)
        # by decision only: the decisions are this team's already, and a team_id condition
        # here leads SQLite to read the team's every stance through ix_stances_user
        .outerjoin(Stance, Stance.decision_id == newest.c.id)
        .group_by(newest.c.id, newest.c.number, newest.c.title, newest.c.status, newest.c.total)
        .order_by(newest.c.number.desc())
    )


def _decisions(session: Session, workspace: bool, params: Params) -> DecisionsPart:
    rows = session.execute(_decisions_statement(workspace), params).all()
    lines = tuple(
        DecisionLine(int(n), title, status, int(a), int(d), int(b))
        for n, title, status, _total, a, d, b in rows
    )
    return DecisionsPart(Listing(_first(rows), lines))


# reviews

_REVIEW_LISTS: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {
    # still scheduled, due in the week ahead; soonest first
    "due": (
        (Review.state == ReviewState.SCHEDULED.value, _in(Review.due_at, "end", "ahead")),
        (Review.due_at, Review.id),
    ),
    # asked, no outcome (open, or unanswered after the last nudge), due in the quarter
    "overdue": (
        (
            Review.state.in_([ReviewState.OPEN.value, ReviewState.UNANSWERED.value]),
            Review.outcome.is_(None),
            _in(Review.due_at, "since", "end"),
        ),
        (Review.due_at, Review.id),
    ),
    # first outcomes recorded in the week; newest first
    "outcomes": (
        (Review.outcome.is_not(None), _in(Review.outcome_at, "start", "end")),
        (Review.outcome_at.desc(), Review.id.desc()),  # type: ignore[union-attr]
    ),
}


@cache
def _review_statement(which: str, workspace: bool) -> Any:
    where, order = _REVIEW_LISTS[which]
    return (
        select(
            Decision.number,
            Decision.title,
            Review.due_at,
            Review.outcome,
            func.count().over().label("total"),
            *(
                func.sum(case((Review.outcome == o.value, 1), else_=0)).over().label(o.value)
                for o in Outcome
            ),
        )
        .join(Review, Review.decision_id == Decision.id)
        .where(*_decision_covered(workspace), Review.team_id == bindparam("team"), *where)
        .order_by(*order)
        .limit(SHOWN)
    )


@cache
def _dissent_statement(workspace: bool) -> Any:
    return (
        select(ReviewAsk.dissent_answer, func.count())
        .join(Review, Review.id == ReviewAsk.review_id)
        .join(Decision, Decision.id == Review.decision_id)
        # reviews and their asks are reached through this team's decisions (they carry the
        # decision's team); a team_id condition on them leads the planner to read every
        # review of the team instead of the covered decisions' few
        .where(
            *_decision_covered(workspace),
            ReviewAsk.role == DISSENTER,
            ReviewAsk.dissent_answer.in_([DissentAnswer.YES.value, DissentAnswer.NO.value]),  # type: ignore[union-attr]
            _in(ReviewAsk.answered_at, "since", "end"),
        )
        .group_by(ReviewAsk.dissent_answer)
    )


def _review_listing(rows: Any) -> Listing[ReviewLine]:
    return Listing(
        _first(rows), tuple(ReviewLine(int(r.number), r.title, r.due_at, r.outcome) for r in rows)
    )


def _reviews(session: Session, workspace: bool, params: Params) -> ReviewsPart:
    due, overdue, outcomes = (
        session.execute(_review_statement(which, workspace), params).all()
        for which in ("due", "overdue", "outcomes")
    )
    counts = {o.value: int(getattr(outcomes[0], o.value) or 0) for o in Outcome} if outcomes else {}
    dissent = dict(session.execute(_dissent_statement(workspace), params).all())
    right = int(dissent.get(DissentAnswer.YES.value, 0))
    return ReviewsPart(
        due=_review_listing(due),
        overdue=_review_listing(overdue),
        outcomes=_review_listing(outcomes),
        outcome_counts={k: v for k, v in counts.items() if v},
        dissent_right=right,
        dissent_answered=right + int(dissent.get(DissentAnswer.NO.value, 0)),
    )


# estimates

_ROUND_LISTS: dict[str, tuple[tuple[Any, ...], tuple[Any, ...], int]] = {
    "revealed": (
        (_in(EstimateRound.revealed_at, "start", "end"),),
        (EstimateRound.number.desc(),),
        SHOWN,
    ),
    "actuals": (
        (EstimateRound.actual.is_not(None), _in(EstimateRound.actual_at, "start", "end")),  # type: ignore[union-attr]
        (EstimateRound.actual_at.desc(), EstimateRound.number.desc()),  # type: ignore[union-attr]
        SHOWN,
    ),
    # the latest rounds with actuals and stored figures, for the calibration trend
    "latest": (
        (
            EstimateRound.actual.is_not(None),  # type: ignore[union-attr]
            EstimateRound.actual_at < bindparam("end"),  # type: ignore[operator]
            EstimateRound.result != "",
        ),
        (EstimateRound.actual_at.desc(), EstimateRound.number.desc()),  # type: ignore[union-attr]
        2 * TREND_ROUNDS,
    ),
}


@cache
def _round_statement(which: str, workspace: bool) -> Any:
    where, order, limit = _ROUND_LISTS[which]
    return (
        select(
            EstimateRound.number,
            EstimateRound.topic,
            EstimateRound.unit,
            EstimateRound.result,
            EstimateRound.actual,
            func.count().over().label("total"),
        )
        .where(
            EstimateRound.team_id == bindparam("team"),
            _covers(workspace, EstimateRound.channel_id, EstimateRound.channel_private),
            EstimateRound.state == RoundState.REVEALED.value,
            *where,
        )
        .order_by(*order)
        .limit(limit)
    )


def _figures(result: str) -> tuple[float | None, float | None]:
    """The 50% and 90% figures stored at the reveal (``bot.features.estimates.estimation.Combined``)."""
    if not result:
        return None, None
    try:
        stored = json.loads(result)
        return float(stored["p50"]), float(stored["p90"])
    except (ValueError, KeyError, TypeError):
        return None, None


def _round_listing(rows: Any) -> Listing[RoundLine]:
    return Listing(
        _first(rows),
        tuple(
            RoundLine(int(r.number), r.topic, r.unit, *_figures(r.result), actual=r.actual)
            for r in rows
        ),
    )


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _estimates(session: Session, workspace: bool, params: Params) -> EstimatesPart:
    revealed, actuals, latest = (
        _round_listing(session.execute(_round_statement(which, workspace), params).all())
        for which in ("revealed", "actuals", "latest")
    )
    ratios = [r for r in (line.ratio for line in latest.shown) if r is not None]
    recent, before = ratios[:TREND_ROUNDS], ratios[TREND_ROUNDS : 2 * TREND_ROUNDS]
    return EstimatesPart(
        revealed=revealed,
        actuals=actuals,
        trend=Trend(_mean(recent), len(recent), _mean(before), len(before)),
    )


# the parking lot

_ITEM_COLUMNS = (
    ParkingItem.number,
    ParkingItem.request,
    ParkingItem.state,
    ParkingItem.rice,
    ParkingItem.timeline_days,
    ParkingItem.deferred_until,
)
_ITEM_LISTS: dict[str, tuple[tuple[Any, ...], tuple[Any, ...], int]] = {
    "new": ((_in(ParkingItem.created_at, "start", "end"),), (ParkingItem.number.desc(),), SHOWN),
    # the order of `/parkinglot list` (storage.parking.list_items), scored items only
    "top": (
        (ParkingItem.state == ParkingState.PARKED.value, ParkingItem.rice.is_not(None)),  # type: ignore[union-attr]
        (ParkingItem.rice.desc(), ParkingItem.created_at, ParkingItem.number),  # type: ignore[union-attr]
        TOP_BY_RICE,
    ),
    # deferred, due back in the week ahead
    "deferred": (
        (
            ParkingItem.state == ParkingState.DEFERRED.value,
            _in(ParkingItem.deferred_until, "today", "today_ahead"),
        ),
        (ParkingItem.deferred_until, ParkingItem.number),
        SHOWN,
    ),
}
_BACK = "resurfaced"  # storage.parking.resurface's event


@cache
def _item_statement(which: str, workspace: bool) -> Any:
    where, order, limit = _ITEM_LISTS[which]
    return (
        select(*_ITEM_COLUMNS, func.count().over().label("total"))
        .where(
            ParkingItem.team_id == bindparam("team"),
            _covers(workspace, ParkingItem.channel_id, ParkingItem.channel_private),
            *where,
        )
        .order_by(*order)
        .limit(limit)
    )


@cache
def _item_events_statement(workspace: bool) -> Any:
    """Accepted and resurfaced in the week, by their events (an item accepted on Monday and
    done on Friday was still accepted this week): per kind the newest SHOWN, the count and
    the timeline impact's sum."""
    ranked = (
        select(
            ParkingEvent.kind,
            *_ITEM_COLUMNS,
            func.row_number()
            .over(partition_by=ParkingEvent.kind, order_by=ParkingEvent.id.desc())  # type: ignore[union-attr]
            .label("position"),
            func.count().over(partition_by=ParkingEvent.kind).label("total"),
            func.sum(ParkingItem.timeline_days).over(partition_by=ParkingEvent.kind).label("days"),
        )
        .join(ParkingItem, ParkingItem.id == ParkingEvent.item_id)
        .where(
            ParkingItem.team_id == bindparam("team"),
            ParkingEvent.team_id == bindparam("team"),
            _covers(workspace, ParkingItem.channel_id, ParkingItem.channel_private),
            ParkingEvent.kind.in_([ParkingState.ACCEPTED.value, _BACK]),
            _in(ParkingEvent.created_at, "start", "end"),
        )
        .subquery()
    )
    return (
        select(ranked).where(ranked.c.position <= SHOWN).order_by(ranked.c.kind, ranked.c.position)
    )


def _item(row: Any, *, resurfaced: bool = False) -> ItemLine:
    return ItemLine(
        int(row.number),
        row.request,
        row.state,
        row.rice,
        row.timeline_days,
        row.deferred_until,
        resurfaced,
    )


def _parking(session: Session, workspace: bool, params: Params) -> ParkingPart:
    new, top, deferred = (
        session.execute(_item_statement(which, workspace), params).all()
        for which in ("new", "top", "deferred")
    )
    events = session.execute(_item_events_statement(workspace), params).all()
    accepted = [e for e in events if e.kind == ParkingState.ACCEPTED]
    back = [e for e in events if e.kind == _BACK]
    returning = [_item(r) for r in deferred] + [_item(e, resurfaced=True) for e in back]
    return ParkingPart(
        new=Listing(_first(new), tuple(_item(r) for r in new)),
        top=Listing(_first(top), tuple(_item(r) for r in top)),
        returning=Listing(_first(deferred) + _first(back), tuple(returning[:SHOWN])),
        accepted=Listing(_first(accepted), tuple(_item(e) for e in accepted)),
        scope_added_days=float(accepted[0].days or 0) if accepted else 0.0,
    )


# health

_ASKED = (ReviewState.OPEN.value, ReviewState.ANSWERED.value, ReviewState.UNANSWERED.value)


@cache
def _asked_statement(workspace: bool) -> Any:
    return (
        select(func.count(), func.count(Review.outcome))
        .join(Decision, Decision.id == Review.decision_id)
        .where(
            *_decision_covered(workspace),
            Review.team_id == bindparam("team"),
            Review.state.in_(_ASKED),
            _in(Review.due_at, "since", "end"),
        )
    )


@cache
def _reversed_statement(workspace: bool) -> Any:
    successor = aliased(Decision)
    return (
        select(func.count(Decision.id), func.count(successor.id))
        .select_from(Decision)
        .outerjoin(
            successor,
            and_(
                successor.id == Decision.superseded_by_id,
                successor.team_id == bindparam("team"),
                successor.created_at < bindparam("end"),
            ),
        )
        .where(*_decision_covered(workspace), _in(Decision.created_at, "since", "end"))
    )


@cache
def _accepted_statement(workspace: bool) -> Any:
    # status_changed details are JSON written by storage.decisions.record_event; the LIKE
    # only narrows the rows, the parsed detail decides (_to)
    return (
        select(Decision.created_at, DecisionEvent.created_at, DecisionEvent.detail)
        .join(DecisionEvent, DecisionEvent.decision_id == Decision.id)
        .where(
            *_decision_covered(workspace),
            DecisionEvent.team_id == bindparam("team"),
            DecisionEvent.kind == "status_changed",
            DecisionEvent.detail.like('%"accepted"%'),  # type: ignore[attr-defined]
            _in(DecisionEvent.created_at, "since", "end"),
        )
    )


def _to(detail: str) -> str | None:
    try:
        found = json.loads(detail or "{}").get("to")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def _health(session: Session, workspace: bool, params: Params) -> HealthPart:
    asked, answered = session.execute(_asked_statement(workspace), params).one()
    recorded, reversed_ = session.execute(_reversed_statement(workspace), params).one()
    waits = [
        accepted_at - recorded_at
        for recorded_at, accepted_at, detail in session.execute(
            _accepted_statement(workspace), params
        ).all()
        if _to(detail) == DecisionStatus.ACCEPTED
    ]
    return HealthPart(
        reviews_asked=int(asked),
        reviews_answered=int(answered),
        decisions_recorded=int(recorded),
        decisions_reversed=int(reversed_),
        accepted=len(waits),
        median_to_accept=statistics.median(waits) if waits else None,
    )


_SECTIONS: dict[DigestSection, Any] = {
    DigestSection.DECISIONS: _decisions,
    DigestSection.REVIEWS: _reviews,
    DigestSection.ESTIMATES: _estimates,
    DigestSection.PARKING: _parking,
    DigestSection.HEALTH: _health,
}


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
    parts = {
        section.value: gather_part(session, workspace, params)
        for section, gather_part in _SECTIONS.items()
        if section in wanted
    }
    return DigestData(start=start, end=end, **parts)


__all__ = [
    "QUERIES",
    "Coverage",
    "DecisionLine",
    "DecisionsPart",
    "DigestData",
    "EstimatesPart",
    "HealthPart",
    "ItemLine",
    "Listing",
    "ParkingPart",
    "ReviewLine",
    "ReviewsPart",
    "RoundLine",
    "Trend",
    "gather",
]
