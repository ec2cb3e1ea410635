"""The arithmetic of `/estimate` (bot/features/estimates/estimation.py and calibration.py):
PERT at a stated confidence against an independent incomplete beta, the pooled Monte Carlo sum
against analytic means, outliers, the cone, calibration and the sentences."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features.estimates.calibration import (
    Calibration,
    CalibrationRecord,
    calibration,
    calibration_sentence,
)
from bot.features.estimates.estimation import (
    CONE,
    DEFAULT_WIDENING,
    FAMILIARITY_MULTIPLIER,
    Adjustment,
    Combined,
    Outlier,
    PersonEstimate,
    TaskSpread,
    adjustment,
    beta_interval_probability,
    combine,
    headline,
    outliers,
    pert_mean,
    pert_params,
    quick_range,
    summary_sentence,
    widening_from,
)

# -- an independent regularized incomplete beta (continued fraction, Lentz) --------------------


def _betacf(a: float, b: float, x: float) -> float:
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-14:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def pert_probability(
    params: tuple[float, float, float, float, float], x0: float, x1: float
) -> float:
    lo, _mode, hi, alpha, beta = params
    if hi == lo:
        return 1.0 if x0 <= lo <= x1 else 0.0
    return betainc(alpha, beta, (x1 - lo) / (hi - lo)) - betainc(alpha, beta, (x0 - lo) / (hi - lo))


def test_the_reference_incomplete_beta_is_right() -> None:
    assert betainc(1, 1, 0.3) == pytest.approx(0.3)
    assert betainc(1, 5, 0.2) == pytest.approx(1 - 0.8**5)
    assert betainc(3, 3, 0.5) == pytest.approx(0.5)
    assert betainc(2, 3, 0.4) == pytest.approx(0.5248)  # 1 - (1-x)^4 - 4x(1-x)^3


@pytest.mark.parametrize(("alpha", "beta"), [(1, 5), (1.04, 4.96), (3, 3), (4.9, 1.1), (5, 1)])
@pytest.mark.parametrize(("a", "b"), [(0, 1), (0, 0.2), (0.1, 0.6), (0.7, 1), (0.5, 0.5)])
def test_the_quadrature_matches_the_reference(
    alpha: float, beta: float, a: float, b: float
) -> None:
    expected = betainc(alpha, beta, b) - betainc(alpha, beta, a)
    assert float(beta_interval_probability(alpha, beta, a, b)) == pytest.approx(expected, abs=1e-4)


# -- PERT at a stated confidence ---------------------------------------------------------------

RANGES = [
    (2.0, 3.0, 5.0),  # right-skewed
    (4.0, 5.0, 6.0),  # symmetric
    (3.0, 3.0, 8.0),  # best == likely
    (3.0, 8.0, 8.0),  # likely == worst
    (1.0, 2.0, 10.0),  # long tail: 50% widens below zero, so lo is held at 0
    (0.5, 9.0, 10.0),  # left-skewed
    (100.0, 120.0, 300.0),
]


@pytest.mark.parametrize("confidence", [50, 80, 90])
@pytest.mark.parametrize(("best", "likely", "worst"), RANGES)
def test_best_to_worst_holds_the_stated_confidence(
    best: float, likely: float, worst: float, confidence: int
) -> None:
    params = pert_params(best, likely, worst, confidence)
    lo, mode, hi, alpha, beta = params
    assert mode == likely
    assert 0 <= lo <= best and hi >= worst
    assert alpha >= 1 and beta >= 1
    assert alpha == pytest.approx(1 + 4 * (mode - lo) / (hi - lo))  # PERT, lambda = 4
    assert pert_probability(params, best, worst) == pytest.approx(confidence / 100, abs=0.01)


@settings(max_examples=150, deadline=None)
@given(
    best=st.floats(0.01, 100),
    likely_gap=st.floats(0, 100),
    worst_gap=st.floats(0.01, 300),
    confidence=st.sampled_from([50, 80, 90]),
)
def test_any_range_holds_its_confidence(
    best: float, likely_gap: float, worst_gap: float, confidence: int
) -> None:
    likely, worst = best + likely_gap, best + likely_gap + worst_gap
    params = pert_params(best, likely, worst, confidence)
    assert params[0] >= 0
    assert pert_probability(params, best, worst) == pytest.approx(confidence / 100, abs=0.01)


def test_lower_confidence_widens_more() -> None:
    his = [pert_params(2, 3, 5, c)[2] for c in (90, 80, 50)]
    assert his == sorted(his) and his[0] < his[2]
    lo, _mode, hi, *_ = pert_params(4, 5, 6, 80)  # symmetric: widened evenly
    assert 5 - lo == pytest.approx(hi - 5)


def test_a_point_mass_stays_a_point() -> None:
    assert pert_params(3, 3, 3, 50) == (3.0, 3.0, 3.0, 1.0, 1.0)


def test_pert_refuses_a_disordered_range() -> None:
    with pytest.raises(ValueError):
        pert_params(5, 3, 8, 80)
    with pytest.raises(ValueError):
        pert_params(1, 2, 3, 100)


# -- the combined estimate ---------------------------------------------------------------------


def person(
    user_id: str,
    ranges: list[tuple[float, float, float]],
    confidence: int = 80,
    familiarity: str = "done",
) -> PersonEstimate:
    return PersonEstimate(user_id, ranges, confidence, familiarity)


ANA = person("ana", [(2, 3, 5), (1, 2, 4), (5, 8, 13)], 80, "similar")
BO = person("bo", [(4, 6, 10), (1, 1, 2), (8, 10, 20)], 90, "new")
TASKS = ["API", "UI", "data migration"]


def analytic_mean(p: PersonEstimate) -> float:
    """The exact mean of one person's total: the sum of their PERT means times the multiplier."""
    means = [pert_mean(*pert_params(b, m, w, p.confidence)[:3]) for b, m, w in p.ranges]
    return sum(means) * FAMILIARITY_MULTIPLIER[p.familiarity]


