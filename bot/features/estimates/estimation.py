"""The arithmetic of `/estimate` (pure; no Slack, no database): durations, PERT ranges at a
stated confidence, the pooled Monte Carlo sum, outliers and the cone of uncertainty.
Calibration against actuals is in ``calibration.py``. The rest of the feature codes against the
dataclasses and functions here.

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
- **Calibration**: see ``calibration.calibration``.
- **The headline** a lead quotes is the pooled sum's central 90% (5th to 95th percentile)
  and its median, rounded outward (``headline``): "Plan for 5–11 days (90%), most likely 8".
  Every other figure (50%/90% lines, mean, the cone, the spread per task) is behind Details.
- **People's own numbers** are shown as they typed them; what the plan did to a person's
  range (the familiarity multiplier, the widening to reach 90% from a lower stated
  confidence) is shown only marked as adjusted, with why (``adjustment``).
- **Quick rounds** ask one number (most likely) or a T-shirt size per task. A number n is
  read as the range n x low .. n, .. n x high at 80% confidence, where low..high is how far
  this team's actuals fell from its estimates (the 10th to 90th percentile of actual /
  most likely over its last rounds with an actual, at least ``MIN_HISTORY``), or
  ``DEFAULT_WIDENING`` until there is that much history; a size is the team's range for it.
  Neither is scaled for familiarity (quick rounds don't ask).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from bot.core.durations import format_duration, format_number

FAMILIARITY_MULTIPLIER = {"done": 1.0, "similar": 1.5, "new": 2.5}
CONFIDENCES = (50, 80, 90)
CONE = {  # phase -> (low factor, high factor) around the combined likely figure
    "initial": (0.25, 4.0),
    "requirements": (0.67, 1.5),
    "design": (0.8, 1.25),
    "building": (0.9, 1.1),
}
PERT_LAMBDA = 4.0
HEADLINE_SHARE = 90  # the headline's range holds this share of the pooled outcomes
QUICK_CONFIDENCE = 80  # a quick answer's range is read at this confidence
MIN_HISTORY = 3  # rounds with an actual before a team's own widening is used


@dataclass(frozen=True)
class Widening:
    """How a quick round's single numbers became ranges: n x low .. n x high. ``rounds``: how
    many of the team's rounds with an actual it came from (0: the default)."""

    low: float
    high: float
    rounds: int = 0


DEFAULT_WIDENING = Widening(0.8, 2.0, 0)  # until a team has MIN_HISTORY actuals


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
    best: float  # 5th percentile (10th for rounds revealed before the headline)
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
    # the 5th percentile of the pooled sum: the headline's low end (None in results stored
    # before the headline: ``best`` stands in)
    low: float | None = None
    # a quick round: how its single numbers were widened into ranges
    widening: Widening | None = None


def combined_from_json(text: str) -> Combined | None:
    """The figures stored with a round at its reveal (``asdict(Combined)`` as JSON), or None
    (none stored, or unreadable)."""
    if not text:
        return None
    try:
        data = json.loads(text)
        data["spreads"] = [TaskSpread(**s) for s in data.get("spreads", [])]
        data["outliers"] = [Outlier(**o) for o in data.get("outliers", [])]
        data["person_totals"] = [PersonTotal(**p) for p in data.get("person_totals", [])]
        if data.get("widening") is not None:
            data["widening"] = Widening(**data["widening"])
        return Combined(**data)
    except (ValueError, TypeError, KeyError):
        return None


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
    shape_a, shape_b, low, high = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (alpha, beta, a, b))
    )
    if log_beta is None:
        log_beta = _log_beta(shape_a, shape_b)
    low, high = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
    y = low[..., None] + (high - low)[..., None] * _GL_NODES
    with np.errstate(divide="ignore", invalid="ignore"):  # an empty interval at 0 or 1
        log_pdf = (shape_a[..., None] - 1.0) * np.log(y) + (shape_b[..., None] - 1.0) * np.log1p(-y)
        integral = np.exp(log_pdf - log_beta[..., None]) @ _GL_WEIGHTS
    return np.asarray(np.clip(np.nan_to_num(integral * (high - low)), 0.0, 1.0))


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
    return np.asarray(np.exp((log_low + log_high) / 2.0))


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
    p5, p10, p50, p90, p95 = (float(v) for v in np.percentile(total, [5, 10, 50, 90, 95]))
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
        low=p5,
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
        p5, p50, p95 = (float(v) for v in np.percentile(mine, [5, 50, 95]))
        totals.append(PersonTotal(p.user_id, p5, p50, p95, int(mine.size)))
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


