"""Many workspaces (issue 23): what authorizing from the database adds to a request, and
whether one workspace's backlog holds up another's post.

    python -m benchmarks.installations                  # SQLite: 1,000 installations, 10,000 due rows
    python -m benchmarks.installations --quick          # CI size: 50 installations, 500 due rows
    python -m benchmarks.installations --postgres URL   # SQLite, then Postgres (a database of its own)

``DECISIONBOT_TEST_POSTGRES_URL``, when set, is the default for ``--postgres``.

1. **Authorization.** ``--installations`` workspaces are saved with encrypted tokens
   (``storage.installations.save``). The real app (``create_app`` + ``create_wsgi_app``, the
   Slack emulator behind it) is built twice over the same database: single-workspace mode
   (a bot token) and distributed mode (client credentials; ``StoredAuthorize`` reads each
   workspace's installation from a per-process cache). The same signed `/adr help` (answered
   in the ack) is sent straight to each WSGI app, interleaved, from a different workspace
   each time in distributed mode, after one warm-up request per workspace. Rows: p50/p95 ms
   of each mode and their difference. The authorization alone (``StoredAuthorize`` called
   directly, 1,000 workspaces cached) is timed too, warm (cache hit) and cold (cache miss: a
   read and a decryption). Bolt's listener runner polls for the ack every 10 ms, so both
   request rows sit near that floor; the difference of their p95s and the warm
   authorization are what the target (< 1 ms) is judged on.
2. **Fairness.** A real ``Dispatcher`` (8 threads) with one trivial kind whose handler sleeps
   1 ms. Team B's single new row, from its commit to its handler's end: ``--samples`` (100) times on
   an idle engine, then the same while team A's ``--backlog`` due rows (older than B's) are
   being worked through. Target: B's p95 with the backlog within 2x of its idle p95.

Prints its figures and PASS/MISS; never asserts.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from slack_bolt import BoltContext
from slack_sdk import WebClient
from sqlalchemy import func, insert, inspect, select

from benchmarks.ack_latency.report import percentile
from bot.app import create_app
from bot.engine.dispatcher import Dispatcher
from bot.engine.registry import Job, OneClient, Registry, WorkKind
from bot.runtime.config import Settings
from bot.runtime.installs import BOT_SCOPES, StoredAuthorize, TokenCache
from bot.runtime.web import create_wsgi_app
from storage import due_work, installations
from storage.db import Database
from storage.models import WorkState, utcnow
from storage.secrets import TokenCipher, new_key, parse_keys
from storage.tables import DUE_WORK
from tests.support.harness import BOT_TOKEN, CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET, sign
from tests.support.pg import database_of_its_own
from tests.support.slack_emulator import SlackEmulator

AUTH_TARGET_MS = 1.0
FAIRNESS_TARGET = 2.0
KIND = "bench.noop"
CHUNK = 2_000
HELP_MARK = b"/adr"  # in `/adr help`'s answer, not in Bolt's "not installed" one


@contextmanager
def bench_database(postgres: str | None, tmp: str) -> Iterator[Database]:
    """A fresh SQLite file, or a fresh database of its own on the given Postgres server."""
    if postgres is None:
        db = Database(f"sqlite:///{Path(tmp) / f'installations-{uuid.uuid4().hex[:6]}.db'}")
        try:
            db.migrate()
            yield db
        finally:
            db.dispose()
        return
    with database_of_its_own(postgres, "installations_bench") as url:
        db = Database(url)
        try:
            db.migrate()
            yield db
        finally:
            db.dispose()


def figures(values: list[float]) -> str:
    return (
        f"n {len(values):>5}  p50 {percentile(values, 50):8.3f}  p95 {percentile(values, 95):8.3f}"
        f"  max {max(values):8.3f} ms"
    )


def verdict(ok: bool, label: str) -> str:
    return f"{'PASS' if ok else 'MISS'} {label}"


# -- 1. authorization ------------------------------------------------------------------------


def team_id(n: int) -> str:
    return f"TW{n:05d}"


def install(db: Database, cipher: TokenCipher, count: int) -> None:
    with db.session() as session:
        for n in range(count):
            installations.save(
                session,
                cipher=cipher,
                team_id=team_id(n),
                enterprise_id=None,
                team_name=f"Workspace {n}",
                app_id="A0001",
                bot_id=f"B{n:05d}",
                bot_user_id=f"UB{n:05d}",
                bot_token=f"xoxb-{n}-{uuid.uuid4().hex}",
                bot_scopes=BOT_SCOPES,
                installer_user_id=f"UI{n:05d}",
            )


def slash_command(team: str, n: int) -> tuple[bytes, dict[str, str]]:
    body = urlencode(
        {
            "token": "legacy",
            "team_id": team,
            "team_domain": team.lower(),
            "channel_id": "CGENERAL",
            "channel_name": "general",
            "user_id": "UALICE",
            "user_name": "alice",
            "command": "/adr",
            "text": "help",
            "api_app_id": "A0001",
            "is_enterprise_install": "false",
            "response_url": f"http://127.0.0.1:9/response/{n}",
            "trigger_id": f"trigger.{n}",
        }
    )
    return body.encode(), sign(body)


def call(wsgi: Any, body: bytes, headers: dict[str, str]) -> tuple[bool, float]:
    """One request straight into the WSGI app (no socket): (answered with the help, ms)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "3000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        environ[f"HTTP_{name.upper().replace('-', '_')}"] = value
    status: list[str] = []

    def start_response(line: str, _headers: Any, _exc: Any = None) -> Any:
        status.append(line)
        return lambda _data: None

    started = time.perf_counter()
    answer = b"".join(wsgi(environ, start_response))
    elapsed = (time.perf_counter() - started) * 1000
    # A 200 is not enough: a workspace Bolt could not authorize gets a 200 saying so.
    return status[0].startswith("200") and HELP_MARK in answer, elapsed


