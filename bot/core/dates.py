"""Pure schedule arithmetic: review instants in a workspace's time zone (DST-correct with
zoneinfo), working days, and the one grammar every command reads dates and times with
(``read_date``, ``read_instant``). No Slack, no database."""

from __future__ import annotations

import logging
import re
from calendar import monthrange
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from storage.rules import review_day

log = logging.getLogger(__name__)


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
    """The day itself, or the Monday after it when it falls on a weekend (the rule reviews
    follow, so it has one home: ``storage.rules.review_day``)."""
    return review_day(day)


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


# -- date and time phrases -----------------------------------------------------------------------
#
# One small grammar for every field where a person types when: `/adr remind`, the review date,
# a parked item's deferral, an estimate round's deadline. A phrase is an optional day, then an
# optional time (at least one of them), read in the person's time zone:
#
#   day:  today | tonight | tomorrow | tmrw | [this|next] <weekday> | next week|month|year
#         | [in] <n>|a|an <unit> (2w, 3 days, in 2 weeks, 3m, 1y) | 2027-03-06
#   time: [at] 15:00 | 15.00 | 15h00 | 3pm | 3:30 pm | noon | midnight | eod | end of day
#
# Not read: a bare hour without am/pm ("by Friday 3": 3 in the morning or the afternoon?), month
# names and slashed dates (03/06 is March in one country and June in the next).

END_OF_DAY = time(17)  # "eod", and an estimate deadline given as a day
PHRASE_MAX = 60  # longer is not a date phrase (an estimate topic swallowed by "by …", say)
DATE_EXAMPLES = "`tomorrow`, `next tuesday`, `in 2 weeks`, `3m` or `2027-03-06`"
TIME_EXAMPLES = "`fri 3pm`, `tomorrow 9:00` or `2027-03-06 15:00`"
# Under a typed date field (plain text, so no backticks).
DATE_HINT = "Type a date like 2027-03-06, or tomorrow, next tuesday, in 2 weeks, 3m (3 months)."

WEEKDAYS: dict[str, int] = {
    **dict.fromkeys(("mon", "monday"), 0),
    **dict.fromkeys(("tue", "tues", "tuesday"), 1),
    **dict.fromkeys(("wed", "weds", "wednesday"), 2),
    **dict.fromkeys(("thu", "thur", "thurs", "thursday"), 3),
    **dict.fromkeys(("fri", "friday"), 4),
    **dict.fromkeys(("sat", "saturday"), 5),
    **dict.fromkeys(("sun", "sunday"), 6),
}
_UNITS: dict[str, str] = {
    **dict.fromkeys(("d", "day", "days"), "d"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "w"),
    **dict.fromkeys(("m", "mo", "mos", "month", "months"), "m"),  # 3m: months, never minutes
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), "y"),
}
_DAY_WORDS = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1, "tmr": 1}
_NAMED_TIMES = {"noon": time(12), "midnight": time(0), "eod": END_OF_DAY, "end of day": END_OF_DAY}


def _alternatives(words: Iterable[str]) -> str:
    """A regex alternation, longest first ("tues" before "tue")."""
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


_DAY = re.compile(
    rf"(?:(?P<word>{_alternatives(_DAY_WORDS)})"
    rf"|(?:(?P<which>this|next)\s+)?(?P<weekday>{_alternatives(WEEKDAYS)})"
    r"|next\s+(?P<next>week|month|year)"
    rf"|(?:in\s+)?(?P<count>\d{{1,3}}|an?|one)\s*(?P<unit>{_alternatives(_UNITS)})"
    r"|(?P<iso>\d{4}-\d{2}-\d{2}))(?=\s|$)"
)
_TIME = re.compile(
    rf"^(?:at\s+)?(?:(?P<named>{_alternatives(_NAMED_TIMES)})"
    r"|(?P<hour>\d{1,2})(?:[:.h](?P<minute>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?)$"
)


@dataclass(frozen=True)
class Unreadable:
    """A phrase the grammar cannot use in this field, and the sentence that tells the person."""

    sentence: str


@dataclass(frozen=True)
class _Phrase:
    day: date | None  # a day named outright (tomorrow, in 2 weeks, next friday, 2027-03-06)
    weekday: int | None  # a bare weekday: which one depends on the field (see read_*)
    at: time | None  # the time of day given, if any


def _shown(phrase: str) -> str:
    """The phrase as typed, safe inside the sentence in mrkdwn and in a modal's plain text."""
    words = " ".join((phrase or "").replace("\x00", "").split())
    words = re.sub(r"[<>&`*_~]", "", words)
    return words if len(words) <= 40 else words[:39].rstrip() + "…"


def unreadable(phrase: str, *, times: bool = False) -> str:
    """The one sentence every command says for a date it cannot read, with examples (and
    examples with a time, for a field that takes one)."""
    tail = f", with a time if you like: {TIME_EXAMPLES}" if times else ""
    shown = _shown(phrase)
    if not shown:
        return f"Say when: try {DATE_EXAMPLES}{tail}."
    return f"I can't read “{shown}” as a date: try {DATE_EXAMPLES}{tail}."


