"""Scheduled work is delivered exactly once, whatever the number of `decisionbot run-due`
processes, and a process killed mid-sweep loses nothing (issue 3, DESIGN.md "Scheduled
work"). Real subprocesses, a real Postgres database (and a SQLite file where cheap), the
Slack Web API emulator counting the DMs.

Every seeded item is one "did this decision work?" DM to a distinct user (tests/seed_due.py),
so a DM's ``channel`` says which item it delivered: a user with two DMs is a duplicate, a
user with none is a loss.

The window that can repeat a message: a handler sends one message, then marks its row done
in the next transaction. A process killed between Slack accepting the message and that
commit leaves the row claimed; when the lease (5 minutes) expires, another sweep delivers it
again. So at most the one message in flight per killed process can repeat; nothing else.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from storage.db import Database
from tests.seed_due import (
    decisionbot_command,
    parse_summary,
    run_due_env,
    seed_due_asks,
    tally,
    work_states,
)
from tests.slack_emulator import SlackEmulator

pytestmark = pytest.mark.timeout(120)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
PROCESS_TIMEOUT = 90


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[Database]:
    """A fresh, migrated database of its own on the test Postgres server, dropped after."""
    name = f"rundue_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    try:
        db.migrate()
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'rundue.db'}")
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_database(request: pytest.FixtureRequest) -> Database:
    name = "pg_database" if request.param == "postgres" else "sqlite_database"
    return request.getfixturevalue(name)


# -- helpers ---------------------------------------------------------------------------------


class Sweeper:
    """One `decisionbot run-due --now ISO` child process; stderr goes to a file."""

    def __init__(self, db: Database, emulator: SlackEmulator, now: datetime, log: Path) -> None:
        self.log = log
        self._err = log.open("w")
        self.proc = subprocess.Popen(
            [*decisionbot_command(), "run-due", "--now", now.isoformat()],
            env=run_due_env(db.url, emulator.url),
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
        )

    def finish(self, timeout: float = PROCESS_TIMEOUT) -> dict[str, int]:
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise
        finally:
            self._err.close()
        assert self.proc.returncode == 0, (self.proc.returncode, out, self.log.read_text()[-3000:])
        return parse_summary(out)

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.communicate(timeout=30)
        self._err.close()
        assert self.proc.returncode == -signal.SIGKILL


def dm_channels(emulator: SlackEmulator) -> list[str]:
    return [str(c.args.get("channel")) for c in emulator.calls("chat.postMessage")]


# -- tests -----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_three_processes_on_one_postgres_database_deliver_each_item_once(
    pg_database: Database, emulator: SlackEmulator, tmp_path: Path
) -> None:
    seeded = seed_due_asks(pg_database, 5_000, due_at=NOW - timedelta(minutes=1))

    sweepers = [Sweeper(pg_database, emulator, NOW, tmp_path / f"sweeper{i}.log") for i in range(3)]
    summaries = [s.finish() for s in sweepers]

    channels = dm_channels(emulator)
    delivered, duplicates, lost, _ = tally(channels, seeded.users)
    print("\nclaimed/sent per process:", [(s["claimed"], s["sent"]) for s in summaries])
    assert (delivered, duplicates, lost) == (5_000, 0, 0)
    assert len(channels) == 5_000  # nothing else was posted either
    assert Counter(channels).most_common(1)[0][1] == 1
    assert sum(s["sent"] for s in summaries) == 5_000
    assert sum(s["claimed"] for s in summaries) == 5_000
    assert all(s["retried"] == 0 and s["failed"] == 0 for s in summaries)
    assert work_states(pg_database) == {"done": 5_000}
    # All three start together and the sweep takes seconds: they share it. (How evenly
    # depends on start-up order, so only "more than one" is asserted.)
    assert sum(1 for s in summaries if s["claimed"] > 0) >= 2, summaries


def test_a_process_killed_mid_sweep_loses_nothing_and_repeats_at_most_the_in_flight_dm(
    any_database: Database, emulator: SlackEmulator, tmp_path: Path
) -> None:
    db = any_database
    seeded = seed_due_asks(db, 300, due_at=NOW - timedelta(minutes=1))
    emulator.latency = 0.02

    first = Sweeper(db, emulator, NOW, tmp_path / "killed.log")
    emulator.wait_for("chat.postMessage", count=60, timeout=60)
    first.kill()
    emulator.latency = 0.0  # the rest needs no slow Slack
    before = Counter(dm_channels(emulator))
    states = work_states(db)
    print("\nat SIGKILL:", len(before), "DMs;", dict(states))
    assert 60 <= sum(before.values()) < 300
    assert states["claimed"] >= 1  # the killed sweep's lease is still held

    # Before the lease expires, another sweep leaves the killed sweep's rows alone.
    early = Sweeper(db, emulator, NOW + timedelta(minutes=1), tmp_path / "early.log").finish()
    assert early["claimed"] == states["pending"]
    assert work_states(db)["claimed"] == states["claimed"]

    # After it expires (5-minute lease), they are delivered too.
    late = Sweeper(db, emulator, NOW + timedelta(minutes=6), tmp_path / "late.log").finish()
    assert late["claimed"] == states["claimed"]

    delivered, duplicates, lost, per_user = tally(dm_channels(emulator), seeded.users)
    doubled = [user for user, count in per_user.items() if count > 1]
    print("early:", early, "late:", late, "repeated:", doubled)
    assert lost == 0 and delivered == 300
    assert len(doubled) <= 1 and duplicates <= 1, doubled  # only the DM in flight at the kill
    assert all(before[user] == 1 for user in doubled)  # ... which was the killed sweep's last
    assert work_states(db) == {"done": 300}


def test_downtime_catch_up_through_the_cli_delivers_each_item_once(
    any_database: Database, emulator: SlackEmulator, tmp_path: Path
) -> None:
    db = any_database
    seeded = seed_due_asks(db, 200, due_at=NOW - timedelta(days=7))

    caught_up = Sweeper(db, emulator, NOW, tmp_path / "catch-up.log").finish()
    assert caught_up == {"claimed": 200, "sent": 200, "retried": 0, "failed": 0}
    assert tally(dm_channels(emulator), seeded.users)[:3] == (200, 0, 0)
    assert work_states(db) == {"done": 200}

    again = Sweeper(db, emulator, NOW + timedelta(minutes=1), tmp_path / "again.log").finish()
    assert again == {"claimed": 0, "sent": 0, "retried": 0, "failed": 0}
    assert len(emulator.calls("chat.postMessage")) == 200


def test_the_run_due_benchmark_runs_at_smoke_size(capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/run_due.py end to end at CI size (figures printed, never asserted)."""
    from benchmarks import run_due

    assert run_due.main(["--smoke", "--stores", "sqlite"]) == 0
    out = capsys.readouterr().out
    [row] = [line for line in out.splitlines() if line.startswith("sqlite ")]
    assert row.split()[1:3] == ["1", "300"], row
    assert "PASS  0 duplicates" in out and "PASS  0 lost" in out
