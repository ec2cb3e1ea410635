"""Outbox work is delivered exactly once, whatever the number of `decisionbot worker` (or
`run-due`) processes; a process killed mid-sweep loses nothing; a process stopped with
SIGTERM finishes what it has in flight and hands the rest back at once (issues 3 and 6,
DESIGN.md "Side effects and scheduled work"). Real subprocesses, a real Postgres database
(and a SQLite file where cheap), the Slack Web API emulator counting the DMs.

Every seeded item is one "did this decision work?" DM to a distinct user (tests/support/seed_due.py),
so a DM's ``channel`` says which item it delivered: a user with two DMs is a duplicate, a
user with none is a loss.

The window that can repeat a message: a handler sends one message, then marks its row done
in the next transaction. A process killed between Slack accepting the message and that
commit leaves the row claimed; when the lease expires, another sweep delivers it again. So
at most the messages in flight per killed process (``DECISIONBOT_CONCURRENCY``, 16) can
repeat; nothing else. Leases run on the database's clock: tests that need one to expire set
a short ``DECISIONBOT_LEASE_SECONDS`` and wait it out.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.engine.dispatcher import DEFAULT_CONCURRENCY
from storage.db import Database
from storage.models import DueWork
from tests.support.processes import PROCESS_TIMEOUT, free_port, wait_until
from tests.support.seed_due import (
    decisionbot_command,
    parse_summary,
    run_due_env,
    seed_due_asks,
    tally,
    work_states,
)
from tests.support.slack_emulator import SlackEmulator

pytestmark = pytest.mark.timeout(120)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
# Seconds Slack holds each chat.postMessage once a test has what it needs: the process under
# test is caught mid-sweep, whatever the machine's speed, without anything timing out (the
# dispatcher's client gives up after 10 s).
HOLD = 2.0


# -- helpers ---------------------------------------------------------------------------------


class Sweeper:
    """One `decisionbot run-due --now ISO` child process; stderr goes to a file."""

    def __init__(
        self,
        db: Database,
        emulator: SlackEmulator,
        now: datetime,
        log: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.log = log
        self._err = log.open("w")
        self.proc = subprocess.Popen(
            [*decisionbot_command(), "run-due", "--now", now.isoformat()],
            env={**run_due_env(db.url, emulator.url), **(env or {})},
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


class Worker:
    """One `decisionbot worker` child process (it runs until SIGTERM); stderr to a file."""

    def __init__(
        self,
        db: Database,
        emulator: SlackEmulator,
        log: Path,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
    ) -> None:
        self.log = log
        self._err = log.open("w")
        self.proc = subprocess.Popen(
            [*decisionbot_command(), "worker", *(args or [])],
            env={**run_due_env(db.url, emulator.url), "LOG_LEVEL": "INFO", **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=self._err,
            text=True,
        )

    def terminate(self, timeout: float = 30) -> float:
        """SIGTERM; wait for a clean exit (status 0); returns how long it took."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        finally:
            self._err.close()
        assert self.proc.returncode == 0, (self.proc.returncode, self.log.read_text()[-3000:])
        return time.monotonic() - started


def live_leases(db: Database) -> int:
    """Claimed rows whose lease has not run out (the database and the tests share a clock)."""
    table = DueWork.__table__.c  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        expiries = conn.execute(select(table.lease_expires_at).where(table.state == "claimed"))
        now = datetime.now(UTC)
        return sum(1 for (expires,) in expiries if expires > now)


def dm_channels(emulator: SlackEmulator) -> list[str]:
    return [str(c.args.get("channel")) for c in emulator.calls("chat.postMessage")]


