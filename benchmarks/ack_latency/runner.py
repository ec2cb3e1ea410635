"""Orchestration: per store, a fresh database seeded, the servers (and the worker) started,
every scenario driven against app and bare, and the submit -> channel post delays timed."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import math
import os
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.ack_latency.config import HOST, WORKER_NICE
from benchmarks.ack_latency.report import Figures, PostDelay, Row, _loadavg, _say
from benchmarks.ack_latency.scenarios import Requests, drive
from benchmarks.ack_latency.seed import seed_decisions
from benchmarks.ack_latency.servers import Emulator, Server, Worker, WorkerStop, _proc_stat


def _open_store(
    store: str, workdir: Path, stack: contextlib.ExitStack
) -> tuple[str, str, int | None]:
    """A fresh, empty database for ``store``; returns (url, version string, postmaster pid)."""
    if store == "sqlite":
        import sqlite3

        return f"sqlite:///{workdir / 'bench.db'}", f"SQLite {sqlite3.sqlite_version}", None
    from tests.support.pg import PostgresServer, postgres_available

    if not postgres_available():
        raise RuntimeError("PostgreSQL server binaries are absent (install Debian's postgresql)")
    pg = PostgresServer().start()
    stack.callback(pg.stop)
    postmaster = None
    with contextlib.suppress(OSError, ValueError, IndexError, TypeError):
        postmaster = int((Path(pg.datadir) / "postmaster.pid").read_text().split()[0])
    return pg.url, f"PostgreSQL (tests.support.pg, {pg.bindir})", postmaster


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
    from tests.support.harness import sign

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
