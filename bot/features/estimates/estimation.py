"""The arithmetic of `/estimate` (pure; no Slack, no database): durations, PERT ranges at a
stated confidence, the pooled Monte Carlo sum, outliers, the cone of uncertainty, and
calibration. The rest of the feature codes against the dataclasses and functions here.

Units: a day is 8 hours, a week 5 days; points are never converted.

The rules, in one place:

- **A person's task estimate** is a PERT distribution (a beta with lambda = 4) whose mode is
  their *likely*, widened so that their best..worst holds exactly the confidence they stated
  (50 / 80 / 90 %). Widening scales the interval outward around the mode by one factor k >= 1
  (lo = likely - k (likely - best), hi = likely + k (worst - likely)); with lambda = 4 the
  beta's shape depends only on where the mode sits in the interval, so scaling keeps the shape
  and P(best <= X <= worst) falls steadily as k grows: k is found by bisection. Durations are
  never negative: where that lo would fall below zero, lo is 0 and only hi moves (bisection
  again). best == likely == worst is a point mass; best == likely (or likely == worst) gives
  the one-sided PERT, widened on its open side only.
- **Pooling**: the people are an equal-weight mixture, and each Monte Carlo draw picks *one*
  estimator for the whole round, then draws each task from that person's distributions
  (tasks independent given the person) and sums them. One estimator per draw (not one per
  task) keeps systematic disagreement in the total: if Ana expects every task to take twice
  as long, the pooled range keeps her view instead of averaging it away over 15 tasks.
  ``combine(..., pooling="task")`` picks an estimator per task instead.
- **Familiarity** multiplies that person's draws (1.0 / 1.5 / 2.5), never their stated ranges
  in the spread or outliers, which show what people typed.
- **Calibration**: see `calibration`.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

HOURS_PER = {"hours": 1.0, "days": 8.0, "weeks": 40.0}
FAMILIARITY_MULTIPLIER = {"done": 1.0, "similar": 1.5, "new": 2.5}
CONFIDENCES = (50, 80, 90)
CONE = {  # phase -> (low factor, high factor) around the combined likely figure
    "initial": (0.25, 4.0),
    "requirements": (0.67, 1.5),
    "design": (0.8, 1.25),
    "building": (0.9, 1.1),
}
MAX_VALUE = {"hours": 10_000.0, "days": 1_250.0, "weeks": 250.0, "points": 1_000.0}
MIN_ACTUALS = 3  # calibration says "not enough data yet" below this
PERT_LAMBDA = 4.0


@dataclass(frozen=True)
class PersonEstimate:
    user_id: str
    ranges: list[tuple[float, float, float]]  # (best, likely, worst) per task, round's unit
    confidence: int  # 50, 80 or 90
    familiarity: str  # done | similar | new
    assumptions: str = ""


@dataclass(frozen=True)
class TaskSpread:
    name: str
    low: float  # lowest likely
    median: float  # median likely
    high: float  # highest likely


@dataclass(frozen=True)
class Outlier:
    task: str
    high_user: str
    low_user: str
    ratio: float  # high's likely / low's likely


@dataclass(frozen=True)
class PersonTotal:
    """One person's own total over the round's tasks, from the pooled draws that picked them
    (their widened PERTs, familiarity multiplier included): what the chart's bars show."""

    user_id: str
    best: float  # 10th percentile, as the combined best
    likely: float  # median
    worst: float  # 95th percentile
    draws: int  # how many of the pooled draws picked this person


@dataclass(frozen=True)
class Combined:
    p50: float
    p90: float
    mean: float
    best: float  # the 10th percentile of the pooled sum (shown as "best case")
    likely: float  # median of the pooled sum (same as p50)
    worst: float  # the 95th percentile
    cone_low: float
    cone_high: float
    spreads: list[TaskSpread] = field(default_factory=list)
    outliers: list[Outlier] = field(default_factory=list)
    samples: int = 20_000
    seed: int = 0
    pooling: str = "round"  # one estimator per draw ("round") or per task ("task")
    # Per person, in ``people`` order; only with pooling "round" (per-task draws mix people),
    # and without anyone no draw picked (possible only with very few samples).
    person_totals: list[PersonTotal] = field(default_factory=list)


