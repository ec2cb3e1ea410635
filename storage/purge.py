"""Purging a workspace's data: every row it has, in small batches, its installation last.

The tables are found from the model metadata (every table with a ``team_id`` column), not
listed by hand, so a table added later is purged without anyone remembering to add it here.
That covers the outbox (``due_work``, payloads included), ``processed_events``,
``view_submissions`` and ``command_invocations``. The search index goes with the decisions:
on SQLite the ``decisions_fts`` triggers (migration 0001) delete a decision's entry with it;
on Postgres the tsvector is a generated column of the row itself.

Order: children before parents (the reverse of the foreign-key order), and a table's own
self-references (``supersedes_id``, ``previous_round_id``) pointing at a batch's rows are
cleared before the batch goes, so a chain split over two batches never trips a foreign key.
The ``installations`` row goes last, when nothing else is left: while it exists, the
workspace is listed by `decisionbot installations` and the scheduled purge keeps going.

Each batch is meant for its own short transaction (``purge_team``; the scheduled
``workspace.purge`` work runs one batch per delivery), so a big workspace never holds one
long transaction or SQLite's write lock for long. ``purge_batch`` deletes what it is told to;
its callers decide whether the workspace may be purged (``purge_team`` and the scheduled work
never purge an installed workspace).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Table, delete, func, select, tuple_, update
from sqlmodel import Session, SQLModel

from storage.db import Database
from storage.models import Installation, InstallState  # the package registers every table
from storage.tables import table_of

BATCH = 500


class PurgeWork(StrEnum):
    PURGE = "workspace.purge"  # one batch per delivery, rescheduled until nothing is left


def team_tables() -> list[Table]:
    """Every table with a ``team_id`` but ``installations``, children before parents."""
    return [
        table
        for table in reversed(SQLModel.metadata.sorted_tables)
        if "team_id" in table.c and table.name != Installation.__tablename__
    ]


def team_rows(session: Session, *, team_id: str) -> dict[str, int]:
    """How many rows ``team_id`` has in each table that has any (``installations`` too)."""
    counts: dict[str, int] = {}
    for table in [*team_tables(), table_of(Installation)]:
        n = session.scalars(
            select(func.count()).select_from(table).where(table.c.team_id == team_id)
        ).one()
        if n:
            counts[table.name] = int(n)
    return counts


def purge_batch(session: Session, *, team_id: str, batch: int = BATCH) -> int:
    """Delete up to ``batch`` rows of ``team_id``; returns how many (0: nothing is left).

    Rows of other workspaces are never touched: every statement filters by ``team_id``.
    """
    if batch < 1:
        raise ValueError(f"batch must be 1 or more, got {batch}")
    left = batch
    for table in team_tables():
        left -= _delete_some(session, table, team_id=team_id, limit=left)
        if left <= 0:
            return batch
    installations = table_of(Installation)
    gone = session.exec(delete(installations).where(installations.c.team_id == team_id)).rowcount
    return batch - left + int(gone or 0)


def _delete_some(session: Session, table: Table, *, team_id: str, limit: int) -> int:
    mine = table.c.team_id == team_id
    keys = list(table.primary_key.columns)
    picked = session.execute(select(*keys).where(mine).order_by(*keys).limit(limit)).all()
    if not picked:
        return 0
    if len(keys) == 1:
        ids = [row[0] for row in picked]
        for column in _self_references(table):
            session.execute(update(table).where(mine, column.in_(ids)).values({column: None}))
        chosen = keys[0].in_(ids)
    else:
        chosen = tuple_(*keys).in_([tuple(row) for row in picked])
    return int(session.exec(delete(table).where(mine, chosen)).rowcount or 0)


def _self_references(table: Table) -> list[Column[Any]]:
    """A table's nullable columns that point at its own rows."""
    return [
        fk.parent for fk in table.foreign_keys if fk.column.table is table and fk.parent.nullable
    ]


def purge_team(db: Database, *, team_id: str, batch: int = BATCH) -> int:
    """Everything of ``team_id``, one short transaction per batch; returns how many rows.

    An installed workspace is never purged: if ``team_id`` is (or becomes, by installing
    again midway) installed, it stops before the next batch. A workspace that never had an
    installation (single-workspace mode) is purged."""
    total = 0
    while True:
        with db.session() as session:
            if _installed(session, team_id):
                return total
            deleted = purge_batch(session, team_id=team_id, batch=batch)
        if not deleted:
            return total
        total += deleted


def _installed(session: Session, team_id: str) -> bool:
    table = table_of(Installation)
    found = session.execute(
        select(table.c.team_id).where(
            table.c.team_id == team_id, table.c.state == InstallState.ACTIVE
        )
    ).first()
    return found is not None
