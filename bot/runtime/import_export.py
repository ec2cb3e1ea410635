"""`decisionbot import` and `decisionbot export`: ADR files in and out.

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
is quiet. The folder may come from anyone: a file over 1 MiB or with YAML aliases is a problem
of its own, and a symbolic link out of the folder a warning (`adr_files/folder.py`); the other
files are imported.
"""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from bot.core.payloads import SlackPayload
from bot.core.render import counted
from bot.runtime.commands import _fail, _open_database
from bot.runtime.config import ConfigError, Settings
from storage.reviews import BOT_ACTOR  # the history shows it as Decision Bot

if TYPE_CHECKING:  # imported where used: without a token, nothing of Slack's is loaded
    from slack_sdk import WebClient

    from storage.db import Database

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,30}$")
USERS_PAGE = 200


def _cli_token(settings: Settings, db: Database, team: str | None) -> str | None:
    """The bot token an operator command calls Slack with: SLACK_BOT_TOKEN (one workspace),
    or in distributed mode the installation of ``--team`` (required there)."""
    if not settings.distributed:
        if settings.slack_bot_token:
            settings.require_bot_token()
        return settings.slack_bot_token
    if not team:
        raise ConfigError(
            "--team is needed: SLACK_CLIENT_ID is set, so this deployment serves many "
            "workspaces; `decisionbot installations` lists them"
        )
    from storage import org_installs
    from storage.secrets import TokenCipher, UnreadableToken

    try:
        with db.read() as session:
            # Its own installation, or the org-wide one that serves it (Enterprise Grid).
            bot = org_installs.find_for_workspace(
                session, cipher=TokenCipher(settings.encryption_keys), team_id=team
            )
    except UnreadableToken:
        raise ConfigError(
            f"DECISIONBOT_ENCRYPTION_KEY: no key decrypts the token of {team}; add the key "
            "it was stored with"
        ) from None
    if bot is None:
        raise ConfigError(
            f"--team {team}: Decision Bot is not installed there; `decisionbot installations` "
            "lists the workspaces"
        )
    return bot.bot_token


def _cli_slack_client(
    settings: Settings, token: str | None, team: str | None = None
) -> WebClient | None:
    """A Web API client for operator commands (None without a token): it retries connection
    errors and 5xx, and waits out a 429's Retry-After. ``team``: the workspace every call names
    (an org-wide token needs it on users.list and conversations.list)."""
    if not token:
        return None
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )

    from bot.core.transport import PooledWebClient

    return PooledWebClient(
        token=token,
        team_id=team,
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


def _workspace(
    client: WebClient | None, args: argparse.Namespace, db: Database
) -> tuple[str, str | None, str]:
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
        if auth.get("is_enterprise_install") and args.team:
            team = args.team  # an org-wide token serves the org's workspaces: the one named
        if args.team and args.team != team:
            raise ConfigError(
                f"--team {args.team} is not the workspace of SLACK_BOT_TOKEN ({team}): use that "
                "workspace's token, or unset SLACK_BOT_TOKEN to work without Slack"
            )
        return team, auth.get("enterprise_id") or None, str(auth.get("user_id") or BOT_ACTOR)
    if args.team:
        return args.team, None, BOT_ACTOR
    from sqlalchemy import select
    from sqlmodel import col

    from storage.models import Decision

    with db.read() as session:
        query = select(col(Decision.team_id)).distinct().limit(5)
        teams = list(session.execute(query).scalars())
    if len(teams) != 1:
        held = f"holds {', '.join(teams)}" if teams else "holds no decisions"
        raise ConfigError(
            f"--team is needed: SLACK_BOT_TOKEN is not set (it would name the workspace) and "
            f"the database {held}"
        )
    return teams[0], None, BOT_ACTOR


def _channel(client: WebClient | None, given: str) -> tuple[str, bool, list[str]]:
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


def _slack_users(client: WebClient) -> list[SlackPayload]:
    users: list[SlackPayload] = []
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
    db = _open_database(settings, migrate_empty_sqlite=True)
    client = _cli_slack_client(
        settings, _cli_token(settings, db, args.team), args.team if settings.distributed else None
    )
    team, enterprise, actor = _workspace(client, args, db)
    channel, private, warnings = _channel(client, args.channel)
    users: list[SlackPayload] = []
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
        posts = counted(len(report.created), "post")
        print(f"{posts} scheduled: the worker posts them in {channel}")
    return 1 if report.problems else 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from storage.adr_export_files import export_to_dir

    db = _open_database(settings, migrate_empty_sqlite=True)
    client = _cli_slack_client(
        settings, _cli_token(settings, db, args.team), args.team if settings.distributed else None
    )
    team, _enterprise, _actor = _workspace(client, args, db)
    root = Path(args.dir)
    if root.exists() and not root.is_dir():
        return _fail(f"export: {args.dir} is not a folder")
    with db.read() as session:
        report = export_to_dir(session, team_id=team, root=root, fmt=args.format)
    for line in report.lines():
        print(line)
    return 0
