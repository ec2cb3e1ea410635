"""`/adr stats`'s figures month by month, for its charts (issue 26), and the outbox row that
sends them.

The same decisions as ``storage.health`` (its ``Scope``, ``Period`` and ``scope_clause``) and
the same definitions, only grouped by calendar month (UTC) of the instant that puts a thing
in the period, so each month's figures add up to ``health.flow``'s:

- **lead time** (``lead_median`` over ``lead_decisions``): by month of ``accepted_at``, of the
  decisions accepted then, leaving out those recorded as already accepted; the median is the
  nearest rank, as in ``storage.health``.
- **reversals** (``reversed_`` of ``accepted``): by month of ``accepted_at``, the decisions
  accepted then that were superseded or deprecated within ``REVERSAL_WINDOW`` and before the
  period's end (``health.reversal``).
- **outcome mix** (``outcomes``): by month of ``outcome_at``, reviews by outcome.

Every month the period touches is present (zero where nothing happened), oldest first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, String, and_, bindparam, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col

from storage import due_work
from storage.decision_work import dm_lane
from storage.health import reversal
from storage.health_scope import Moment, Period, Scope, scope_clause, seconds_between
from storage.models import Decision, JsonObject, Outcome, Review, utcnow


class HealthWork(StrEnum):
    CHARTS = "health.charts"


@dataclass(frozen=True)
class MonthFigures:
    """One calendar month's figures (definitions: the module docstring)."""

    month: str  # "2026-11"
    lead_median: timedelta | None = None
    lead_decisions: int = 0
    accepted: int = 0
    reversed_: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})


class _Month(FunctionElement[str]):
    """The calendar month (UTC) of a timestamp, as ``YYYY-MM``."""

    type = String()
    name = "month_of"
    inherit_cache = True


@compiles(_Month)
def _month_postgres(element: _Month, compiler: SQLCompiler, **kw: object) -> str:
    (moment,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"to_char(({moment}) AT TIME ZONE 'UTC', 'YYYY-MM')"


@compiles(_Month, "sqlite")
def _month_sqlite(element: _Month, compiler: SQLCompiler, **kw: object) -> str:
    # naive UTC text, "2026-12-07 01:36:00.000000"
    (moment,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"substr({moment}, 1, 7)"


def _month(moment: Moment) -> _Month:
    return _Month(moment)


def months_of(period: Period) -> list[str]:
    """Every calendar month (UTC) ``[since, end)`` touches, oldest first."""
    year, month = period.since.year, period.since.month
    last = period.end - timedelta(microseconds=1)
    months = []
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _in(column: Moment, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.since, column < period.end)


def monthly(session: Session, *, scope: Scope, period: Period) -> list[MonthFigures]:
    """Lead time, reversals and the outcome mix of ``scope`` per month of ``period``, in three
    statements."""
    where = scope_clause(scope)
    # lead time: the nearest-rank median of each month's spans
    spans = (
        select(
            _month(col(Decision.accepted_at)).label("month"),
            seconds_between(col(Decision.accepted_at), col(Decision.created_at)).label("secs"),
        )
        .where(
            where,
            _in(col(Decision.accepted_at), period),
            col(Decision.accepted_at) > col(Decision.created_at),
        )
        .subquery()
    )
    ranked = select(
        spans.c.month,
        func.count().over(partition_by=spans.c.month).label("n"),
        func.row_number().over(partition_by=spans.c.month, order_by=spans.c.secs).label("rank"),
        spans.c.secs,
    ).subquery()
    lead = {
        str(month): (int(n), float(secs))
        for month, n, secs in session.execute(
            select(ranked.c.month, ranked.c.n, ranked.c.secs).where(
                ranked.c.rank == (ranked.c.n * 50 + 99) // 100
            )
        ).all()
    }
    month = _month(col(Decision.accepted_at)).label("month")
    reversals = {
        str(m): (int(accepted), int(reversed_))
        for m, accepted, reversed_ in session.execute(
            select(
                month,
                func.count(),
                func.count().filter(reversal(), col(Decision.closed_at) < period.end),
            )
            .where(where, _in(col(Decision.accepted_at), period))
            .group_by(month)
        ).all()
    }
    outcome_month = _month(col(Review.outcome_at)).label("month")
    outcomes: dict[str, dict[str, int]] = {}
    for m, outcome, count in session.execute(
        select(outcome_month, col(Review.outcome), func.count())
        .join(Decision, col(Decision.id) == col(Review.decision_id))
        .where(
            where,
            col(Review.team_id) == bindparam("team", scope.team_id),
            col(Review.outcome).is_not(None),
            _in(col(Review.outcome_at), period),
        )
        .group_by(outcome_month, col(Review.outcome))
    ).all():
        outcomes.setdefault(str(m), {o.value: 0 for o in Outcome})[str(outcome)] = int(count)
    figures = []
    for m in months_of(period):
        n, secs = lead.get(m, (0, None))
        accepted, reversed_ = reversals.get(m, (0, 0))
        figures.append(
            MonthFigures(
                month=m,
                lead_median=None if secs is None else timedelta(seconds=secs),
                lead_decisions=n,
                accepted=accepted,
                reversed_=reversed_,
                outcomes=outcomes.get(m, {o.value: 0 for o in Outcome}),
            )
        )
    return figures


def schedule_charts(
    session: Session, *, team_id: str, user_id: str, trigger_id: str, payload: JsonObject
) -> bool:
    """One charts row per `/adr stats`, keyed by its trigger id (unique to one invocation):
    asking again sends again, the same signed request replayed sends nothing more (outbox rows
    are kept, as ``storage.export_work`` relies on). ``payload`` holds the figures drawn, so
    the charts show the numbers the answer gave. False if this request scheduled it already."""
    request = trigger_id[:100] if trigger_id else uuid.uuid4().hex
    return due_work.schedule(
        session,
        team_id=team_id,
        kind=HealthWork.CHARTS,
        subject_id=0,
        key=f"charts:{request}",
        due_at=utcnow(),
        payload={"user": user_id, **payload},
        lane=dm_lane(user_id),
    )
