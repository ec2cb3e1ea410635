"""One clock, the reader's: how an instant is shown to people.

An instant (a history entry, a deadline, when a review is asked) goes out as Slack's date
formatting, ``<!date^UNIX^{date_short_pretty} {time}|fallback>``, so every reader's client
shows it in their own time zone. The fallback, for clients that cannot format it, is written
in a named zone ("2027-03-08 10:00 Europe/Berlin", or "… UTC").

Slack formats dates only in mrkdwn: not in ``plain_text`` (buttons, headers, option labels,
modal titles) nor in a notification's top-level ``text``. There an instant is
:func:`written_time`, which names its zone. A date with no time (a review date) is not an
instant: it stays a plain date (``date.isoformat()``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.core.dates import zone
from bot.core.render import Mrkdwn, escape


def _aware(when: datetime) -> datetime:
    # SQLite gives timestamps back naive; they are stored as UTC.
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _zone_name(tz: str | None) -> str:
    """``tz`` if this machine knows it, else "UTC" (what ``dates.zone`` falls back to)."""
    return tz if tz and zone(tz).key == tz else "UTC"


def written_time(when: datetime, tz: str | None = None) -> str:
    """``when`` as a wall time in ``tz`` that names its zone: "2027-03-08 10:00 Europe/Berlin"
    (UTC without a zone). For plain text, where Slack does not format dates."""
    name = _zone_name(tz)
    local = _aware(when).astimezone(zone(name))
    return f"{local:%Y-%m-%d %H:%M} {name}"


def slack_date(when: datetime, tz: str | None = None) -> Mrkdwn:
    """An instant every reader sees in their own zone (mrkdwn only); the fallback is
    :func:`written_time` in ``tz`` (the reader's zone when known, else UTC)."""
    stamp = int(_aware(when).timestamp())
    fallback = escape(written_time(when, tz))
    return Mrkdwn(f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{fallback}>")


def slack_day(when: datetime | date, tz: str | None = None) -> Mrkdwn:
    """The day of an instant as every reader's own calendar has it (the fallback is the day
    in ``tz``, else UTC); a plain date (no time: a review date, a deferral) as it is."""
    if isinstance(when, datetime):
        stamp = int(_aware(when).timestamp())
        day = _aware(when).astimezone(zone(_zone_name(tz))).date()
        return Mrkdwn(f"<!date^{stamp}^{{date_short}}|{day.isoformat()}>")
    return Mrkdwn(escape(when.isoformat()))