def authorization(db: Database, args: argparse.Namespace, emulator: SlackEmulator) -> list[str]:
    key = new_key()
    cipher = TokenCipher(parse_keys(key))
    install(db, cipher, args.installations)
    common: dict[str, Any] = {
        "database_url": db.url,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": emulator.url,
    }
    single = Settings(**common, slack_bot_token=BOT_TOKEN)
    distributed = Settings(
        **common,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        encryption_keys=(key,),
        slack_authorize_url=emulator.authorize_url,
    )
    distributed_app = create_app(distributed, db)
    # The app's own cache (Bolt keeps the authorize it was given as `_authorize`): its expiry
    # is set per request below, so each distributed request is known to hit or to miss.
    authorize = distributed_app._authorize
    assert isinstance(authorize, StoredAuthorize)
    cache = authorize.cache
    single_wsgi = create_wsgi_app(create_app(single, db), db)
    distributed_wsgi = create_wsgi_app(distributed_app, db)
    # cached: the workspace asked within the cache's expiry (30 s); missed: its first request
    # after it (a read of its installation and a decryption).
    rows: dict[str, tuple[Any, float]] = {
        "single": (single_wsgi, 0.0),
        "cached": (distributed_wsgi, 1e9),
        "missed": (distributed_wsgi, 0.0),
    }
    teams = [team_id(n) for n in range(args.installations)]
    times: dict[str, list[float]] = {name: [] for name in rows}
    refused = 0
    n = 0
    cache.ttl = 1e9
    for team in teams:  # warm-up: every workspace once, and the single app as often
        for wsgi, team_of in ((distributed_wsgi, team), (single_wsgi, "TAAA")):
            n += 1
            call(wsgi, *slash_command(team_of, n))
    rng = random.Random(23)
    for _ in range(args.requests):
        team = rng.choice(teams)
        for name, (wsgi, ttl) in rows.items():  # interleaved: load falls on every row alike
            cache.ttl = ttl
            n += 1
            helped, ms = call(wsgi, *slash_command("TAAA" if name == "single" else team, n))
            refused += not helped
            times[name].append(ms)
    # The authorization alone: warm (every workspace cached) and cold (each a cache miss).
    warm_cache, cold_cache = TokenCache(db, cipher), TokenCache(db, cipher, ttl=0.0)
    for team in teams:
        warm_cache.get(team)
    alone: dict[str, list[float]] = {"warm": [], "cold": []}
    for _ in range(args.requests):
        team = rng.choice(teams)
        for name, authorizer in (
            ("warm", StoredAuthorize(warm_cache)),
            ("cold", StoredAuthorize(cold_cache)),
        ):
            started = time.perf_counter()
            result = authorizer(
                context=BoltContext(), enterprise_id=None, team_id=team, user_id="U1"
            )
            alone[name].append((time.perf_counter() - started) * 1000)
            assert result is not None and result.team_id == team

    def added(name: str, p: float) -> float:
        return percentile(times[name], p) - percentile(times["single"], p)

    return [
        f"authorization: {db.dialect}, {args.installations:,} installed workspaces, "
        f"{args.requests} signed `/adr help` per row, interleaved "
        f"(not answered with the help: {refused})",
        f"  request, single workspace        {figures(times['single'])}",
        f"  request, distributed, cached     {figures(times['cached'])}",
        f"  request, distributed, cache miss {figures(times['missed'])}",
        f"  StoredAuthorize alone, cached    {figures(alone['warm'])}",
        f"  StoredAuthorize alone, miss      {figures(alone['cold'])}",
        f"  distributed - single: cached p50 {added('cached', 50):+.3f} ms, "
        f"p95 {added('cached', 95):+.3f} ms; cache miss p50 {added('missed', 50):+.3f} ms, "
        f"p95 {added('missed', 95):+.3f} ms",
        verdict(
            percentile(alone["warm"], 95) < AUTH_TARGET_MS and added("cached", 95) < AUTH_TARGET_MS,
            f"authorization added per request p95 < {AUTH_TARGET_MS:.0f} ms (cached): "
            f"authorize p95 {percentile(alone['warm'], 95):.3f} ms, "
            f"request p95 {added('cached', 95):+.3f} ms",
        ),
        verdict(
            percentile(alone["cold"], 95) < AUTH_TARGET_MS,
            f"a workspace's first request after the cache expiry, authorize p95 < "
            f"{AUTH_TARGET_MS:.0f} ms: {percentile(alone['cold'], 95):.3f} ms",
        ),
    ]