# -- durations -------------------------------------------------------------------------------

_UNIT_NAMES = {"hours": "hour", "days": "day", "weeks": "week", "points": "point"}
_SUFFIXES = {
    **dict.fromkeys(("min", "mins", "minute", "minutes"), "minutes"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hours"),
    **dict.fromkeys(("d", "day", "days"), "days"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "weeks"),
    **dict.fromkeys(("pt", "pts", "point", "points", "sp"), "points"),
}
_DURATION = re.compile(r"(?P<number>[0-9]+(?:[.,](?P<frac>[0-9]*))?|[.,](?P<frac2>[0-9]+))")
_SUFFIX = re.compile(r"\s*(?P<suffix>[a-z]+)?")
_MAX_TEXT = 40


def _check_unit(unit: str) -> None:
    if unit not in MAX_VALUE:
        raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(MAX_VALUE)}")


def to_hours(value: float, unit: str) -> float:
    """``value`` in ``unit`` as hours. Points have no hours: ValueError."""
    if unit == "points":
        raise ValueError("Points don't convert to hours.")
    _check_unit(unit)
    return value * HOURS_PER[unit]


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """A duration from one time unit to another (hours, days, weeks; points only to points)."""
    if from_unit == to_unit:
        _check_unit(to_unit)
        return value
    return to_hours(value, from_unit) / to_hours(1.0, to_unit)


def parse_duration(text: str, unit: str) -> float:
    """What a person typed for best, likely, worst or an actual, in the round's ``unit``.

    A plain number is in the round's unit; ``4h``, ``3d``, ``1.5w``, ``2 days`` and
    ``90min`` are converted (``m`` alone is refused: minutes or months?). A comma works as the
    decimal separator (``1,5d``), with at most 2 decimals. Points never convert: a time unit
    on a points round, or ``3pt`` on a time round, is refused. The value must be more than
    zero and at most ``MAX_VALUE[unit]``. Anything else raises ValueError with one sentence
    for the person.
    """
    _check_unit(unit)
    cleaned = text.strip().lower() if isinstance(text, str) else ""
    if not cleaned:
        raise ValueError("Enter a number, like 3 or 4h.")
    if len(cleaned) > _MAX_TEXT:
        raise ValueError("That's too long for a number: write something like 3, 4h or 1.5d.")
    if cleaned.startswith("-"):
        raise ValueError("Estimates must be more than zero.")
    number = _DURATION.match(cleaned)
    rest = _SUFFIX.fullmatch(cleaned, number.end()) if number else None
    if number is None or rest is None:
        shown = text.strip()[:20]
        raise ValueError(f"Write a number like 3, 4h, 1.5d or 2w (“{shown}” isn't one).")
    decimals = number.group("frac") or number.group("frac2") or ""
    if len(decimals) > 2:
        raise ValueError("Use at most 2 decimals, like 1.25 (no thousands separators).")
    value = float(number.group("number").replace(",", "."))
    suffix = rest.group("suffix")
    if suffix is not None:
        value = _convert_suffix(value, suffix, unit)
    if not value > 0:
        raise ValueError("Estimates must be more than zero.")
    if not math.isfinite(value) or value > MAX_VALUE[unit]:
        limit = format_duration(MAX_VALUE[unit], unit)
        raise ValueError(f"That's more than {limit}: split the work into tasks.")
    return value


def _convert_suffix(value: float, suffix: str, unit: str) -> float:
    if suffix in ("m", "mo", "mon", "month", "months"):
        raise ValueError("Write minutes as 90min, and months in weeks (a month is about 4w).")
    written = _SUFFIXES.get(suffix)
    if written is None:
        raise ValueError(
            f"Use h, d or w for the unit (a day is 8 hours, a week 5 days), not “{suffix[:12]}”."
        )
    if unit == "points":
        if written != "points":
            raise ValueError(
                "This round is in points, which never convert to time: write a plain number, like 3."
            )
        return value
    if written == "points":
        raise ValueError(
            f"This round is in {unit}, and points don't convert to time: write a duration, like 3d or 4h."
        )
    if written == unit:
        return value
    hours = value / 60.0 if written == "minutes" else value * HOURS_PER[written]
    return float(f"{hours / HOURS_PER[unit]:.12g}")  # no float noise (0.1w in days: 0.5)


