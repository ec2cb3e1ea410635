"""Per-person choices (`user_preferences`): for now, whether the bot may DM someone.

`/adr dm off` stops the DMs nobody asked for at that moment: review questions and their
reminders, and "you are informed of ADR-n". Answers to what a person did themselves (ephemeral
replies, a notice that their own post failed) still reach them. The rule is checked twice:
when the DMs are scheduled (so the author can be told who won't be asked) and again when one
is about to be sent (someone may have turned DMs off in between).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import Session, col

from storage.models import UserPreference, utcnow


def dms_off(session: Session, *, team_id: str, user_id: str) -> bool:
    """Whether this person turned the bot's DMs off (nobody has, by default)."""
    row = session.get(UserPreference, (team_id, user_id))
    return bool(row is not None and row.dms_off)


def set_dms_off(session: Session, *, team_id: str, user_id: str, off: bool) -> bool:
    """Turn this person's DMs off (or back on). True if that changed anything."""
    row = session.get(UserPreference, (team_id, user_id))
    if row is None:
        if not off:
            return False
        row = UserPreference(team_id=team_id, user_id=user_id)
    elif row.dms_off == off:
        return False
    row.dms_off = off
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return True


def muted(session: Session, *, team_id: str, user_ids: Iterable[str]) -> set[str]:
    """Which of these people turned the bot's DMs off (one query)."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(col(UserPreference.user_id)).where(
                col(UserPreference.team_id) == team_id,
                col(UserPreference.user_id).in_(wanted),
                col(UserPreference.dms_off).is_(True),
            )
        )
    )
