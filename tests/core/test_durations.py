"""The duration parser and formatting (bot/core/durations.py), with hypothesis: numbers and
units, a sentence for what it cannot read, conversion into a round's unit."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.core.durations import (
    HOURS_PER,
    MAX_VALUE,
    convert,
    format_duration,
    parse_duration,
    round_sensibly,
    to_hours,
)

UNITS = ("hours", "days", "weeks", "points")
TIME_UNITS = ("hours", "days", "weeks")
SUFFIX = {"hours": "h", "days": "d", "weeks": "w"}


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
