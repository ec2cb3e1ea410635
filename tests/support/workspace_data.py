"""A workspace with rows in every table that has a ``team_id``, for the purge tests.

Decisions (with their members, events and counter), an installation, an event mark and an
outbox row are made through the storage functions; then every table with a ``team_id`` that
the model metadata lists is topped up with plain rows (their foreign keys pointing at the
same workspace's rows), so a table added later is seeded, and so purged and checked, without
anyone editing this file. Decisions supersede each other in a chain (both directions) and
rounds follow each other, so the self-references cross the purge's batches.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    text,
    update,
)
from sqlmodel import Session, SQLModel

from storage import decisions, due_work, events, installations
from storage.db import Database
from storage.models import utcnow
from storage.secrets import TokenCipher, new_key
from storage.tables import DECISIONS
from tests.support.decisions import draft

KEY = new_key()  # the seeded installations' tokens are encrypted with it
CIPHER = TokenCipher([KEY])
# Times a row must be given (due_at, offered_at): a year ahead, so no sweep runs seeded work.
LATER = timedelta(days=365)
DECISIONS_MADE = 9  # through storage: with batches of 7 the supersede chain crosses a batch


def tables_with_team() -> list[Table]:
    """Every table of the models that has a ``team_id`` column (parents first)."""
    return [t for t in SQLModel.metadata.sorted_tables if "team_id" in t.c]


def counts(db: Database, team_id: str) -> dict[str, int]:
    """Rows of ``team_id`` in every table that has a ``team_id``, zeros included."""
    with db.read() as session:
        return {
            t.name: int(
                session.scalars(
                    select(func.count()).select_from(t).where(t.c.team_id == team_id)
                ).one()
            )
            for t in tables_with_team()
        }


def fts_hits(db: Database, word: str) -> list[int]:
    """Decision ids the SQLite FTS5 index finds for ``word`` (read from the index itself)."""
    with db.read() as session:
        found = session.execute(
            text("SELECT rowid FROM decisions_fts WHERE decisions_fts MATCH :word"),
            {"word": word},
        )
        return sorted(int(r[0]) for r in found)


def seed_workspace(
    db: Database, team_id: str, *, word: str, rows: int = 3, install: bool = True
) -> None:
    """``team_id`` with data in every table; its decisions' titles carry ``word``."""
    with db.session() as session:
        made = [
            decisions.create_decision(
                session,
                team_id=team_id,
                author_id="UAUTHOR",
                draft=draft(title=f"Adopt {word} {n}", decision=f"We adopt {word} now."),
                channel_private=False,
            )
            for n in range(DECISIONS_MADE)
        ]
        ids = [d.id for d in made]
        for older, newer in zip(ids, ids[1:], strict=False):
            session.execute(
                update(DECISIONS).where(DECISIONS.c.id == older).values(superseded_by_id=newer)
            )
            session.execute(
                update(DECISIONS).where(DECISIONS.c.id == newer).values(supersedes_id=older)
            )
        if install:
            installations.save(
                session,
                cipher=CIPHER,
                team_id=team_id,
                enterprise_id=None,
                team_name=f"{word} team",
                app_id="A0APP",
                bot_id="B0BOT",
                bot_user_id="U0BOT",
                bot_token=f"xoxb-{team_id}",
                bot_scopes=["commands", "chat:write"],
                installer_user_id="U0INSTALLER",
            )
        events.first_delivery(session, team_id=team_id, event_id=f"Ev{team_id}")
        due_work.schedule(
            session,
            team_id=team_id,
            kind="decision.post",
            subject_id=ids[0] or 0,
            key=f"seed:{team_id}",
            due_at=utcnow() + LATER,
            payload={"text": f"{word} payload"},
        )
        for table in tables_with_team():
            if table.name == "installations" and not install:
                continue
            _top_up(session, table, team_id=team_id, rows=rows)


def _top_up(session: Session, table: Table, *, team_id: str, rows: int) -> None:
    """Plain rows until ``table`` has ``rows`` of ``team_id`` (one if team_id is the key)."""
    keys = [c.name for c in table.primary_key.columns]
    want = 1 if keys == ["team_id"] else rows
    have = int(
        session.scalars(
            select(func.count()).select_from(table).where(table.c.team_id == team_id)
        ).one()
    )
    for i in range(have, want):
        session.execute(insert(table).values(_values(session, table, team_id, i)))
    if table is table_of_rounds():
        _chain_rounds(session, table, team_id)


def table_of_rounds() -> Table:
    return SQLModel.metadata.tables["estimate_rounds"]


def _chain_rounds(session: Session, table: Table, team_id: str) -> None:
    ids = session.scalars(
        select(table.c.id).where(table.c.team_id == team_id).order_by(table.c.id)
    ).all()
    for older, newer in zip(ids, ids[1:], strict=False):
        session.execute(update(table).where(table.c.id == newer).values(previous_round_id=older))


def _values(session: Session, table: Table, team_id: str, i: int) -> dict[str, Any]:
    values: dict[str, Any] = {"team_id": team_id}
    for n, column in enumerate(table.c):
        if column.name == "team_id" or column is table.autoincrement_column:
            continue
        fks = list(column.foreign_keys)
        if fks:
            target = fks[0].column
            ids = session.scalars(
                select(target).where(target.table.c.team_id == team_id).order_by(target)
            ).all()
            if ids:  # none yet: a self-reference of the first row (chained afterwards)
                values[column.name] = ids[(i + n) % len(ids)]
        elif column.primary_key or not (column.nullable or column.default is not None):
            values[column.name] = _plain(column.type, f"{i}-{column.name}-{team_id}", i)
    return values


def _plain(kind: object, label: str, i: int) -> object:
    kind = getattr(kind, "impl", kind)  # UTCDateTime and other decorated types
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, DateTime):
        return utcnow() + LATER
    if isinstance(kind, Date):
        return date.today()
    if isinstance(kind, Float):
        return 1.0
    if isinstance(kind, Integer):
        return 1000 + i  # clear of the numbers the storage functions gave
    if isinstance(kind, Text):
        return "{}"
    if isinstance(kind, String):
        return label[: kind.length or 200]
    raise TypeError(f"no plain value for a {kind!r} column: teach tests/support/workspace_data")


__all__ = ["CIPHER", "KEY", "counts", "fts_hits", "seed_workspace", "tables_with_team"]
