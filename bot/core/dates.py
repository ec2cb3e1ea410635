"""Pure schedule arithmetic: review instants in a workspace's time zone (DST-correct with
zoneinfo), working days, and "2w / 3m / 2027-01-15" parsing. No Slack, no database."""

from __future__ import annotations

import logging
import re
from calendar import monthrange
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

log = logging.getLogger(__name__)

SATURDAY = 5
_RELATIVE = re.compile(r"^(\d{1,3})\s*(d|day|days|w|wk|week|weeks|m|mo|month|months)$", re.I)


def valid_timezone(name: str) -> bool:
    if not name or name not in _zone_names():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones() | {"UTC"})


@cache
def zone(name: str | None) -> ZoneInfo:
    """The time zone called ``name``, or UTC when there is no such zone.

    Time zones come from Slack (``users.info``) as well as from `/adr settings`: one this
    machine does not know (a zone newer than its tz database, or nonsense) must not fail a
    review, so it falls back to UTC, with a log line once per name and process.
    """
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r: using UTC", name[:64])
        return ZoneInfo("UTC")


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's end (Nov 30 + 3 -> Feb 28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def next_working_day(day: date) -> date:
    """The day itself, or the Monday after it when it falls on a weekend."""
    while day.weekday() >= SATURDAY:
        day += timedelta(days=1)
    return day


def add_working_days(day: date, days: int) -> date:
    day = next_working_day(day)
    for _ in range(days):
        day = next_working_day(day + timedelta(days=1))
    return day


def local_instant(day: date, hour: int, tz: str, minute: int = 0) -> datetime:
    """``hour``:``minute`` on ``day`` in ``tz``, as an aware UTC datetime.

    zoneinfo applies the offset in force on that date, so 10:00 in Berlin is 09:00 UTC in
    winter and 08:00 UTC in summer. A wall time that does not exist (a spring-forward gap)
    resolves to the instant after the gap, as a clock would show it.
    """
    local_zone = zone(tz)
    local = datetime.combine(day, time(hour=hour, minute=minute), tzinfo=local_zone)
    as_utc = local.astimezone(UTC)
    # Round-trip: in a gap, local -> UTC -> local moves the wall clock forward.
    return as_utc.astimezone(local_zone).astimezone(UTC)


def next_weekly(after: datetime, *, weekday: int, hour: int, minute: int, tz: str) -> datetime:
    """The first ``weekday`` (Monday = 0) at ``hour``:``minute`` in ``tz`` strictly after
    ``after``, as an aware UTC datetime: 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC
    in summer, whichever side of a clock change ``after`` is on."""
    day = after.astimezone(zone(tz)).date()
    day += timedelta(days=(weekday - day.weekday()) % 7)
    while (instant := local_instant(day, hour, tz, minute)) <= after:
        day += timedelta(days=7)
    return instant


def week_before(instant: datetime, *, hour: int, minute: int, tz: str) -> datetime:
    """The same weekday at ``hour``:``minute`` in ``tz`` a week before ``instant``: across a
    clock change that is 167 or 169 hours, not 168, so consecutive weekly windows meet."""
    local_day = instant.astimezone(zone(tz)).date()
    return local_instant(local_day - timedelta(days=7), hour, tz, minute)


def review_instant(review_date: date, *, tz: str, hour: int) -> datetime:
    """When to ask "did this decision work?": the review date (or the Monday after, if it is a
    weekend) at the workspace's review hour, local time."""
    return local_instant(next_working_day(review_date), hour, tz)


def working_days_later(instant: datetime, days: int, *, tz: str, hour: int) -> datetime:
    """``days`` working days after ``instant`` (in ``tz``), at the review hour."""
    local_day = instant.astimezone(zone(tz)).date()
    return local_instant(add_working_days(local_day, days), hour, tz)


def parse_when(text: str, *, today: date) -> tuple[date | None, str | None]:
    """'2w', '10 days', '3m', '2027-01-15' -> a date on or after today, or an error sentence."""
    raw = (text or "").strip()
    match = _RELATIVE.match(raw)
    if match:
        n, unit = int(match.group(1)), match.group(2).lower()
        if n == 0:
            return None, "Pick a time after today, such as `2w` or `3m`."
        if unit.startswith("d"):
            day = today + timedelta(days=n)
        elif unit.startswith("w"):
            day = today + timedelta(weeks=n)
        else:
            day = add_months(today, min(n, 60))
        return day, None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None, "Say when as `2w`, `10d`, `3m` or a date like `2027-01-15`."
    if day < today:
        return None, f"{day.isoformat()} is in the past; pick today or later."
    if day > today + timedelta(days=5 * 366):
        return None, "Pick a date within five years."
    return day, None