# -- 2. fairness -----------------------------------------------------------------------------


class Delivered:
    """When each watched row's handler finished (perf_counter), by key."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.cv = threading.Condition()
        self.count = 0

    def handler(self, job: Job[Any]) -> bool:
        time.sleep(0.001)
        with self.cv:
            self.count += 1
            if job.item.team_id == "TB":
                self.at[job.item.key] = time.perf_counter()
                self.cv.notify_all()
        return True

    def wait(self, key: str, timeout: float = 60.0) -> float:
        with self.cv:
            if not self.cv.wait_for(lambda: key in self.at, timeout=timeout):
                raise TimeoutError(key)
            return self.at[key]


def backlog(db: Database, count: int) -> None:
    """Team A: ``count`` rows due over the last hour (older than anything B schedules)."""
    now = utcnow()
    rows = [
        {
            "team_id": "TA",
            "kind": KIND,
            "subject_id": i,
            "key": f"a{i}",
            "payload": "{}",
            "due_at": now - timedelta(hours=1) + timedelta(milliseconds=i),
            "state": WorkState.PENDING,
            "attempts": 0,
            "rerun": False,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    with db.session() as session:
        for start in range(0, len(rows), CHUNK):
            session.connection().execute(insert(DUE_WORK), rows[start : start + CHUNK])
        due_work.mark_written(session)  # wake the dispatcher when this commits


def b_post(db: Database, delivered: Delivered, n: int) -> float:
    """Schedule team B's row ``n``; ms from its commit to its handler's end."""
    key = f"b{n}"
    with db.session() as session:
        due_work.schedule(session, team_id="TB", kind=KIND, subject_id=n, key=key, due_at=utcnow())
    committed = time.perf_counter()
    return (delivered.wait(key) - committed) * 1000


def pending(db: Database, team: str) -> int:
    """The workspace's rows not delivered yet (pending or claimed)."""
    live = (WorkState.PENDING, WorkState.CLAIMED)
    query = (
        select(func.count())
        .select_from(DUE_WORK)
        .where(DUE_WORK.c.team_id == team, DUE_WORK.c.state.in_(live))
    )
    with db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