# -- tests -----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_three_workers_on_one_postgres_database_deliver_each_item_once(
    pg_database: Database, emulator: SlackEmulator, tmp_path: Path
) -> None:
    workers = [Worker(pg_database, emulator, tmp_path / f"worker{i}.log") for i in range(3)]
    time.sleep(1.0)  # listening (LISTEN decisionbot_due) before the work arrives
    seeded = seed_due_asks(pg_database, 5_000, due_at=NOW - timedelta(minutes=1))
    with pg_database.session() as s:  # what a listener's commit does: wake the workers
        s.exec(text("NOTIFY decisionbot_due"))  # type: ignore[call-overload]
    wait_until(lambda: work_states(pg_database) == {"done": 5_000}, what="all 5,000 done")
    for w in workers:
        w.terminate()

    channels = dm_channels(emulator)
    delivered, duplicates, lost, _ = tally(channels, seeded.users)
    assert (delivered, duplicates, lost) == (5_000, 0, 0)
    assert len(channels) == 5_000  # nothing else was posted either
    assert Counter(channels).most_common(1)[0][1] == 1
    stats = [w.log.read_text() for w in workers]
    sent = [int(re.search(r"sent (\d+)", t).group(1)) for t in stats]  # type: ignore[union-attr]
    print("\nsent per worker:", sent)
    assert sum(sent) == 5_000
    assert sum(1 for n in sent if n > 0) >= 2, sent  # they share the work


@pytest.mark.postgres
def test_three_run_due_processes_on_one_postgres_database_deliver_each_item_once(
    pg_database: Database, emulator: SlackEmulator, tmp_path: Path
) -> None:
    seeded = seed_due_asks(pg_database, 3_000, due_at=NOW - timedelta(minutes=1))

    sweepers = [Sweeper(pg_database, emulator, NOW, tmp_path / f"sweeper{i}.log") for i in range(3)]
    summaries = [s.finish() for s in sweepers]

    channels = dm_channels(emulator)
    delivered, duplicates, lost, _ = tally(channels, seeded.users)
    print("\nclaimed/sent per process:", [(s["claimed"], s["sent"]) for s in summaries])
    assert (delivered, duplicates, lost) == (3_000, 0, 0)
    assert len(channels) == 3_000
    assert sum(s["sent"] for s in summaries) == 3_000
    assert sum(s["claimed"] for s in summaries) == 3_000
    assert all(s["retried"] == 0 and s["failed"] == 0 for s in summaries)
    assert work_states(pg_database) == {"done": 3_000}


def test_a_process_killed_mid_sweep_loses_nothing_and_repeats_at_most_the_in_flight_dm(
    any_database: Database, emulator: SlackEmulator, tmp_path: Path
) -> None:
    db = any_database
    seeded = seed_due_asks(db, 300, due_at=NOW - timedelta(minutes=1))
    # Slack answers the first 60 DMs at once, then holds each one HOLD s: the sweep is still
    # far from done when the kill lands, however long the test takes to deliver it (the 240
    # left would take the sweep over a minute), and a DM is in flight then.
    emulator.fail("chat.postMessage", times=60)  # no status, error or delay: a normal answer
    emulator.fail("chat.postMessage", delay=HOLD, times=1_000)

    lease = 20  # seconds (DECISIONBOT_LEASE_SECONDS): long enough to sweep, short to wait out
    first = Sweeper(
        db, emulator, NOW, tmp_path / "killed.log", env={"DECISIONBOT_LEASE_SECONDS": str(lease)}
    )
    emulator.wait_for("chat.postMessage", count=61, timeout=60)  # 60 sent, one more in flight
    first.kill()
    killed_at = time.monotonic()
    emulator.reset_faults()  # the rest needs no slow Slack
    before = Counter(dm_channels(emulator))
    states = work_states(db)
    print("\nat SIGKILL:", len(before), "DMs;", dict(states))
    assert 60 <= sum(before.values()) < 300
    assert states["claimed"] >= 1  # the killed sweep's lease is still held

    # Before the lease expires, another sweep leaves the killed sweep's rows alone, however
    # far ahead its --now is: --now says what is due, leases run on the database's clock.
    early = Sweeper(db, emulator, NOW + timedelta(days=1), tmp_path / "early.log").finish()
    assert live_leases(db) == states["claimed"], "the leases ran out during the early sweep"
    assert early["claimed"] == states["pending"]
    assert work_states(db)["claimed"] == states["claimed"]

    # After it expires, they are delivered too.
    time.sleep(max(0.0, lease + 0.5 - (time.monotonic() - killed_at)))
    late = Sweeper(db, emulator, NOW, tmp_path / "late.log").finish()
    assert late["claimed"] == states["claimed"]

    delivered, duplicates, lost, per_user = tally(dm_channels(emulator), seeded.users)
    doubled = [user for user, count in per_user.items() if count > 1]
    print("early:", early, "late:", late, "repeated:", doubled)
    assert lost == 0 and delivered == 300
    # only the DMs in flight at the kill (at most DECISIONBOT_CONCURRENCY) can repeat
    in_flight = DEFAULT_CONCURRENCY
    assert len(doubled) <= in_flight and duplicates <= in_flight, doubled
    assert all(before[user] == 1 for user in doubled)  # ... which the killed sweep had sent
    assert work_states(db) == {"done": 300}


