"""How a team decides, in numbers (issue 25): the flow measures over a period, one definition
each, used by both ``/adr stats`` and the weekly digest's health line.

A period is ``[since, end)`` with ``since = end - days`` (``Period``: 30 days, 90 days or a
year). Every measure counts only the decisions in the scope (``scope_clause``), and reviews,
dissent answers, blocks and forecasts through their decision.

- **recorded**: decisions created in the period.
- **accepted**: decisions whose ``accepted_at`` is in the period (a decision recorded as
  already accepted counts, at its creation).
- **lead time, proposed -> accepted** (``lead_median``, ``lead_p90``, over ``lead_decisions``):
  ``accepted_at - created_at`` of the decisions accepted in the period, leaving out those
  recorded as already accepted (``accepted_at`` not after ``created_at``): they were decided
  before anyone recorded them, and counting them as 0 would measure how the bot is used.
- **reversals** (``reversed_`` of ``accepted_for_reversal``): of the decisions accepted in the
  period, those superseded or deprecated (status, with ``closed_at``) at most 90 days after
  ``accepted_at``, and before ``end``. The denominator is ``accepted``.
- **reviews asked / answered**: reviews due in the period that were asked (state open,
  answered or unanswered; scheduled and cancelled ones left out), and how many of those have
  an outcome. Counted per review, not per person. **Time to answer** (``answer_median``):
  ``outcome_at - due_at`` of those answered, 0 for one answered before it was due.
- **outcome mix** (``outcomes``): reviews whose outcome was recorded in the period, by outcome
  (worked, partly, didnt_work; every key present).
- **doors**: one-way and two-way among the decisions recorded in the period (not said: neither).
- **dissent accuracy**: decisions whose dissenters (review asks of role dissenter) answered yes
  or no in the period ("too early" is no verdict), and how many of them had at least one yes
  (the concern came true).
- **blocks**: blocks placed in the period; of those, how many were resolved before ``end``,
  and the median of ``resolved_at - placed_at`` over the resolved ones.
- **forecasts**: scored (state scored, ``scored_at`` in the period) and unscored (state
  unscored, ``updated_at`` in the period). Counts only: never whose, never the values.

Medians and p90 are computed in SQL, by the same rule on SQLite (which has no percentile
function) and Postgres: nearest rank. Of ``n`` values sorted ascending, the p-th percentile is
the one at rank ``ceil(n * p / 100)`` (``row_number()`` against ``count() over ()``): a
median of an even count is the lower of the two middle values, and it is always a value that
occurred. Seconds between two timestamps are a dialect expression; it, the period and the
scope's clause live in ``storage.health_scope`` (shared with ``storage.health_series``).

Three statements, whatever the amount of data (``flow``), each built once per shape with bind
parameters (team, channel, since, end), like the digest's: channel or workspace, and the
viewer (whose visibility clause carries its own values). Speed: ``benchmarks/health.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlmodel import Session, col

from storage.health_scope import (
    Moment,
    Period,
    Scope,
    bound_scope,
    scope_clause,
    seconds_between,
)
from storage.models import (
    Decision,
    DecisionBlock,
    DecisionStatus,
    DissentAnswer,
    Door,
    Forecast,
    ForecastState,
    Outcome,
    Review,
    ReviewAsk,
    ReviewState,
)
from storage.reviews import DISSENTER
from storage.visibility import Viewer

REVERSAL_WINDOW = timedelta(days=90)  # a reversal: superseded or deprecated this soon after


@dataclass(frozen=True)
class Flow:
    """The flow measures of a scope over a period (definitions: the module docstring)."""

    recorded: int = 0
    accepted: int = 0
    lead_median: timedelta | None = None
    lead_p90: timedelta | None = None
    lead_decisions: int = 0  # behind the lead time: accepted, not recorded as accepted
    reversed_: int = 0
    accepted_for_reversal: int = 0
    reviews_asked: int = 0
    reviews_answered: int = 0
    answer_median: timedelta | None = None
    outcomes: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    one_way: int = 0
    two_way: int = 0
    dissent_decisions: int = 0
    dissent_came_true: int = 0
    blocks: int = 0
    blocks_resolved: int = 0
    block_median: timedelta | None = None
    forecasts_scored: int = 0
    forecasts_unscored: int = 0

    @property
    def empty(self) -> bool:
        """Nothing recorded, accepted, asked, answered, blocked or scored in the period."""
        return not (
            self.recorded
            or self.accepted
            or self.reviews_asked
            or any(self.outcomes.values())
            or self.dissent_decisions
            or self.blocks
            or self.forecasts_scored
            or self.forecasts_unscored
        )


def _in(column: Moment) -> ColumnElement[bool]:
    return and_(column >= bindparam("since"), column < bindparam("end"))


def _count(*where: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count().filter(and_(*where))


# -- the statements (built once per shape: channel or workspace, and the viewer) ----------------

# Statements with a viewer carry the visibility clause's values (storage.visibility), so they
# are kept per viewer, in a bounded cache; the digest's two shapes never leave it.
_shapes = lru_cache(maxsize=256)

_ASKED = (ReviewState.OPEN.value, ReviewState.ANSWERED.value, ReviewState.UNANSWERED.value)
_REVERSED = (DecisionStatus.SUPERSEDED.value, DecisionStatus.DEPRECATED.value)
_LEAD, _ANSWER, _BLOCK = 0, 1, 2  # the spans whose median (and p90) are taken
_PERCENTILES = (50, 90)


def reversal() -> ColumnElement[bool]:
    """A reversal, the one definition (``/adr stats``, the digest's health line and its week's
    reversals): an accepted decision superseded or deprecated within ``REVERSAL_WINDOW`` of its
    acceptance."""
    return and_(
        col(Decision.status).in_(_REVERSED),
        col(Decision.accepted_at).is_not(None),
        col(Decision.closed_at).is_not(None),
        seconds_between(col(Decision.closed_at), col(Decision.accepted_at))
        <= REVERSAL_WINDOW.total_seconds(),
    )


@_shapes
def _decisions_statement(workspace: bool, viewer: Viewer | None) -> Select[int, int, int, int, int]:
    """recorded, accepted, reversed, one-way, two-way: one range of an index each (by
    creation, by acceptance), cheaper than one pass over their union."""
    scope = bound_scope(workspace, viewer)
    recorded = (
        select(
            func.count().label("recorded"),
            _count(col(Decision.door) == Door.ONE_WAY.value).label("one_way"),
            _count(col(Decision.door) == Door.TWO_WAY.value).label("two_way"),
        )
        .where(scope, _in(col(Decision.created_at)))
        .subquery("recorded")
    )
    accepted = (
        select(
            func.count().label("accepted"),
            _count(reversal(), col(Decision.closed_at) < bindparam("end")).label("reversed"),
        )
        .where(scope, _in(col(Decision.accepted_at)))
        .subquery("accepted")
    )
    return (
        select(
            recorded.c.recorded,
            accepted.c.accepted,
            accepted.c.reversed,
            recorded.c.one_way,
            recorded.c.two_way,
        )
        .select_from(recorded)
        .join(accepted, true())
    )


@_shapes
def dissent_statement(workspace: bool, viewer: Viewer | None = None) -> Select[int, int]:
    """Dissent accuracy, the one definition (``/adr stats``, the digest's health line and its
    reviews section): decisions whose dissenters answered yes or no in [since, end) ("too
    early" is no verdict), and how many had at least one yes (the concern came true). Bind
    parameters: team, channel, since, end."""
    came_true = col(ReviewAsk.dissent_answer) == DissentAnswer.YES.value
    return (
        select(
            func.count(func.distinct(col(Review.decision_id))).label("decisions"),
            # count(distinct ...) ignores the NULLs of decisions without a yes
            func.count(func.distinct(case((came_true, col(Review.decision_id))))).label(
                "came_true"
            ),
        )
        .select_from(ReviewAsk)
        .join(Review, col(Review.id) == col(ReviewAsk.review_id))
        .join(Decision, col(Decision.id) == col(Review.decision_id))
        .where(
            bound_scope(workspace, viewer),
            col(ReviewAsk.team_id) == bindparam("team"),
            col(ReviewAsk.role) == DISSENTER,
            col(ReviewAsk.dissent_answer).in_([DissentAnswer.YES.value, DissentAnswer.NO.value]),
            _in(col(ReviewAsk.answered_at)),
        )
    )


@_shapes
def _others_statement(
    workspace: bool, viewer: Viewer | None
) -> Select[int, int, int, int, int, int, int, int, int, int, int]:
    """Reviews asked and answered, the outcome mix, dissent, blocks and forecasts: one row of
    four one-row aggregates."""
    scope = bound_scope(workspace, viewer)
    asked = and_(col(Review.state).in_(_ASKED), _in(col(Review.due_at)))
    reviews = (
        select(
            _count(asked).label("asked"),
            _count(asked, col(Review.outcome).is_not(None)).label("answered"),
            *(
                _count(_in(col(Review.outcome_at)), col(Review.outcome) == o.value).label(o.value)
                for o in Outcome
            ),
        )
        .join(Decision, col(Decision.id) == col(Review.decision_id))
        .where(
            scope,
            col(Review.team_id) == bindparam("team"),
            or_(_in(col(Review.due_at)), _in(col(Review.outcome_at))),
        )
        .subquery("reviews")
    )
    dissent = dissent_statement(workspace, viewer).subquery("dissent")
    blocks = (
        select(
            func.count().label("placed"),
            _count(col(DecisionBlock.resolved_at) < bindparam("end")).label("resolved"),
        )
        .join(Decision, col(Decision.id) == col(DecisionBlock.decision_id))
        .where(
            scope,
            col(DecisionBlock.team_id) == bindparam("team"),
            _in(col(DecisionBlock.placed_at)),
        )
        .subquery("blocks")
    )
    scored = and_(col(Forecast.state) == ForecastState.SCORED.value, _in(col(Forecast.scored_at)))
    unscored = and_(
        col(Forecast.state) == ForecastState.UNSCORED.value, _in(col(Forecast.updated_at))
    )
    forecasts = (
        select(_count(scored).label("scored"), _count(unscored).label("unscored"))
        .join(Decision, col(Decision.id) == col(Forecast.decision_id))
        .where(
            scope,
            col(Forecast.team_id) == bindparam("team"),
            # scoring sets updated_at too, and a scored forecast never changes again: every
            # forecast either counts has updated_at >= since (a range an index can serve)
            col(Forecast.updated_at) >= bindparam("since"),
            or_(scored, unscored),
        )
        .subquery("forecasts")
    )
    return (
        select(
            reviews.c.asked,
            reviews.c.answered,
            *(reviews.c[o.value] for o in Outcome),
            dissent.c.decisions,
            dissent.c.came_true,
            blocks.c.placed,
            blocks.c.resolved,
            forecasts.c.scored,
            forecasts.c.unscored,
        )
        .select_from(reviews)
        .join(dissent, true())
        .join(blocks, true())
        .join(forecasts, true())
    )


@_shapes
def _spans_statement(
    workspace: bool, viewer: Viewer | None
) -> CompoundSelect[int, int, int, float]:
    """The median and p90 of each span (lead time, time to answer, time to resolve a block):
    (span, n, rank, seconds) at the nearest ranks only, at most six rows."""
    scope = bound_scope(workspace, viewer)

    def span(kind: int) -> ColumnElement[int]:
        return literal_column(str(kind), Integer).label("span")

    lead = select(
        span(_LEAD),
        seconds_between(col(Decision.accepted_at), col(Decision.created_at)).label("secs"),
    ).where(
        scope,
        _in(col(Decision.accepted_at)),
        col(Decision.accepted_at) > col(Decision.created_at),
    )
    answer = (
        select(
            span(_ANSWER), seconds_between(col(Review.outcome_at), col(Review.due_at)).label("secs")
        )
        .join(Decision, col(Decision.id) == col(Review.decision_id))
        .where(
            scope,
            col(Review.team_id) == bindparam("team"),
            col(Review.state).in_(_ASKED),
            _in(col(Review.due_at)),
            col(Review.outcome).is_not(None),
            col(Review.outcome_at).is_not(None),
        )
    )
    block = (
        select(
            span(_BLOCK),
            seconds_between(col(DecisionBlock.resolved_at), col(DecisionBlock.placed_at)).label(
                "secs"
            ),
        )
        .join(Decision, col(Decision.id) == col(DecisionBlock.decision_id))
        .where(
            scope,
            col(DecisionBlock.team_id) == bindparam("team"),
            _in(col(DecisionBlock.placed_at)),
            col(DecisionBlock.resolved_at) < bindparam("end"),
        )
    )
    # each span ranked on its own (one sort each), then the rows at the nearest ranks:
    # ceil(n * p / 100), in integers on both databases
    picked = []
    for spans in (lead, answer, block):
        values = spans.subquery()
        secs = values.c.secs
        ranked = select(
            values.c.span,
            func.count().over().label("n"),
            func.row_number().over(order_by=secs).label("rank"),
            secs,
        ).subquery()
        ranks = [(ranked.c.n * p + 99) // 100 for p in _PERCENTILES]
        picked.append(select(ranked).where(or_(*(ranked.c.rank == r for r in ranks))))
    return union_all(*picked)


# -- flow --------------------------------------------------------------------------------------


def _duration(seconds: float, *, floor: bool = False) -> timedelta:
    return timedelta(seconds=max(0.0, seconds) if floor else seconds)


def flow(session: Session, *, scope: Scope, period: Period) -> Flow:
    """The flow measures of ``scope`` over ``period`` (definitions: the module docstring), in
    three statements."""
    workspace = scope.channel_id is None
    params = {
        "team": scope.team_id,
        "channel": scope.channel_id or "",
        "since": period.since,
        "end": period.end,
    }
    recorded, accepted, reversed_, one_way, two_way = session.execute(
        _decisions_statement(workspace, scope.viewer), params
    ).one()
    others = session.execute(_others_statement(workspace, scope.viewer), params).one()
    asked, answered, *mix = others[: 2 + len(Outcome)]
    dissent, came_true, blocks, resolved, scored, unscored = others[2 + len(Outcome) :]
    # (span, percentile) -> seconds; and how many values each span had
    found: dict[tuple[int, int], float] = {}
    counts: dict[int, int] = {}
    for kind, n, rank, secs in session.execute(
        _spans_statement(workspace, scope.viewer), params
    ).all():
        counts[int(kind)] = int(n)
        for p in _PERCENTILES:
            if int(rank) == (int(n) * p + 99) // 100:
                found[(int(kind), p)] = float(secs)

    def at(kind: int, p: int) -> timedelta | None:
        secs = found.get((kind, p))
        return None if secs is None else _duration(secs, floor=kind == _ANSWER)

    return Flow(
        recorded=int(recorded),
        accepted=int(accepted),
        lead_median=at(_LEAD, 50),
        lead_p90=at(_LEAD, 90),
        lead_decisions=counts.get(_LEAD, 0),
        reversed_=int(reversed_),
        accepted_for_reversal=int(accepted),
        reviews_asked=int(asked),
        reviews_answered=int(answered),
        answer_median=at(_ANSWER, 50),
        outcomes={o.value: int(m) for o, m in zip(Outcome, mix, strict=True)},
        one_way=int(one_way),
        two_way=int(two_way),
        dissent_decisions=int(dissent),
        dissent_came_true=int(came_true),
        blocks=int(blocks),
        blocks_resolved=int(resolved),
        block_median=at(_BLOCK, 50),
        forecasts_scored=int(scored),
        forecasts_unscored=int(unscored),
    )


__all__ = [
    "REVERSAL_WINDOW",
    "Flow",
    "Period",
    "Scope",
    "dissent_statement",
    "flow",
    "reversal",
    "scope_clause",
]
