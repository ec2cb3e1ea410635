"""A crash right after the commit loses nothing (issue 6): `decisionbot serve` (real gunicorn)
is SIGKILLed the instant a new decision and its outbox rows commit — before the ack, before
any Slack call. After a restart the decision is posted once, the informed are DMed once and
the review is scheduled once. On SQLite and on a real Postgres server.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.core.ids import Field
from storage.db import Database
from tests.support.harness import SlackDriver
from tests.support.processes import Serve, wait_until
from tests.support.slack_emulator import SlackEmulator

pytestmark = pytest.mark.timeout(180)


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
        # one row: the post also plans the review (issue 27)
        assert work == {"decision.post": "pending"}, work
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
