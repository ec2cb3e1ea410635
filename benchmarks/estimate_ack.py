"""The **Reveal** click's ack, against the other buttons' budget (issue 8).

One process serves the real app (the test harness's loopback server, its embedded
dispatcher, the Slack Web API emulator) on SQLite, or on Postgres with ``--database-url``.
It seeds ``--rounds`` open rounds of 30 estimators x 15 tasks, then times, over signed HTTP:

- ``floor``: an Agree click answered by a bare Bolt app that only acks (same signature
  checks, same server class);
- ``agree``: an Agree click on a decision (the stance write and its outbox row, then the ack);
- ``reveal``: a Reveal click on a round (the state change and the compute row, then the ack;
  the Monte Carlo runs afterwards in the dispatcher, not in the request).

    python -m benchmarks.estimate_ack                 # SQLite, 40 rounds
    python -m benchmarks.estimate_ack --smoke         # CI size
    python -m benchmarks.estimate_ack --database-url postgresql+psycopg://...

Prints p50/p95/max ms per row and reveal/agree and reveal/floor ratios; never asserts.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from wsgiref.simple_server import make_server

from slack_bolt.adapter.wsgi import SlackRequestHandler

from benchmarks.ack_latency.children import create_bare_app
from benchmarks.ack_latency.report import percentile
from bot.core.ids import Action
from storage.db import Database
from storage.decisions import DecisionDraft, create_decision
from storage.estimates import RoundDraft, create_round, submit_estimate
from storage.visibility import Viewer
from tests.support.harness import BotServer, SlackDriver, _QuietHandler, _ThreadingWSGIServer
from tests.support.slack_emulator import SlackEmulator

PEOPLE, TASKS = 30, 15


def seed(db: Database, rounds: int) -> None:
    rng = random.Random(7)
    with db.session() as session:
        for n in range(rounds):
            create_decision(
                session,
                team_id="TAAA",
                enterprise_id=None,
                author_id="UAUTHOR",
                draft=DecisionDraft(title=f"Decision {n}", decision="Yes.", channel_id="CGENERAL"),
                channel_private=False,
            )
        for n in range(rounds):
            rnd = create_round(
                session,
                team_id="TAAA",
                facilitator_id="UFAC",
                draft=RoundDraft(
                    topic=f"Round {n}",
                    unit="days",
                    phase="requirements",
                    channel_id="CGENERAL",
                    tasks=[f"Task {t}" for t in range(TASKS)],
                    invitees=[],
                ),
                viewer=Viewer(user_id="UFAC"),
            )
            rnd.message_ts = f"1700000000.{n:06d}"  # as if posted: the reveal's thread exists
            for p in range(PEOPLE):
                ranges = []
                for _ in range(TASKS):
                    likely = rng.uniform(1, 10)
                    ranges.append((likely * 0.6, likely, likely * 2.2))
                submit_estimate(
                    session,
                    rnd=rnd,
                    user_id=f"UP{p:03d}",
                    ranges=ranges,
                    confidence=rng.choice((50, 80, 90)),
                    familiarity=rng.choice(("done", "similar", "new")),
                    assumptions="",
                )


def _timed(call: Any) -> float:
    start = time.perf_counter()
    reply = call()
    assert reply.status == 200, (reply.status, reply.text)
    return (time.perf_counter() - start) * 1000


def _row(name: str, values: list[float]) -> str:
    return (
        f"{name:<8} n={len(values):<4} p50 {percentile(values, 50):7.1f} ms  "
        f"p95 {percentile(values, 95):7.1f} ms  max {max(values):7.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    rounds = 3 if args.smoke else args.rounds

    with tempfile.TemporaryDirectory() as tmp, SlackEmulator() as emulator:
        db = Database(args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        db.migrate()
        seed(db, rounds)
        server = BotServer(db, emulator).start()
        slack = SlackDriver(server, emulator)
        # the floor: a bare Bolt app behind the same server class
        bare = make_server(
            "127.0.0.1",
            0,
            SlackRequestHandler(create_bare_app(server.settings)),
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        threading.Thread(target=bare.serve_forever, daemon=True).start()
        bare_slack = SlackDriver(
            SimpleNamespace(url=f"http://127.0.0.1:{bare.server_port}"), emulator
        )  # type: ignore[arg-type]
        floor, agree, reveal = [], [], []
        try:
            for n in range(1, rounds + 1):  # interleaved, so load affects all rows alike
                floor.append(_timed(lambda n=n: bare_slack.click(Action.AGREE, "1", user=f"UF{n}")))
                agree.append(_timed(lambda n=n: slack.click(Action.AGREE, str(n), user=f"UA{n}")))
                reveal.append(
                    _timed(lambda n=n: slack.click(Action.ESTIMATE_REVEAL, str(n), user="UFAC"))
                )
            server.dispatcher.wait_idle(timeout=300)
            with db.engine.connect() as conn:
                done = conn.exec_driver_sql(
                    "SELECT count(*) FROM estimate_rounds WHERE result <> ''"
                ).scalar_one()
        finally:
            bare.shutdown()
            server.stop()
            db.dispose()
    print(f"database: {db.dialect}; {rounds} rounds of {PEOPLE} estimators x {TASKS} tasks")
    for name, values in (("floor", floor), ("agree", agree), ("reveal", reveal)):
        print(_row(name, values))
    print(
        f"reveal/agree p95 {percentile(reveal, 95) / percentile(agree, 95):.2f}x; "
        f"reveal/floor p95 {percentile(reveal, 95) / percentile(floor, 95):.2f}x; "
        f"rounds computed after their acks: {done}/{rounds}"
    )
    print(
        json.dumps(
            {
                "floor_p95": percentile(floor, 95),
                "agree_p95": percentile(agree, 95),
                "reveal_p95": percentile(reveal, 95),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
