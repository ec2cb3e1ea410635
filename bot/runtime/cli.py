"""`decisionbot` commands: serve, socket, worker, migrate, run-due, import, export.

Configuration problems end the process with one line naming the variable and exit status 2.

`import` / `export` (ADR files, `storage/adr_import.py` and `storage/adr_export.py`) are
operator commands: they talk to Slack only to learn the workspace (`auth.test`), the channel
(`conversations.list` for a `#name`, `conversations.info` for its privacy) and the people (one
paged `users.list`, also stored in the user cache), with a client that waits out rate limits
(decided: an operator command may wait; no request is waiting on it). Without SLACK_BOT_TOKEN
an import still runs with `--team` (or the one workspace of the database) and a channel id:
names then match nobody and are kept as text, and the channel counts as private until the
decisions are posted. Nothing reaches Slack unless `--post`, which leaves the ordinary
`decision.post` outbox rows for the dispatcher. An import is one transaction (a savepoint per
file) that holds the workspace's ADR counter from its start: a `/adr` saved meanwhile waits for
it (about a second per 1,000 files; on Postgres at most the statement timeout, then it fails
and can be saved again), and on SQLite every write of the app waits. Import big folders when it
is quiet.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bot.runtime.config import ConfigError, Settings

log = logging.getLogger("decisionbot")


def _fail(message: str) -> int:
    print(f"decisionbot: {message}", file=sys.stderr)
    return 2


def _open_database(settings: Settings, *, migrate_empty_sqlite: bool) -> Any:
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


def database_limits(settings: Settings, **changes: Any) -> Any:
    """The connect/statement timeouts and pool bounds of ``settings``, for storage.db."""
    from storage.db import Limits

    limits = Limits(
        connect_timeout=settings.db_connect_timeout,
        statement_timeout=settings.db_statement_timeout,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        # its deliveries at once, the claim loop, and one to hand rows back
        dispatch_pool_size=settings.dispatch_concurrency + 2,
    )
    return replace(limits, **changes)


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from storage.db import Database, current_revision

    # A migration may rewrite a big table: no statement timeout for it.
    db = Database(settings.database_url, limits=database_limits(settings, statement_timeout=None))
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

    wsgi = create_wsgi_app(create_app(settings, db), db)
    running: list[Any] = []

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

        multiprocess.mark_process_dead(pid, metrics_dir)

    serve(
        wsgi,
        host=args.host,
        port=args.port or settings.port,
        workers=args.workers,
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


def _on_sigterm(stop: Any) -> None:
    """Run ``stop`` on SIGTERM or SIGINT (once), from the main thread."""
    import signal

    def handler(_signum: int, _frame: Any) -> None:
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def cmd_socket(settings: Settings, _args: argparse.Namespace) -> int:
    settings.require_socket()
    db = _open_database(settings, migrate_empty_sqlite=True)
    import threading

    from bot.app import create_app
    from bot.runtime.scheduler import start_engine
    from bot.runtime.server import SocketMode

    engine = start_engine(settings, db) if settings.dispatcher == "embedded" else None
    # apps.connections.open goes through the app's client, so to SLACK_API_URL.
    connection = SocketMode(create_app(settings, db, socket_mode=True), settings.slack_app_token)
    stopping = threading.Event()
    _on_sigterm(stopping.set)
    connection.connect()
    stopping.wait()
    connection.close()
    if engine is not None:
        engine.stop(settings.shutdown_grace_seconds)
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    settings.require_bot_token()
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
        # Work due by then would go out at once, with a real token: a typo in the year must
        # not send next month's reviews today.
        clock = datetime.now(UTC)
        if now - clock > timedelta(days=1) and not args.force:
            return _fail(
                f"--now {args.now} is more than a day ahead of the clock ({clock:%Y-%m-%dT%H:%MZ})"
                ": everything due by then would be sent now; add --force if that is what you want"
            )
    db = _open_database(settings, migrate_empty_sqlite=True)
    print(run_due_once(settings, db, now=now))
    return 0


# -- ADR files in and out -------------------------------------------------------------------

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,30}$")
USERS_PAGE = 200


def _cli_slack_client(settings: Settings) -> Any | None:
    """A Web API client for operator commands (None without a token): it retries connection
    errors and 5xx, and waits out a 429's Retry-After."""
    if not settings.slack_bot_token:
        return None
    settings.require_bot_token()
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )

    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=30,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=5),
        ],
    )


