"""`decisionbot` commands: serve, socket, worker, migrate, run-due, import, export, and the
operator's installations, purge, rotate-key and new-key.

Configuration problems end the process with one line naming the variable and exit status 2.
``decisionbot`` alone prints its help (exit status 0, as ``--help`` does); ``--version`` prints
the installed package's version. The commands themselves are in ``bot.runtime.commands`` (the
process: serve, socket, worker, migrate, run-due) and ``bot.runtime.import_export`` (ADR files
in and out) and ``bot.runtime.installations_cli`` (workspaces, their data and their tokens).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from bot.runtime.commands import (
    _fail,
    cmd_migrate,
    cmd_run_due,
    cmd_serve,
    cmd_socket,
    cmd_worker,
)
from bot.runtime.config import ConfigError, Settings
from bot.runtime.import_export import cmd_export, cmd_import
from bot.runtime.installations_cli import (
    cmd_installations,
    cmd_new_key,
    cmd_purge,
    cmd_rotate_key,
)


def installed_version() -> str:
    """The version of the installed ``decisionbot`` package (its metadata, from pyproject.toml)."""
    try:
        return version("decisionbot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _at_least_one(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="decisionbot", description="Decision Bot for Slack")
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="serve HTTP (POST /slack/events, GET /healthz) with gunicorn"
    )
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=None, help="default: $PORT or 3000")
    serve.add_argument(
        "--workers", type=_at_least_one, default=None, help="default: $WEB_CONCURRENCY or 2"
    )
    serve.add_argument("--threads", type=_at_least_one, default=8)
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
    imp.add_argument(
        "--team",
        help="the workspace id (default: the bot token's workspace; required with "
        "SLACK_CLIENT_ID, where its installation's token is used)",
    )
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
    exp.add_argument(
        "--team",
        help="the workspace id (default: the bot token's workspace; required with SLACK_CLIENT_ID)",
    )
    sub.add_parser(
        "installations", help="list the workspaces that installed the app, and their state"
    )
    purge = sub.add_parser(
        "purge", help="say when a workspace's data is purged; --now purges it at once"
    )
    purge.add_argument("--team", required=True, help="the workspace id (T0123...)")
    purge.add_argument(
        "--now",
        action="store_true",
        help="purge now (only a workspace that has uninstalled the app, or never installed it)",
    )
    sub.add_parser(
        "rotate-key",
        help="re-encrypt every stored token under the newest DECISIONBOT_ENCRYPTION_KEY key",
    )
    sub.add_parser("new-key", help="print a fresh key for DECISIONBOT_ENCRYPTION_KEY")
    return parser


COMMANDS = {
    "serve": cmd_serve,
    "socket": cmd_socket,
    "worker": cmd_worker,
    "migrate": cmd_migrate,
    "run-due": cmd_run_due,
    "import": cmd_import,
    "export": cmd_export,
    "installations": cmd_installations,
    "purge": cmd_purge,
    "rotate-key": cmd_rotate_key,
}
# Commands that read no settings: `new-key` makes the key that complete settings need.
WITHOUT_SETTINGS = {"new-key": cmd_new_key}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:  # someone trying the command for the first time: say what it can do
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    if args.command in WITHOUT_SETTINGS:
        return WITHOUT_SETTINGS[args.command](args)
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