def test_sigterm_mid_sweep_finishes_in_flight_hands_back_the_rest_and_a_second_worker_takes_over(
    any_database: Database, emulator: SlackEmulator, tmp_path: Path
) -> None:
    """SIGTERM during a sweep of 1,000 items: the worker stops claiming, finishes what is in
    flight, hands the rest back at once and exits 0; a second worker delivers the rest
    without waiting for any lease (5 minutes here): 0 lost, 0 doubled."""
    db = any_database
    seeded = seed_due_asks(db, 1_000, due_at=NOW - timedelta(minutes=1))
    # Slack answers the first 150 DMs at once, then holds each one HOLD s: SIGTERM lands
    # mid-sweep however long the test takes to send it (the 850 left would take minutes), with
    # DMs in flight, each finished well within the grace it is given.
    emulator.fail("chat.postMessage", times=150)  # no status, error or delay: a normal answer
    emulator.fail("chat.postMessage", delay=HOLD, times=1_000)
    first = Worker(db, emulator, tmp_path / "first.log", env={"DECISIONBOT_SHUTDOWN_GRACE": "30"})
    emulator.wait_for("chat.postMessage", count=150, timeout=60)
    took = first.terminate(timeout=60)
    states = work_states(db)
    print(f"\nSIGTERM answered in {took:.2f} s; rows then: {dict(states)}")
    assert states["claimed"] == 0  # nothing left leased: the rest went back at once
    assert 150 <= states["done"] < 1_000
    assert states["done"] == len(dm_channels(emulator))  # every DM sent was marked done

    emulator.reset_faults()
    port = free_port()
    second = Worker(
        db,
        emulator,
        tmp_path / "second.log",
        args=["--metrics-port", str(port), "--metrics-host", "127.0.0.1"],
    )
    # the rest is pending, not leased (checked above): nothing to wait for
    wait_until(lambda: work_states(db) == {"done": 1_000}, timeout=120, what="all 1,000 done")

    # the counter goes up after the commit that marks the row done: read it until it has
    def sent_counted() -> int | None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            metrics = resp.read().decode()
        sent = re.search(
            r'decisionbot_deliveries_total\{kind="review.ask",result="sent"\} (\d+)', metrics
        )
        return int(sent.group(1)) if sent else None

    expected, deadline = 1_000 - states["done"], time.monotonic() + 30
    while (counted := sent_counted()) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert counted == expected, (counted, expected)
    second.terminate()
    delivered, duplicates, lost, _ = tally(dm_channels(emulator), seeded.users)
    assert (delivered, duplicates, lost) == (1_000, 0, 0)
    assert "released" in first.log.read_text()


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


def test_the_run_due_benchmark_runs_at_smoke_size(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """benchmarks/run_due.py end to end at CI size, over TLS (timings printed, never
    asserted). The worker process keeps its connections: one per call in flight at most, not
    one per call (issue 28)."""
    from benchmarks import run_due

    figures = tmp_path / "run_due.json"
    assert run_due.main(["--smoke", "--stores", "sqlite", "--tls", "--json", str(figures)]) == 0
    out = capsys.readouterr().out
    [row] = [line for line in out.splitlines() if line.startswith("sqlite ")]
    assert row.split()[1:3] == ["1", "300"], row
    assert "PASS  0 duplicates" in out and "PASS  0 lost" in out
    worker, floor = json.loads(figures.read_text())["rows"]
    assert (worker["store"], floor["store"]) == ("sqlite", "floor")
    assert worker["calls"] >= 300 and floor["calls"] == worker["calls"]
    in_flight = run_due.DEFAULT_CONCURRENCY
    assert 1 <= worker["connections"] <= in_flight + 2, worker["connections"]
