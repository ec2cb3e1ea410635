"""Delivering due work at a chosen instant and reading what Slack received: ``settle`` (the
app's own dispatcher is idle), ``sweep`` (one `run-due` sweep at ``now``), the posts to a
channel or a thread, and dates relative to today."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.runtime.scheduler import SweepResult, run_due
from storage.db import Database
from tests.support.harness import SlackDriver
from tests.support.slack_emulator import Call, SlackEmulator


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive (stored as UTC); Postgres aware."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def today() -> date:
    return datetime.now(UTC).date()


def next_weekday(weekday: int, *, at_least: int = 7) -> date:
    """The first date ``at_least`` days from now that falls on ``weekday`` (0 = Monday)."""
    day = today() + timedelta(days=at_least)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def next_last_sunday_of(month: int) -> date:
    """The next last-Sunday-of-``month`` at least two days from now (a DST change in the EU)."""
    year = today().year
    while True:
        day = date(year, month, 31 if month in (3, 10) else 30)
        day -= timedelta(days=(day.weekday() - 6) % 7)
        if day >= today() + timedelta(days=2):
            return day
        year += 1


def settle(slack: SlackDriver) -> None:
    """Wait until the app's embedded dispatcher delivered what is due by now."""
    assert slack.server.dispatcher.wait_idle(), "the dispatcher did not settle"


def sweep(slack: SlackDriver, db: Database, now: datetime, **kw: Any) -> SweepResult:
    """One `run-due` sweep at ``now`` (usually ahead of the clock) through a dispatcher
    client, one item at a time so the order of messages is known; before and after it, the
    app's own dispatcher settles (it delivers what is due by the real clock)."""
    settle(slack)
    kw.setdefault("concurrency", 1)
    result = run_due(db, slack.server.dispatch_client, now=now, **kw)
    settle(slack)
    return result


def posts_to(emulator: SlackEmulator, channel: str) -> list[Call]:
    """Every chat.postMessage to ``channel`` (a user id for DMs), faulted attempts included."""
    return [c for c in emulator.calls("chat.postMessage") if c.args.get("channel") == channel]


def thread_posts(emulator: SlackEmulator, ts: str, channel: str = "CGENERAL") -> list[Call]:
    return [
        c
        for c in emulator.calls("chat.postMessage")
        if c.args.get("channel") == channel and c.args.get("thread_ts") == ts
    ]