def round_sensibly(value: float) -> float:
    """The figure people are shown: whole numbers from 10, one decimal from 1, two below."""
    if value >= 10:
        return float(math.floor(value + 0.5))
    if value >= 1:
        return round(value, 1)
    if value >= 0.01:
        return round(value, 2)
    return float(f"{value:.2g}")


def format_number(value: float) -> str:
    """``round_sensibly`` as text, without trailing zeros (``5``, ``1.5``, ``0.25``)."""
    shown = round_sensibly(value)
    if shown == int(shown) and abs(shown) < 1e15:
        return str(int(shown))
    return f"{shown:.2f}".rstrip("0").rstrip(".") if shown >= 0.01 else f"{shown:.2g}"


def format_duration(value: float, unit: str) -> str:
    """``3 days``, ``1 day``, ``1.5 weeks``, ``8 points``: rounded sensibly, pluralised."""
    _check_unit(unit)
    shown = format_number(value)
    return f"{shown} {_UNIT_NAMES[unit] if shown == '1' else unit}"


# -- PERT at a stated confidence ---------------------------------------------------------------

# Gauss-Legendre nodes and weights on [0, 1]: the beta's interval probability by quadrature,
# vectorised over every (person, task) at once. With lambda = 4 both shape parameters lie in
# [1, 5], so the integrand is bounded; 32 nodes are within 1e-4 of the exact probability
# (worst where a shape is just above 1).
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(32)
_GL_NODES = (_GL_NODES + 1.0) / 2.0
_GL_WEIGHTS = _GL_WEIGHTS / 2.0
_BISECTIONS = 22  # log k within 9.2 / 2**22 ~ 2e-6 over the bracket [1, 1e4]
_MAX_WIDEN = 1e4


def _log_beta(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    lg = np.frompyfunc(math.lgamma, 1, 1)
    return np.asarray(lg(alpha) + lg(beta) - lg(alpha + beta), dtype=float)


def beta_interval_probability(
    alpha: np.ndarray | float,
    beta: np.ndarray | float,
    a: np.ndarray | float,
    b: np.ndarray | float,
    log_beta: np.ndarray | None = None,
) -> np.ndarray:
    """P(a <= Y <= b) for Y ~ Beta(alpha, beta), 0 <= a <= b <= 1, shapes >= 1 (vectorised;
    ``log_beta``, log B(alpha, beta), may be passed in when the shapes do not change)."""
    alpha, beta, a, b = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (alpha, beta, a, b))
    )
    if log_beta is None:
        log_beta = _log_beta(alpha, beta)
    a, b = np.clip(a, 0.0, 1.0), np.clip(b, 0.0, 1.0)
    y = a[..., None] + (b - a)[..., None] * _GL_NODES
    with np.errstate(divide="ignore", invalid="ignore"):  # an empty interval at 0 or 1
        log_pdf = (alpha[..., None] - 1.0) * np.log(y) + (beta[..., None] - 1.0) * np.log1p(-y)
        integral = np.exp(log_pdf - log_beta[..., None]) @ _GL_WEIGHTS
    return np.clip(np.nan_to_num(integral * (b - a)), 0.0, 1.0)


