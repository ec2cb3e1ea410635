"""storage/models/base.py: the typed helpers every table uses (``saved_id``, ``_ts``) and
``storage.db.rows_of``, against a real, migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import select
from sqlmodel import col

from storage.db import Database, rows_of
from storage.models import Counter, EstimateRound, saved_id


def _round(number: int) -> EstimateRound:
    return EstimateRound(
        team_id="T1", number=number, topic="cache", facilitator_id="U1", channel_id="C1"
    )


def test_saved_id_is_the_id_the_database_gave(db: Database) -> None:
    with db.session() as s:
        rnd = _round(1)
        s.add(rnd)
        s.flush()
        assert saved_id(rnd) == rnd.id
        assert isinstance(saved_id(rnd), int)


def test_saved_id_of_a_row_never_flushed_is_an_error_not_none() -> None:
    with pytest.raises(RuntimeError, match="EstimateRound has no id yet"):
        saved_id(_round(1))


def test_timestamps_are_set_on_build_and_read_back_as_utc(db: Database) -> None:
    rnd = _round(2)
    assert rnd.created_at.tzinfo is UTC and rnd.updated_at.tzinfo is UTC
    with db.session() as s:
        s.add(rnd)
    with db.read() as s:
        again = s.scalars(select(EstimateRound).where(col(EstimateRound.number) == 2)).one()
    assert again.created_at == rnd.created_at
    assert again.created_at.tzinfo is not None and again.created_at.utcoffset().total_seconds() == 0


def test_rows_of_returns_each_row_as_its_columns(db: Database) -> None:
    with db.session() as s:
        s.add(Counter(team_id="T1", kind="a", value=3))
        s.add(Counter(team_id="T1", kind="b", value=5))
    with db.read() as s:
        rows = rows_of(
            s,
            select(col(Counter.kind), col(Counter.value))
            .where(col(Counter.team_id) == "T1")
            .order_by(col(Counter.kind)),
        )
    assert [tuple(r) for r in rows] == [("a", 3), ("b", 5)]
