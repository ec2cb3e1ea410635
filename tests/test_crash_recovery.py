"""A crash right after the commit loses nothing (issue 6): `decisionbot serve` (real gunicorn)
is SIGKILLed the instant a new decision and its outbox rows commit — before the ack, before
any Slack call. After a restart the decision is posted once, the informed are DMed once and
the review is scheduled once. On SQLite and on a real Postgres server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.core.ids import Field
from storage.db import Database
from tests.harness import BOT_TOKEN, SIGNING_SECRET, SlackDriver
from tests.slack_emulator import SlackEmulator
from tests.test_cli import _free_port
from tests.test_run_due_processes import wait_until

pytestmark = pytest.mark.timeout(180)


class Serve:
    """`decisionbot serve --workers 1` in a process group of its own."""

    def __init__(self, db: Database, emulator: SlackEmulator, log: Path, **env: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "DATABASE_URL", "DECISIONBOT_", "PROMETHEUS_"))
        }
        self._log = log.open("w")
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.runtime.cli", "serve", "--host", "127.0.0.1"]
            + ["--port", str(self.port), "--workers", "1"],
            env={
                **base,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": emulator.url,
                "DATABASE_URL": db.url,
                "DECISIONBOT_TICK_SECONDS": "1",
                **env,
            },
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the whole process group: master and workers, no cleanup."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self._log.close()

    def terminate(self) -> int:
        os.killpg(self.proc.pid, signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self._log.close()
        return code


def rows(db: Database, sql: str) -> list[dict[str, Any]]:
    from sqlalchemy import text

    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql))]


def test_a_crash_right_after_the_commit_loses_nothing_and_doubles_nothing(
    any_database: Database, tmp_path: Path
) -> None:
    db = any_database
    with SlackEmulator() as emulator:
        first = Serve(db, emulator, tmp_path / "first.log", DECISIONBOT_FAULT="decision.saved")
        slack = SlackDriver(SimpleNamespace(url=first.url), emulator)  # type: ignore[arg-type]
        assert slack.command("new Survive a crash").status == 200
        view = slack.opened_view()
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            reply = slack.submit(
                view,
                {Field.DECISION: "We survive.", Field.INFORMED: ["UDAN", "UERIN"]},
            )
            # gunicorn may answer for the dead worker; it is never a 200 with the ack
            raise ConnectionError(f"{reply.status} {reply.text[:200]}")
        first.kill()

        [decision] = rows(db, "SELECT id, message_ts FROM decisions")
        assert decision["message_ts"] is None  # committed, never posted
        work = {r["kind"]: r["state"] for r in rows(db, "SELECT kind, state FROM due_work")}
        work.pop("events.prune", None)  # the engine's daily pruning, made sure of at its start
        assert work == {"decision.post": "pending", "decision.plan_review": "pending"}, work
        assert not emulator.calls("chat.postMessage")

        second = Serve(db, emulator, tmp_path / "second.log")
        try:
            wait_until(
                lambda: (
                    len(rows(db, "SELECT id FROM reviews")) == 1
                    and len(
                        [
                            c
                            for c in emulator.calls("chat.postMessage")
                            if c.args["channel"] in ("UDAN", "UERIN")
                        ]
                    )
                    == 2
                ),
                what="the post, the informed DMs and the review",
            )
            time.sleep(2)  # any repeat would have happened by now (the ticker runs every 1 s)
            # /metrics through gunicorn (multiprocess mode): what the worker process counted
            with urllib.request.urlopen(f"{second.url}/metrics", timeout=10) as resp:
                metrics = resp.read().decode()
            assert 'decisionbot_deliveries_total{kind="decision.post",result="sent"} 1.0' in metrics
            assert 'decisionbot_outbox_rows{kind="review.open",state="pending"} 1.0' in metrics
        finally:
            assert second.terminate() == 0, second.log.read_text()[-3000:]

        posts = [
            c for c in emulator.calls("chat.postMessage") if c.args.get("channel") == "CGENERAL"
        ]
        assert len(posts) == 1 and "ADR-1: Survive a crash" in json.dumps(posts[0].args["blocks"])
        for user in ("UDAN", "UERIN"):
            assert (
                len([c for c in emulator.calls("chat.postMessage") if c.args["channel"] == user])
                == 1
            )
        assert len(rows(db, "SELECT id FROM reviews")) == 1
        assert len(rows(db, "SELECT id FROM due_work WHERE kind = 'review.open'")) == 1
        assert (
            rows(db, "SELECT message_ts FROM decisions")[0]["message_ts"] == posts[0].response["ts"]
        )
        states = {
            r["state"] for r in rows(db, "SELECT state FROM due_work WHERE kind LIKE 'decision.%'")
        }
        assert states == {"done"}
