"""One record per Submit: a modal's view id is remembered in the transaction that records
what it submitted, so pressing Submit again on the same modal records nothing twice."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from storage.models import ViewSubmission, utcnow


def first_submission(session: Session, *, team_id: str, view_id: str | None, kind: str) -> bool:
    """Remember this view id; False if a submission of it was already recorded.

    Call it first in the transaction that records the submission: if that transaction rolls
    back (a validation error, the database down), the view id is not remembered and the same
    modal can be submitted again. Concurrent submits of one view serialise on its key."""
    if not view_id:
        return True  # nothing to recognise a repeat by
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    result = session.execute(
        insert(ViewSubmission)
        .values(team_id=team_id, view_id=view_id[:64], kind=kind, created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(col(ViewSubmission.view_id))
    )
    return result.first() is not None
