"""Ack latency of Decision Bot: time to the HTTP response, over loopback, with N decisions stored.

For each store (a SQLite file in a temp dir; a throwaway Postgres cluster from tests.pg) this:

1. migrates the schema and seeds N decisions (default 100,000) with bulk inserts: varied
   titles / context / decision / consequences text drawn from a small vocabulary (so search
   terms hit a realistic fraction), deciders / consulted / informed, stances with their history
   events, then ANALYZE;
2. serves the real app exactly as ``decisionbot serve`` does (``bot.runtime.cli`` in a subprocess:
   gunicorn gthread, and in every worker the embedded outbox dispatcher started in post_fork,
   so the Slack work after the ack costs CPU in the same processes, as in production), and a
   *bare* Bolt app (an ``/adr`` command listener, a view_submission listener for the decision
   modal and an Agree action listener that only ack) behind the same server with the same
   settings, both talking to a Slack Web API emulator (own subprocess, no added latency);
3. drives, with correctly signed requests at concurrency 20 (one thread and one persistent
   HTTP/1.1 connection per concurrent client): the ``/adr`` slash command (ack + views.open),
   the decision modal's view_submission (save + outbox rows; the dispatcher then posts it),
   Agree clicks on random decisions by random users and ``/adr search <words>`` (answered in
   the ack), measuring the time to the HTTP response and the servers' CPU per request, app
   and bare interleaved under the same conditions;
4. at concurrency 1, submits decision modals and measures the time from the submit's HTTP
   response to the emulator receiving that decision's channel post (chat.postMessage);
5. prints p50 / p95 / p99, errors, CPU ms per request and the app/bare ratios, and a
   PASS/MISS line per target of issue 6.

``--dispatch embedded,worker`` (default both; ``--smoke``: embedded) picks where the app's
Slack work after the ack runs: ``embedded`` as in 2. above; ``worker`` = ``decisionbot serve``
with ``DECISIONBOT_DISPATCHER=off`` plus one ``decisionbot worker`` under ``nice -n 10`` (the
production topology), stopped with SIGTERM at the end (it must exit 0). Rows are labelled
``store/topology``; the worker process's CPU per request is the ``wrk`` column.

Run ``python -m benchmarks.ack_latency --help``. Everything binds 127.0.0.1 only; servers,
the worker, the Postgres cluster and temp dirs are removed on exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"  # loopback only, always
TEAM = "TBENCH"
SCENARIOS = ("submit", "adr", "stance", "search")
# What each scenario sends (printed under the table).
SCENARIO_LEGEND = {
    "submit": "/adr decision modal view_submission (save + outbox; post by the dispatcher)",
    "adr": "/adr slash command (ack, then views.open)",
    "stance": "Agree click on a random open decision (ack, then the stance write + outbox "
    "row; chat.update by the dispatcher)",
    "search": "/adr search <words> (answered in the ack)",
}
RATIO_SCENARIOS = ("submit", "adr", "stance")  # the p99 ratio target applies to these
# Where the app's Slack work after the ack runs: "embedded" = the outbox dispatcher in every
# gunicorn worker of `decisionbot serve` (the default); "worker" = serve with
# DECISIONBOT_DISPATCHER=off (it only writes outbox rows) plus one `decisionbot worker`
# process under `nice -n 10`, the production topology benchmarks/README.md recommends.
TOPOLOGIES = ("embedded", "worker")
WORKER_NICE = 10
WORKER_READY_TIMEOUT = 60.0
WORKER_STOP_TIMEOUT = 30.0  # SIGTERM to exit (the worker's grace is 8 s by default)
DEFAULT_CONCURRENCY = (20,)
DEFAULT_REQUESTS = 2_000
TARGET_RATIO = 2.0
TARGET_MIN_REQUESTS = 2_000
TARGET_SEARCH_P95_MS = 150.0
TARGET_SEARCH_AT = 100_000
TARGET_POST_P95_MS = 200.0

# -- vocabulary ---------------------------------------------------------------------------------
# Words are drawn with Zipf-like weights (the first ones are common), so a one-word search
# matches anything from a few dozen rows to a large share of the table, as in a real log.

TECH = (
    "postgres redis kafka kubernetes terraform graphql python typescript react docker "
    "grpc sqlite golang rust celery airflow elasticsearch prometheus grafana sentry "
    "vault nginx envoy helm argocd jenkins github gitlab pytest playwright cypress "
    "webpack vite nextjs lambda fargate dynamodb mongodb cassandra clickhouse duckdb "
    "pulsar nats rabbitmq snowflake bigquery opensearch datadog istio tailwind storybook "
    "django flask fastapi spark flink dbt looker metabase okta auth0"
).split()
AREAS = (
    "billing checkout search onboarding notifications auth payments reporting analytics "
    "inventory shipping pricing mobile admin api gateway ledger invoices exports imports "
    "scheduling messaging catalog recommendations audit permissions sessions caching "
    "logging metrics tracing alerting deployments migrations backups signup refunds "
    "subscriptions webhooks emails sms localisation accessibility dashboards"
).split()
METRICS = (
    "latency cost reliability throughput availability security compliance "
    "developer experience build time error rate page weight"
).split(" ")
PRACTICES = (
    "code review|pair programming|feature flags|trunk based development|canary releases|"
    "load testing|contract testing|on-call rotation|blameless postmortems|design reviews|"
    "blue green deploys|chaos experiments|schema migrations|dependency pinning"
).split("|")
TEAMS = (
    "platform|payments|growth|data|mobile|infra|sre|frontend|backend|security|support|finance"
).split("|")
TAGS = "infra db frontend backend security process data mobile cost ops api testing".split()

TITLES = (
    "Use {t} for {a}",
    "Adopt {t} in {a}",
    "Move {a} from {t} to {t}",
    "Retire {t} in {a}",
    "Cache {a} responses in {t}",
    "Standardise {a} on {t}",
    "Split {a} out of {a}",
    "Introduce {p} for {a}",
    "Replace {t} with {t} for {a}",
    "Keep {a} on {t} for now",
)
CONTEXT = (
    "The {a} service runs on {t} and {m} has been getting worse since last quarter.",
    "The {g} team owns {a} and needs better {m} before the next launch.",
    "We compared {t} and {t} for {a}; both work, they differ mostly in {m}.",
    "Every change to {a} needs a manual step, and {p} keeps catching the same problems.",
    "Customers reported slow {a} pages during peak traffic, mostly around {a}.",
    "Running {t} ourselves costs the {g} team about a day a week.",
    "Today {a} and {a} share one {t} cluster, so an incident in one hits both.",
    "An audit asked how {a} handles {m}; we had no clear answer.",
)
DECISION = (
    "We will use {t} for {a} and keep {t} for {a}.",
    "We move {a} to {t} over the next two sprints, behind {p}.",
    "We adopt {p} for all {a} changes, starting with {a}.",
    "We stay on {t} for {a} and revisit when {m} becomes a problem.",
    "The {g} team builds {a} on {t}; {a} follows once it is stable.",
)
CONSEQUENCES = (
    "{m} should improve; we accept more on-call load for the {g} team.",
    "We need to learn {t}, and {a} gets frozen during the migration.",
    "Costs go up a little, but {m} and {m} get better.",
    "We lose some flexibility in {a}; {p} limits the risk.",
    "Two systems to run until {t} is gone from {a}.",
)
OPTIONS = (
    "1. {t}  2. {t}  3. do nothing",
    "Build on {t}, buy a hosted {t}, or keep {a} as it is.",
)
MISSING_WORDS = ("zeppelin", "quokka", "fjord", "xylophone")  # searches that find nothing


def _zipf_cum(n: int, offset: int = 0) -> list[float]:
    return list(itertools.accumulate(1.0 / (i + 1 + offset) for i in range(n)))


# With these weights a one-word search for a technology or an area matches from ~2% of the
# decisions (rare words) through ~6% (median) to ~40% (the most common), a two-word search
# ~0.5%, and a few searches match nothing.
_POOLS: dict[str, tuple[tuple[str, ...], list[float]]] = {
    "t": (tuple(TECH), _zipf_cum(len(TECH), 4)),
    "a": (tuple(AREAS), _zipf_cum(len(AREAS), 4)),
    "m": (tuple(METRICS), _zipf_cum(len(METRICS))),
    "p": (tuple(PRACTICES), _zipf_cum(len(PRACTICES))),
    "g": (tuple(TEAMS), _zipf_cum(len(TEAMS))),
}


class _Draw(dict):  # type: ignore[type-arg]
    """``str.format_map`` mapping that draws a fresh word for every placeholder occurrence."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self._rng = rng

    def __missing__(self, key: str) -> str:
        words, cum = _POOLS[key]
        return self._rng.choices(words, cum_weights=cum, k=1)[0]


