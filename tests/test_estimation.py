"""The arithmetic of `/estimate` (bot/features/estimates/estimation.py) and its chart (bot/features/estimates/chart.py): the duration
parser (with hypothesis), PERT at a stated confidence against an independent incomplete beta,
the pooled Monte Carlo sum against analytic means, outliers, the cone, calibration, the
sentences, and the PNG."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.features.estimates.chart import chart_figure, plain_text, render_chart
from bot.features.estimates.estimation import (
    CONE,
    FAMILIARITY_MULTIPLIER,
    HOURS_PER,
    MAX_VALUE,
    Calibration,
    CalibrationRecord,
    Combined,
    Outlier,
    PersonEstimate,
    TaskSpread,
    beta_interval_probability,
    calibration,
    calibration_sentence,
    combine,
    convert,
    format_duration,
    outliers,
    parse_duration,
    pert_mean,
    pert_params,
    round_sensibly,
    summary_sentence,
    to_hours,
)

UNITS = ("hours", "days", "weeks", "points")
TIME_UNITS = ("hours", "days", "weeks")
SUFFIX = {"hours": "h", "days": "d", "weeks": "w"}


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


# -- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("3", "days", 3.0),
        ("4h", "days", 0.5),
        ("3d", "hours", 24.0),
        ("1.5w", "days", 7.5),
        ("2 days", "weeks", 0.4),
        ("1 day", "hours", 8.0),
        ("90min", "hours", 1.5),
        ("1,5d", "days", 1.5),
        (" 2D ", "days", 2.0),
        (".5", "weeks", 0.5),
        ("0,25", "days", 0.25),
        ("8 points", "points", 8.0),
        ("3pt", "points", 3.0),
        ("13", "points", 13.0),
        ("10000h", "hours", 10_000.0),
        ("250w", "days", 1_250.0),
    ],
)
def test_parse_duration_reads_numbers_and_units(text: str, unit: str, expected: float) -> None:
    assert parse_duration(text, unit) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "unit", "words"),
    [
        ("4h", "points", "points"),
        ("2 days", "points", "points"),
        ("3pt", "days", "points don't convert"),
        ("0", "days", "more than zero"),
        ("0,00", "days", "more than zero"),
        ("-1", "days", "more than zero"),
        ("", "days", "Enter a number"),
        ("   ", "hours", "Enter a number"),
        ("abc", "days", "isn't one"),
        ("4h30m", "hours", "isn't one"),
        ("1e3", "days", "isn't one"),
        ("inf", "days", "isn't one"),
        ("nan", "days", "isn't one"),
        ("1.234", "days", "2 decimals"),
        ("1,000", "days", "2 decimals"),
        ("2m", "days", "minutes"),
        ("3 months", "weeks", "months"),
        ("3 parsecs", "days", "Use h, d or w"),
        ("1251", "days", "more than 1250 days"),
        ("251w", "hours", "more than 10000 hours"),
        ("1001", "points", "more than 1000 points"),
        ("9" * 50, "days", "too long"),
    ],
)
def test_parse_duration_refuses_with_a_sentence(text: str, unit: str, words: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_duration(text, unit)
    sentence = str(raised.value)
    assert words in sentence
    assert sentence[0].isupper() and sentence.endswith(".")


def test_parse_duration_rejects_an_unknown_round_unit() -> None:
    with pytest.raises(ValueError):
        parse_duration("3", "fortnights")


@settings(max_examples=400, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=30),
        st.from_regex(r"\s*-?[0-9.,]{0,7}\s*[a-zA-Z]{0,8}\s*", fullmatch=True),
    ),
    unit=st.sampled_from(UNITS),
)
@example(text="\u0663", unit="days")  # an Arabic-Indic digit
@example(text="1\x00d", unit="days")
def test_parse_duration_returns_a_sane_value_or_a_sentence(text: str, unit: str) -> None:
    try:
        value = parse_duration(text, unit)
    except ValueError as error:
        assert str(error).endswith(".")
        return
    assert isinstance(value, float)
    assert 0 < value <= MAX_VALUE[unit] and math.isfinite(value)


hundredths = st.integers(min_value=1, max_value=100_000)  # 0.01 .. 1000.00


@settings(max_examples=300, deadline=None)
@given(cents=hundredths, unit=st.sampled_from(UNITS))
def test_formatted_values_parse_back_to_what_was_shown(cents: int, unit: str) -> None:
    value = min(cents / 100, MAX_VALUE[unit])
    assert parse_duration(format_duration(value, unit), unit) == round_sensibly(value)


@settings(max_examples=300, deadline=None)
@given(cents=hundredths, written=st.sampled_from(TIME_UNITS), unit=st.sampled_from(TIME_UNITS))
def test_a_unit_suffix_converts_into_the_rounds_unit(cents: int, written: str, unit: str) -> None:
    value = cents / 100
    expected = value * HOURS_PER[written] / HOURS_PER[unit]
    if expected > MAX_VALUE[unit]:
        with pytest.raises(ValueError, match="more than"):
            parse_duration(f"{value}{SUFFIX[written]}", unit)
        return
    for text in (
        f"{value}{SUFFIX[written]}",
        f"{value} {written}",
        f"{value:.2f}{SUFFIX[written]}",
    ):
        assert parse_duration(text, unit) == pytest.approx(expected)
        assert parse_duration(text.replace(".", ","), unit) == pytest.approx(expected)


@settings(max_examples=100, deadline=None)
@given(cents=hundredths, written=st.sampled_from(TIME_UNITS))
def test_points_never_convert(cents: int, written: str) -> None:
    with pytest.raises(ValueError, match="points"):
        parse_duration(f"{cents / 100}{SUFFIX[written]}", "points")
    with pytest.raises(ValueError, match="points"):
        parse_duration(f"{cents / 100}pt", written)


def test_hours_and_formatting() -> None:
    assert to_hours(1.5, "days") == 12.0
    assert to_hours(2, "weeks") == 80.0
    assert convert(12, "hours", "days") == 1.5
    with pytest.raises(ValueError):
        to_hours(3, "points")
    assert format_duration(1, "days") == "1 day"
    assert format_duration(1.04, "days") == "1 day"
    assert format_duration(1.5, "days") == "1.5 days"
    assert format_duration(12.4, "hours") == "12 hours"
    assert format_duration(0.25, "weeks") == "0.25 weeks"
    assert format_duration(1, "points") == "1 point"
    assert format_duration(8, "points") == "8 points"


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
    assert (total.best, total.likely, total.worst) == (alone.best, alone.likely, alone.worst)
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
    assert summary_sentence(result, "days", ["the payment API batches.", " ", "no migration"]) == (
        "Best case 3 days, likely 5.2, worst 10; 90% confident within 9.1 days. "
        "Assumes the payment API batches; no migration."
    )
    one = Combined(p50=2, p90=3, mean=2, best=1, likely=2, worst=4, cone_low=1, cone_high=3)
    assert summary_sentence(one, "points", []) == (
        "Best case 1 point, likely 2, worst 4; 90% confident within 3 points."
    )


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


# -- the chart ---------------------------------------------------------------------------------

RESULT = Combined(
    p50=10, p90=14, mean=10.5, best=7, likely=10, worst=16, cone_low=8, cone_high=12.5
)
ROWS = [("Ana", 5.0, 8.0, 12.0), ("Bo $5 $x^2$", 6.0, 9.0, 13.0), ("Zoë 🚀", 7.0, 10.0, 15.0)]


def test_the_chart_is_a_png_of_the_right_size() -> None:
    png = render_chart(ROWS, RESULT, "days", "Checkout $100")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert (width, height) == (800, 400)


def test_the_chart_has_a_bar_per_person_and_the_marks() -> None:
    fig = chart_figure(ROWS * 10, RESULT, "days", "Checkout")
    (ax,) = fig.axes
    (bars,) = ax.containers
    assert [(b.get_x(), b.get_width()) for b in bars][:3] == [(5, 7), (6, 7), (7, 8)]
    assert len(bars) == 30
    assert [line.get_xdata()[0] for line in ax.get_lines()] == [10, 14]  # 50% and 90%
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "cone of uncertainty",
        "50%: 10 days",
        "90%: 14 days",
        "best–worst",
    ]
    assert fig.get_size_inches()[1] > 4  # taller for 30 people


def test_chart_labels_are_plain_text() -> None:
    assert plain_text("Bo $5 $x^2$") == r"Bo \$5 \$x^2\$"
    assert plain_text("a\nb  c") == "a b c"
    assert plain_text("x" * 40) == "x" * 27 + "…"
    fig = chart_figure(ROWS, RESULT, "days", "$E=mc^2$")
    names = fig.axes[0].texts
    assert [t.get_text() for t in names] == ["Ana", r"Bo \$5 \$x^2\$", "Zoë 🚀"]
    assert [t.get_position()[1] for t in names] == [2, 1, 0]  # the first person on top
    assert render_chart([], RESULT, "points", "$")[:4] == b"\x89PNG"
