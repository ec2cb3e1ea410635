"""The process commands of `decisionbot` (serve, socket, worker, migrate, run-due) and what
every command shares: opening the database, and one line on stderr for what went wrong.

Configuration problems end the process with one line naming the variable and exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from types import FrameType
from typing import TYPE_CHECKING

from bot.runtime.config import ConfigError, Settings
from storage.models import utcnow

if TYPE_CHECKING:  # imported where used: a command loads only what it needs
    from bot.runtime.scheduler import Engine
    from storage.db import Database, Limits

log = logging.getLogger("decisionbot")


def _fail(message: str) -> int:
    print(f"decisionbot: {message}", file=sys.stderr)
    return 2


def _open_database(settings: Settings, *, migrate_empty_sqlite: bool) -> Database:
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import Database, current_revision, head_revision

    try:
        db = Database(settings.database_url, limits=database_limits(settings))
        revision = current_revision(db.engine)
    except (SQLAlchemyError, OSError) as exc:
        raise ConfigError(
            f"DATABASE_URL: cannot connect to the database ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200]}); check the URL and that the server is running"
        ) from None
    if revision != head_revision():
        if db.dialect == "sqlite" and migrate_empty_sqlite:
            db.migrate()
        else:
            raise ConfigError(
                "DATABASE_URL: the database schema is not up to date "
                f"(at {revision or 'nothing'}, need {head_revision()}); run `decisionbot migrate` first"
            )
    return db


def database_limits(settings: Settings) -> Limits:
    """The connect/statement timeouts and pool bounds of ``settings``, for storage.db."""
    from storage.db import Limits

    return Limits(
        connect_timeout=settings.db_connect_timeout,
        statement_timeout=settings.db_statement_timeout,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        # its deliveries at once, the claim loop, and one to hand rows back
        dispatch_pool_size=settings.dispatch_concurrency + 2,
    )


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from storage.db import Database, current_revision

    # A migration may rewrite a big table: no statement timeout for it.
    limits = replace(database_limits(settings), statement_timeout=None)
    db = Database(settings.database_url, limits=limits)
    try:
        db.migrate()
    except Exception as exc:  # noqa: BLE001 - one line for the operator
        return _fail(f"DATABASE_URL: migration failed: {str(exc).splitlines()[0][:300]}")
    print(f"database at revision {current_revision(db.engine)} ({db.dialect})")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    settings.require_http()
    # Counters from every gunicorn worker are summed at /metrics: prometheus_client reads
    # this before its first import.
    metrics_dir = _multiprocess_metrics_dir()
    db = _open_database(settings, migrate_empty_sqlite=True)
    from bot.app import create_app
    from bot.runtime.server import serve
    from bot.runtime.web import create_wsgi_app

    wsgi = create_wsgi_app(create_app(settings, db), db, retention_days=settings.retention_days)
    running: list[Engine] = []

    def start_worker() -> None:
        # In each gunicorn worker: connections the master opened (migration check) are not
        # shared; then its own dispatcher, unless a separate `decisionbot worker` runs.
        db.engine.dispose(close=False)
        if settings.dispatcher == "embedded":
            from bot.runtime.scheduler import start_engine

            running.append(start_engine(settings, db))

    def stop_worker() -> None:
        for engine in running:
            engine.stop(settings.shutdown_grace_seconds)

    def worker_ended(pid: int) -> None:
        from prometheus_client import multiprocess

        # Unannotated in prometheus_client: (pid, path=None).
        mark_dead: Callable[[int, str], None] = multiprocess.mark_process_dead
        mark_dead(pid, metrics_dir)

    serve(
        wsgi,
        host=args.host,
        port=args.port or settings.port,
        workers=args.workers or settings.web_concurrency,
        threads=args.threads,
        post_fork=start_worker,
        worker_exit=stop_worker,
        child_exit=worker_ended,
        graceful_timeout=settings.shutdown_grace_seconds + 5,
    )
    return 0


def _multiprocess_metrics_dir() -> str:
    import tempfile

    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = tempfile.mkdtemp(prefix="decisionbot-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def _on_sigterm(stop: Callable[[], object]) -> None:
    """Run ``stop`` on SIGTERM or SIGINT (once), from the main thread."""
    import signal

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def cmd_socket(settings: Settings, _args: argparse.Namespace) -> int:
    app_token = settings.require_socket()
    db = _open_database(settings, migrate_empty_sqlite=True)
    import threading

    from bot.app import create_app
    from bot.runtime.scheduler import start_engine
    from bot.runtime.server import SocketMode

    engine = start_engine(settings, db) if settings.dispatcher == "embedded" else None
    # apps.connections.open goes through the app's client, so to SLACK_API_URL.
    connection = SocketMode(create_app(settings, db, socket_mode=True), app_token)
    stopping = threading.Event()
    _on_sigterm(stopping.set)
    connection.connect()
    stopping.wait()
    connection.close()
    if engine is not None:
        engine.stop(settings.shutdown_grace_seconds)
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    settings.require_slack()
    db = _open_database(settings, migrate_empty_sqlite=True)
    import threading

    from bot.runtime.scheduler import start_engine

    stopping = threading.Event()
    _on_sigterm(stopping.set)
    if args.metrics_port:
        from prometheus_client import start_http_server

        from bot.core.metrics import scrape_registry

        start_http_server(args.metrics_port, addr=args.metrics_host, registry=scrape_registry(db))
    engine = start_engine(settings, db, worker=True)
    log.info(
        "worker %s delivering outbox work (%s, %d at once)",
        engine.dispatcher.owner,
        "LISTEN/NOTIFY" if db.dialect == "postgresql" else "polling every second",
        settings.dispatch_concurrency,
    )
    stopping.wait()
    log.info("worker: stopping (grace %d s)", settings.shutdown_grace_seconds)
    engine.stop(settings.shutdown_grace_seconds)
    result = engine.dispatcher.result
    log.info(
        "worker stopped: claimed %d, sent %d, retried %d, failed %d, deferred %d, released %d",
        result.claimed,
        result.sent,
        result.retried,
        result.failed,
        result.deferred,
        result.released,
    )
    return 0


def cmd_run_due(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from bot.runtime.scheduler import run_due_once

    settings.require_slack()
    now = utcnow()
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            return _fail(
                f"--now must be an ISO 8601 time such as 2026-03-30T08:00:00Z, got {args.now!r}"
            )
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        # Work due by then would go out at once, with a real token: a typo in the year must
        # not send next month's reviews today.
        clock = utcnow()
        if now - clock > timedelta(days=1) and not args.force:
            return _fail(
                f"--now {args.now} is more than a day ahead of the clock ({clock:%Y-%m-%dT%H:%MZ})"
                ": everything due by then would be sent now; add --force if that is what you want"
            )
    db = _open_database(settings, migrate_empty_sqlite=True)
    print(run_due_once(settings, db, now=now))
    return 0