def test_one_estimator_matches_the_analytic_mean() -> None:
    result = combine([ANA], TASKS, phase="initial", samples=100_000, seed=7)
    assert result.mean == pytest.approx(analytic_mean(ANA), rel=0.01)
    assert result.best <= result.likely <= result.p90 <= result.worst
    assert result.likely == result.p50
    assert (result.samples, result.seed) == (100_000, 7)


@pytest.mark.parametrize("pooling", ["round", "task"])
def test_a_mixture_of_two_has_the_average_mean(pooling: str) -> None:
    result = combine([ANA, BO], TASKS, phase="initial", samples=100_000, seed=3, pooling=pooling)
    expected = (analytic_mean(ANA) + analytic_mean(BO)) / 2
    assert result.mean == pytest.approx(expected, rel=0.01)


def test_one_estimator_per_draw_keeps_disagreement_in_the_total() -> None:
    fast = person("fast", [(1, 1, 1)] * 10)
    slow = person("slow", [(10, 10, 10)] * 10)
    per_round = combine([fast, slow], [f"t{i}" for i in range(10)], phase="initial", seed=1)
    per_task = combine(
        [fast, slow], [f"t{i}" for i in range(10)], phase="initial", seed=1, pooling="task"
    )
    # Whole-round draws are one person's total (10 or 100); per-task draws average them out.
    assert per_round.best == 10 and per_round.worst == 100
    assert 10 < per_task.best < per_task.worst < 100


def test_each_persons_own_total_comes_from_the_draws_that_picked_them() -> None:
    fast = person("fast", [(1, 1, 1)] * 2)
    slow = person("slow", [(10, 10, 10)] * 2, familiarity="similar")
    result = combine([fast, slow], ["a", "b"], phase="initial", samples=1_000)
    assert [(t.user_id, t.best, t.likely, t.worst) for t in result.person_totals] == [
        ("fast", 2, 2, 2),
        ("slow", 30, 30, 30),
    ]
    assert sum(t.draws for t in result.person_totals) == 1_000
    alone = combine([ANA], TASKS, phase="initial", samples=5_000)
    (total,) = alone.person_totals
    # a person's total is the plan's 90% for them: the 5th to 95th percentile, as the headline
    assert (total.best, total.likely, total.worst) == (alone.low, alone.likely, alone.worst)
    assert combine([ANA, BO], TASKS, phase="initial", pooling="task").person_totals == []
    few = combine([fast, slow], ["a", "b"], phase="initial", samples=1)  # one person drawn
    assert [t.draws for t in few.person_totals] == [1]


