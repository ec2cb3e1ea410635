"""The load: the signed requests Slack would send for each scenario, and the load generator
that sends them over keep-alive connections and times the responses."""

from __future__ import annotations

import http.client
import itertools
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from benchmarks.ack_latency.config import HOST, TEAM
from benchmarks.ack_latency.seed import Population
from benchmarks.ack_latency.vocabulary import (
    CONSEQUENCES,
    CONTEXT,
    DECISION,
    TAGS,
    TITLES,
    _search_terms,
    _text,
)

RequestMaker = Callable[[random.Random], tuple[str, str]]


@dataclass
class Requests:
    """Builds the bodies Slack would send (see tests/support/harness.py for the shapes)."""

    population: Population
    response_base: str
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _modal: dict[str, Any] | None = None

    def modal(self) -> dict[str, Any]:
        """The decision modal as ``/adr`` opens it (built once; Slack echoes it back)."""
        if self._modal is None:
            from bot.features.decisions.forms import FormMeta, build_decision_modal

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
        from tests.support.harness import fill_view

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
    from tests.support.harness import sign

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
