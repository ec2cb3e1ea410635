"""storage/numbers.py: `ADR-n` numbers allocated atomically per workspace and per kind, and a
rolled-back create that consumes none.

Against a real, migrated database: SQLite and PostgreSQL (``db``). Nothing is mocked: every test
goes through ``Database.session()`` / ``Database.read()`` the way the listeners do, so commits,
rollbacks, locks and dialect differences are all real.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import decisions as repo
from storage.db import Database
from storage.models import Decision
from storage.numbers import next_number
from tests.support.decisions import AUTHOR, OTHER_TEAM, TEAM, count, create, draft, run_threads

# -- numbers ---------------------------------------------------------------------------------


def test_numbers_are_allocated_atomically_per_workspace(db: Database) -> None:
    threads, per_thread = 8, 25

    def worker(i: int) -> None:
        for j in range(per_thread):
            with db.session() as s:
                repo.create_decision(
                    s,
                    team_id=TEAM,
                    author_id=f"UWORKER{i}",
                    draft=draft(title=f"t{i}-{j}"),
                    channel_private=False,
                )

    assert run_threads(threads, worker) == []
    with db.read() as s:
        numbers = list(s.execute(select(Decision.number).where(Decision.team_id == TEAM)).scalars())
    assert sorted(numbers) == list(range(1, threads * per_thread + 1))

    # Another workspace has its own sequence, starting at 1.
    assert create(db, team=OTHER_TEAM).number == 1
    assert create(db, team=OTHER_TEAM).number == 2
    assert create(db).number == threads * per_thread + 1


def test_next_number_is_per_kind(db: Database) -> None:
    with db.session() as s:
        assert next_number(s, team_id=TEAM, kind="adr") == 1
        assert next_number(s, team_id=TEAM, kind="estimate") == 1
        assert next_number(s, team_id=TEAM, kind="adr") == 2


def test_rolled_back_create_does_not_consume_a_number(db: Database) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), db.session() as s:
        repo.create_decision(
            s, team_id=TEAM, author_id=AUTHOR, draft=draft(), channel_private=False
        )
        raise Boom
    assert count(db, Decision) == 0
    assert create(db).number == 1
