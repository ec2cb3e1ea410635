"""Pure schedule arithmetic (bot/core/dates.py): DST-correct review instants, the weekend rule,
working days, and `/adr remind` date parsing. No Slack, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.dates import (
    add_months,
    add_working_days,
    local_instant,
    next_weekly,
    next_working_day,
    parse_when,
    review_instant,
    valid_timezone,
    week_before,
    working_days_later,
)

BERLIN = "Europe/Berlin"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- review_instant: DST and the weekend rule ----------------------------------------------------


def test_last_sunday_of_march_moves_to_monday_in_summer_time():
    # 2026-03-29 is the last Sunday of March: clocks go forward that night in Berlin.
    sunday = date(2026, 3, 29)
    assert sunday.weekday() == 6
    instant = review_instant(sunday, tz=BERLIN, hour=10)
    assert instant == utc(2026, 3, 30, 8, 0)  # Monday 10:00 CEST = 08:00Z
    assert instant.tzinfo is not None and instant.utcoffset() == timedelta(0)
    local = instant.astimezone(ZoneInfo(BERLIN))
    assert (local.date(), local.hour, local.minute) == (date(2026, 3, 30), 10, 0)


def test_last_sunday_of_october_moves_to_monday_in_winter_time():
    sunday = date(2026, 10, 25)  # clocks go back that night
    assert sunday.weekday() == 6
    instant = review_instant(sunday, tz=BERLIN, hour=10)
    assert instant == utc(2026, 10, 26, 9, 0)  # Monday 10:00 CET = 09:00Z
    local = instant.astimezone(ZoneInfo(BERLIN))
    assert (local.date(), local.hour) == (date(2026, 10, 26), 10)


def test_weekday_in_summer_and_winter():
    assert review_instant(date(2026, 7, 15), tz=BERLIN, hour=10) == utc(2026, 7, 15, 8)
    assert review_instant(date(2026, 1, 15), tz=BERLIN, hour=10) == utc(2026, 1, 15, 9)
    assert review_instant(date(2026, 1, 15), tz="UTC", hour=10) == utc(2026, 1, 15, 10)
    # New York changes on a different Sunday (2026-03-08): the Monday after is already EDT.
    assert review_instant(date(2026, 3, 9), tz="America/New_York", hour=9) == utc(2026, 3, 9, 13)


def test_saturday_moves_to_monday():
    saturday = date(2026, 6, 13)
    assert saturday.weekday() == 5
    assert next_working_day(saturday) == date(2026, 6, 15)
    assert review_instant(saturday, tz=BERLIN, hour=10) == utc(2026, 6, 15, 8)
    assert review_instant(saturday, tz="UTC", hour=9) == utc(2026, 6, 15, 9)


def test_weekday_stays_put():
    friday = date(2026, 6, 12)
    assert next_working_day(friday) == friday
    assert review_instant(friday, tz="UTC", hour=10) == utc(2026, 6, 12, 10)


# -- working days ------------------------------------------------------------------------------


def test_working_days_later_skips_the_weekend():
    friday_morning = utc(2026, 3, 6, 9)  # Friday 10:00 Berlin
    later = working_days_later(friday_morning, 3, tz=BERLIN, hour=10)
    assert later == utc(2026, 3, 11, 9)  # Mon, Tue, Wed -> Wednesday 10:00 CET
    assert add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)
    assert add_working_days(date(2026, 3, 6), 5) == date(2026, 3, 13)


def test_working_days_later_across_the_spring_dst_change():
    thursday = utc(2026, 3, 26, 9)  # Thursday 10:00 CET
    later = working_days_later(thursday, 3, tz=BERLIN, hour=10)
    # Fri 27, (weekend, clocks forward on the 29th), Mon 30, Tue 31 -> 10:00 CEST = 08:00Z
    assert later == utc(2026, 3, 31, 8)
    assert later.astimezone(ZoneInfo(BERLIN)).hour == 10


def test_working_days_later_across_the_autumn_dst_change():
    thursday = utc(2026, 10, 22, 8)  # Thursday 10:00 CEST
    later = working_days_later(thursday, 3, tz=BERLIN, hour=10)
    assert later == utc(2026, 10, 27, 9)  # Tuesday 10:00 CET


def test_working_days_later_uses_the_local_date_not_the_utc_date():
    # 23:30Z on Tuesday is already Wednesday 08:30 in Tokyo.
    late_tuesday = utc(2026, 6, 9, 23, 30)
    later = working_days_later(late_tuesday, 1, tz="Asia/Tokyo", hour=10)
    assert later == utc(2026, 6, 11, 1)  # Thursday 10:00 JST


# -- parse_when ----------------------------------------------------------------------------------

TODAY = date(2026, 11, 30)  # a Monday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2w", date(2026, 12, 14)),
        ("2 weeks", date(2026, 12, 14)),
        ("10d", date(2026, 12, 10)),
        ("10 days", date(2026, 12, 10)),
        ("3m", date(2027, 2, 28)),  # Nov 30 + 3 months, clamped to the end of February
        ("1m", date(2026, 12, 30)),
        (" 3M ", date(2027, 2, 28)),
        ("2027-01-15", date(2027, 1, 15)),
        ("2026-11-30", TODAY),  # today is allowed
    ],
)
def test_parse_when_accepts(text, expected):
    assert parse_when(text, today=TODAY) == (expected, None)


def test_add_months_clamps_to_month_end():
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)  # leap year
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


def test_parse_when_refuses_a_past_date():
    day, error = parse_when("2026-11-29", today=TODAY)
    assert day is None
    assert error and "past" in error and "2026-11-29" in error


@pytest.mark.parametrize("text", ["soon", "", "   ", "2x", "w2", "2026-13-01", "next tuesday"])
def test_parse_when_refuses_garbage_with_an_example(text):
    day, error = parse_when(text, today=TODAY)
    assert day is None
    assert error and "2w" in error  # the sentence shows how to say it


@pytest.mark.parametrize("text", ["0w", "0d", "0m"])
def test_parse_when_refuses_zero(text):
    day, error = parse_when(text, today=TODAY)
    assert day is None and error


def test_parse_when_refuses_dates_too_far_ahead():
    day, error = parse_when("2040-01-01", today=TODAY)
    assert day is None and error


# -- time zones ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Europe/Berlin", "UTC", "America/New_York", "Asia/Kolkata"])
def test_valid_timezone_accepts_iana_names(name):
    assert valid_timezone(name)


@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus_Mons", "Berlin", "../../etc/passwd", "Europe/Berlin ", "+01:00"]
)
def test_valid_timezone_refuses_other_text(name):
    assert not valid_timezone(name)


def test_local_instant_in_the_spring_forward_gap_is_a_real_instant():
    # 02:00 on 2026-03-29 does not exist in Berlin (01:59:59 CET -> 03:00:00 CEST).
    instant = local_instant(date(2026, 3, 29), 2, BERLIN)
    assert instant.utcoffset() == timedelta(0)
    local = instant.astimezone(ZoneInfo(BERLIN))
    # A real instant: converting it back gives the same instant, on a wall time that exists.
    assert local.astimezone(UTC) == instant
    assert (local.date(), local.hour) == (date(2026, 3, 29), 3)
    assert instant == utc(2026, 3, 29, 1)


def test_local_instant_in_the_autumn_overlap_picks_one_instant():
    # 02:30 happens twice on 2026-10-25 in Berlin; either is fine, but it must be 02:30 local.
    instant = local_instant(date(2026, 10, 25), 2, BERLIN)
    local = instant.astimezone(ZoneInfo(BERLIN))
    assert (local.date(), local.hour) == (date(2026, 10, 25), 2)
    assert instant in (utc(2026, 10, 25, 0), utc(2026, 10, 25, 1))


# -- property: the due instant is a weekday at the review hour, local time ---------------------

ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Santiago",  # DST changes at midnight: hour 0 can be in the gap
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Auckland",
    "Pacific/Chatham",
]


def _wall_time_exists(day: date, hour: int, tz: str) -> bool:
    zone = ZoneInfo(tz)
    wall = datetime.combine(day, time(hour), tzinfo=zone)
    back = wall.astimezone(UTC).astimezone(zone)
    return back.replace(tzinfo=None) == wall.replace(tzinfo=None)


@settings(max_examples=300, deadline=None)
@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31)),
    tz=st.sampled_from(ZONES),
    hour=st.integers(min_value=0, max_value=23),
)
def test_review_instant_is_a_weekday_at_the_hour_in_local_time(day, tz, hour):
    instant = review_instant(day, tz=tz, hour=hour)
    assert instant.utcoffset() == timedelta(0)
    local = instant.astimezone(ZoneInfo(tz))
    assert local.weekday() < 5, (day, tz, hour, local)
    expected_day = next_working_day(day)
    assert local.date() == expected_day
    assert expected_day >= day and (expected_day - day).days <= 2
    if _wall_time_exists(expected_day, hour, tz):
        assert (local.hour, local.minute) == (hour, 0)
    else:
        # In a spring-forward gap the clock shows the first real time after the gap.
        assert local.hour > hour or local.minute > 0
        assert local - datetime.combine(expected_day, time(hour), tzinfo=ZoneInfo(tz)) <= timedelta(
            hours=2
        )


@pytest.mark.parametrize(
    ("tz", "after", "expected"),
    [
        # Berlin, spring: the Monday after the change is 07:00 UTC, the one before 08:00
        (
            "Europe/Berlin",
            datetime(2027, 3, 22, 8, 0, tzinfo=UTC),
            datetime(2027, 3, 29, 7, 0, tzinfo=UTC),
        ),
        # Berlin, autumn: back to 08:00 UTC
        (
            "Europe/Berlin",
            datetime(2027, 10, 25, 7, 0, tzinfo=UTC),
            datetime(2027, 11, 1, 8, 0, tzinfo=UTC),
        ),
        # the same instant is not "after": a week later
        ("UTC", datetime(2027, 1, 4, 9, 0, tzinfo=UTC), datetime(2027, 1, 11, 9, 0, tzinfo=UTC)),
        # a second before: that very Monday
        (
            "UTC",
            datetime(2027, 1, 4, 8, 59, 59, tzinfo=UTC),
            datetime(2027, 1, 4, 9, 0, tzinfo=UTC),
        ),
        # Lord Howe moves its clocks by 30 minutes (first Sunday of April 2027)
        (
            "Australia/Lord_Howe",
            datetime(2027, 3, 29, 0, 0, tzinfo=UTC),
            datetime(2027, 4, 4, 22, 30, tzinfo=UTC),
        ),
    ],
)
def test_next_weekly_is_monday_0900_local_whatever_the_clock_did(
    tz: str, after: datetime, expected: datetime
) -> None:
    due = next_weekly(after, weekday=0, hour=9, minute=0, tz=tz)
    assert due == expected
    local = due.astimezone(ZoneInfo(tz))
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"])
def test_consecutive_weekly_windows_meet_across_every_clock_change(tz: str) -> None:
    due = next_weekly(datetime(2027, 1, 1, tzinfo=UTC), weekday=0, hour=9, minute=30, tz=tz)
    for _ in range(60):  # more than a year of Mondays
        following = next_weekly(due, weekday=0, hour=9, minute=30, tz=tz)
        assert week_before(following, hour=9, minute=30, tz=tz) == due
        assert timedelta(hours=166) <= following - due <= timedelta(hours=170)
        due = following


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2023, 1, 31), date(2023, 2, 28)),
        (date(2024, 1, 31), date(2024, 2, 29)),
        (date(2024, 1, 30), date(2024, 2, 29)),
        (date(2024, 1, 15), date(2024, 2, 15)),
        (date(2024, 3, 31), date(2024, 4, 30)),
        (date(2024, 12, 31), date(2025, 1, 31)),
        (date(2024, 12, 1), date(2025, 1, 1)),
        (date(2024, 2, 29), date(2024, 3, 29)),
    ],
)
def test_a_month_after_is_add_months_by_one(day: date, expected: date) -> None:
    assert add_months(day, 1) == expected