def time_refused(phrase: str) -> str:
    """The one sentence for a time typed where only a day is wanted (a review date)."""
    return f"I only need a day here, not a time (“{_shown(phrase)}”): try {DATE_EXAMPLES}."


def _read_time(words: str) -> time | None:
    match = _TIME.match(words)
    if not match:
        return None
    if match["named"]:
        return _NAMED_TIMES[match["named"]]
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if match["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ampm"].startswith("p") else 0)
    elif match["minute"] is None:
        return None  # "Friday 3": an hour without minutes needs am or pm
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _read_day(match: re.Match[str], today: date) -> tuple[date | None, int | None]:
    """(the day named outright, or None with the bare weekday named)."""
    if match["word"]:
        return today + timedelta(days=_DAY_WORDS[match["word"]]), None
    if match["weekday"]:
        weekday = WEEKDAYS[match["weekday"]]
        if match["which"] == "next":  # the coming one, never today
            return today + timedelta(days=(weekday - today.weekday()) % 7 or 7), None
        return None, weekday
    if match["next"] == "week":
        return today + timedelta(weeks=1), None
    if match["next"]:
        return add_months(today, 1 if match["next"] == "month" else 12), None
    if match["count"]:
        count = int(match["count"]) if match["count"].isdigit() else 1
        unit = _UNITS[match["unit"]]
        if unit == "d":
            return today + timedelta(days=count), None
        if unit == "w":
            return today + timedelta(weeks=count), None
        return add_months(today, count * (12 if unit == "y" else 1)), None
    year, month, day = map(int, match["iso"].split("-"))
    return date(year, month, day), None


def _read(phrase: str, today: date) -> _Phrase | None:
    """The day and time ``phrase`` names, counting from ``today``; None if it names none."""
    words = " ".join((phrase or "").replace("\x00", "").replace(",", " ").lower().split())
    if not words or len(words) > PHRASE_MAX:
        return None
    words = re.sub(r"^(?:on|by|until)\s+", "", words)
    words = re.sub(r"^(\d{4}-\d{2}-\d{2})t(?=\d)", r"\1 ", words)  # 2027-03-06T15:00
    day: date | None = None
    weekday: int | None = None
    match = _DAY.match(words)
    rest = words
    if match:
        try:
            day, weekday = _read_day(match, today)
        except (ValueError, OverflowError):  # 2027-02-30, or past the year 9999
            return None
        rest = words[match.end() :].strip()
    at = _read_time(rest) if rest else None
    if rest and at is None:
        return None
    return _Phrase(day=day, weekday=weekday, at=at)


def read_date(phrase: str, *, today: date) -> date | Unreadable:
    """The day ``phrase`` names, for a field that takes a day only (a review date, a deferral);
    ``today`` is the person's today, in their time zone.

    Every phrase but an explicit date gives today or later: a weekday is the next one after
    today ("friday" on a Friday is a week on; say "today" for today), "next friday" the same.
    An explicit date is returned even when past or far ahead: the field says what it allows.
    A phrase with a time ("tomorrow 9:00", "15:00") is refused with ``time_refused``.
    """
    read = _read(phrase, today)
    if read is None:
        return Unreadable(unreadable(phrase))
    if read.at is not None:
        return Unreadable(time_refused(phrase))
    if read.weekday is not None:
        return today + timedelta(days=(read.weekday - today.weekday()) % 7 or 7)
    assert read.day is not None  # _read gives a day, a weekday or a time
    return read.day


def _at(day: date, at: time, zone: tzinfo) -> datetime:
    # A wall time in a spring-forward gap moves to the instant after it, as local_instant does.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC).astimezone(zone)


def read_instant(phrase: str, *, now: datetime, default_time: time) -> datetime | Unreadable:
    """The instant ``phrase`` names ("friday 15:00", "tomorrow 9:00", "fri 3pm", "15:00",
    "in 2 weeks", "2027-03-06 15:00"), in ``now``'s time zone (give the person's now; a naive
    ``now`` is read as UTC). The result has ``now``'s tzinfo.

    A day without a time takes ``default_time`` (estimate deadlines: 17:00). A weekday is its
    next occurrence, today if that time is still ahead; a time alone is today's, or tomorrow's
    once past. An explicit date (or "today 9:00" at 10:00) is returned even if past: the
    caller says so.
    """
    zone = now.tzinfo or UTC
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    today = now.date()
    read = _read(phrase, today)
    if read is None:
        return Unreadable(unreadable(phrase, times=True))
    at = read.at if read.at is not None else default_time
    try:
        if read.day is not None:
            return _at(read.day, at, zone)
        if read.weekday is not None:
            ahead = (read.weekday - today.weekday()) % 7
            candidate = _at(today + timedelta(days=ahead), at, zone)
            return candidate if candidate > now else _at(today + timedelta(ahead + 7), at, zone)
        candidate = _at(today, at, zone)
        return candidate if candidate > now else _at(today + timedelta(days=1), at, zone)
    except OverflowError:
        return Unreadable(unreadable(phrase, times=True))
