"""Token rotation (issue 24): a bot token that expires (``token_rotation_enabled``: every
12 hours, each refresh token good for one use) is refreshed before it does.

One refresh per token, however many processes run: ``refresh`` locks the installation row
(``SELECT ... FOR UPDATE``; on SQLite every writing transaction holds the write lock), looks
again whether the token still needs refreshing — another process may have refreshed it a
moment ago, and then nothing is done — and only then asks Slack, storing the new token, the
new refresh token and the new expiry before the lock goes. The old token keeps working until
its own expiry, so a process still holding it in its cache carries on meanwhile.

A refresh Slack refuses for good (``RefreshRefused``: the refresh token is dead, the app's
credentials changed) ends the installation exactly as an uninstall does
(``installations.uninstall``; an org-wide install's workspaces with it): tokens deleted,
deliveries cancelled, scheduled work paused, and the retention window starts. Decided: the
same as an uninstall, purge included, since nothing can be done for the workspace without a
token until someone installs the app again — and that reinstall resumes its paused work.

The Slack call is made under the lock: on Postgres it holds only that installation's row; on
SQLite the database's write lock, for at most the call's timeout (10 s), once per token per
9 hours.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlmodel import Session, col

from storage import due_work, installations, org_installs
from storage.installations import REFRESH_AHEAD, REFRESH_KIND
from storage.models import DueWork, Installation, InstallState, WorkState, utcnow
from storage.secrets import TokenCipher


@dataclass(frozen=True)
class TokenGrant:
    """What Slack answers a refresh with: a new token, its one-use refresh token, its expiry."""

    bot_token: str
    refresh_token: str
    expires_at: datetime


class RefreshRefused(Exception):
    """Slack refused the refresh for good (``invalid_refresh_token``, ``invalid_client_id``,
    ...): retrying cannot help, the workspace must install the app again."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class Refreshed(StrEnum):
    REFRESHED = "refreshed"  # a new token is stored
    FRESH = "fresh"  # nothing to do: not due (another process may have just refreshed it)
    NOT_INSTALLED = "not_installed"  # no active installation, or one without a refresh token
    REFUSED = "refused"  # refused for good: the workspace is paused as if it had left


def expiring(session: Session, *, now: datetime, within: timedelta = REFRESH_AHEAD) -> list[str]:
    """The active installations whose token expires within ``within`` of ``now`` (and can be
    refreshed), soonest first."""
    return list(
        session.scalars(
            select(col(Installation.team_id))
            .where(
                col(Installation.state) == InstallState.ACTIVE,
                col(Installation.bot_refresh_token).is_not(None),
                col(Installation.bot_token_expires_at) <= now + within,
            )
            .order_by(col(Installation.bot_token_expires_at))
        )
    )


def refresh(
    session: Session,
    *,
    cipher: TokenCipher,
    team_id: str,
    refresh: Callable[[str], TokenGrant],
    retention: timedelta,
    scheduled_kinds: Collection[str],
    stale_version: int | None = None,
    now: datetime | None = None,
    within: timedelta = REFRESH_AHEAD,
) -> Refreshed:
    """Refresh ``team_id``'s token if it expires within ``within`` — or, with
    ``stale_version``, if the stored token is still the one of that version (Slack said it had
    expired) — all under the installation row's lock. ``refresh`` is the Slack call: it gets
    the refresh token and returns the grant, raises ``RefreshRefused`` (the installation then
    ends as by ``installations.uninstall``, with ``retention`` and ``scheduled_kinds``), or
    raises anything else (the caller's transaction rolls back; nothing changed)."""
    now = now or utcnow()
    row = session.scalars(
        select(Installation).where(col(Installation.team_id) == team_id).with_for_update()
    ).one_or_none()
    if row is None or row.state != InstallState.ACTIVE or not row.bot_refresh_token:
        return Refreshed.NOT_INSTALLED
    due = row.bot_token_expires_at is not None and row.bot_token_expires_at <= now + within
    if not due and row.version != stale_version:
        return Refreshed.FRESH
    try:
        grant = refresh(cipher.decrypt(row.bot_refresh_token))
    except RefreshRefused:
        installations.uninstall(
            session, team_id=team_id, retention=retention, scheduled_kinds=scheduled_kinds, now=now
        )
        # An org-wide install (keyed by its enterprise id) takes its workspaces with it, as
        # when it is uninstalled (``bot.features.workspace.leaving``).
        org_installs.revoke_all(
            session,
            enterprise_id=team_id,
            retention=retention,
            scheduled_kinds=scheduled_kinds,
            now=now,
        )
        return Refreshed.REFUSED
    row.bot_token = cipher.encrypt(grant.bot_token)
    row.bot_refresh_token = cipher.encrypt(grant.refresh_token)
    row.bot_token_expires_at = grant.expires_at
    row.version += 1
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    installations.schedule_refresh(
        session, team_id=team_id, version=row.version, expires_at=grant.expires_at
    )
    return Refreshed.REFRESHED


def keep_planned(session: Session, *, team_id: str, not_before: datetime, after: int) -> bool:
    """After a refresh row found the token fresh: make sure a later one is planned for the
    active token (3 hours before it expires, but not before ``not_before``), unless one is
    pending already. A row claimed early (``run-due --now`` ahead of the clock) thus leaves
    the chain unbroken, and never plans one that the same sweep would claim again. True if
    one was added. ``after``: the row that found it fresh (the new row's key names it)."""
    row = session.get(Installation, team_id)
    if row is None or row.state != InstallState.ACTIVE or row.bot_token_expires_at is None:
        return False
    pending = session.scalars(
        select(col(DueWork.id)).where(
            col(DueWork.team_id) == team_id,
            col(DueWork.kind) == REFRESH_KIND,
            col(DueWork.state) == WorkState.PENDING,
        )
    ).first()
    if pending is not None:
        return False
    return due_work.schedule(
        session,
        team_id=team_id,
        kind=REFRESH_KIND,
        subject_id=0,
        key=f"refresh:v{row.version}:after:{after}",
        due_at=max(row.bot_token_expires_at - REFRESH_AHEAD, not_before),
    )