# -- what people read ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The range a lead quotes, rounded outward so it still holds its share."""

    low: float
    likely: float
    high: float


def _outward(value: float, up: bool) -> float:
    """Whole numbers from 3, one decimal below; rounded away from the middle."""
    scale = 1.0 if value >= 3 else 10.0
    step = math.ceil if up else math.floor
    return step(value * scale - (1e-9 if up else -1e-9)) / scale


def _nearest(value: float) -> float:
    return float(math.floor(value + 0.5)) if value >= 3 else math.floor(value * 10 + 0.5) / 10


def headline_low(value: float) -> float:
    return _outward(value, up=False)


def headline_high(value: float) -> float:
    return _outward(value, up=True)


def headline(combined: Combined) -> Headline:
    """The central 90% of the pooled sum and its median, rounded outward: 5.4..10.6, 7.9 ->
    5..11, 8."""
    low = combined.low if combined.low is not None else combined.best
    out_low, out_high = headline_low(low), headline_high(combined.worst)
    likely = min(max(_nearest(combined.likely), out_low), out_high)
    return Headline(out_low, likely, out_high)


def stated_total(ranges: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """A person's own best, likely and worst summed over the round's tasks: what they said."""
    return (
        sum(r[0] for r in ranges),
        sum(r[1] for r in ranges),
        sum(r[2] for r in ranges),
    )


@dataclass(frozen=True)
class Adjustment:
    """What the plan did to one person's range before pooling it (nothing: both None)."""

    multiplier: float | None  # the familiarity multiplier, when not 1
    familiarity: str
    widened_from: int | None  # the confidence they stated, when under the headline's 90%


def adjustment(person: PersonEstimate, *, quick: bool = False) -> Adjustment:
    """Why ``person``'s range in the plan is not the one they gave (quick rounds: their own
    widening is said once for the round, not per person)."""
    multiplier = FAMILIARITY_MULTIPLIER.get(person.familiarity, 1.0)
    return Adjustment(
        multiplier=multiplier if multiplier != 1.0 and not quick else None,
        familiarity=person.familiarity,
        widened_from=person.confidence
        if person.confidence < HEADLINE_SHARE and not quick
        else None,
    )


def widening_from(ratios: list[float]) -> Widening:
    """The team's own widening from its actual / most-likely ratios (newest first), or the
    default below ``MIN_HISTORY`` of them. Never narrower than n itself: low <= 1 <= high."""
    usable = [r for r in ratios if math.isfinite(r) and r > 0]
    if len(usable) < MIN_HISTORY:
        return DEFAULT_WIDENING
    low, high = (float(v) for v in np.percentile(usable, [10, 90]))
    return Widening(round(min(1.0, low), 2), round(max(1.0, high), 2), len(usable))


def quick_range(
    likely: float, widening: Widening, size: tuple[float, float, float] | None = None
) -> tuple[float, float, float]:
    """One quick answer as (best, likely, worst): a size's range, or n widened."""
    if size is not None:
        return size
    return (likely * widening.low, likely, likely * widening.high)


def summary_sentence(combined: Combined, unit: str, assumptions: list[str]) -> str:
    """The sentence to paste: "Plan for 5–11 days (90%), most likely 8. Assumes the payment
    API batches; no data migration." (plain text)."""
    h = headline(combined)
    if format_number(h.low) == format_number(h.high):
        span = format_duration(h.high, unit)
    else:
        span = f"{format_number(h.low)}–{format_duration(h.high, unit)}"
    sentence = f"Plan for {span} ({HEADLINE_SHARE}%), most likely {format_number(h.likely)}."
    stated = [a.strip().rstrip(".;").strip() for a in assumptions]
    stated = [a for a in stated if a]
    if stated:
        sentence += f" Assumes {'; '.join(stated)}."
    return sentence
