"""A workspace's review schedule settings (`/adr settings`): the time zone, the hour reviews
are asked, the working days before a nudge and how many nudges. Unset: the defaults of
``WorkspaceSettings``."""

from __future__ import annotations

from sqlmodel import Session

from storage.db import Database
from storage.expiring import Expiring
from storage.models import WorkspaceSettings


def workspace_settings(session: Session, *, team_id: str) -> WorkspaceSettings:
    found = session.get(WorkspaceSettings, team_id)
    return found if found is not None else WorkspaceSettings(team_id=team_id)


def update_settings(
    session: Session, *, team_id: str, **values: str | int | None
) -> WorkspaceSettings:
    _cached.forget_where(lambda key: key[1] == team_id)
    current = session.get(WorkspaceSettings, team_id)
    if current is None:
        current = WorkspaceSettings(team_id=team_id)
    for key, value in values.items():
        setattr(current, key, value)
    session.add(current)
    session.flush()
    return current


# A workspace's settings are read by every decision's post (its review hour and zone) and change
# only through `/adr settings`: kept per process for SETTINGS_TTL seconds. This process's own
# change is seen at once (update_settings forgets the entry); another process's within the TTL.
SETTINGS_TTL = 30.0
_cached: Expiring[tuple[str, str], WorkspaceSettings] = Expiring(SETTINGS_TTL)


def cached_settings(db: Database, *, team_id: str) -> WorkspaceSettings:
    """The workspace's settings as of at most SETTINGS_TTL seconds ago: a detached copy, to
    read only."""

    def load() -> WorkspaceSettings:
        with db.read() as session:
            found = workspace_settings(session, team_id=team_id)
            return WorkspaceSettings.model_validate(found.model_dump())

    return _cached.get((db.url, team_id), load)


def forget_cached() -> None:
    """Every cached workspace's settings (tests that empty the database between them)."""
    _cached.forget()
