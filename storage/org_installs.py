"""Org-wide installs (Enterprise Grid, ``is_enterprise_install``): one installation, keyed by
the org's enterprise id, serves every workspace of the org the app was added to.

Records stay scoped to the workspace they were made in, as with any install: an org install
only lends its token. ``org_workspaces`` says which workspaces it serves: a workspace is
recorded (active) by ``team_access_granted`` or its first request, and ``revoked`` by
``team_access_revoked`` (or by the org install leaving), which does to that one workspace what
an uninstall does (``installations.leave_work``): its pending deliveries cancelled, its
scheduled work paused, its purge planned. For the purge to find it, such a workspace gets an
``installations`` row of its own, uninstalled and without a token, until it is granted again.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from storage import installations
from storage.installations import InstalledBot, Left
from storage.models import Installation, InstallState, OrgWorkspace, utcnow
from storage.secrets import TokenCipher

REVOKED = "revoked"  # org_workspaces.state of a workspace the org install no longer serves


def is_org(bot: InstalledBot) -> bool:
    """An org-wide install: the only kind keyed by its enterprise id."""
    return bot.enterprise_id is not None and bot.team_id == bot.enterprise_id


def serving(session: Session, *, team_id: str) -> str | None:
    """The enterprise whose org install serves ``team_id`` (an active row), or None."""
    return session.scalars(
        select(col(OrgWorkspace.enterprise_id)).where(
            col(OrgWorkspace.team_id) == team_id,
            col(OrgWorkspace.state) == InstallState.ACTIVE,
        )
    ).one_or_none()


def find_for_workspace(
    session: Session, *, cipher: TokenCipher, team_id: str
) -> InstalledBot | None:
    """The installation whose token serves ``team_id``: its own; else, if an org install
    serves it (``org_workspaces``, active), the org's; else None."""
    own = installations.find(session, cipher=cipher, team_id=team_id)
    if own is not None:
        return own
    enterprise_id = serving(session, team_id=team_id)
    if enterprise_id is None or enterprise_id == team_id:
        return None
    org = installations.find(session, cipher=cipher, team_id=enterprise_id)
    return org if org is not None and is_org(org) else None


def _org_row(session: Session, enterprise_id: str) -> Installation | None:
    row = session.get(Installation, enterprise_id)
    if row is None or not row.is_enterprise_install or row.state != InstallState.ACTIVE:
        return None
    return row


def join(
    session: Session, *, team_id: str, enterprise_id: str, now: datetime | None = None
) -> bool:
    """A request from ``team_id``, a workspace of ``enterprise_id``, whose org install is
    active: record the workspace (active) the first time. True if the org install serves it.

    A workspace revoked since the org installed stays revoked (a late request changes
    nothing); one revoked before the org installed again (the org install had left) comes
    back, as with ``team_access_granted``."""
    now = now or utcnow()
    org = _org_row(session, enterprise_id)
    if org is None:
        return False
    known = session.get(OrgWorkspace, team_id)
    if known is None:
        try:
            with session.begin_nested():
                session.add(
                    OrgWorkspace(
                        team_id=team_id,
                        enterprise_id=enterprise_id,
                        state=InstallState.ACTIVE,
                        granted_at=now,
                    )
                )
        except IntegrityError:  # another request recorded it first
            known = session.get(OrgWorkspace, team_id, populate_existing=True)
        else:
            return True
    if known is None or known.enterprise_id != enterprise_id:
        return False
    if known.state == InstallState.ACTIVE:
        return True
    if known.revoked_at is not None and known.revoked_at < org.installed_at:
        grant(session, team_id=team_id, enterprise_id=enterprise_id, now=now)
        return True
    return False


def grant(
    session: Session, *, team_id: str, enterprise_id: str, now: datetime | None = None
) -> int:
    """``team_access_granted`` for ``team_id``: the org install serves it (again). Like a
    reinstall: its paused work pending again and its planned purge called off (the
    uninstalled row that carried the purge goes). Returns how many paused rows resumed."""
    now = now or utcnow()
    row = session.get(OrgWorkspace, team_id, with_for_update=True)
    if row is None:
        session.add(
            OrgWorkspace(
                team_id=team_id,
                enterprise_id=enterprise_id,
                state=InstallState.ACTIVE,
                granted_at=now,
            )
        )
    else:
        row.enterprise_id = enterprise_id
        row.state = InstallState.ACTIVE
        row.granted_at = now
        row.revoked_at = None
        session.add(row)
    left = session.get(Installation, team_id, with_for_update=True)
    if left is not None and left.state == InstallState.UNINSTALLED and left.bot_token is None:
        session.delete(left)
    session.flush()
    return installations._resume(session, team_id=team_id)  # noqa: SLF001 - the reinstall's


def revoke(
    session: Session,
    *,
    team_id: str,
    enterprise_id: str,
    retention: timedelta,
    scheduled_kinds: Collection[str],
    now: datetime | None = None,
) -> Left | None:
    """``team_access_revoked`` for ``team_id``: the org's token no longer serves it. Its work
    is left as an uninstall leaves it (``installations.leave_work``); the org's token and the
    org's other workspaces are untouched. None if the org install did not serve it (a
    repeated event changes nothing), or if the workspace has an installation of its own."""
    now = now or utcnow()
    row = session.get(OrgWorkspace, team_id, with_for_update=True)
    if row is not None and (row.state != InstallState.ACTIVE or row.enterprise_id != enterprise_id):
        return None
    own = session.get(Installation, team_id, with_for_update=True)
    if own is not None and own.state == InstallState.ACTIVE:
        return None
    if row is None:
        row = OrgWorkspace(team_id=team_id, enterprise_id=enterprise_id, granted_at=now)
    row.state = REVOKED
    row.revoked_at = now
    session.add(row)
    purge_after = now + retention
    if own is None:
        org = session.get(Installation, enterprise_id)
        own = Installation(
            team_id=team_id,
            enterprise_id=enterprise_id,
            app_id=org.app_id if org is not None else "",
            installed_at=row.granted_at,
            version=0,
        )
    own.state = InstallState.UNINSTALLED
    own.uninstalled_at = now
    own.purge_after = purge_after
    own.version += 1
    own.updated_at = now
    session.add(own)
    session.flush()
    return installations.leave_work(
        session, team_id=team_id, retention=retention, scheduled_kinds=scheduled_kinds, now=now
    )


def revoke_all(
    session: Session,
    *,
    enterprise_id: str,
    retention: timedelta,
    scheduled_kinds: Collection[str],
    now: datetime | None = None,
) -> dict[str, Left]:
    """The org install left (``app_uninstalled`` / ``tokens_revoked``): every workspace it
    served is revoked, as by ``team_access_revoked``."""
    now = now or utcnow()
    teams = session.scalars(
        select(col(OrgWorkspace.team_id))
        .where(
            col(OrgWorkspace.enterprise_id) == enterprise_id,
            col(OrgWorkspace.state) == InstallState.ACTIVE,
        )
        .order_by(col(OrgWorkspace.team_id))
    ).all()
    done: dict[str, Left] = {}
    for team_id in teams:
        left = revoke(
            session,
            team_id=team_id,
            enterprise_id=enterprise_id,
            retention=retention,
            scheduled_kinds=scheduled_kinds,
            now=now,
        )
        if left is not None:
            done[team_id] = left
    return done
