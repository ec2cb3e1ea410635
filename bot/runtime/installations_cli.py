"""`decisionbot installations`, `purge`, `rotate-key` and `new-key`: the operator's view of the
workspaces that installed the app (distributed mode), their data and their tokens.

- `installations` lists every workspace: who installed it and when, its scopes and its state
  (an active one with when its token expires, "no expiry" without token rotation; an
  uninstalled one with the date its data is purged). Never a token.
- `purge --team T` says what would be purged and when; `--now` purges at once. Decided: an
  installed workspace is refused ("uninstall the app from the workspace first"), since its data
  would come back half-made with its next request; a workspace with no installation at all
  (single-workspace mode, or rows left by an old one) is purged as asked. A purge that finds
  the workspace installed again midway stops (``storage.purge.purge_team``).
- `rotate-key` re-encrypts every stored token under the newest DECISIONBOT_ENCRYPTION_KEY key.
  A token no configured key can decrypt stops it with the team named, and nothing changed.
- `new-key` prints a fresh key; it reads no settings, so it works before they are complete.

Errors an operator can fix are one line (``ConfigError``, exit status 2).
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.render import counted
from bot.runtime.commands import _open_database
from bot.runtime.config import ConfigError, Settings

if TYPE_CHECKING:
    from storage.db import Database
    from storage.installations import InstallationSummary
    from storage.secrets import TokenCipher

COLUMNS = ("TEAM", "NAME", "INSTALLED BY", "INSTALLED (UTC)", "STATE", "SCOPES")


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at else "-"


def _day(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d") if at else "-"


def _state(row: InstallationSummary) -> str:
    from storage.models import InstallState

    if row.state == InstallState.ACTIVE:  # token rotation (issue 24): when the token expires
        expiry = row.bot_token_expires_at
        return f"{row.state}; " + (
            f"token expires {_when(expiry)} UTC" if expiry is not None else "no expiry"
        )
    if row.state != InstallState.UNINSTALLED:
        return row.state
    return f"uninstalled {_day(row.uninstalled_at)}, purge {_day(row.purge_after)}"


def installation_lines(rows: list[InstallationSummary]) -> list[str]:
    """The table `decisionbot installations` prints: aligned columns, a header first."""
    table = [COLUMNS] + [
        (
            r.team_id,
            r.team_name or "-",
            r.installer_user_id or "-",
            _when(r.installed_at),
            _state(r),
            ",".join(r.bot_scopes) or "-",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS) - 1)]
    return [
        "  ".join([*(cell.ljust(w) for cell, w in zip(line, widths, strict=False)), line[-1]])
        for line in table
    ]


def cmd_installations(settings: Settings, _args: argparse.Namespace) -> int:
    from storage import installations
    from storage.models import InstallState

    db = _open_database(settings, migrate_empty_sqlite=True)
    with db.read() as session:
        rows = installations.summaries(session)
    if not rows:
        if settings.distributed:
            print("no workspace has installed the app yet")
        else:
            print(
                "no installations: single-workspace mode (SLACK_BOT_TOKEN) serves one workspace "
                "and records none"
            )
        return 0
    for line in installation_lines(rows):
        print(line)
    active = sum(r.state == InstallState.ACTIVE for r in rows)
    print(f"{counted(len(rows), 'workspace')}: {active} active, {len(rows) - active} uninstalled")
    return 0


def _rows(counts: dict[str, int]) -> str:
    return f"{counted(sum(counts.values()), 'row')} in {counted(len(counts), 'table')}"


def _by_table(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    from storage import purge
    from storage.models import Installation, InstallState

    team_id: str = args.team
    db = _open_database(settings, migrate_empty_sqlite=True)
    with db.read() as session:
        found = session.get(Installation, team_id)
        counts = purge.team_rows(session, team_id=team_id)
    if found is None and not counts:
        raise ConfigError(
            f"--team {team_id}: nothing is stored for that workspace "
            "(`decisionbot installations` lists them)"
        )
    if found is not None and found.state == InstallState.ACTIVE:
        if args.now:
            raise ConfigError(
                f"{team_id} is still installed; uninstall the app from the workspace first "
                f"(its data is then purged {counted(settings.retention_days, 'day')} later, "
                "or at once with --now)"
            )
        print(
            f"{team_id} is installed: nothing is planned; its {_rows(counts)} are purged "
            f"{counted(settings.retention_days, 'day')} after it uninstalls the app "
            f"(DECISIONBOT_RETENTION_DAYS) ({_by_table(counts)})"
        )
        return 0
    if not args.now:
        if found is not None:
            when = f"on {_when(found.purge_after)} UTC by the scheduled purge"
        else:
            when = "never by itself: it has no installation"
        print(
            f"{team_id}: {_rows(counts)} would be purged {when}; "
            f"`decisionbot purge --team {team_id} --now` purges them at once ({_by_table(counts)})"
        )
        return 0
    deleted = purge.purge_team(db, team_id=team_id)
    if _reinstalled(db, team_id):
        raise ConfigError(
            f"{team_id} installed the app again while being purged: stopped after "
            f"{counted(deleted, 'row')}"
        )
    print(f"purged {team_id}: {counted(deleted, 'row')} deleted ({_by_table(counts)})")
    return 0


def _reinstalled(db: Database, team_id: str) -> bool:
    from storage import installations

    with db.read() as session:
        return installations.is_active(session, team_id=team_id)


def cmd_rotate_key(settings: Settings, _args: argparse.Namespace) -> int:
    from storage import installations
    from storage.secrets import TokenCipher, UnreadableToken

    if not settings.encryption_keys:
        raise ConfigError(
            "DECISIONBOT_ENCRYPTION_KEY is not set: put the new key first and the old ones "
            "after it, comma-separated (`decisionbot new-key` makes one), then run rotate-key"
        )
    cipher = TokenCipher(settings.encryption_keys)
    db = _open_database(settings, migrate_empty_sqlite=True)
    try:
        with db.session() as session:
            changed = installations.rotate_tokens(session, cipher=cipher)
    except UnreadableToken:
        teams = ", ".join(_unreadable(db, cipher)) or "a workspace"
        raise ConfigError(
            f"DECISIONBOT_ENCRYPTION_KEY: no key decrypts the token of {teams}; add the key "
            "it was encrypted with (after the newest) and run rotate-key again (nothing was "
            "changed)"
        ) from None
    print(
        f"re-encrypted the tokens of {counted(changed, 'workspace')} under the newest key; "
        "the older keys may now be removed from DECISIONBOT_ENCRYPTION_KEY"
    )
    return 0


def _unreadable(db: Database, cipher: TokenCipher) -> list[str]:
    """The teams whose stored tokens no configured key decrypts."""
    from sqlalchemy import select

    from storage.models import Installation
    from storage.secrets import UnreadableToken

    bad: list[str] = []
    with db.read() as session:
        for row in session.scalars(select(Installation).order_by(Installation.team_id)):
            for token in (row.bot_token, row.bot_refresh_token):
                try:
                    if token is not None:
                        cipher.decrypt(token)
                except UnreadableToken:
                    bad.append(row.team_id)
                    break
    return bad


def cmd_new_key(_args: argparse.Namespace) -> int:
    """A fresh key on stdout alone, so ``KEY=$(decisionbot new-key)`` works."""
    from storage.secrets import new_key

    print(new_key())
    return 0