def _pert_shape(lo: np.ndarray, mode: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    span = np.where(hi > lo, hi - lo, 1.0)
    alpha = 1.0 + PERT_LAMBDA * (mode - lo) / span
    beta = 1.0 + PERT_LAMBDA * (hi - mode) / span
    return alpha, beta


def _bisect_log(
    prob: Callable[[np.ndarray], np.ndarray], low: np.ndarray, high: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """The x in [low, high] where the decreasing ``prob(x)`` meets ``target``, per element
    (bisection on log x; an end of the bracket where the target lies outside it)."""
    log_low, log_high = np.log(low), np.log(high)
    for _ in range(_BISECTIONS):
        mid = (log_low + log_high) / 2.0
        too_wide = prob(np.exp(mid)) < target
        log_high = np.where(too_wide, mid, log_high)
        log_low = np.where(too_wide, log_low, mid)
    return np.exp((log_low + log_high) / 2.0)


def _pert_arrays(
    best: np.ndarray, likely: np.ndarray, worst: np.ndarray, confidence: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``pert_params`` for arrays of ranges: (lo, hi, alpha, beta); the mode is ``likely``."""
    best, likely, worst = (np.asarray(v, dtype=float) for v in (best, likely, worst))
    target = np.broadcast_to(np.asarray(confidence, dtype=float), best.shape)
    width = worst - best
    point = width <= 0
    u = np.where(point, 0.5, (likely - best) / np.where(point, 1.0, width))

    # With lambda = 4 the shape depends only on u, the mode's place in best..worst.
    alpha, beta = 1.0 + PERT_LAMBDA * u, 1.0 + PERT_LAMBDA * (1.0 - u)
    log_beta = _log_beta(alpha, beta)

    def held(k: np.ndarray) -> np.ndarray:  # P(best <= X <= worst) once widened by k
        return beta_interval_probability(
            alpha, beta, u * (1.0 - 1.0 / k), u + (1.0 - u) / k, log_beta
        )

    ones = np.ones_like(best)
    k = _bisect_log(held, ones, ones * _MAX_WIDEN, target)
    lo = likely - k * (likely - best)
    hi = likely + k * (worst - likely)

    below_zero = (lo < 0) & ~point
    if below_zero.any():
        # lo = 0; find the hi >= worst that holds the stated confidence.
        m, b, w, t = likely[below_zero], best[below_zero], worst[below_zero], target[below_zero]

        def held_from_zero(h: np.ndarray) -> np.ndarray:
            alpha, beta = _pert_shape(np.zeros_like(h), m, h)
            return beta_interval_probability(alpha, beta, b / h, w / h)

        lo[below_zero] = 0.0
        hi[below_zero] = _bisect_log(held_from_zero, w, w * _MAX_WIDEN, t)

    lo = np.where(point, likely, lo)
    hi = np.where(point, likely, hi)
    alpha, beta = _pert_shape(lo, likely, hi)
    return lo, hi, np.where(point, 1.0, alpha), np.where(point, 1.0, beta)


def _fraction(confidence: float) -> float:
    if not 0 < confidence < 100:
        raise ValueError(f"confidence must be a percentage between 0 and 100, not {confidence!r}")
    return confidence / 100.0


def _check_range(best: float, likely: float, worst: float) -> None:
    if not all(math.isfinite(v) for v in (best, likely, worst)):
        raise ValueError("best, likely and worst must be finite numbers")
    if not 0 <= best <= likely <= worst:
        raise ValueError("best <= likely <= worst, all at least 0, is needed")


def pert_params(
    best: float, likely: float, worst: float, confidence: float
) -> tuple[float, float, float, float, float]:
    """(lo, mode, hi, alpha, beta) of the PERT (lambda = 4) with mode ``likely`` whose
    central interval best..worst holds ``confidence`` percent (see the module docstring).
    A point mass (best == likely == worst) gives lo == mode == hi and alpha = beta = 1."""
    _check_range(best, likely, worst)
    lo, hi, alpha, beta = _pert_arrays(
        np.array([best]), np.array([likely]), np.array([worst]), np.array([_fraction(confidence)])
    )
    return float(lo[0]), float(likely), float(hi[0]), float(alpha[0]), float(beta[0])


def pert_mean(lo: float, mode: float, hi: float) -> float:
    """The mean of PERT(lo, mode, hi) with lambda = 4."""
    return (lo + PERT_LAMBDA * mode + hi) / (PERT_LAMBDA + 2.0)


# -- the combined estimate ---------------------------------------------------------------------


def combine(
    people: list[PersonEstimate],
    task_names: list[str],
    *,
    phase: str,
    samples: int = 20_000,
    seed: int = 0,
    pooling: Literal["round", "task"] = "round",
) -> Combined:
    """The pooled Monte Carlo estimate of a round (rules in the module docstring).

    ``task_names`` names the tasks in the order of each person's ``ranges`` (one name for a
    round without tasks). The same people, tasks, samples and seed give the same figures.
    """
    if not people:
        raise ValueError("no estimates to combine")
    if phase not in CONE:
        raise ValueError(f"unknown phase {phase!r}; expected one of {', '.join(CONE)}")
    if samples < 1:
        raise ValueError("samples must be at least 1")
    tasks = len(task_names)
    if tasks == 0 or any(len(p.ranges) != tasks for p in people):
        raise ValueError("every estimate needs one (best, likely, worst) per task")
    ranges = np.array([p.ranges for p in people], dtype=float)  # (people, tasks, 3)
    for best, likely, worst in ranges.reshape(-1, 3):
        _check_range(best, likely, worst)
    confidence = np.array([[_fraction(p.confidence)] * tasks for p in people])
    multiplier = np.array([FAMILIARITY_MULTIPLIER[p.familiarity] for p in people])
    likely = ranges[..., 1]
    lo, hi, alpha, beta = _pert_arrays(ranges[..., 0], likely, ranges[..., 2], confidence)
    start = (lo * multiplier[:, None]).ravel()
    span = ((hi - lo) * multiplier[:, None]).ravel()

    rng = np.random.default_rng(seed)
    if pooling == "round":
        who = rng.integers(len(people), size=(samples, 1))
    elif pooling == "task":
        who = rng.integers(len(people), size=(samples, tasks))
    else:
        raise ValueError(f"unknown pooling {pooling!r}")
    pick = who * tasks + np.arange(tasks)  # (samples, tasks) into the flattened (people, tasks)
    draws = rng.beta(alpha.ravel().take(pick), beta.ravel().take(pick))
    total = (start.take(pick) + span.take(pick) * draws).sum(axis=1)
    p10, p50, p90, p95 = (float(v) for v in np.percentile(total, [10, 50, 90, 95]))
    low_factor, high_factor = CONE[phase]
    return Combined(
        p50=p50,
        p90=p90,
        mean=float(total.mean()),
        best=p10,
        likely=p50,
        worst=p95,
        cone_low=p50 * low_factor,
        cone_high=p50 * high_factor,
        spreads=[
            TaskSpread(name, float(col.min()), float(np.median(col)), float(col.max()))
            for name, col in zip(task_names, likely.T, strict=True)
        ],
        outliers=outliers(people, task_names),
        samples=samples,
        seed=seed,
        pooling=pooling,
        person_totals=_person_totals(people, who[:, 0], total) if pooling == "round" else [],
    )


def _person_totals(
    people: list[PersonEstimate], who: np.ndarray, total: np.ndarray
) -> list[PersonTotal]:
    order = np.argsort(who, kind="stable")
    bounds = np.searchsorted(who[order], np.arange(len(people) + 1))
    totals = []
    for index, p in enumerate(people):
        mine = total[order[bounds[index] : bounds[index + 1]]]
        if mine.size == 0:  # too few samples for everyone to be drawn
            continue
        p10, p50, p95 = (float(v) for v in np.percentile(mine, [10, 50, 95]))
        totals.append(PersonTotal(p.user_id, p10, p50, p95, int(mine.size)))
    return totals


def outliers(people: list[PersonEstimate], task_names: list[str]) -> list[Outlier]:
    """Per task, the highest likely against the lowest when it is at least twice as much
    (the first person in ``people`` order on a tie; zeros are left out)."""
    found = []
    for index, name in enumerate(task_names):
        stated = [(p.ranges[index][1], p.user_id) for p in people if p.ranges[index][1] > 0]
        if len(stated) < 2:
            continue
        high = max(stated, key=lambda s: s[0])
        low = min(stated, key=lambda s: s[0])
        if high[0] >= 2 * low[0]:
            found.append(Outlier(name, high[1], low[1], round(high[0] / low[0], 1)))
    return found


def summary_sentence(combined: Combined, unit: str, assumptions: list[str]) -> str:
    """The sentence to paste: "Best case 3 days, likely 5, worst 10; 90% confident within
    9 days. Assumes the payment API batches; no data migration." (plain text)."""
    sentence = (
        f"Best case {format_duration(combined.best, unit)}, likely {format_number(combined.likely)}, "
        f"worst {format_number(combined.worst)}; 90% confident within "
        f"{format_duration(combined.p90, unit)}."
    )
    stated = [a.strip().rstrip(".;").strip() for a in assumptions]
    stated = [a for a in stated if a]
    if stated:
        sentence += f" Assumes {'; '.join(stated)}."
    return sentence


# -- calibration -------------------------------------------------------------------------------


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
