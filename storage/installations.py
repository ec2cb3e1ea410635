"""Installations (distributed mode): saved by the OAuth redirect, read to authorize requests
and to call Slack for a workspace, ended by ``app_uninstalled`` / ``tokens_revoked``.

Tokens are stored encrypted (``storage.secrets.TokenCipher``) and decrypted only here. A
workspace that leaves keeps its data for the retention window: its tokens are deleted at once,
its pending deliveries cancelled and its scheduled work paused; a reinstall within the window
resumes that work (what fell due meanwhile runs once), and after it the purge removes every
row it had (``storage.purge``).
"""

from __future__ import annotations

import secrets as _random
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlmodel import Session, col

from storage import due_work
from storage.models import DueWork, Installation, InstallState, OAuthState, WorkState, utcnow
from storage.purge import PurgeWork
from storage.secrets import TokenCipher

PURGE_KIND = PurgeWork.PURGE
STATE_LIFETIME = timedelta(minutes=10)
# Token rotation (issue 24): a token that expires is refreshed this long before it does, by an
# outbox row of REFRESH_KIND due then (``storage.token_refresh``).
REFRESH_KIND = "installation.refresh"
REFRESH_AHEAD = timedelta(hours=3)


@dataclass(frozen=True)
class InstalledBot:
    """What a request or a delivery needs of an active installation (the token decrypted)."""

    team_id: str
    enterprise_id: str | None
    app_id: str
    bot_id: str
    bot_user_id: str
    bot_token: str
    bot_scopes: tuple[str, ...]
    version: int


@dataclass(frozen=True)
class InstallationSummary:
    """A line of `decisionbot installations`: never a token."""

    team_id: str
    team_name: str | None
    enterprise_id: str | None
    installer_user_id: str
    installed_at: datetime
    state: str
    bot_scopes: tuple[str, ...]
    uninstalled_at: datetime | None
    purge_after: datetime | None
    bot_token_expires_at: datetime | None = None  # token rotation: None = no expiry


@dataclass(frozen=True)
class Left:
    """What an uninstall did: rows cancelled (deliveries), rows paused (scheduled work)."""

    cancelled: int
    paused: int
    purge_after: datetime


def _scopes(raw: str) -> tuple[str, ...]:
    return tuple(s for s in raw.split(",") if s)


def save(
    session: Session,
    *,
    cipher: TokenCipher,
    team_id: str,
    enterprise_id: str | None,
    team_name: str | None,
    app_id: str,
    bot_id: str,
    bot_user_id: str,
    bot_token: str,
    bot_scopes: Sequence[str],
    installer_user_id: str,
    bot_refresh_token: str | None = None,
    bot_token_expires_at: datetime | None = None,
    is_enterprise_install: bool = False,
    now: datetime | None = None,
) -> int:
    """Save (or renew) a workspace's installation — or, ``is_enterprise_install``, an
    org-wide one keyed by its enterprise id (``team_id`` is then the enterprise id); returns
    how many paused rows of a workspace that had left were resumed (0 for a first install)."""
    now = now or utcnow()
    row = session.scalars(
        select(Installation).where(col(Installation.team_id) == team_id).with_for_update()
    ).one_or_none()
    returning = row is not None and row.state == InstallState.UNINSTALLED
    if row is None:
        row = Installation(team_id=team_id, installed_at=now, version=0)
    row.enterprise_id = enterprise_id
    row.is_enterprise_install = is_enterprise_install
    row.team_name = team_name
    row.app_id = app_id
    row.bot_id = bot_id
    row.bot_user_id = bot_user_id
    row.bot_token = cipher.encrypt(bot_token)
    row.bot_refresh_token = cipher.encrypt(bot_refresh_token) if bot_refresh_token else None
    row.bot_token_expires_at = bot_token_expires_at
    row.bot_scopes = ",".join(bot_scopes)
    row.installer_user_id = installer_user_id
    row.state = InstallState.ACTIVE
    if returning:
        row.installed_at = now
    row.uninstalled_at = None
    row.purge_after = None
    row.version += 1
    row.updated_at = now
    session.add(row)
    session.flush()
    if bot_token_expires_at is not None:  # token rotation (issue 24)
        schedule_refresh(
            session, team_id=team_id, version=row.version, expires_at=bot_token_expires_at
        )
    return _resume(session, team_id=team_id) if returning else 0


