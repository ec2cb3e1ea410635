"""Who a person is in a workspace: admin, owner, guest, or an outsider from another
organisation (Slack Connect), from the cached Slack user records (`slack_users`).

The cache is filled by one `users.list` read per workspace, kept fresh by `user_change` and
`team_join` events, and completed by a `users.info` lookup for anyone unknown (all in
``bot/core/people.py``). Until a person is known they count as a guest and not an admin: every rule
here errs on the side of showing and allowing less.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from storage import due_work
from storage.models import SettingsManager, SlackUser, utcnow


@dataclass(frozen=True)
class Person:
    """A person as this workspace sees them."""

    user_id: str
    known: bool = False
    admin: bool = False  # a workspace admin or owner of *this* organisation
    guest: bool = True  # a guest, an outsider, or not known yet
    outsider: bool = False  # from another organisation (Slack Connect)
    tz: str | None = None

    @classmethod
    def unknown(cls, user_id: str, *, outsider: bool = False) -> Person:
        return cls(user_id=user_id, outsider=outsider)


def is_outsider(home_team_id: str | None, *, team_id: str, enterprise_id: str | None) -> bool:
    """Someone whose own organisation is not this one. A user of another workspace of the same
    Enterprise Grid organisation is not an outsider."""
    if not home_team_id:
        return False
    return home_team_id not in {team_id, enterprise_id}


def person_from(
    row: SlackUser | None,
    user_id: str,
    *,
    team_id: str,
    enterprise_id: str | None = None,
    home_team_id: str | None = None,
) -> Person:
    """The rules in one place. ``home_team_id`` is what the request itself says about the
    person's organisation (`user.team_id` of an interaction), which wins over the cache."""
    home = home_team_id or (row.home_team_id if row else None)
    outsider = is_outsider(home, team_id=team_id, enterprise_id=enterprise_id)
    if row is None or row.deleted:
        return Person.unknown(user_id, outsider=outsider)
    guest = outsider or row.is_restricted or row.is_ultra_restricted
    return Person(
        user_id=user_id,
        known=True,
        admin=(row.is_admin or row.is_owner) and not guest and not row.is_bot,
        guest=guest,
        outsider=outsider,
        tz=row.tz,
    )


def cached_user(session: Session, *, team_id: str, user_id: str) -> SlackUser | None:
    return session.get(SlackUser, (team_id, user_id))


def get_person(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    enterprise_id: str | None = None,
    home_team_id: str | None = None,
) -> Person:
    row = cached_user(session, team_id=team_id, user_id=user_id)
    return person_from(
        row, user_id, team_id=team_id, enterprise_id=enterprise_id, home_team_id=home_team_id
    )


def is_workspace_admin(session: Session, *, team_id: str, user_id: str) -> bool:
    """An admin or owner of this workspace, per the cache (unknown: no)."""
    return get_person(session, team_id=team_id, user_id=user_id).admin


def _row_values(team_id: str, user: Mapping[str, object]) -> dict[str, object] | None:
    """A Slack user object (arbitrary JSON: only the fields read here matter) as a row."""
    user_id = str(user.get("id") or "")
    if not user_id or len(user_id) > 32:
        return None
    home = user.get("team_id")
    tz = user.get("tz")
    profile = user.get("profile")
    if not isinstance(profile, Mapping):
        profile = {}
    name = profile.get("display_name") or profile.get("real_name") or user.get("real_name")
    return {
        "team_id": team_id,
        "user_id": user_id,
        "home_team_id": str(home)[:32] if home else None,
        "is_admin": bool(user.get("is_admin")),
        "is_owner": bool(user.get("is_owner") or user.get("is_primary_owner")),
        "is_restricted": bool(user.get("is_restricted")),
        "is_ultra_restricted": bool(user.get("is_ultra_restricted")),
        "is_bot": bool(user.get("is_bot") or user.get("id") == "USLACKBOT"),
        "deleted": bool(user.get("deleted")),
        "tz": str(tz)[:64] if tz else None,
        "name": str(name)[:200] if name else None,
        "updated_at": utcnow(),
    }


def upsert_users(session: Session, *, team_id: str, users: Iterable[Mapping[str, object]]) -> int:
    """Store Slack user objects (from users.list, users.info, user_change, team_join); the
    newest wins. Returns how many were written."""
    rows = [v for v in (_row_values(team_id, u) for u in users) if v is not None]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    written = 0
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        stmt = insert(SlackUser).values(chunk)
        stmt = stmt.on_conflict_do_update(
            index_elements=["team_id", "user_id"],
            set_={
                name: getattr(stmt.excluded, name)
                for name in chunk[0]
                if name not in ("team_id", "user_id")
            },
        )
        session.execute(stmt)
        written += len(chunk)
    return written


# -- who may change /adr settings -------------------------------------------------------------


def settings_managers(session: Session, *, team_id: str) -> list[str]:
    """People an admin named as allowed to change the settings, in the order they were named."""
    return list(
        session.scalars(
            select(col(SettingsManager.user_id))
            .where(col(SettingsManager.team_id) == team_id)
            .order_by(col(SettingsManager.created_at), col(SettingsManager.user_id))
        )
    )


def may_change_settings(session: Session, *, team_id: str, person: Person) -> bool:
    """Workspace admins and owners, and people an admin named; never a guest or an outsider."""
    if person.guest:
        return False
    if person.admin:
        return True
    return session.get(SettingsManager, (team_id, person.user_id)) is not None


def name_settings_manager(session: Session, *, team_id: str, user_id: str, named_by: str) -> bool:
    """True if added (False: already named)."""
    if session.get(SettingsManager, (team_id, user_id)) is not None:
        return False
    session.add(SettingsManager(team_id=team_id, user_id=user_id, named_by=named_by))
    session.flush()
    return True


def drop_settings_manager(session: Session, *, team_id: str, user_id: str) -> bool:
    result = session.exec(
        delete(SettingsManager).where(
            col(SettingsManager.team_id) == team_id, col(SettingsManager.user_id) == user_id
        )
    )
    return bool(result.rowcount)


# -- outbox work: filling the cache ----------------------------------------------------------


class PeopleWork(StrEnum):
    SYNC = "people.sync"  # users.list, once per workspace
    LOOKUP = "people.lookup"  # users.info for one person the cache does not know


def schedule_sync(session: Session, *, team_id: str) -> bool:
    """Read the whole member list once per workspace (the key makes it once, ever; events keep
    the cache fresh afterwards)."""
    return due_work.schedule(
        session,
        team_id=team_id,
        kind=PeopleWork.SYNC,
        subject_id=0,
        key=str(PeopleWork.SYNC),
        due_at=utcnow(),
    )


def schedule_lookup(session: Session, *, team_id: str, user_id: str) -> None:
    """Look someone up after the ack (at most once an hour per person)."""
    due_work.schedule_coalesced(
        session,
        team_id=team_id,
        kind=PeopleWork.LOOKUP,
        subject_id=0,
        key=f"{PeopleWork.LOOKUP}:{user_id}",
        now=utcnow(),
        min_interval=timedelta(hours=1),
        payload={"user": user_id},
    )