def _slack_failure(exc: Exception) -> str:
    from slack_sdk.errors import SlackApiError

    from bot.core.slack_api import slack_error

    return slack_error(exc) if isinstance(exc, SlackApiError) else type(exc).__name__


def _workspace(client: Any, args: argparse.Namespace, db: Any) -> tuple[str, str | None, str]:
    """(team id, enterprise id, the bot's user id) for an import or export: the bot token's
    workspace, checked against --team; without a token, --team or the database's only one."""
    if client is not None:
        try:
            auth = client.auth_test()
        except Exception as exc:  # noqa: BLE001 - one line for the operator
            raise ConfigError(
                f"SLACK_BOT_TOKEN: auth.test failed ({_slack_failure(exc)}); check the token "
                "and SLACK_API_URL, or unset SLACK_BOT_TOKEN and give --team"
            ) from None
        team = str(auth.get("team_id") or "")
        if args.team and args.team != team:
            raise ConfigError(
                f"--team {args.team} is not the workspace of SLACK_BOT_TOKEN ({team}): use that "
                "workspace's token, or unset SLACK_BOT_TOKEN to work without Slack"
            )
        return team, auth.get("enterprise_id") or None, str(auth.get("user_id") or "decisionbot")
    if args.team:
        return args.team, None, "decisionbot"
    from sqlalchemy import select

    from storage.models import Decision

    with db.read() as session:
        teams = list(session.execute(select(Decision.team_id).distinct().limit(5)).scalars())
    if len(teams) != 1:
        held = f"holds {', '.join(teams)}" if teams else "holds no decisions"
        raise ConfigError(
            f"--team is needed: SLACK_BOT_TOKEN is not set (it would name the workspace) and "
            f"the database {held}"
        )
    return teams[0], None, "decisionbot"


def _channel(client: Any, given: str) -> tuple[str, bool, list[str]]:
    """(channel id, private, warnings) for --channel: an id, or #name found by
    conversations.list (paged)."""
    warnings: list[str] = []
    if given.startswith("#"):
        if client is None:
            raise ConfigError(
                f"--channel {given}: finding a channel by name needs SLACK_BOT_TOKEN; "
                "give its id instead (C0123..., in the channel's details in Slack)"
            )
        wanted, cursor = given[1:].lower(), None
        try:
            while True:
                page = client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=200,
                    cursor=cursor,
                )
                for channel in page.get("channels") or []:
                    if str(channel.get("name", "")).lower() == wanted:
                        from storage.channels import ChannelFacts

                        return str(channel["id"]), bool(ChannelFacts.from_info(channel).private), []
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except Exception as exc:  # noqa: BLE001 - one line for the operator
            raise ConfigError(
                f"--channel {given}: conversations.list failed ({_slack_failure(exc)})"
            ) from None
        raise ConfigError(
            f"--channel {given}: no such channel the bot can see (a private channel needs the "
            "bot invited); give its id (C0123...) instead"
        )
    if not _CHANNEL_ID.match(given):
        raise ConfigError(f"--channel must be a channel id (C0123...) or #name, got {given!r}")
    if client is None:
        return given, True, ["no SLACK_BOT_TOKEN: the channel counts as private until posted"]
    from bot.core.slack_api import conversation_facts

    facts = conversation_facts(client, given)
    if facts is None:
        warnings.append(f"could not read {given} (conversations.info): it counts as private")
    return given, facts is None or bool(facts.private), warnings


