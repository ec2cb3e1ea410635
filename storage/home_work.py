"""App Home publishing as outbox work: one live row per person (coalesced)."""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Session

from storage import due_work
from storage.models import utcnow


class HomeWork(StrEnum):
    PUBLISH = "home.publish"


def schedule_home(session: Session, *, team_id: str, user_id: str) -> None:
    due_work.schedule_coalesced(
        session,
        team_id=team_id,
        kind=HomeWork.PUBLISH,
        subject_id=0,
        key=f"{HomeWork.PUBLISH}:{user_id}",
        now=utcnow(),
        payload={"user": user_id},
        lane=f"home:{user_id}",
    )