FAIR_INDEX = "ix_due_work_live_team"


def fair_index(db: Database, create: bool) -> str:
    """Whether the schema has the index fair claims read (``storage.due_work``); with
    ``create``, add it first if it is missing."""
    if any(ix["name"] == FAIR_INDEX for ix in inspect(db.engine).get_indexes("due_work")):
        return "present"
    if not create:
        return "MISSING (claims are right but slow without it; --create-index adds it)"
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE INDEX {FAIR_INDEX} ON due_work (team_id, due_at, id) "
            "WHERE state IN ('pending', 'claimed')"
        )
    return "created by --create-index"


def fairness(db: Database, args: argparse.Namespace) -> list[str]:
    index = fair_index(db, args.create_index)
    delivered = Delivered()
    registry = Registry()
    registry.register(WorkKind(KIND, delivered.handler))
    client = OneClient(WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/"))
    dispatcher = Dispatcher(db, client, registry, idle_wait=0.5).start()
    gap = 0.02
    try:
        idle = []
        for n in range(args.samples):
            idle.append(b_post(db, delivered, n))
            time.sleep(gap)
        backlog(db, args.backlog)
        if db.dialect == "postgresql":
            with db.engine.connect() as conn:  # as autovacuum would soon after a bulk load
                conn.exec_driver_sql("ANALYZE due_work")
                conn.commit()
        before = pending(db, "TA")
        started = time.perf_counter()
        done_before = delivered.count
        busy = []
        for n in range(args.samples, 2 * args.samples):
            busy.append(b_post(db, delivered, n))
            time.sleep(gap)
        elapsed = time.perf_counter() - started
        left = pending(db, "TA")
        rate = (delivered.count - done_before) / elapsed
        if not dispatcher.wait_idle(timeout=600):
            print("warning: the backlog was not worked through in 600 s", file=sys.stderr)
    finally:
        dispatcher.stop(grace=10)
    ratio = percentile(busy, 95) / percentile(idle, 95)
    return [
        f"fairness: {db.dialect}, dispatcher of 8 threads, handler sleeps 1 ms; team B's one new "
        f"row, commit -> delivered, {args.samples} each; {FAIR_INDEX}: {index}",
        f"  idle engine                      {figures(idle)}",
        f"  {f'A holds {args.backlog:,} due rows':<33}{figures(busy)}",
        f"  A's live rows while B was timed: {before:,} -> {left:,} ({rate:,.0f} rows/s delivered)",
        f"  with backlog / idle: p50 {percentile(busy, 50) / percentile(idle, 50):.2f}x, "
        f"p95 {ratio:.2f}x",
        verdict(
            ratio <= FAIRNESS_TARGET and left > 0,
            f"B's post within {FAIRNESS_TARGET:.0f}x of idle while A's backlog is worked "
            f"through: p95 {ratio:.2f}x" + ("" if left > 0 else " (the backlog ran out first)"),
        ),
    ]


def run_store(db: Database, args: argparse.Namespace, emulator: SlackEmulator) -> None:
    print("\n".join(fairness(db, args)), flush=True)
    print("\n".join(authorization(db, args, emulator)), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--installations", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=500, help="timed requests per mode")
    parser.add_argument("--backlog", type=int, default=10_000, help="team A's due rows")
    parser.add_argument("--samples", type=int, default=100, help="B's posts timed per row")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("DECISIONBOT_TEST_POSTGRES_URL") or None,
        help="also run on this Postgres server (default: $DECISIONBOT_TEST_POSTGRES_URL)",
    )
    parser.add_argument(
        "--create-index",
        action="store_true",
        help=f"add {FAIR_INDEX} if the migrations do not (to compare)",
    )
    parser.add_argument("--quick", "--smoke", action="store_true", help="a tiny run (CI)")
    args = parser.parse_args(argv)
    if args.quick:
        args.installations, args.requests, args.backlog, args.samples = 50, 50, 500, 10
    stores: list[str | None] = [None, args.postgres] if args.postgres else [None]
    with tempfile.TemporaryDirectory() as tmp, SlackEmulator() as emulator:
        for url in stores:
            with bench_database(url, tmp) as db:
                run_store(db, args, emulator)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