def test_familiarity_scales_that_persons_draws() -> None:
    done = combine([person("a", ANA.ranges, familiarity="done")], TASKS, phase="design", seed=5)
    new = combine([person("a", ANA.ranges, familiarity="new")], TASKS, phase="design", seed=5)
    for field in ("mean", "p50", "p90", "best", "worst"):
        assert getattr(new, field) == pytest.approx(2.5 * getattr(done, field))


def test_the_seed_makes_it_reproducible() -> None:
    first = combine([ANA, BO], TASKS, phase="design", seed=11)
    assert combine([ANA, BO], TASKS, phase="design", seed=11) == first
    assert combine([ANA, BO], TASKS, phase="design", seed=12).p50 != first.p50


@pytest.mark.parametrize("phase", list(CONE))
def test_the_cone_surrounds_the_combined_likely(phase: str) -> None:
    result = combine([ANA], TASKS, phase=phase, samples=2_000)
    low, high = CONE[phase]
    assert result.cone_low == pytest.approx(result.likely * low)
    assert result.cone_high == pytest.approx(result.likely * high)


def test_spreads_and_outliers() -> None:
    cy = person("cy", [(2, 4, 6), (1, 3, 5), (8, 9, 12)])
    result = combine([ANA, BO, cy], TASKS, phase="initial", samples=1_000)
    assert result.spreads == [
        TaskSpread("API", 3, 4, 6),
        TaskSpread("UI", 1, 2, 3),
        TaskSpread("data migration", 8, 9, 10),
    ]
    assert result.outliers == [Outlier("API", "bo", "ana", 2.0), Outlier("UI", "cy", "bo", 3.0)]


def test_outliers_round_the_ratio_and_skip_zeros() -> None:
    people = [
        person("a", [(0, 0, 1), (1, 3, 4)]),
        person("b", [(1, 1, 2), (1, 7, 9)]),
        person("c", [(1, 1.9, 2), (1, 5, 9)]),
    ]
    assert outliers(people, ["x", "y"]) == [Outlier("y", "b", "a", 2.3)]


def test_combine_refuses_what_it_cannot_add() -> None:
    with pytest.raises(ValueError):
        combine([], TASKS, phase="initial")
    with pytest.raises(ValueError):
        combine([ANA], TASKS[:2], phase="initial")
    with pytest.raises(ValueError):
        combine([ANA], TASKS, phase="someday")


def test_the_sentence_to_paste() -> None:
    result = Combined(
        p50=5.2, p90=9.1, mean=5.8, best=3.04, likely=5.2, worst=10.4, cone_low=1.3, cone_high=20.8
    )
    # one range to quote: the 5th to 95th percentile (``best`` stands in for a result stored
    # before ``low`` was kept), rounded outward, and the median
    assert summary_sentence(result, "days", ["the payment API batches.", " ", "no migration"]) == (
        "Plan for 3–11 days (90%), most likely 5. Assumes the payment API batches; no migration."
    )
    one = Combined(
        p50=2, p90=3, mean=2, best=1, likely=2, worst=4, cone_low=1, cone_high=3, low=0.86
    )
    assert summary_sentence(one, "points", []) == "Plan for 0.8–4 points (90%), most likely 2."
    point = Combined(
        p50=1, p90=1, mean=1, best=1, likely=1, worst=1, cone_low=1, cone_high=1, low=1
    )
    assert summary_sentence(point, "days", []) == "Plan for 1 day (90%), most likely 1."


@pytest.mark.parametrize(
    ("low", "likely", "high", "expected"),
    [
        (5.4, 7.9, 10.6, (5, 8, 11)),  # whole numbers from 3, outward
        (0.44, 0.9, 2.61, (0.4, 0.9, 2.7)),  # one decimal below 3, outward
        (2.95, 3.2, 3.01, (2.9, 3, 4)),
        (10.0, 10.0, 10.0, (10, 10, 10)),  # exact figures stay
    ],
)
def test_the_headline_is_rounded_outward(low, likely, high, expected) -> None:
    result = Combined(
        p50=likely,
        p90=high,
        mean=likely,
        best=low,
        likely=likely,
        worst=high,
        cone_low=0,
        cone_high=0,
        low=low,
    )
    h = headline(result)
    assert (h.low, h.likely, h.high) == expected
    assert h.low <= low and h.high >= high


