"""Purging a workspace (storage/purge.py) on SQLite and Postgres: every table with a
``team_id`` (listed from the model metadata, so a new table cannot be missed) is emptied of
the workspace's rows in batches, its installation last, the search index with its decisions,
and another workspace keeps every row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from storage import installations
from storage.db import Database
from storage.models import Installation, utcnow
from storage.purge import PurgeWork, purge_batch, purge_team, team_tables
from storage.search import search_decisions
from storage.visibility import Viewer
from tests.support.workspace_data import counts, fts_hits, seed_workspace, tables_with_team

A, B = "TPURGEA", "TPURGEB"


@pytest.fixture
def two_workspaces(db: Database) -> Database:
    """A (which has uninstalled the app) and B (still installed), with rows everywhere."""
    seed_workspace(db, A, word="kubernetes")
    seed_workspace(db, B, word="terraform")
    with db.session() as session:
        installations.uninstall(
            session, team_id=A, retention=timedelta(0), scheduled_kinds=(), now=utcnow()
        )
    return db


def found(db: Database, team_id: str, word: str) -> int:
    with db.read() as session:
        return len(
            search_decisions(session, team_id=team_id, viewer=Viewer(user_id="UAUTHOR"), query=word)
        )


def installed(db: Database, team_id: str) -> bool:
    with db.read() as session:
        return session.get(Installation, team_id) is not None


def test_the_purge_covers_every_table_with_a_team_id():
    names = {t.name for t in team_tables()} | {"installations"}
    assert names == {t.name for t in tables_with_team()}
    for outbox in ("due_work", "processed_events", "view_submissions", "command_invocations"):
        assert outbox in names


def test_purging_a_workspace_leaves_none_of_its_rows_and_all_of_the_others(two_workspaces):
    db = two_workspaces
    before_a, before_b = counts(db, A), counts(db, B)
    # The seed reaches every table, so the check below means something for each of them.
    assert [name for name, n in before_a.items() if n == 0] == []
    assert [name for name, n in before_b.items() if n == 0] == []
    if db.dialect == "sqlite":
        a_hits, b_hits = fts_hits(db, "kubernetes"), fts_hits(db, "terraform")
        assert len(a_hits) == len(b_hits) == 9
    assert found(db, A, "kubernetes") and found(db, B, "terraform")

    deleted = purge_team(db, team_id=A, batch=7)

    assert deleted == sum(before_a.values())
    assert counts(db, A) == dict.fromkeys(before_a, 0)
    assert counts(db, B) == before_b
    assert found(db, A, "kubernetes") == 0
    assert found(db, B, "terraform") == 9
    if db.dialect == "sqlite":  # the index itself, not just the decisions it points at
        assert fts_hits(db, "kubernetes") == []
        assert fts_hits(db, "terraform") == b_hits
        with db.session() as session:  # FTS5's own check: raises if index and rows differ
            session.execute(
                text("INSERT INTO decisions_fts(decisions_fts) VALUES ('integrity-check')")
            )


def test_each_batch_is_small_and_the_installation_goes_last(two_workspaces):
    db = two_workspaces
    total = sum(counts(db, A).values())
    sizes: list[int] = []
    while True:
        with db.session() as session:
            n = purge_batch(session, team_id=A, batch=7)
        if not n:
            break
        sizes.append(n)
        left = sum(counts(db, A).values())
        # The installation outlives every other row: it is there until nothing else is.
        assert installed(db, A) == (left > 0), (left, sizes)
    assert all(1 <= n <= 7 for n in sizes) and sum(sizes) == total
    assert len(sizes) == -(-total // 7)  # full batches until the last
    assert not installed(db, A) and installed(db, B)


def test_a_workspace_with_nothing_stored_purges_nothing(two_workspaces):
    db = two_workspaces
    before_b = counts(db, B)
    assert purge_team(db, team_id="TNOBODY") == 0
    assert counts(db, B) == before_b


def test_an_installed_workspace_is_not_purged(two_workspaces):
    db = two_workspaces
    before_b = counts(db, B)
    assert purge_team(db, team_id=B) == 0
    assert counts(db, B) == before_b


def test_a_batch_of_none_is_refused(db: Database):
    with db.session() as session, pytest.raises(ValueError, match="1 or more"):
        purge_batch(session, team_id=A, batch=0)


def test_the_scheduled_purge_kind_is_the_one_uninstall_schedules():
    assert installations.PURGE_KIND == PurgeWork.PURGE