def schedule_refresh(session: Session, *, team_id: str, version: int, expires_at: datetime) -> None:
    """Token rotation (issue 24): the refresh of this token, due ``REFRESH_AHEAD`` before it
    expires; one row per token version (the outbox claim makes it run once)."""
    due_work.schedule(
        session,
        team_id=team_id,
        kind=REFRESH_KIND,
        subject_id=0,
        key=f"refresh:v{version}",
        due_at=expires_at - REFRESH_AHEAD,
    )


def _resume(session: Session, *, team_id: str) -> int:
    """Back from leaving: paused work pending again as it was (what fell due meanwhile runs
    at the next claim, once), and the planned purge called off."""
    session.exec(
        update(DueWork)
        .where(
            col(DueWork.team_id) == team_id,
            col(DueWork.kind) == PURGE_KIND,
            col(DueWork.state) == WorkState.PENDING,
        )
        .values(state=WorkState.CANCELLED, updated_at=utcnow())
    )
    result = session.exec(
        update(DueWork)
        .where(col(DueWork.team_id) == team_id, col(DueWork.state) == WorkState.PAUSED)
        .values(state=WorkState.PENDING, updated_at=utcnow())
    )
    resumed = int(result.rowcount or 0)
    if resumed:
        due_work.mark_written(session)
    return resumed


def find(session: Session, *, cipher: TokenCipher, team_id: str) -> InstalledBot | None:
    """The active installation of ``team_id`` with its token, or None."""
    row = session.scalars(
        select(Installation).where(
            col(Installation.team_id) == team_id,
            col(Installation.state) == InstallState.ACTIVE,
        )
    ).one_or_none()
    if row is None or not row.bot_token:
        return None
    return InstalledBot(
        team_id=row.team_id,
        enterprise_id=row.enterprise_id,
        app_id=row.app_id,
        bot_id=row.bot_id,
        bot_user_id=row.bot_user_id,
        bot_token=cipher.decrypt(row.bot_token),
        bot_scopes=_scopes(row.bot_scopes),
        version=row.version,
    )


def is_active(session: Session, *, team_id: str) -> bool:
    return (
        session.scalars(
            select(func.count())
            .select_from(Installation)
            .where(
                col(Installation.team_id) == team_id,
                col(Installation.state) == InstallState.ACTIVE,
            )
        ).one()
        > 0
    )


def uninstall(
    session: Session,
    *,
    team_id: str,
    retention: timedelta,
    scheduled_kinds: Collection[str],
    now: datetime | None = None,
) -> Left | None:
    """``app_uninstalled`` / ``tokens_revoked``: delete the tokens at once, cancel the
    workspace's pending deliveries, pause its scheduled work (``scheduled_kinds``: reviews,
    digests, reminders) and plan the purge ``retention`` from now. None if it was not
    installed (or had already left: a repeated event changes nothing)."""
    now = now or utcnow()
    row = session.scalars(
        select(Installation).where(col(Installation.team_id) == team_id).with_for_update()
    ).one_or_none()
    if row is None or row.state != InstallState.ACTIVE:
        return None
    purge_after = now + retention
    row.bot_token = None
    row.bot_refresh_token = None
    row.bot_token_expires_at = None
    row.state = InstallState.UNINSTALLED
    row.uninstalled_at = now
    row.purge_after = purge_after
    row.version += 1
    row.updated_at = now
    session.add(row)
    return leave_work(
        session, team_id=team_id, retention=retention, scheduled_kinds=scheduled_kinds, now=now
    )


def leave_work(
    session: Session,
    *,
    team_id: str,
    retention: timedelta,
    scheduled_kinds: Collection[str],
    now: datetime,
) -> Left:
    """What leaving does to ONE workspace's work (``uninstall``, and an org-wide install's
    ``team_access_revoked`` for one workspace of the org: ``storage.org_installs``): pending
    deliveries cancelled, scheduled work paused, the purge planned ``retention`` from now."""
    purge_after = now + retention
    pending = (
        col(DueWork.team_id) == team_id,
        col(DueWork.state) == WorkState.PENDING,
        col(DueWork.kind) != PURGE_KIND,
    )
    paused = session.exec(
        update(DueWork)
        .where(*pending, col(DueWork.kind).in_(list(scheduled_kinds)))
        .values(state=WorkState.PAUSED, updated_at=now)
    ).rowcount
    cancelled = session.exec(
        update(DueWork)
        .where(*pending, col(DueWork.kind).not_in(list(scheduled_kinds)))
        .values(state=WorkState.CANCELLED, last_error="uninstalled", updated_at=now)
    ).rowcount
    due_work.schedule(
        session,
        team_id=team_id,
        kind=PURGE_KIND,
        subject_id=0,
        key=f"purge:{now.isoformat()}",
        due_at=purge_after,
    )
    session.flush()
    return Left(cancelled=int(cancelled or 0), paused=int(paused or 0), purge_after=purge_after)


