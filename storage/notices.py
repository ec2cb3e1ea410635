"""Notices: one DM with a ready sentence to one person, as an outbox row.

``schedule_dm`` is the one function that schedules such a DM, and the one place the DM
preference (`/adr dm off`) is read for it: a DM about what others did, or a question the bot
asks, is skipped for someone who turned DMs off; an answer to what the person did themselves
always reaches them. Features also use ``schedule_notice`` to tell a human that their work
failed for good (``WorkKind.on_failure``), in the transaction that marks the work failed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session

from storage import due_work, preferences
from storage.models import utcnow


class NoticeWork(StrEnum):
    DM = "notice.dm"
    CONFIRM = "notice.confirm"  # "Posted ADR-7 in #general": to whoever made it


# Slack's response_url takes answers for 30 minutes; past that, a confirmation goes by DM.
RESPONSE_URL_LIFETIME = timedelta(minutes=30)


class DmAbout(StrEnum):
    OWN_ACTION = "own_action"  # an answer to what the person did: always sent
    OTHERS = "others"  # what others did, or a question the bot asks: not with DMs off


def schedule_dm(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    text: str,
    key: str,
    subject_id: int,
    about: DmAbout,
) -> bool:
    """One DM with a ready sentence, once per ``key``; False if it was not scheduled (the
    person turned DMs off, or it was scheduled already)."""
    if about is DmAbout.OTHERS and preferences.dms_off(session, team_id=team_id, user_id=user_id):
        return False
    return due_work.schedule(
        session,
        team_id=team_id,
        kind=NoticeWork.DM,
        subject_id=subject_id,
        key=key,
        due_at=utcnow(),
        payload={"user": user_id, "text": text},
        lane=f"dm:{user_id}",
    )


def schedule_notice(session: Session, *, team_id: str, user_id: str, text: str) -> None:
    due_work.schedule(
        session,
        team_id=team_id,
        kind=NoticeWork.DM,
        subject_id=0,
        key=f"notice:{uuid.uuid4().hex}",
        due_at=utcnow(),
        payload={"user": user_id, "text": text},
        lane=f"dm:{user_id}",
    )


def schedule_confirmation(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    text: str,
    key: str,
    subject_id: int,
    response_url: str | None,
    asked_at: datetime | None,
) -> bool:
    """Tell the person who made something that it exists, with its number: privately where
    they asked (``response_url``, while it still takes answers), else by DM. An answer to
    their own action, so it goes whatever their DM preference."""
    fresh = (
        bool(response_url) and asked_at is not None and utcnow() - asked_at < RESPONSE_URL_LIFETIME
    )
    return due_work.schedule(
        session,
        team_id=team_id,
        kind=NoticeWork.CONFIRM,
        subject_id=subject_id,
        key=key,
        due_at=utcnow(),
        payload={"user": user_id, "text": text, "response_url": response_url if fresh else ""},
        lane=f"dm:{user_id}",
    )