def _slack_users(client: Any) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.users_list(limit=USERS_PAGE, cursor=cursor)
        users += page.get("members") or []
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return users


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from adr_files import parse
    from storage.adr_import import import_records
    from storage.adr_people import PeopleIndex
    from storage.people import upsert_users

    root = Path(args.dir)
    if not root.is_dir():
        return _fail(f"import: {args.dir} is not a folder")
    if args.owner and not re.fullmatch(r"[UW][A-Z0-9]{2,31}", args.owner):
        return _fail(f"import: --owner takes a Slack user id such as U0123ABCD, not {args.owner!r}")
    client = _cli_slack_client(settings)
    db = _open_database(settings, migrate_empty_sqlite=True)
    team, enterprise, actor = _workspace(client, args, db)
    channel, private, warnings = _channel(client, args.channel)
    users: list[dict[str, Any]] = []
    if client is None:
        warnings.append("no SLACK_BOT_TOKEN: names match nobody and are kept as text")
    else:
        try:
            users = _slack_users(client)
        except Exception as exc:  # noqa: BLE001 - the import goes on, names as text
            warnings.append(f"users.list failed ({_slack_failure(exc)}): names are kept as text")
    files, problems = parse.read_tree(root)
    not_a_record = parse.INDEX_OR_TEMPLATE
    # The folder's index (README.md) and templates are not records, and not problems either.
    skipped = [p for p in problems if p.reason == not_a_record]
    problems = [p for p in problems if p.reason != not_a_record]
    if users and not args.dry_run:
        with db.session() as session:
            upsert_users(session, team_id=team, users=users)
    with db.session() as session:
        report = import_records(
            session,
            team_id=team,
            enterprise_id=enterprise,
            channel_id=channel,
            channel_private=private,
            files=files,
            problems=problems,
            people=PeopleIndex(users),
            actor_id=args.owner or actor,
            dry_run=args.dry_run,
            post=args.post and not args.dry_run,
        )
    report.skipped = [(p.path, p.reason) for p in skipped]
    for line in warnings:
        print(f"warning: {line}")
    print(f"import into {team}, channel {channel} ({'private' if private else 'public'}):")
    for line in report.lines():
        print(line)
    if args.post and report.created and not args.dry_run:
        print(f"{len(report.created)} posts scheduled: the worker posts them in {channel}")
    return 1 if report.problems else 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from storage.adr_export import export_to_dir

    client = _cli_slack_client(settings)
    db = _open_database(settings, migrate_empty_sqlite=True)
    team, _enterprise, _actor = _workspace(client, args, db)
    root = Path(args.dir)
    if root.exists() and not root.is_dir():
        return _fail(f"export: {args.dir} is not a folder")
    with db.read() as session:
        report = export_to_dir(session, team_id=team, root=root, fmt=args.format)
    for line in report.lines():
        print(line)
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
    worker = sub.add_parser(
        "worker", help="deliver outbox work and run the scheduler, without serving HTTP"
    )
    worker.add_argument(
        "--metrics-port", type=int, default=None, help="serve GET /metrics on this port"
    )
    worker.add_argument("--metrics-host", default="0.0.0.0")
    sub.add_parser("migrate", help="upgrade the database schema to the newest version")
    run_due = sub.add_parser("run-due", help="do all scheduled work due now (or at --now) once")
    run_due.add_argument(
        "--now", help="ISO 8601 instant to treat as now, e.g. 2026-12-01T09:00:00Z"
    )
    run_due.add_argument(
        "--force",
        action="store_true",
        help="accept a --now more than a day ahead of the clock (sends that work now)",
    )
    imp = sub.add_parser(
        "import", help="import ADR files (adr-tools, MADR) from a folder as decisions"
    )
    imp.add_argument("dir", help="the folder of decision records (subfolders are read too)")
    imp.add_argument(
        "--channel", required=True, help="the channel they belong to: an id (C0123...) or #name"
    )
    imp.add_argument("--team", help="the workspace id (default: the bot token's workspace)")
    imp.add_argument("--dry-run", action="store_true", help="print what would be created")
    imp.add_argument(
        "--post", action="store_true", help="post each created decision in the channel"
    )
    imp.add_argument(
        "--owner",
        metavar="USER_ID",
        help="the Slack user (U0123...) who owns records whose decision makers match nobody: "
        "they may then edit them, set a review date, accept or supersede them "
        "(default: the bot, so only re-importing changes them)",
    )
    exp = sub.add_parser("export", help="write every decision as an ADR file, plus README.md")
    exp.add_argument("dir", help="the folder to write (created if missing)")
    exp.add_argument("--format", choices=("madr", "nygard"), default="madr")
    exp.add_argument("--team", help="the workspace id (default: the bot token's workspace)")
    return parser


COMMANDS = {
    "serve": cmd_serve,
    "socket": cmd_socket,
    "worker": cmd_worker,
    "migrate": cmd_migrate,
    "run-due": cmd_run_due,
    "import": cmd_import,
    "export": cmd_export,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bot.runtime.logs import configure_logging

    try:
        settings = Settings.from_env()
        configure_logging(fmt=settings.log_format, level=settings.log_level)
        return COMMANDS[args.command](settings, args)
    except ConfigError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