def _text(rng: random.Random, templates: tuple[str, ...], lo: int, hi: int) -> str:
    draw = _Draw(rng)
    return " ".join(rng.choice(templates).format_map(draw) for _ in range(rng.randint(lo, hi)))


def _search_terms(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(MISSING_WORDS)
    words = rng.choice((TECH, AREAS))
    if roll < 0.65:
        return rng.choice(words)
    return f"{rng.choice(TECH)} {rng.choice(AREAS)}"


# -- seeding ------------------------------------------------------------------------------------


@dataclass
class Population:
    """What the request generators pick from: people, channels, decisions open for stances."""

    users: list[str]
    channels: list[str]
    public_channels: list[str]
    open_decisions: list[tuple[int, str, str]]  # (number, channel_id, message_ts)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per seeding phase


def _population(n_users: int = 500, n_channels: int = 100) -> tuple[list[str], list[str], set[str]]:
    users = [f"U{i:05d}" for i in range(1, n_users + 1)]
    channels = [f"C{i:05d}" for i in range(1, n_channels + 1)]
    private = set(channels[: n_channels * 15 // 100])
    return users, channels, private


STATUSES = ("proposed", "accepted", "rejected", "deprecated", "superseded")
STATUS_WEIGHTS = (30, 50, 8, 7, 5)
STANCE_KINDS = ("agree", "disagree_and_commit", "block")
STANCE_WEIGHTS = (70, 20, 10)


def seed_decisions(db: Any, n: int, *, seed: int = 1, chunk: int = 20_000) -> Population:
    """Insert ``n`` decisions of one workspace (the worst case for per-team queries) with their
    people, stances and history, in ``ceil(n / chunk)`` transactions of multi-row inserts."""
    from sqlalchemy import text

    from storage.models import Counter, Decision, DecisionEvent, DecisionMember, Stance

    rng = random.Random(seed)
    users, channels, private = _population()
    now = datetime.now(UTC)
    start = now - timedelta(days=3 * 365)
    span = (now - start).total_seconds() - 86_400
    open_decisions: list[tuple[int, str, str]] = []
    t_dec, t_mem, t_st, t_ev = (
        Decision.__table__,  # type: ignore[attr-defined]
        DecisionMember.__table__,  # type: ignore[attr-defined]
        Stance.__table__,  # type: ignore[attr-defined]
        DecisionEvent.__table__,  # type: ignore[attr-defined]
    )
    gin_indexes: list[tuple[str, str]] = []
    if db.dialect == "postgresql":
        # Bulk-load idiom: build the full-text GIN index once after loading instead of
        # maintaining it row by row; it is recreated from its own definition, unchanged.
        with db.engine.begin() as conn:
            gin_indexes = [
                (r[0], r[1])
                for r in conn.execute(
                    text(
                        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = "
                        "current_schema() AND tablename = 'decisions' AND indexdef ILIKE "
                        "'%USING gin%'"
                    )
                )
            ]
            for name, _ in gin_indexes:
                conn.execute(text(f'DROP INDEX "{name}"'))
    timings = dict.fromkeys(("generate", "insert", "index", "analyze"), 0.0)
    for lo in range(0, n, chunk):
        t_gen = time.perf_counter()
        decisions: list[dict[str, Any]] = []
        members: list[dict[str, Any]] = []
        stances: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for number in range(lo + 1, min(n, lo + chunk) + 1):
            created = start + timedelta(seconds=span * number / n)
            channel = rng.choice(channels)
            author = rng.choice(users)
            status = rng.choices(STATUSES, weights=STATUS_WEIGHTS, k=1)[0]
            message_ts = f"{int(created.timestamp())}.{number % 1_000_000:06d}"
            tags = rng.sample(TAGS, rng.randint(0, 3))
            decisions.append(
                {
                    "id": number,
                    "team_id": TEAM,
                    "enterprise_id": None,
                    "number": number,
                    "title": _text(rng, TITLES, 1, 1)[:200],
                    "context": _text(rng, CONTEXT, 1, 2),
                    "options": _text(rng, OPTIONS, 0, 1),
                    "decision": _text(rng, DECISION, 1, 2),
                    "consequences": _text(rng, CONSEQUENCES, 1, 1),
                    "success_criteria": "",
                    "status": status,
                    "tags": f" {' '.join(tags)} " if tags else "",
                    "review_date": (created + timedelta(days=30)).date(),
                    "channel_id": channel,
                    "channel_private": channel in private,
                    "message_ts": message_ts,
                    "post_error": None,
                    "author_id": author,
                    "source_permalink": None,
                    "supersedes_id": None,
                    "superseded_by_id": None,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            events.append(
                {
                    "team_id": TEAM,
                    "decision_id": number,
                    "actor_id": author,
                    "kind": "created",
                    "detail": json.dumps({"status": status}),
                    "created_at": created,
                }
            )
            people = rng.sample(users, 5)
            roles = [("decider", people[0])]
            if rng.random() < 0.5:
                roles.append(("decider", people[1]))
            roles += [("consulted", u) for u in people[2 : 2 + rng.randint(0, 2)]]
            if rng.random() < 0.4:
                roles.append(("informed", people[4]))
            members += [
                {"team_id": TEAM, "decision_id": number, "user_id": u, "role": r} for r, u in roles
            ]
            if status in ("proposed", "accepted"):
                open_decisions.append((number, channel, message_ts))
                if rng.random() < 0.35:
                    for user in rng.sample(users, rng.randint(1, 4)):
                        kind = rng.choices(STANCE_KINDS, weights=STANCE_WEIGHTS, k=1)[0]
                        at = created + timedelta(hours=rng.randint(1, 72))
                        row = {
                            "team_id": TEAM,
                            "decision_id": number,
                            "user_id": user,
                            "kind": kind,
                            "concern": "",
                            "change_my_mind": "",
                            "committed": kind == "disagree_and_commit",
                            "reason": "",
                            "created_at": at,
                            "updated_at": at,
                        }
                        if kind == "disagree_and_commit":
                            row["concern"] = _text(rng, CONSEQUENCES, 1, 1)
                            row["change_my_mind"] = "Numbers from a load test."
                        elif kind == "block":
                            row["reason"] = _text(rng, CONTEXT, 1, 1)
                        stances.append(row)
                        events.append(
                            {
                                "team_id": TEAM,
                                "decision_id": number,
                                "actor_id": user,
                                "kind": "stance",
                                "detail": json.dumps({"previous": None, "kind": kind}),
                                "created_at": at,
                            }
                        )
        t_ins = time.perf_counter()
        timings["generate"] += t_ins - t_gen
        with db.engine.begin() as conn:
            if db.dialect == "postgresql":
                # The rows are consistent by construction: skip the per-row foreign-key
                # triggers while loading (superuser-only; the throwaway cluster's user is).
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(t_dec.insert(), decisions)
            conn.execute(t_mem.insert(), members)
            if stances:
                conn.execute(t_st.insert(), stances)
            conn.execute(t_ev.insert(), events)
        timings["insert"] += time.perf_counter() - t_ins
    t_idx = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(
            Counter.__table__.insert(),  # type: ignore[attr-defined]
            [{"team_id": TEAM, "kind": "adr", "value": n}],
        )
        if db.dialect == "postgresql":
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('decisions', 'id'), :n)"), {"n": n}
            )
            conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            for _, ddl in gin_indexes:
                conn.execute(text(ddl))
    t_an = time.perf_counter()
    timings["index"] = t_an - t_idx
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        raw = db.engine.raw_connection()  # autocommit (isolation_level None): no BEGIN
        try:
            raw.execute("ANALYZE")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    timings["analyze"] = time.perf_counter() - t_an
    public = [c for c in channels if c not in private]
    return Population(users, channels, public, open_decisions, timings)


# -- child processes: the Slack emulator and the servers ----------------------------------------


def _emulator_main() -> int:
    """Child: a SlackEmulator on loopback; prints its URL; answers on stdin:

    - ``count``: the number of calls recorded so far;
    - ``reset``: forget the recorded calls (keeps ``post`` scans short);
    - ``post <channel> <token> <timeout>``: wait for a chat.postMessage to ``channel`` whose
      arguments contain ``token``; prints its arrival time (``time.monotonic()``, which on
      Linux is one system-wide clock shared with the load generator) or ``none``.
    """
    from tests.slack_emulator import SlackEmulator

    emu = SlackEmulator(team_id=TEAM).start()
    print(emu.url, flush=True)
    try:
        for line in sys.stdin:
            words = line.split()
            if words == ["count"]:
                print(len(emu.calls()), flush=True)
            elif words == ["reset"]:
                emu.reset()
                print("ok", flush=True)
            elif len(words) == 4 and words[0] == "post":
                channel, token, timeout = words[1], words[2], float(words[3])

                def match(call: Any, channel: str = channel, token: str = token) -> bool:
                    return call.args.get("channel") == channel and token in json.dumps(
                        call.args, default=str
                    )

                try:
                    [call, *_] = emu.wait_for("chat.postMessage", timeout=timeout, where=match)
                    print(repr(call.at), flush=True)
                except AssertionError:
                    print("none", flush=True)
    finally:
        emu.stop()
    return 0


def create_bare_app(settings: Any) -> Any:
    """The baseline: the same Bolt configuration as ``create_app`` (signature verification, the
    same request-path Web API client), an ``/adr`` command listener, a view_submission listener
    for the decision modal and an Agree action listener, all of which only ack."""
    import logging

    from slack_bolt import App

    from bot.core.ids import Action, Callback
    from bot.core.slack_api import build_client

    app = App(
        client=build_client(settings),
        signing_secret=settings.slack_signing_secret,
        request_verification_enabled=True,
        token_verification_enabled=False,
        logger=logging.getLogger("bench.bare"),
    )

    @app.command("/adr")
    def _command(ack: Any) -> None:
        ack()

    @app.view(Callback.DECISION_FORM)
    def _submit(ack: Any) -> None:
        ack()

    @app.action(Action.AGREE)
    def _action(ack: Any) -> None:
        ack()

    return app


def _serve_main(args: argparse.Namespace) -> int:
    """Child: the real app through ``decisionbot serve`` itself (gunicorn, /metrics, and the
    embedded dispatcher in every worker unless ``--dispatcher off``), or the bare app behind
    the same server."""
    import logging

    from tests.harness import BOT_TOKEN, SIGNING_SECRET

    if args.serve == "app":
        from bot.runtime.cli import main as decisionbot

        os.environ.update(
            DATABASE_URL=args.database_url,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=args.slack_api_url,
        )
        if args.dispatcher == "off":  # a separate `decisionbot worker` delivers
            os.environ["DECISIONBOT_DISPATCHER"] = "off"
        else:
            os.environ.pop("DECISIONBOT_DISPATCHER", None)  # the default: embedded
        return decisionbot(
            [
                "serve",
                "--host",
                HOST,
                "--port",
                str(args.port),
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
            ]
        )

    from bot.runtime.config import Settings
    from bot.runtime.server import serve
    from bot.runtime.web import create_wsgi_app
    from storage.db import Database

    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = Settings(
        database_url=args.database_url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=args.slack_api_url,
        port=args.port,
    )
    db = Database(settings.database_url)
    app = create_bare_app(settings)
    serve(
        create_wsgi_app(app, db),
        host=HOST,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        # Each worker opens its own connections (none exist yet; this keeps it that way).
        post_fork=lambda: db.engine.dispose(close=False),
    )
    return 0


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _stop_process(proc: subprocess.Popen[Any], sig: int, wait: float) -> None:
    """Stop a child we started (in its own session): ``sig``, then SIGKILL to its group."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            pass
    # gunicorn workers are in the child's process group (the child leads its own session).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


class Emulator:
    """The Slack Web API emulator in its own process, so its threads never compete for the
    load generator's GIL."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.ack_latency", "--emulator"],
            cwd=ROOT,
            env=_child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            assert self.proc.stdout is not None
            self.url = self.proc.stdout.readline().strip()
            if not self.url.startswith(f"http://{HOST}:"):
                raise RuntimeError(f"the Slack emulator did not start (said {self.url!r})")
        except BaseException:
            self.stop()
            raise
        self.base = self.url[: -len("api/")]

    def _ask(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def count(self) -> int:
        return int(self._ask("count"))

    def reset(self) -> None:
        self._ask("reset")

    def post_at(self, channel: str, token: str, timeout: float = 10.0) -> float | None:
        """``time.monotonic()`` at which the emulator received the chat.postMessage to
        ``channel`` containing ``token`` (None if none came within ``timeout``)."""
        answer = self._ask(f"post {channel} {token} {timeout}")
        return None if answer == "none" else float(answer)

    def wait_quiet(
        self,
        servers: Sequence[Server | Worker] = (),
        quiet: float = 0.5,
        timeout: float = 300.0,
        drained: Callable[[], bool] | None = None,
    ) -> bool:
        """Wait until the servers' post-ack work has stopped: no calls to the emulator
        (views.open, the dispatcher's posts, updates and DMs) and the ``servers``' processes
        idle (< 5% of a CPU) for ``quiet`` seconds, and then — checked only at that moment, so
        its queries stay out of the CPU figures — ``drained()`` (no outbox work due now left
        pending or in flight), so one run's leftovers never land in the next run's figures.
        False if that did not happen within ``timeout``."""
        deadline = time.monotonic() + timeout

        def busy() -> float:
            return sum(s.cpu_seconds() for s in servers)

        last_calls, last_cpu, since = self.count(), busy(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            calls, cpu = self.count(), busy()
            if calls != last_calls or cpu - last_cpu > 0.005:  # 5% of one CPU per 0.1 s
                since = time.monotonic()
            last_calls, last_cpu = calls, cpu
            if time.monotonic() - since >= quiet:
                if drained is None or drained():
                    return True
                since = time.monotonic()
        return False

    def stop(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        _stop_process(self.proc, signal.SIGTERM, 5)


class Server:
    """``python -m benchmarks.ack_latency --serve app|bare``: gunicorn on a loopback port."""

    def __init__(
        self,
        kind: str,
        *,
        database_url: str,
        slack_api_url: str,
        workers: int,
        threads: int,
        log_dir: Path,
        dispatcher: str = "embedded",
    ) -> None:
        self.kind = kind
        self.workers = workers
        self.dispatcher = dispatcher  # app only: embedded | off
        stamp = f"{kind}-{os.getpid()}-{time.monotonic_ns()}"
        self.log_path = log_dir / f"server-{stamp}.log"
        # Both servers count requests in prometheus_client's multiprocess mode, as serve does.
        self.metrics_dir = log_dir / f"metrics-{stamp}"
        self.metrics_dir.mkdir()
        self.proc: subprocess.Popen[Any] | None = None
        self.port = 0
        try:
            self._start(kind, database_url, slack_api_url, workers, threads)
        except BaseException:  # Ctrl-C while booting included: leave nothing running
            self.stop()
            raise

    def _start(
        self, kind: str, database_url: str, slack_api_url: str, workers: int, threads: int
    ) -> None:
        for _attempt in range(3):
            self.port = _free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.ack_latency",
                        "--serve",
                        kind,
                        "--database-url",
                        database_url,
                        "--slack-api-url",
                        slack_api_url,
                        "--port",
                        str(self.port),
                        "--workers",
                        str(workers),
                        "--threads",
                        str(threads),
                        "--dispatcher",
                        self.dispatcher,
                    ],
                    cwd=ROOT,
                    env={**_child_env(), "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir)},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            if self._wait_ready():
                return
            clash = "in use" in self._log_tail()
            self.stop()
            if not clash:
                break
        raise RuntimeError(f"the {kind} server did not become ready; log tail:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _wait_ready(self, timeout: float = 60.0) -> bool:
        """Ready when every worker has booted and /healthz answers 200."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            booted = self._log_tail(10_000).count("Booting worker with pid")
            if booted >= self.workers:
                try:
                    conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                    conn.request("GET", "/healthz")
                    ok = conn.getresponse().status == 200
                    conn.close()
                    if ok:
                        return True
                except OSError:
                    pass
            time.sleep(0.1)
        return False

    def cpu_seconds(self) -> float:
        """CPU time used so far by the gunicorn master and its workers (Linux /proc; else 0)."""
        if self.proc is None:
            return 0.0
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                pid = int(stat.parent.name)
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, ValueError, IndexError):
                continue
            if pid == self.proc.pid or int(fields[1]) == self.proc.pid:  # fields[1]: ppid
                total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        return total / os.sysconf("SC_CLK_TCK") if total else 0.0

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc, signal.SIGINT, 10)  # SIGINT: gunicorn's quick shutdown


class Worker:
    """One ``decisionbot worker`` under ``nice -n 10``: the separate outbox dispatcher of the
    worker topology. Same environment as serve's (database, bot token, the emulator's URL);
    LOG_LEVEL=INFO for its ready line and its ``worker stopped: ...`` summary."""

    READY = "delivering outbox work"

    def __init__(self, *, database_url: str, slack_api_url: str, log_dir: Path) -> None:
        from tests.harness import BOT_TOKEN
        from tests.seed_due import decisionbot_command

        self.log_path = log_dir / f"worker-{os.getpid()}-{time.monotonic_ns()}.log"
        env = {
            k: v
            for k, v in _child_env().items()
            if not k.startswith(("SLACK_", "DATABASE_URL", "DECISIONBOT_", "PROMETHEUS_"))
        }
        env.update(
            DATABASE_URL=database_url,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_API_URL=slack_api_url,
            LOG_LEVEL="INFO",
        )
        self.exit_code: int | None = None
        self.stop_s = math.nan
        self.summary = ""
        with open(self.log_path, "ab") as log:
            # `nice` execs the command: the pid we hold is the worker itself.
            self.proc = subprocess.Popen(
                ["nice", "-n", str(WORKER_NICE), *decisionbot_command(), "worker"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + WORKER_READY_TIMEOUT
        while self.READY not in self.log_text():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"decisionbot worker exited {self.proc.returncode} at start-up:\n"
                    f"{self.log_text()[-2000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"decisionbot worker not ready after {WORKER_READY_TIMEOUT:.0f} s:\n"
                    f"{self.log_text()[-2000:]}"
                )
            time.sleep(0.05)

    def ready_line(self) -> str:
        return next((ln for ln in self.log_text().splitlines() if self.READY in ln), "")

    def cpu_seconds(self) -> float:
        """User + system CPU of the worker process so far (its threads included)."""
        fields = _proc_stat(self.proc.pid)
        if fields is None:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def terminate(self) -> int | None:
        """SIGTERM, wait for the exit; records the exit status, the time it took and the
        ``worker stopped: ...`` line. SIGKILL (exit recorded as the negative signal) if it
        did not exit within WORKER_STOP_TIMEOUT."""
        if self.proc.poll() is None:
            t0 = time.monotonic()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=WORKER_STOP_TIMEOUT)
                self.stop_s = time.monotonic() - t0
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        self.exit_code = self.proc.returncode
        self.summary = next(
            (
                ln.split(": ", 1)[-1]
                for ln in self.log_text().splitlines()
                if "worker stopped:" in ln
            ),
            "",
        )
        return self.exit_code

    def kill(self) -> None:
        _stop_process(self.proc, signal.SIGKILL, 5)  # no-op for SIGKILL if already exited


@dataclass
class WorkerStop:
    """How the worker topology's ``decisionbot worker`` ended on SIGTERM."""

    store: str
    exit_code: int | None
    stop_s: float
    summary: str  # "worker stopped: claimed N, sent N, ..."
    log_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and "worker stopped:" in self.summary


# -- load ---------------------------------------------------------------------------------------

RequestMaker = Callable[[random.Random], tuple[str, str]]


@dataclass
class Requests:
    """Builds the bodies Slack would send (see tests/harness.py for the shapes)."""

    population: Population
    response_base: str
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _modal: dict[str, Any] | None = None

    def modal(self) -> dict[str, Any]:
        """The decision modal as ``/adr`` opens it (built once; Slack echoes it back)."""
        if self._modal is None:
            from bot.features.decisions.views import FormMeta, build_decision_modal

            view = build_decision_modal(
                meta=FormMeta(mode="new"), today=datetime.now(UTC).date(), channel_id=None
            )
            self._modal = {**view, "id": "VBENCH", "team_id": TEAM, "hash": "1.bench"}
        return self._modal

    def _response_url(self, n: int) -> str:
        return f"{self.response_base}response/bench{n}"

    def slash(self, rng: random.Random, text: str) -> tuple[str, str]:
        n = next(self.ids)
        user = rng.choice(self.population.users)
        channel = rng.choice(self.population.channels)
        body = urlencode(
            {
                "token": "legacy",
                "team_id": TEAM,
                "team_domain": "bench",
                "channel_id": channel,
                "channel_name": channel.lower(),
                "user_id": user,
                "user_name": user.lower(),
                "command": "/adr",
                "text": text,
                "api_app_id": "A0001",
                "is_enterprise_install": "false",
                "response_url": self._response_url(n),
                "trigger_id": f"{n}.{rng.randrange(10**12)}.bench",
            }
        )
        return body, "application/x-www-form-urlencoded"

    def adr(self, rng: random.Random) -> tuple[str, str]:
        return self.slash(rng, "")

    def search(self, rng: random.Random) -> tuple[str, str]:
        return self.slash(rng, f"search {_search_terms(rng)}")

    def stance(self, rng: random.Random) -> tuple[str, str]:
        n = next(self.ids)
        number, channel, ts = rng.choice(self.population.open_decisions)
        user = rng.choice(self.population.users)
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "bench"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A0001",
            "trigger_id": f"{n}.{rng.randrange(10**12)}.bench",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel},
            "channel": {"id": channel, "name": channel.lower()},
            "message": {"ts": ts, "text": f"ADR-{number}"},
            "response_url": self._response_url(n),
            "actions": [
                {
                    "type": "button",
                    "action_id": "decision.stance.agree",
                    "block_id": "stances",
                    "value": str(number),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"

    def submission(
        self, rng: random.Random, *, token: str = "", channel: str | None = None
    ) -> tuple[str, str]:
        """The decision modal's view_submission: a new decision with varied text, deciders,
        consulted, sometimes an informed person (a DM after the post) and tags."""
        from bot.core.ids import Field
        from tests.harness import fill_view

        n = next(self.ids)
        users = self.population.users
        people = rng.sample(users, 4)
        title = _text(rng, TITLES, 1, 1)[:180]
        values: dict[str, Any] = {
            Field.TITLE: f"{title} {token}".strip(),
            Field.CONTEXT: _text(rng, CONTEXT, 1, 2),
            Field.DECISION: _text(rng, DECISION, 1, 2),
            Field.CONSEQUENCES: _text(rng, CONSEQUENCES, 1, 1),
            Field.DECIDERS: people[:2],
            Field.CONSULTED: people[2:3],
            Field.INFORMED: people[3:] if rng.random() < 0.4 else [],
            Field.TAGS: " ".join(rng.sample(TAGS, rng.randint(0, 2))),
            Field.CHANNEL: channel or rng.choice(self.population.channels),
        }
        view = self.modal()
        user = rng.choice(users)
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "bench"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A0001",
            "trigger_id": f"{n}.{rng.randrange(10**12)}.bench",
            # Every submission is its own modal: Slack gives each opened view its own id, and
            # the app records one decision per view id (a repeated Submit is a no-op).
            "view": {**view, "id": f"VBENCH{n}", "state": {"values": fill_view(view, values)}},
        }
        return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"

    def submit(self, rng: random.Random) -> tuple[str, str]:
        return self.submission(rng)

    def maker(self, scenario: str) -> RequestMaker:
        return {
            "submit": self.submit,
            "adr": self.adr,
            "stance": self.stance,
            "search": self.search,
        }[scenario]


@dataclass
class Run:
    n: int
    errors: int
    latencies_ms: list[float]
    wall_s: float
    error_samples: list[str]
    sent: int = 0  # measured + warm-up requests (what the servers' CPU figure covers)


def drive(port: int, make: RequestMaker, *, requests: int, concurrency: int, seed: str) -> Run:
    """``requests`` signed POSTs from ``concurrency`` threads, each on its own keep-alive
    connection, after a short unmeasured warm-up per connection."""
    from tests.harness import sign

    lock = threading.Lock()
    order = iter(range(requests))
    latencies: list[float] = []
    samples: list[str] = []
    errors = 0
    warmup = max(2, 40 // concurrency)
    ready = threading.Barrier(concurrency + 1)
    failures: list[BaseException] = []

    def one(
        conn: http.client.HTTPConnection | None, rng: random.Random
    ) -> tuple[http.client.HTTPConnection | None, float | None, str | None]:
        body, ctype = make(rng)
        headers = {"Content-Type": ctype, **sign(body)}
        data = body.encode()
        if conn is None:
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            conn.connect()
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/slack/events", body=data, headers=headers)
            resp = conn.getresponse()
            text = resp.read()
            elapsed = (time.perf_counter() - t0) * 1000.0
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            return None, None, f"{type(exc).__name__}: {exc}"
        if resp.will_close:
            conn.close()
            conn = None
        if resp.status != 200:
            # Still a response (e.g. Bolt's 404 when a listener didn't ack within 3 s): its
            # time counts in the percentiles, and it counts as an error.
            return conn, elapsed, f"HTTP {resp.status}: {text[:200]!r}"
        return conn, elapsed, None

    def client(index: int) -> None:
        nonlocal errors
        rng = random.Random(f"{seed}/{index}")
        conn: http.client.HTTPConnection | None = None
        try:
            for _ in range(warmup):
                conn, _lat, _err = one(conn, rng)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)
        try:
            ready.wait()
        except threading.BrokenBarrierError:
            return
        mine: list[float] = []
        try:
            while True:
                with lock:
                    if next(order, None) is None:
                        break
                conn, lat, err = one(conn, rng)
                if lat is not None:
                    mine.append(lat)
                if err is not None:
                    with lock:
                        errors += 1
                        if len(samples) < 5:
                            samples.append(err)
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)
        finally:
            if conn is not None:
                conn.close()
            with lock:
                latencies.extend(mine)

    threads = [
        threading.Thread(target=client, args=(i,), name=f"client-{i}", daemon=True)
        for i in range(concurrency)
    ]
    for t in threads:
        t.start()
    ready.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"load generator failed: {failures[0]!r}") from failures[0]
    n = requests  # every measured request: answered (any status) or failed
    return Run(n, errors, latencies, wall, samples, sent=n + warmup * concurrency)


# -- figures ------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)]


@dataclass
class Figures:
    n: int
    errors: int
    p50: float
    p95: float
    p99: float
    rps: float
    # CPU (user + system) per request sent, warm-up included, measured until the post-ack
    # work (the dispatcher's Slack calls and writes) is done: of the server's processes, and
    # of the Postgres cluster (NaN on SQLite, where the database is in the server's processes).
    cpu_ms: float = math.nan
    db_cpu_ms: float = math.nan
    # The separate `decisionbot worker` process (worker topology only; NaN otherwise).
    worker_cpu_ms: float = math.nan

    @classmethod
    def of(
        cls,
        run: Run,
        cpu_s: float = math.nan,
        db_cpu_s: float = math.nan,
        worker_cpu_s: float = math.nan,
    ) -> Figures:
        lat = run.latencies_ms
        sent = run.sent or run.n
        return cls(
            run.n,
            run.errors,
            percentile(lat, 50),
            percentile(lat, 95),
            percentile(lat, 99),
            run.n / run.wall_s if run.wall_s > 0 else math.nan,
            cpu_s * 1000.0 / sent if sent else math.nan,
            db_cpu_s * 1000.0 / sent if sent else math.nan,
            worker_cpu_s * 1000.0 / sent if sent else math.nan,
        )


@dataclass
class Row:
    store: str
    topology: str  # embedded | worker
    scenario: str
    concurrency: int
    app: Figures
    bare: Figures

    @property
    def label(self) -> str:
        return f"{self.store}/{self.topology}"

    @property
    def ratio_p50(self) -> float:
        return self.app.p50 / self.bare.p50 if self.bare.p50 else math.nan

    @property
    def ratio_p99(self) -> float:
        return self.app.p99 / self.bare.p99 if self.bare.p99 else math.nan


@dataclass
class PostDelay:
    """Submit's HTTP response -> the emulator receiving that decision's chat.postMessage."""

    store: str
    topology: str
    n: int
    missing: int  # no post within the timeout
    delays_ms: list[float]

    @property
    def label(self) -> str:
        return f"{self.store}/{self.topology}"

    @property
    def judged(self) -> bool:
        """Counts for the post-delay target: a separate worker on SQLite polls every second
        (no LISTEN/NOTIFY), so that topology's target is judged on Postgres only."""
        return not (self.store == "sqlite" and self.topology == "worker")

    @property
    def p50(self) -> float:
        return percentile(self.delays_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.delays_ms, 95)

    @property
    def max(self) -> float:
        return max(self.delays_ms) if self.delays_ms else math.nan


def _ms(value: float, width: int, digits: int = 1) -> str:
    return f"{'-':>{width}}" if math.isnan(value) else f"{value:>{width}.{digits}f}"


def format_table(rows: list[Row]) -> str:
    head = (
        f"{'store/topology':<18}{'scenario':<9}{'conc':>5}{'n':>6} |"
        f"{'p50':>7}{'p95':>7}{'p99':>7}{'err':>4}{'req/s':>6}{'cpu':>6}{'wrk':>6}{'db':>5} |"
        f"{'bare p50':>9}{'p95':>6}{'p99':>6}{'err':>4}{'req/s':>6}{'cpu':>5} |"
        f"{'ratio p50':>10}{'p99':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        a, b = r.app, r.bare
        lines.append(
            f"{r.label:<18}{r.scenario:<9}{r.concurrency:>5}{a.n:>6} |"
            f"{a.p50:>7.1f}{a.p95:>7.1f}{a.p99:>7.1f}{a.errors:>4}{a.rps:>6.0f}"
            f"{_ms(a.cpu_ms, 6)}{_ms(a.worker_cpu_ms, 6)}{_ms(a.db_cpu_ms, 5)} |"
            f"{b.p50:>9.1f}{b.p95:>6.1f}{b.p99:>6.1f}{b.errors:>4}{b.rps:>6.0f}"
            f"{_ms(b.cpu_ms, 5)} |"
            f"{r.ratio_p50:>10.2f}{r.ratio_p99:>6.2f}"
        )
    return "\n".join(lines)


def format_posts(posts: list[PostDelay]) -> str:
    lines = []
    for p in posts:
        how = ""
        if p.topology == "worker":
            how = (
                " (separate worker woken by LISTEN/NOTIFY)"
                if p.store == "postgres"
                else " (separate worker polling every second; not judged)"
            )
        lines.append(
            f"submit -> channel post, {p.label}, concurrency 1, n {p.n}: "
            f"p50 {p.p50:.1f} ms, p95 {p.p95:.1f} ms, max {p.max:.1f} ms, "
            f"missing {p.missing}{how}"
        )
    return "\n".join(lines)


def _worst(rows: list[Row], key: Callable[[Row], float]) -> Row:
    return max(rows, key=lambda r: -math.inf if math.isnan(key(r)) else key(r))


def evaluate_targets(
    rows: list[Row], posts: list[PostDelay], decisions: int
) -> list[dict[str, Any]]:
    """The targets of issue 6."""
    targets: list[dict[str, Any]] = []
    at20 = [r for r in rows if r.concurrency == 20]
    note = "" if decisions >= TARGET_SEARCH_AT else f" [measured at {decisions:,} decisions]"
    ratio_rows = [r for r in at20 if r.scenario in RATIO_SCENARIOS]
    label = (
        f"p99 ratio to bare Bolt <= {TARGET_RATIO:g} at concurrency 20 "
        f"({', '.join(RATIO_SCENARIOS)})"
    )
    if ratio_rows:
        worst = _worst(ratio_rows, lambda r: r.ratio_p99)
        detail = ", ".join(f"{r.label}/{r.scenario} {r.ratio_p99:.2f}" for r in ratio_rows)
        targets.append(
            {
                "target": label,
                "ok": all(r.ratio_p99 <= TARGET_RATIO for r in ratio_rows),
                "figure": f"worst {worst.label}/{worst.scenario} {worst.ratio_p99:.2f} "
                f"({detail}){note}",
            }
        )
    else:
        targets.append({"target": label, "ok": None, "figure": "not measured"})
    label = f">= {TARGET_MIN_REQUESTS:,} measured requests per row"
    if rows:
        fewest = min(min(r.app.n, r.bare.n) for r in rows)
        targets.append(
            {"target": label, "ok": fewest >= TARGET_MIN_REQUESTS, "figure": f"fewest {fewest}"}
        )
    label = (
        f"search p95 < {TARGET_SEARCH_P95_MS:.0f} ms at concurrency 20, "
        f"{TARGET_SEARCH_AT:,} decisions"
    )
    search = [r for r in at20 if r.scenario == "search"]
    if search:
        worst = _worst(search, lambda r: r.app.p95)
        detail = ", ".join(f"{r.label} {r.app.p95:.1f}" for r in search)
        targets.append(
            {
                "target": label,
                "ok": all(r.app.p95 < TARGET_SEARCH_P95_MS for r in search),
                "figure": f"worst {worst.label} p95 {worst.app.p95:.1f} ms ({detail}){note}",
            }
        )
    else:
        targets.append({"target": label, "ok": None, "figure": "not measured"})
    label = f"submit -> channel post p95 < {TARGET_POST_P95_MS:.0f} ms at concurrency 1"
    judged = [p for p in posts if p.judged]
    if judged:
        worst_post = max(judged, key=lambda p: -math.inf if math.isnan(p.p95) else p.p95)
        detail = ", ".join(f"{p.label} p50 {p.p50:.1f} p95 {p.p95:.1f}" for p in judged)
        unjudged = "".join(
            f"; not judged: {p.label} p50 {p.p50:.1f} p95 {p.p95:.1f} (polls every second)"
            for p in posts
            if not p.judged
        )
        targets.append(
            {
                "target": label,
                "ok": all(p.p95 < TARGET_POST_P95_MS and not p.missing for p in judged),
                "figure": f"worst {worst_post.label} p95 {worst_post.p95:.1f} ms ({detail}; "
                f"missing {sum(p.missing for p in judged)}{unjudged})",
            }
        )
    else:
        targets.append({"target": label, "ok": None, "figure": "not measured"})
    return targets


def format_targets(targets: list[dict[str, Any]]) -> str:
    out = []
    for t in targets:
        verdict = {True: "PASS", False: "MISS", None: "N/A "}[t["ok"]]
        out.append(f"{verdict}  {t['target']}: {t['figure']}")
    return "\n".join(out)


# -- orchestration ------------------------------------------------------------------------------


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def _code_version() -> str:
    """The last commit of the app's code (bot/, storage/, prompts/) being measured: the tree
    is shared and can change under a long run."""
    try:
        head = subprocess.run(
            ["git", "log", "-1", "--format=%h", "--", "bot", "storage", "prompts"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "bot", "storage"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    if not head:
        return "unknown"
    return head + (" + uncommitted changes in bot/ or storage/" if changed else "")


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _open_store(
    store: str, workdir: Path, stack: contextlib.ExitStack
) -> tuple[str, str, int | None]:
    """A fresh, empty database for ``store``; returns (url, version string, postmaster pid)."""
    if store == "sqlite":
        import sqlite3

        return f"sqlite:///{workdir / 'bench.db'}", f"SQLite {sqlite3.sqlite_version}", None
    from tests.pg import PostgresServer, postgres_available

    if not postgres_available():
        raise RuntimeError("PostgreSQL server binaries are absent (install Debian's postgresql)")
    pg = PostgresServer().start()
    stack.callback(pg.stop)
    postmaster = None
    with contextlib.suppress(OSError, ValueError, IndexError, TypeError):
        postmaster = int((Path(pg.datadir) / "postmaster.pid").read_text().split()[0])
    return pg.url, f"PostgreSQL (tests.pg, {pg.bindir})", postmaster


def _proc_stat(pid: int | str) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state is [0], ppid [1])."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cluster_cpu(postmaster: int) -> float:
    """CPU seconds of a Postgres cluster: the postmaster, its exited (reaped) children and its
    live ones (backends, checkpointer, ...); NaN when /proc can't tell."""
    fields = _proc_stat(postmaster)
    if fields is None:
        return math.nan
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    for stat in Path("/proc").glob("[0-9]*/stat"):
        child = _proc_stat(stat.parent.name)
        if child is not None and child[1] == str(postmaster):
            ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def measure_posts(
    store: str,
    topology: str,
    port: int,
    builder: Requests,
    emulator: Emulator,
    *,
    requests: int,
    seed: str,
    pause: float = 0.1,
    jitter: float = 0.0,
) -> PostDelay:
    """At concurrency 1: submit a decision modal, then wait for that decision's channel post;
    the delay is from the moment the submit's HTTP response was read to the emulator's
    arrival time of the chat.postMessage (both ``time.monotonic()``: one clock on Linux).
    Negative when the post arrived before the response. ``pause`` s between submissions so
    each one is alone (the previous one's remaining work — recording the ts, DMs — is done),
    plus a random 0..``jitter`` s: with a worker polling every second, a fixed pause would
    lock the submits to one phase of its poll and measure that phase only."""
    from tests.harness import sign

    rng = random.Random(seed)
    emulator.reset()  # keeps the emulator's scans for the post short
    delays: list[float] = []
    missing = 0
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    acked = time.monotonic()
    try:
        for i in range(-3, requests):  # 3 unmeasured warm-ups
            token = f"bpost{i + 3}x"
            channel = rng.choice(builder.population.public_channels)
            body, ctype = builder.submission(rng, token=token, channel=channel)
            headers = {"Content-Type": ctype, **sign(body)}
            if time.monotonic() - acked > 1.0:
                # gunicorn closes idle keep-alive connections after 2 s; a post that took
                # ~1 s (a worker polling SQLite) must not make the next submit hit a closed one.
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
            conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
            resp = conn.getresponse()
            text = resp.read()
            acked = time.monotonic()
            if resp.status != 200 or text.strip():
                raise RuntimeError(f"submit answered HTTP {resp.status}: {text[:200]!r}")
            arrived = emulator.post_at(channel, token)
            if i >= 0:
                if arrived is None:
                    missing += 1
                else:
                    delays.append((arrived - acked) * 1000.0)
            time.sleep(pause + rng.random() * jitter)
    finally:
        conn.close()
    return PostDelay(store, topology, len(delays) + missing, missing, delays)


def bench_store(
    store: str, args: argparse.Namespace, emulator: Emulator, workdir: Path
) -> tuple[list[Row], list[PostDelay], list[WorkerStop]]:
    """Seed one store, start the bare server once, then per topology (``args.dispatch``) the
    app (and, for ``worker``, one ``decisionbot worker``) and measure every scenario."""
    from storage.db import Database

    rows: list[Row] = []
    posts: list[PostDelay] = []
    stops: list[WorkerStop] = []
    with contextlib.ExitStack() as stack:
        url, version, postmaster = _open_store(store, workdir, stack)
        db = Database(url)
        stack.callback(db.dispose)
        t0 = time.perf_counter()
        db.migrate()
        population = seed_decisions(db, args.decisions, seed=args.seed)
        db.dispose()
        _say(
            f"{store}: {version}; migrated and seeded {args.decisions:,} decisions "
            f"(+ people, stances, history; ANALYZE) in {time.perf_counter() - t0:.1f} s ("
            + ", ".join(f"{k} {v:.1f} s" for k, v in population.timings.items())
            + f"); load average {_loadavg()}"
        )
        bare = Server(
            "bare",
            database_url=url,
            slack_api_url=emulator.url,
            workers=args.workers,
            threads=args.threads,
            log_dir=workdir,
        )
        stack.callback(bare.stop)
        builder = Requests(population, emulator.base)

        def db_cpu() -> float:
            return cluster_cpu(postmaster) if postmaster else math.nan

        def drained() -> bool:
            """No outbox work due now is pending or claimed (future reviews don't count)."""
            from sqlalchemy import func, select

            from storage.models import DueWork, WorkState

            t = DueWork.__table__  # type: ignore[attr-defined]
            query = (
                select(func.count())
                .select_from(t)
                .where(t.c.state.in_((WorkState.PENDING, WorkState.CLAIMED)))
                .where(t.c.due_at <= datetime.now(UTC))
            )
            with db.engine.connect() as conn:
                return int(conn.execute(query).scalar_one()) == 0

        for topology in args.dispatch:
            with contextlib.ExitStack() as running:
                app = Server(
                    "app",
                    database_url=url,
                    slack_api_url=emulator.url,
                    workers=args.workers,
                    threads=args.threads,
                    log_dir=workdir,
                    dispatcher="embedded" if topology == "embedded" else "off",
                )
                running.callback(app.stop)
                worker: Worker | None = None
                if topology == "worker":
                    worker = Worker(database_url=url, slack_api_url=emulator.url, log_dir=workdir)
                    running.callback(worker.kill)  # on errors; normally terminated below
                    what = (
                        "decisionbot serve with DECISIONBOT_DISPATCHER=off + one decisionbot "
                        f"worker (pid {worker.proc.pid}, nice {WORKER_NICE})"
                    )
                else:
                    what = "decisionbot serve, embedded dispatcher"
                _say(
                    f"{store}/{topology}: app ({what}) on :{app.port}, bare Bolt on "
                    f":{bare.port} (gunicorn gthread, {args.workers} workers x {args.threads} "
                    f"threads); load average {_loadavg()}"
                )
                if worker is not None:
                    _say(f"{store}/worker: {worker.ready_line().split(': ', 1)[-1]}")
                topo_rows, post = _bench_topology(
                    store,
                    topology,
                    args,
                    emulator,
                    builder,
                    app,
                    bare,
                    worker,
                    db_cpu,
                    drained,
                )
                rows += topo_rows
                if post is not None:
                    posts.append(post)
                if worker is not None:
                    t_stop = time.monotonic()
                    code = worker.terminate()
                    stop = WorkerStop(
                        store,
                        code,
                        worker.stop_s,
                        worker.summary,
                        "" if code == 0 else worker.log_text()[-2000:],
                    )
                    stops.append(stop)
                    _say(
                        f"{store}/worker: SIGTERM -> exit {code} in "
                        f"{time.monotonic() - t_stop:.1f} s; {stop.summary or 'no summary line'}"
                        + ("" if stop.ok else f"; log tail:\n{stop.log_tail}")
                    )
    return rows, posts, stops


def _bench_topology(
    store: str,
    topology: str,
    args: argparse.Namespace,
    emulator: Emulator,
    builder: Requests,
    app: Server,
    bare: Server,
    worker: Worker | None,
    db_cpu: Callable[[], float],
    drained: Callable[[], bool],
) -> tuple[list[Row], PostDelay | None]:
    rows: list[Row] = []
    posts: PostDelay | None = None
    label = f"{store}/{topology}"
    servers = {"app": app, "bare": bare}
    # The worker's own CPU is left out of the idle test: on SQLite it polls every second (on
    # Postgres a 30 s tick), and those few ms would keep resetting the quiet period. The
    # outbox check (``drained``) says when its work is done instead.
    busy: list[Server | Worker] = [app, bare]
    quiet = 0.2 if args.smoke else 0.5
    emulator.reset()

    def worker_cpu() -> float:
        return worker.cpu_seconds() if worker is not None else math.nan

    for scenario in args.scenarios:
        for conc in args.concurrency:
            figures: dict[str, Figures] = {}
            for kind in ("app", "bare"):
                emulator.wait_quiet(busy, quiet=quiet, drained=drained)
                cpu0, db0, wrk0 = servers[kind].cpu_seconds(), db_cpu(), worker_cpu()
                run = drive(
                    servers[kind].port,
                    builder.maker(scenario),
                    requests=args.requests,
                    concurrency=conc,
                    seed=f"{args.seed}/{store}/{scenario}/{conc}",
                )
                # CPU until the run's post-ack work is done, the dispatcher's included
                # (embedded: in the serve processes; worker: in the worker process).
                if not emulator.wait_quiet(busy, quiet=quiet, drained=drained):
                    _say(f"{label}/{scenario}/c{conc}/{kind}: post-ack work still running")
                figures[kind] = Figures.of(
                    run,
                    servers[kind].cpu_seconds() - cpu0,
                    db_cpu() - db0,
                    worker_cpu() - wrk0 if kind == "app" else math.nan,
                )
                for sample in run.error_samples:
                    _say(f"{label}/{scenario}/c{conc}/{kind} error: {sample}")
            row = Row(store, topology, scenario, conc, figures["app"], figures["bare"])
            rows.append(row)
            wrk = "" if worker is None else f" + worker {row.app.worker_cpu_ms:.1f}"
            _say(
                f"{label:<17} {scenario:<7} c{conc:<3} app p50/p95/p99 "
                f"{row.app.p50:.1f}/{row.app.p95:.1f}/{row.app.p99:.1f} ms "
                f"cpu {row.app.cpu_ms:.1f}{wrk} ms/req err {row.app.errors}; bare "
                f"{row.bare.p50:.1f}/{row.bare.p95:.1f}/{row.bare.p99:.1f} ms cpu "
                f"{row.bare.cpu_ms:.1f} ms/req err {row.bare.errors}; load {_loadavg()}"
            )
    if args.post_requests > 0:
        emulator.wait_quiet(busy, quiet=quiet, drained=drained)
        posts = measure_posts(
            store,
            topology,
            app.port,
            builder,
            emulator,
            requests=args.post_requests,
            seed=f"{args.seed}/{store}/posts",
            # A separate worker on SQLite polls every second (no LISTEN/NOTIFY): submit at a
            # random phase of its poll, so the figure is the average wait, not one phase's.
            jitter=1.0 if worker is not None and store == "sqlite" else 0.0,
        )
        _say(
            f"{label:<17} submit -> post c1: p50 {posts.p50:.1f} ms, p95 {posts.p95:.1f} ms, "
            f"missing {posts.missing}; load {_loadavg()}"
        )
    emulator.wait_quiet(busy, quiet=quiet, drained=drained)
    return rows, posts


def _csv_ints(raw: str) -> list[int]:
    return [int(x) for x in raw.split(",") if x.strip()]


def _csv_words(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(raw: str) -> list[str]:
        words = [w.strip() for w in raw.split(",") if w.strip()]
        bad = [w for w in words if w not in allowed]
        if bad or not words:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}")
        return words

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.ack_latency",
        description="Ack latency (time to the HTTP response) of Decision Bot vs a bare Bolt "
        "app, over loopback, on SQLite and Postgres with N decisions stored.",
    )
    p.add_argument("--decisions", type=int, default=100_000, help="decisions to seed (100000)")
    p.add_argument(
        "--requests",
        type=int,
        default=DEFAULT_REQUESTS,
        help=f"measured requests per run, app and bare each ({DEFAULT_REQUESTS})",
    )
    p.add_argument(
        "--post-requests",
        type=int,
        default=200,
        help="submits timed to their channel post at concurrency 1, per store (200; 0: skip)",
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="tiny CI run: 2,000 decisions, 50 requests per run, 10 timed posts",
    )
    p.add_argument(
        "--stores", type=_csv_words(("sqlite", "postgres")), default=["sqlite", "postgres"]
    )
    p.add_argument("--scenarios", type=_csv_words(SCENARIOS), default=list(SCENARIOS))
    p.add_argument(
        "--dispatch",
        type=_csv_words(TOPOLOGIES),
        default=None,
        help="comma-separated topologies: embedded (serve's dispatcher in every gunicorn "
        "worker), worker (serve with DECISIONBOT_DISPATCHER=off + one `decisionbot worker` "
        "under nice -n 10). Default: embedded,worker (--smoke: embedded)",
    )
    p.add_argument(
        "--concurrency",
        type=_csv_ints,
        default=list(DEFAULT_CONCURRENCY),
        help="comma-separated (20); e.g. 1,20",
    )
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (2, as serve)")
    p.add_argument("--threads", type=int, default=8, help="threads per worker (8, as serve)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    # Internal entry points for the child processes.
    p.add_argument("--serve", choices=("app", "bare"), help=argparse.SUPPRESS)
    p.add_argument("--dispatcher", choices=("embedded", "off"), help=argparse.SUPPRESS)
    p.add_argument("--emulator", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--database-url", help=argparse.SUPPRESS)
    p.add_argument("--slack-api-url", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return p


def _raise_interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.emulator:
        return _emulator_main()
    if args.serve:
        return _serve_main(args)
    if args.smoke:
        args.decisions, args.requests, args.post_requests = 2_000, 50, 10
    if args.dispatch is None:
        args.dispatch = ["embedded"] if args.smoke else list(TOPOLOGIES)

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C and SIGTERM both unwind through the clean-up below (SIGINT explicitly: a
        # background job of a non-interactive shell starts with SIGINT ignored).
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, _raise_interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="ack-latency-"))
    load_at_start = _loadavg()
    version_at_start = _code_version()
    rows: list[Row] = []
    posts: list[PostDelay] = []
    stops: list[WorkerStop] = []
    started = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            emulator = Emulator()
            stack.callback(emulator.stop)
            for store in args.stores:
                store_rows, store_posts, store_stops = bench_store(store, args, emulator, workdir)
                rows += store_rows
                posts += store_posts
                stops += store_stops
    except KeyboardInterrupt:
        _say("interrupted; servers and temp dirs cleaned up")
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    targets = evaluate_targets(rows, posts, args.decisions)
    load_at_end = _loadavg()
    version = _code_version()
    if version != version_at_start:
        version = f"{version_at_start} at start, {version} at end"
    print()
    print(
        f"Ack latency: time to HTTP response over loopback, ms. {args.decisions:,} decisions, "
        f"{args.requests} measured requests per run, gunicorn gthread {args.workers}x"
        f"{args.threads}, {os.cpu_count()} CPUs, Python {platform.python_version()}. "
        f"app = decisionbot serve; topology embedded = its dispatcher in every gunicorn "
        f"worker, worker = serve with DECISIONBOT_DISPATCHER=off + one `decisionbot worker` "
        f"under nice -n {WORKER_NICE}; bare = Bolt app whose listeners only ack. cpu = serve "
        f"processes' CPU ms per request (warm-up included) until its post-ack work is done; "
        f"wrk = the worker process's CPU ms per request (worker topology); db = Postgres "
        f"cluster CPU ms per request. "
        f"App code at commit {version}. "
        f"Load average at start {load_at_start}, at end {load_at_end}."
    )
    print(format_table(rows))
    for name in dict.fromkeys(r.scenario for r in rows):
        print(f"  {name:<7} = {SCENARIO_LEGEND[name]}")
    if posts:
        print()
        print(format_posts(posts))
    if stops:
        print()
        for st in stops:
            print(
                f"{st.store}/worker: decisionbot worker on SIGTERM: exit {st.exit_code}"
                + ("" if math.isnan(st.stop_s) else f" in {st.stop_s:.1f} s")
                + f", {st.summary or 'no `worker stopped:` line'}"
                + ("" if st.ok else "  <-- NOT A CLEAN EXIT")
            )
    print()
    print(format_targets(targets))
    print(f"(total {time.perf_counter() - started:.0f} s)")
    if any(not st.ok for st in stops):
        _say("a decisionbot worker did not exit 0 on SIGTERM (see above)")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "decisions": args.decisions,
                    "requests": args.requests,
                    "post_requests": args.post_requests,
                    "workers": args.workers,
                    "threads": args.threads,
                    "cpus": os.cpu_count(),
                    "code": version,
                    "dispatch": args.dispatch,
                    "load_average": {"start": load_at_start, "end": load_at_end},
                    "rows": [
                        {
                            "store": r.store,
                            "topology": r.topology,
                            "scenario": r.scenario,
                            "concurrency": r.concurrency,
                            "app": asdict(r.app),
                            "bare": asdict(r.bare),
                            "ratio_p50": r.ratio_p50,
                            "ratio_p99": r.ratio_p99,
                        }
                        for r in rows
                    ],
                    "posts": [
                        {
                            "store": p.store,
                            "topology": p.topology,
                            "judged": p.judged,
                            "n": p.n,
                            "missing": p.missing,
                            "p50_ms": p.p50,
                            "p95_ms": p.p95,
                            "max_ms": p.max,
                        }
                        for p in posts
                    ],
                    "worker_stops": [asdict(st) | {"ok": st.ok} for st in stops],
                    "targets": targets,
                },
                indent=2,
            )
        )
    return 1 if any(not st.ok for st in stops) else 0


if __name__ == "__main__":
    sys.exit(main())
