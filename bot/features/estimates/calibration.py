"""Calibration of `/estimate` (pure; no Slack, no database): how well people's stated ranges
held against the actuals entered later, the widening that would have held the stated share,
and the sentence `/estimate calibration` shows. The rule is in ``calibration``'s docstring.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

MIN_ACTUALS = 3  # calibration says "not enough data yet" below this


@dataclass(frozen=True)
class CalibrationRecord:
    """One person's estimate of a round that has an actual: their totals over the round's
    tasks (best, likely and worst in the round's unit, as is ``actual``)."""

    user_id: str
    best: float
    likely: float
    worst: float
    confidence: int  # percent
    actual: float


@dataclass(frozen=True)
class Calibration:
    n: int  # records with an actual
    hits: int  # actual within best..worst
    hit_rate: float  # hits / n (0.0 for none)
    stated: float  # mean stated confidence, percent (0.0 for none)
    levels: tuple[int, ...]  # the distinct confidences stated
    widen: float | None  # factor around likely to reach the stated rate; inf: cannot
    mean_ratio: float | None  # mean actual / likely
    multiplier: float | None  # median actual / likely: the suggested personal multiplier
    enough: bool  # at least MIN_ACTUALS records


def _needed_factor(r: CalibrationRecord) -> float:
    """How much this range had to widen around likely to hold the actual (<= 1: it held)."""
    if r.actual > r.likely:
        room = r.worst - r.likely
        return (r.actual - r.likely) / room if room > 0 else math.inf
    if r.actual < r.likely:
        room = r.likely - r.best
        return (r.likely - r.actual) / room if room > 0 else math.inf
    return 0.0


def _quantile(values: list[float], q: float) -> float:
    """Linear-interpolation quantile that keeps an infinite value infinite."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    below, above = math.floor(position), math.ceil(position)
    if below == above or ordered[below] == ordered[above]:
        return ordered[below]
    return ordered[below] + (position - below) * (ordered[above] - ordered[below])


def calibration(records: list[CalibrationRecord]) -> Calibration:
    """How well stated ranges held against actuals.

    ``widen``: each record needed its range scaled around likely by some factor f (best' =
    likely - f (likely - best), worst' = likely + f (worst - likely)) to contain the actual;
    f <= 1 is a hit. The suggestion is the quantile of those factors at the mean stated
    confidence (linear interpolation): widening every range by it would have held about the
    stated share. Below 1 the ranges could have been narrower; inf means a range with no
    room on the side the actual fell (best or worst equal to likely).
    """
    n = len(records)
    if n == 0:
        return Calibration(0, 0, 0.0, 0.0, (), None, None, None, False)
    hits = sum(r.best <= r.actual <= r.worst for r in records)
    stated = statistics.fmean(r.confidence for r in records)
    ratios = [r.actual / r.likely for r in records if r.likely > 0]
    return Calibration(
        n=n,
        hits=hits,
        hit_rate=hits / n,
        stated=stated,
        levels=tuple(sorted({r.confidence for r in records})),
        widen=_quantile([_needed_factor(r) for r in records], stated / 100.0),
        mean_ratio=statistics.fmean(ratios) if ratios else None,
        multiplier=statistics.median(ratios) if ratios else None,
        enough=n >= MIN_ACTUALS,
    )


def calibration_sentence(cal: Calibration, who: str) -> str:
    """One or two sentences for `/estimate calibration`. ``who`` is a possessive that starts
    the sentence: "Your", "Ana's", "The team's"."""
    if not cal.enough:
        return f"{who} calibration: not enough data yet ({cal.n} of {MIN_ACTUALS} actuals needed)."
    if len(cal.levels) == 1:
        ranges = f"{cal.levels[0]}% ranges"
    else:
        ranges = f"ranges (stated {cal.stated:.0f}% on average)"
    held = f"{who} {ranges} held {cal.hits} of {cal.n} times ({cal.hit_rate:.0%})"
    assert cal.widen is not None
    if math.isinf(cal.widen):
        advice = (
            "some had no room on the side the actual fell: keep best and worst apart from likely"
        )
    elif cal.widen > 1.1:
        advice = f"widen them about {cal.widen:.1f}x"
    elif cal.widen < 0.9 and cal.hit_rate > cal.stated / 100:
        advice = f"they could be narrower (about {cal.widen:.1f}x) and still hold"
    else:
        advice = "about right"
    sentence = f"{held} — {advice}."
    if cal.mean_ratio is not None and cal.multiplier is not None:
        sentence += (
            f" Actuals averaged {cal.mean_ratio:.1f}x the likely figure; suggested multiplier "
            f"{cal.multiplier:.1f}x (the median)."
        )
    return sentence
