"""Forecasts (issue 25): how likely a person thinks a decision is to meet its success criteria,
stated while it is proposed or accepted, scored against its first review outcome, and read
back as calibration (forecasts grouped by stated probability against how often they came true).

A forecast is private to the person who made it until it is scored: saving one records no
history event (``/adr show`` shows the history to everyone who may see the decision), and a
team's figures read scored forecasts only, and only when at least ``MIN_FORECASTERS`` people's
are behind them. Calibration is computed in SQL (grouped by probability), never by loading
the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Float, cast, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from storage.errors import Conflict, InvalidInput
from storage.models import (
    PROBABILITIES,
    Decision,
    DecisionMember,
    DecisionStatus,
    Forecast,
    ForecastSource,
    ForecastState,
    Outcome,
    Review,
    Role,
    Stance,
    saved_id,
    utcnow,
)
from storage.visibility import Viewer, visible_condition

OUTCOME_VALUE: dict[Outcome, float] = {
    Outcome.WORKED: 1.0,
    Outcome.PARTLY: 0.5,
    Outcome.DIDNT_WORK: 0.0,
}

# Team and channel figures need this many distinct people's scored forecasts behind them:
# fewer would let a reader work out one person's forecasts.
MIN_FORECASTERS = 5

PICK_PROBABILITY = "Pick one of 10, 25, 40, 50, 60, 75, 90 or 95%."

_OPEN_FOR_FORECASTS = (DecisionStatus.PROPOSED.value, DecisionStatus.ACCEPTED.value)


def brier(probability: int, outcome: float) -> float:
    """One forecast's Brier score: (probability/100 - outcome)^2; 0 is a perfect forecast, 1
    the worst. ``score_forecasts`` computes the same in SQL."""
    return (probability / 100 - outcome) ** 2


@dataclass(frozen=True)
class CalibrationBin:
    """The scored forecasts stated at one probability: how many, and how often they came
    true (the mean outcome: worked 1, partly 0.5, didn't work 0)."""

    probability: int
    count: int
    came_true: float


@dataclass(frozen=True)
class Calibration:
    """Bins by stated probability (ascending), how many scored forecasts and distinct people
    are behind them, and their mean Brier score (None: nothing scored)."""

    bins: tuple[CalibrationBin, ...]
    scored: int
    forecasters: int
    brier: float | None


def forecast_of(session: Session, *, decision: Decision, user_id: str) -> Forecast | None:
    """The person's forecast on the decision, whatever its state."""
    return session.scalars(
        select(Forecast).where(
            col(Forecast.team_id) == decision.team_id,
            col(Forecast.decision_id) == saved_id(decision),
            col(Forecast.user_id) == user_id,
        )
    ).one_or_none()


def _is_scored(session: Session, *, decision: Decision) -> bool:
    return (
        session.scalars(
            select(col(Forecast.id))
            .where(
                col(Forecast.decision_id) == saved_id(decision),
                col(Forecast.state) == ForecastState.SCORED.value,
            )
            .limit(1)
        ).first()
        is not None
    )


def save_forecast(
    session: Session,
    *,
    decision: Decision,
    user_id: str,
    probability: int,
    source: ForecastSource,
) -> tuple[Forecast, bool]:
    """Set the person's one forecast on the decision. Returns (forecast, changed).

    The caller has locked the decision row; the write is one upsert on (decision, person), so
    it needs no lock of its own. The same probability again (a double click, a Slack retry)
    writes nothing. No history event: the history is shown to others, and a forecast is
    private until it is scored."""
    if probability not in PROBABILITIES:
        raise InvalidInput(PICK_PROBABILITY)
    if decision.status not in _OPEN_FOR_FORECASTS:
        raise Conflict(f"{decision.ref} is {decision.status}, so it takes no more forecasts.")
    if _is_scored(session, decision=decision):
        raise Conflict(f"{decision.ref} has had its review, so its forecasts are already scored.")
    decision_id = saved_id(decision)
    now = utcnow()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(Forecast).values(
        team_id=decision.team_id,
        decision_id=decision_id,
        user_id=user_id,
        probability=probability,
        source=source.value,
        state=ForecastState.PENDING.value,
        created_at=now,
        updated_at=now,
    )
    # only a different probability is an update: the same one again returns no row
    changed_id = session.execute(
        stmt.on_conflict_do_update(
            index_elements=["decision_id", "user_id"],
            set_={
                "probability": stmt.excluded.probability,
                "source": stmt.excluded.source,
                "updated_at": stmt.excluded.updated_at,
            },
            where=col(Forecast.probability) != stmt.excluded.probability,
        ).returning(col(Forecast.id))
    ).scalar_one_or_none()
    forecast = session.scalars(
        select(Forecast)
        .where(col(Forecast.decision_id) == decision_id, col(Forecast.user_id) == user_id)
        .execution_options(populate_existing=True)
    ).one()
    return forecast, changed_id is not None


def score_forecasts(
    session: Session, *, decision: Decision, review: Review, outcome: Outcome, now: datetime
) -> int:
    """Score the decision's pending forecasts against its first outcome (``review``'s);
    returns how many were scored. Already scored or unscored ones are left alone."""
    value = OUTCOME_VALUE[outcome]
    # ``brier``, in SQL
    miss = cast(col(Forecast.probability), Float) / 100.0 - value
    result = session.exec(
        update(Forecast)
        .where(
            col(Forecast.team_id) == decision.team_id,
            col(Forecast.decision_id) == saved_id(decision),
            col(Forecast.state) == ForecastState.PENDING.value,
        )
        .values(
            state=ForecastState.SCORED.value,
            outcome=value,
            brier=miss * miss,
            review_id=review.id,
            scored_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)


def void_forecasts(session: Session, *, decision: Decision) -> int:
    """The decision ended (rejected, or superseded) before any outcome: its pending forecasts
    become unscored (counted as such, never scored). Returns how many."""
    result = session.exec(
        update(Forecast)
        .where(
            col(Forecast.team_id) == decision.team_id,
            col(Forecast.decision_id) == saved_id(decision),
            col(Forecast.state) == ForecastState.PENDING.value,
        )
        .values(state=ForecastState.UNSCORED.value, updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class ForecastCount:
    """A decision's forecasts without whose: how many are scored (with their mean stated
    probability and mean Brier score) and how many still wait for the review (no values)."""

    scored: int
    mean_probability: float | None
    mean_brier: float | None
    pending: int


def count_on(session: Session, *, decision: Decision) -> ForecastCount:
    """What `/adr show` says of a decision's forecasts: never a pending one's value or anyone's
    name."""
    scored = col(Forecast.state) == ForecastState.SCORED.value
    n, mean_p, mean_b, pending = session.execute(
        select(
            func.count().filter(scored),
            func.avg(col(Forecast.probability)).filter(scored),
            func.avg(col(Forecast.brier)).filter(scored),
            func.count().filter(col(Forecast.state) == ForecastState.PENDING.value),
        ).where(
            col(Forecast.team_id) == decision.team_id,
            col(Forecast.decision_id) == saved_id(decision),
        )
    ).one()
    return ForecastCount(
        scored=int(n),
        mean_probability=None if mean_p is None else float(mean_p),
        mean_brier=None if mean_b is None else float(mean_b),
        pending=int(pending),
    )


def pending_of(
    session: Session, *, team_id: str, user_id: str, viewer: Viewer | None = None
) -> list[tuple[Decision, Forecast]]:
    """The person's own forecasts still waiting for an outcome, with their decisions, newest
    first (at most 20); with ``viewer``, only on decisions they may still see from there."""
    where = [
        col(Forecast.team_id) == team_id,
        col(Forecast.user_id) == user_id,
        col(Forecast.state) == ForecastState.PENDING.value,
    ]
    if viewer is not None:
        where.append(visible_condition(viewer))
    rows = session.execute(
        select(Decision, Forecast)
        .join(Decision, col(Decision.id) == col(Forecast.decision_id))
        .where(*where)
        .order_by(col(Forecast.updated_at).desc(), col(Forecast.id).desc())
        .limit(20)
    ).all()
    return [(decision, forecast) for decision, forecast in rows]


def open_for_forecast(
    session: Session, *, team_id: str, viewer: Viewer, limit: int
) -> list[Decision]:
    """Proposed or accepted decisions ``viewer`` took a stance on or decides, may see, and has
    no forecast on, while none of their forecasts is scored (newest first, at most ``limit``):
    what the App Home offers to forecast."""
    user = viewer.user_id
    stance = exists().where(
        col(Stance.decision_id) == col(Decision.id), col(Stance.user_id) == user
    )
    decider = exists().where(
        col(DecisionMember.decision_id) == col(Decision.id),
        col(DecisionMember.user_id) == user,
        col(DecisionMember.role) == Role.DECIDER,
    )
    mine = exists().where(
        col(Forecast.decision_id) == col(Decision.id), col(Forecast.user_id) == user
    )
    scored = exists().where(
        col(Forecast.decision_id) == col(Decision.id),
        col(Forecast.state) == ForecastState.SCORED.value,
    )
    return list(
        session.scalars(
            select(Decision)
            .where(
                col(Decision.team_id) == team_id,
                col(Decision.status).in_(_OPEN_FOR_FORECASTS),
                or_(stance, decider),
                ~mine,
                ~scored,
                visible_condition(viewer),
            )
            .order_by(col(Decision.number).desc())
            .limit(limit)
        )
    )


def _calibration(session: Session, where: list[ColumnElement[bool]], *, join: bool) -> Calibration:
    scored = [col(Forecast.state) == ForecastState.SCORED.value, *where]
    bins_stmt = select(
        col(Forecast.probability), func.count(), func.avg(col(Forecast.outcome))
    ).select_from(Forecast)
    totals_stmt = select(
        func.count(), func.count(col(Forecast.user_id).distinct()), func.avg(col(Forecast.brier))
    ).select_from(Forecast)
    if join:
        on = col(Decision.id) == col(Forecast.decision_id)
        bins_stmt = bins_stmt.join(Decision, on)
        totals_stmt = totals_stmt.join(Decision, on)
    count, forecasters, brier = session.execute(totals_stmt.where(*scored)).one()
    bins = session.execute(
        bins_stmt.where(*scored)
        .group_by(col(Forecast.probability))
        .order_by(col(Forecast.probability))
    ).all()
    return Calibration(
        bins=tuple(
            CalibrationBin(probability=int(p), count=int(n), came_true=float(mean))
            for p, n, mean in bins
        ),
        scored=int(count),
        forecasters=int(forecasters),
        brier=None if brier is None else float(brier),
    )


def calibration(session: Session, *, team_id: str, user_id: str) -> Calibration:
    """One person's calibration: theirs alone, shown only to them."""
    return _calibration(
        session,
        [col(Forecast.team_id) == team_id, col(Forecast.user_id) == user_id],
        join=False,
    )


def team_calibration(
    session: Session, *, team_id: str, decisions: ColumnElement[bool]
) -> Calibration | None:
    """The calibration of everyone's scored forecasts on the decisions ``decisions`` selects
    (a WHERE clause over Decision: the scope and what the reader may see). None when fewer
    than ``MIN_FORECASTERS`` people are behind them. Imported forecasts name nobody, so they
    are left out: they would count without a person behind them."""
    where = [
        col(Forecast.team_id) == team_id,
        col(Decision.team_id) == team_id,
        col(Forecast.user_id).is_not(None),
        decisions,
    ]
    forecasters = session.execute(
        select(func.count(col(Forecast.user_id).distinct()))
        .select_from(Forecast)
        .join(Decision, col(Decision.id) == col(Forecast.decision_id))
        .where(col(Forecast.state) == ForecastState.SCORED.value, *where)
    ).scalar_one()
    if int(forecasters) < MIN_FORECASTERS:
        return None
    return _calibration(session, where, join=True)


__all__ = [
    "MIN_FORECASTERS",
    "OUTCOME_VALUE",
    "PICK_PROBABILITY",
    "brier",
    "Calibration",
    "CalibrationBin",
    "calibration",
    "forecast_of",
    "pending_of",
    "save_forecast",
    "score_forecasts",
    "team_calibration",
    "void_forecasts",
]
