"""Notices: one DM with a ready sentence to one person, as an outbox row.

Features use it to tell a human that their work failed for good (``WorkKind.on_failure``):
the notice is written in the transaction that marks the work failed.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlmodel import Session

from storage import due_work
from storage.models import utcnow


class NoticeWork(StrEnum):
    DM = "notice.dm"


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