def test_widening_comes_from_the_teams_actuals_or_the_stated_default() -> None:
    assert widening_from([]) == DEFAULT_WIDENING
    assert widening_from([1.2, 1.5]) == DEFAULT_WIDENING  # under MIN_HISTORY
    w = widening_from([1.0, 1.2, 1.5, 0.9, 1.4])
    assert w.rounds == 5 and w.low <= 1.0 <= w.high
    assert (w.low, w.high) == (0.94, 1.46)
    never_narrower = widening_from([1.5, 1.6, 1.7])  # always over: low is n itself
    assert never_narrower.low == 1.0 and never_narrower.high > 1.6
    assert quick_range(4.0, w) == (4.0 * 0.94, 4.0, 4.0 * 1.46)
    assert quick_range(4.0, w, size=(2.0, 3.0, 5.0)) == (2.0, 3.0, 5.0)


def test_adjustment_says_what_the_plan_changed() -> None:
    assert adjustment(person("a", ANA.ranges, familiarity="done", confidence=90)) == Adjustment(
        None, "done", None
    )
    bo = adjustment(person("b", ANA.ranges, familiarity="new", confidence=50))
    assert (bo.multiplier, bo.widened_from) == (2.5, 50)
    quick = adjustment(person("b", ANA.ranges, familiarity="new", confidence=50), quick=True)
    assert (quick.multiplier, quick.widened_from) == (None, None)


# -- calibration -------------------------------------------------------------------------------


def record(actual: float, confidence: int = 90, who: str = "ana") -> CalibrationRecord:
    return CalibrationRecord(who, best=8, likely=10, worst=12, confidence=confidence, actual=actual)


NINE = [10, 11, 9, 12, 8, 13, 14, 6, 16]  # 5 inside 8..12; each needs |actual - 10| / 2


def test_calibration_counts_and_the_widening() -> None:
    cal = calibration([record(a) for a in NINE])
    assert (cal.n, cal.hits, cal.enough, cal.levels) == (9, 5, True, (90,))
    assert cal.hit_rate == pytest.approx(5 / 9)
    assert cal.stated == 90
    # needed factors 0 .5 .5 1 1 1.5 2 2 3: their 90% quantile is 2 + 0.2 * (3 - 2)
    assert cal.widen == pytest.approx(2.2)
    assert cal.mean_ratio == pytest.approx(99 / 90)
    assert cal.multiplier == pytest.approx(1.1)
    assert calibration_sentence(cal, "Your") == (
        "Your 90% ranges held 5 of 9 times (56%) — widen them about 2.2x. "
        "Actuals averaged 1.1x the likely figure; suggested multiplier 1.1x (the median)."
    )


def test_widening_by_the_suggestion_would_have_held_about_the_stated_share() -> None:
    records = [record(a, confidence=80) for a in (10, 13, 7, 15, 9, 20, 11, 10.5, 4, 12.5)]
    cal = calibration(records)
    widened = [
        CalibrationRecord(
            r.user_id,
            r.likely - cal.widen * (r.likely - r.best),
            r.likely,
            r.likely + cal.widen * (r.worst - r.likely),
            r.confidence,
            r.actual,
        )
        for r in records
    ]
    assert calibration(widened).hit_rate == pytest.approx(0.8, abs=0.1)


def test_not_enough_data_below_three_actuals() -> None:
    cal = calibration([record(10), record(14)])
    assert cal.n == 2 and not cal.enough
    assert calibration_sentence(cal, "Ana's") == (
        "Ana's calibration: not enough data yet (2 of 3 actuals needed)."
    )
    empty = calibration([])
    assert empty == Calibration(0, 0, 0.0, 0.0, (), None, None, None, False)
    assert "not enough data yet" in calibration_sentence(empty, "The team's")


def test_calibration_sentences_for_mixed_narrow_and_impossible_ranges() -> None:
    mixed = calibration([record(10, 50), record(11, 90), record(10, 80)])
    assert calibration_sentence(mixed, "The team's").startswith(
        "The team's ranges (stated 73% on average) held 3 of 3 times (100%) — they could be "
        "narrower (about 0.2x) and still hold."
    )
    no_room = [CalibrationRecord("a", 8, 10, 10, 90, 11) for _ in range(3)]
    assert math.isinf(calibration(no_room).widen)
    assert "no room" in calibration_sentence(calibration(no_room), "Your")
    right = calibration([record(a, 50) for a in (10, 11, 13, 14)])
    assert "about right" in calibration_sentence(right, "Your")
