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
    session: Session,
    *,
    team_id: str,
    viewer: Viewer,
    number: int | None,
    fmt: str,
    trigger_id: str,
) -> bool:
    """One row per request, keyed by its trigger id (unique to one invocation): asking twice
    sends twice, the same signed request replayed sends once. The row carries who asked and
    from where, so the files hold exactly what `/adr list` would show that person there.
    False if this request had scheduled it already."""
    # Outbox rows are kept, so the key recognises a replay for as long as Slack accepts one.
    request = trigger_id[:100] if trigger_id else uuid.uuid4().hex
    return due_work.schedule(
        session,
        team_id=team_id,
        kind=ExportWork.SEND,
        subject_id=number or 0,
        key=f"export:{request}",
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
