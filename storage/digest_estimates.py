"""The digest's estimates: rounds revealed and actuals recorded in the week, with the
calibration trend, in three statements."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

from sqlalchemy import Select, bindparam, func, select
from sqlmodel import Session, col

from storage.digest_common import SHOWN, Listing, Order, Params, Where, _covers, _first, _in
from storage.models import EstimateRound, RoundState

TREND_ROUNDS = 5  # calibration: the latest 5 rounds with actuals against the 5 before


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
    low: float | None = None  # the headline's ends: the 5th and 95th percentile
    high: float | None = None

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


_ROUND_LISTS: dict[str, tuple[tuple[Where, ...], tuple[Order, ...], int]] = {
    "revealed": (
        (_in(col(EstimateRound.revealed_at), "start", "end"),),
        (col(EstimateRound.number).desc(),),
        SHOWN,
    ),
    "actuals": (
        (col(EstimateRound.actual).is_not(None), _in(col(EstimateRound.actual_at), "start", "end")),
        (col(EstimateRound.actual_at).desc(), col(EstimateRound.number).desc()),
        SHOWN,
    ),
    # the latest rounds with actuals and stored figures, for the calibration trend
    "latest": (
        (
            col(EstimateRound.actual).is_not(None),
            col(EstimateRound.actual_at) < bindparam("end"),
            col(EstimateRound.result) != "",
        ),
        (col(EstimateRound.actual_at).desc(), col(EstimateRound.number).desc()),
        2 * TREND_ROUNDS,
    ),
}


@cache
def _round_statement(which: str, workspace: bool) -> Select[int, str, str, str, float | None, int]:
    where, order, limit = _ROUND_LISTS[which]
    return (
        select(
            col(EstimateRound.number),
            col(EstimateRound.topic),
            col(EstimateRound.unit),
            col(EstimateRound.result),
            col(EstimateRound.actual),
            func.count().over().label("total"),
        )
        .where(
            col(EstimateRound.team_id) == bindparam("team"),
            _covers(workspace, col(EstimateRound.channel_id), col(EstimateRound.channel_private)),
            col(EstimateRound.state) == RoundState.REVEALED.value,
            *where,
        )
        .order_by(*order)
        .limit(limit)
    )


def _figures(result: str) -> dict[str, float | None]:
    """The figures stored at the reveal (``bot.features.estimates.estimation.Combined``): the
    50% and 90% figures and the headline's ends (the 5th percentile, or the 10th in results
    stored before it was kept, and the 95th)."""
    if not result:
        return {}
    try:
        stored = json.loads(result)
        p50, p90 = float(stored["p50"]), float(stored["p90"])
    except (ValueError, KeyError, TypeError):
        return {}
    low = stored.get("low", stored.get("best"))
    high = stored.get("worst")
    return {
        "p50": p50,
        "p90": p90,
        "low": float(low) if isinstance(low, int | float) else None,
        "high": float(high) if isinstance(high, int | float) else None,
    }


class _RoundRow(Protocol):
    """A row of ``_round_statement``, read by name."""

    number: int
    topic: str
    unit: str
    result: str
    actual: float | None
    total: int


def _round_listing(rows: Sequence[_RoundRow]) -> Listing[RoundLine]:
    return Listing(
        _first(rows),
        tuple(
            RoundLine(int(r.number), r.topic, r.unit, actual=r.actual, **_figures(r.result))
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


__all__ = ["EstimatesPart", "RoundLine", "Trend"]