def pause(session: Session, *, item_id: int, owner: str, team_id: str) -> bool:
    """A claimed row whose workspace has no installation: paused (its attempt refunded)
    until the workspace installs again; True if paused. If the workspace has installed again
    meanwhile, the row goes back to pending instead (False).

    The installation row is read under a lock: a reinstall (``save``, which locks it too and
    then resumes paused rows) either commits first, and the row is not paused, or waits for
    this pause, and then resumes it. A row is never left paused behind a reinstall."""
    installed = session.scalars(
        select(col(Installation.state))
        .where(col(Installation.team_id) == team_id)
        .with_for_update()
    ).one_or_none()
    active = installed == InstallState.ACTIVE
    result = session.exec(
        update(DueWork)
        .where(
            col(DueWork.id) == item_id,
            col(DueWork.state) == WorkState.CLAIMED,
            col(DueWork.lease_owner) == owner,
        )
        .values(
            state=WorkState.PENDING if active else WorkState.PAUSED,
            attempts=case((col(DueWork.attempts) > 0, col(DueWork.attempts) - 1), else_=0),
            lease_owner=None,
            lease_expires_at=None,
            updated_at=utcnow(),
        )
    )
    if active:
        due_work.mark_written(session)
    return bool(result.rowcount) and not active


def purge_due(session: Session, *, team_id: str, now: datetime) -> bool:
    """Whether ``team_id`` left and its retention window has passed (the purge may run)."""
    row = session.get(Installation, team_id)
    return (
        row is not None
        and row.state == InstallState.UNINSTALLED
        and row.purge_after is not None
        and row.purge_after <= now
    )


def summaries(session: Session) -> list[InstallationSummary]:
    rows = session.scalars(select(Installation).order_by(col(Installation.installed_at))).all()
    return [
        InstallationSummary(
            team_id=r.team_id,
            team_name=r.team_name,
            enterprise_id=r.enterprise_id,
            installer_user_id=r.installer_user_id,
            installed_at=r.installed_at,
            state=r.state,
            bot_scopes=_scopes(r.bot_scopes),
            uninstalled_at=r.uninstalled_at,
            purge_after=r.purge_after,
            bot_token_expires_at=r.bot_token_expires_at,
        )
        for r in rows
    ]


def rotate_tokens(session: Session, *, cipher: TokenCipher) -> int:
    """Every stored token re-encrypted under the newest key; returns how many rows changed."""
    changed = 0
    for row in session.scalars(select(Installation).with_for_update()).all():
        if row.bot_token is None and row.bot_refresh_token is None:
            continue
        if row.bot_token is not None:
            row.bot_token = cipher.rotate(row.bot_token)
        if row.bot_refresh_token is not None:
            row.bot_refresh_token = cipher.rotate(row.bot_refresh_token)
        row.version += 1
        row.updated_at = utcnow()
        session.add(row)
        changed += 1
    return changed


# -- OAuth states ----------------------------------------------------------------------------


def issue_state(session: Session, *, now: datetime | None = None) -> str:
    """A new one-time state, valid for 10 minutes (expired ones are cleared on the way)."""
    now = now or utcnow()
    session.execute(delete(OAuthState).where(col(OAuthState.expires_at) < now))
    state = _random.token_urlsafe(32)
    session.add(OAuthState(state=state, expires_at=now + STATE_LIFETIME, created_at=now))
    session.flush()
    return state


def consume_state(session: Session, *, state: str, now: datetime | None = None) -> bool:
    """True once for a state issued within 10 minutes; False if unknown, used or expired."""
    now = now or utcnow()
    if not state or len(state) > 64:
        return False
    row = session.get(OAuthState, state, with_for_update=True)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return row.expires_at > now
