"""Per-workspace human numbers (``ADR-7``, estimate ``E-3``, parking-lot ``P-12``), unique
per (team, kind) and allocated atomically in the database: one statement each, no lock held
across a round trip."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from storage.models import Counter


def next_number(session: Session, *, team_id: str, kind: str) -> int:
    """Allocate the next per-workspace number for ``kind`` atomically (one statement)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Counter)
        .values(team_id=team_id, kind=kind, value=1)
        .on_conflict_do_update(
            index_elements=["team_id", "kind"], set_={"value": col(Counter.value) + 1}
        )
        .returning(col(Counter.value))
    )
    return int(session.execute(stmt).scalar_one())


def advance_number(session: Session, *, team_id: str, kind: str, past: int) -> None:
    """Make sure the next ``next_number`` for ``kind`` is above ``past`` (a decision imported
    with its own number): the counter only ever moves forward, in one statement."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Counter).values(team_id=team_id, kind=kind, value=past)
    biggest = func.greatest if dialect == "postgresql" else func.max  # SQLite's max(a, b)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["team_id", "kind"],
            set_={"value": biggest(col(Counter.value), stmt.excluded.value)},
        )
    )


__all__ = ["advance_number", "next_number"]
