"""A workspace's review schedule settings (`/adr settings`): the time zone, the hour reviews
are asked, the working days before a nudge and how many nudges. Unset: the defaults of
``WorkspaceSettings``."""

from __future__ import annotations

from sqlmodel import Session

from storage.models import WorkspaceSettings


def workspace_settings(session: Session, *, team_id: str) -> WorkspaceSettings:
    found = session.get(WorkspaceSettings, team_id)
    return found if found is not None else WorkspaceSettings(team_id=team_id)


def update_settings(
    session: Session, *, team_id: str, **values: str | int | None
) -> WorkspaceSettings:
    current = session.get(WorkspaceSettings, team_id)
    if current is None:
        current = WorkspaceSettings(team_id=team_id)
    for key, value in values.items():
        setattr(current, key, value)
    session.add(current)
    session.flush()
    return current
