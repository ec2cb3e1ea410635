"""`decisionbot` commands: serve, socket, migrate, run-due.

Configuration problems end the process with one line naming the variable and exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from bot.config import ConfigError, Settings

log = logging.getLogger("decisionbot")


def _fail(message: str) -> int:
    print(f"decisionbot: {message}", file=sys.stderr)
    return 2


def _open_database(settings: Settings, *, migrate_empty_sqlite: bool) -> Any:
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import Database, current_revision, head_revision

    try:
        db = Database(settings.database_url)
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


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from storage.db import Database, current_revision

    db = Database(settings.database_url)
    try:
        db.migrate()
    except Exception as exc:  # noqa: BLE001 - one line for the operator
        return _fail(f"DATABASE_URL: migration failed: {str(exc).splitlines()[0][:300]}")
    print(f"database at revision {current_revision(db.engine)} ({db.dialect})")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    settings.require_http()
    db = _open_database(settings, migrate_empty_sqlite=True)
    from bot.app import create_app
    from bot.scheduler import start_scheduler
    from bot.server import serve
    from bot.web import create_wsgi_app

    wsgi = create_wsgi_app(create_app(settings, db), db)
    scheduler = start_scheduler(settings, db)
    try:
        serve(
            wsgi,
            host=args.host,
            port=args.port or settings.port,
            workers=args.workers,
            threads=args.threads,
            # Connections the master opened (migration check, scheduler) are not shared with
            # the forked workers: each worker drops the inherited pool and opens its own.
            post_fork=lambda: db.engine.dispose(close=False),
        )
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
    return 0


def cmd_socket(settings: Settings, _args: argparse.Namespace) -> int:
    settings.require_socket()
    db = _open_database(settings, migrate_empty_sqlite=True)
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import create_app
    from bot.scheduler import start_scheduler

    scheduler = start_scheduler(settings, db)
    try:
        SocketModeHandler(
            create_app(settings, db, socket_mode=True), settings.slack_app_token
        ).start()
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
    return 0


def cmd_run_due(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.scheduler import run_due_once

    settings.require_bot_token()
    now = datetime.now(UTC)
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            return _fail(
                f"--now must be an ISO 8601 time such as 2026-03-30T08:00:00Z, got {args.now!r}"
            )
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
    db = _open_database(settings, migrate_empty_sqlite=True)
    print(run_due_once(settings, db, now=now))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="decisionbot", description="Decision Bot for Slack")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="serve HTTP (POST /slack/events, GET /healthz) with gunicorn"
    )
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=None, help="default: $PORT or 3000")
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    serve.add_argument("--threads", type=int, default=8)
    sub.add_parser("socket", help="connect over Socket Mode (needs SLACK_APP_TOKEN)")
    sub.add_parser("migrate", help="upgrade the database schema to the newest version")
    run_due = sub.add_parser("run-due", help="do all scheduled work due now (or at --now) once")
    run_due.add_argument(
        "--now", help="ISO 8601 instant to treat as now, e.g. 2026-12-01T09:00:00Z"
    )
    return parser


COMMANDS = {
    "serve": cmd_serve,
    "socket": cmd_socket,
    "migrate": cmd_migrate,
    "run-due": cmd_run_due,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
        return COMMANDS[args.command](settings, args)
    except ConfigError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
