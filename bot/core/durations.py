"""Durations as people type and read them (pure): ``4h``, ``3d``, ``1.5w``, points never
converted. A day is 8 hours, a week 5 days. Estimates, the parking lot's timeline impact and
the digest all read and show durations through here."""

from __future__ import annotations

import math
import re
from datetime import timedelta

HOURS_PER = {"hours": 1.0, "days": 8.0, "weeks": 40.0}
MAX_VALUE = {"hours": 10_000.0, "days": 1_250.0, "weeks": 250.0, "points": 1_000.0}

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


def format_span(span: timedelta) -> str:
    """A time span as people read it: ``less than an hour``, ``5 hours`` (under two days),
    ``2.5 days`` (the digest's health line and `/adr stats`)."""
    hours = span.total_seconds() / 3600
    if hours < 1:
        return "less than an hour"
    if hours < 48:
        figure = format_number(hours)
        return f"{figure} {'hour' if figure == '1' else 'hours'}"
    return f"{format_number(hours / 24)} days"
