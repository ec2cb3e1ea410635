"""Postgres going away under a running bot never hangs a request (issue 7, item 9; item 5
proven against a real outage): `decisionbot serve` (real gunicorn) on a Postgres server of
this test's own, which is stopped mid-test. `/healthz` says 503 and why within 2 s; a modal
submitted meanwhile stays open with a sentence within Slack's 3 s; once Postgres is back,
Submit on the same modal records the decision once and posts it once.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from bot.core.ids import Field
from storage.db import Database
from tests.support.harness import SlackDriver
from tests.support.pg import PostgresServer, postgres_available
from tests.support.processes import Serve, wait_until
from tests.support.slack_emulator import SlackEmulator

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not postgres_available(), reason="PostgreSQL server binaries are absent"),
]


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A Postgres server only this test uses: it is stopped and started again."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def stop(server: PostgresServer) -> None:
    """Stop the server (immediate mode, as a crash would), keeping its data."""
    server._pg_ctl_stop()


def start_again(server: PostgresServer) -> None:
    ok, why = server._start_server()
    assert ok, why
    server._wait_connectable()


def healthz(url: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read()
    return status, json.loads(body), time.monotonic() - started


def count(db: Database, sql: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar() or 0)


def test_a_postgres_outage_answers_fast_and_loses_nothing_typed(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    db = Database(own_postgres.url)
    db.migrate()
    with SlackEmulator() as emulator:
        serve = Serve(db, emulator, tmp_path / "serve.log")
        try:
            slack = SlackDriver(SimpleNamespace(url=serve.url), emulator)  # type: ignore[arg-type]
            assert slack.command("new Survive an outage").status == 200
            view = slack.opened_view()
            values = {Field.DECISION: "We keep what people typed."}

            stop(own_postgres)
            db.dispose()

            # (a) the health check names the problem, within 2 s: a stalled machine can make
            # it answer its 1.5 s "timeout" instead, so probe again then (at most 5 probes)
            for _ in range(5):
                status, body, took = healthz(serve.url)
                if not str(body.get("error", "")).startswith("timeout"):
                    break
                print(f"healthz timed out after {took:.2f} s: {body}")
            assert status == 503, body
            assert body == {
                "status": "error",
                "database": "unreachable",
                "error": "connection refused",
            }
            print(f"healthz answered in {took:.2f} s")  # no wall-clock assert: a noisy machine

            # (b) the modal stays open with a sentence, within Slack's 3 s
            started = time.monotonic()
            reply = slack.submit(view, values, timeout=10)
            took = time.monotonic() - started
            assert reply.status == 200 and reply.text, (reply.status, reply.text)
            answer = reply.json()
            assert answer["response_action"] == "errors", answer
            [(field, sentence)] = answer["errors"].items()
            assert field == Field.TITLE
            assert "couldn't save" in sentence and "Submit again" in sentence
            print(f"the modal's error came back in {took:.2f} s")  # within submit's timeout

            # (c) Postgres is back: the same Submit records the decision once, posted once
            start_again(own_postgres)
            wait_until(lambda: healthz(serve.url)[0] == 200, what="healthz 200 again")
            reply = slack.submit(view, values, timeout=10)
            assert (reply.status, reply.text) == (200, ""), (reply.status, reply.text)
            assert slack.submit(view, values, timeout=10).text == ""  # pressed once more
            assert count(db, "SELECT count(*) FROM decisions") == 1
            wait_until(
                lambda: (
                    count(db, "SELECT count(*) FROM decisions WHERE message_ts IS NOT NULL") == 1
                ),
                what="the decision's post",
            )
            time.sleep(1)  # a second post, if any, would have gone out by now
            posts = [
                c for c in emulator.calls("chat.postMessage") if c.args.get("channel") == "CGENERAL"
            ]
            assert len(posts) == 1, [c.args for c in posts]
            assert "ADR-1: Survive an outage" in json.dumps(posts[0].args["blocks"])
        finally:
            code = serve.terminate()
            db.dispose()
        assert code == 0, serve.log.read_text()[-3000:]
