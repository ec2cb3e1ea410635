"""Outbox rows for `/adr export`: the files are built and shared by the dispatcher, after the
ack, into the asker's DM with the bot (files can't be ephemeral)."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlmodel import Session

from storage import due_work
from storage.decision_work import dm_lane
from storage.models import utcnow
from storage.visibility import Viewer


class ExportWork(StrEnum):
    SEND = "adr.export"


def schedule_export(
    session: Session, *, team_id: str, viewer: Viewer, number: int | None, fmt: str
) -> None:
    """One row per request (asking twice sends twice); it carries who asked and from where,
    so the files hold exactly what `/adr list` would show that person there."""
    due_work.schedule(
        session,
        team_id=team_id,
        kind=ExportWork.SEND,
        subject_id=number or 0,
        key=f"export:{uuid.uuid4().hex}",
        due_at=utcnow(),
        payload={
            "user": viewer.user_id,
            "channel": viewer.channel_id or "",
            "guest": viewer.guest,
            "number": number,
            "format": fmt,
        },
        lane=dm_lane(viewer.user_id),
    )
