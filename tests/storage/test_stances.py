"""storage/stances.py: one current stance per person, concurrent clicks recorded once, no
stances on finished decisions or across workspaces.

Against a real, migrated database: SQLite and PostgreSQL (``db``). Nothing is mocked: every test
goes through ``Database.session()`` / ``Database.read()`` the way the listeners do, so commits,
rollbacks, locks and dialect differences are all real.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.decision_status import change_status
from storage.errors import Conflict, NotFound
from storage.models import DecisionStatus, Stance, StanceKind
from storage.stances import set_stance
from tests.support.decisions import AUTHOR, OTHER_TEAM, TEAM, count, create, events_of, run_threads

# -- stances ---------------------------------------------------------------------------------


def test_set_stance_is_idempotent(db: Database) -> None:
    create(db)
    for expected in (True, False):
        with db.session() as s:
            _, changed = set_stance(
                s, team_id=TEAM, number=1, user_id="UBOB", kind=StanceKind.AGREE
            )
        assert changed is expected
    assert count(db, Stance) == 1
    assert [e.kind for e in events_of(db, 1)] == ["created", "stance"]

    # A change is recorded with what it replaced; repeating it changes nothing again.
    for expected in (True, False):
        with db.session() as s:
            _, changed = set_stance(
                s,
                team_id=TEAM,
                number=1,
                user_id="UBOB",
                kind=StanceKind.DISAGREE_AND_COMMIT,
                concern="Ops cost",
                change_my_mind="A benchmark",
            )
        assert changed is expected
    with db.read() as s:
        [stance] = s.execute(select(Stance)).scalars().all()
    assert stance.kind == StanceKind.DISAGREE_AND_COMMIT
    assert stance.committed is True
    assert (stance.concern, stance.change_my_mind) == ("Ops cost", "A benchmark")
    evs = events_of(db, 1)
    assert [e.kind for e in evs] == ["created", "stance", "stance"]
    last = json.loads(evs[-1].detail)
    assert evs[-1].actor_id == "UBOB"
    assert last["kind"] == "disagree_and_commit"
    assert last["previous"]["kind"] == "agree"


def test_concurrent_stances_of_one_person_leave_one_row(db: Database) -> None:
    create(db)
    kinds = [StanceKind.AGREE, StanceKind.BLOCK, StanceKind.DISAGREE_AND_COMMIT, StanceKind.AGREE]

    def worker(i: int) -> None:
        with db.session() as s:
            set_stance(
                s,
                team_id=TEAM,
                number=1,
                user_id="UBOB",
                kind=kinds[i % len(kinds)],
                reason="no" if kinds[i % len(kinds)] == StanceKind.BLOCK else "",
            )

    assert run_threads(8, worker) == []
    assert count(db, Stance, user_id="UBOB") == 1
    stance_events = [e for e in events_of(db, 1) if e.kind == "stance"]
    assert 1 <= len(stance_events) <= 8


def test_concurrent_double_click_records_once(db: Database) -> None:
    create(db)

    def worker(_: int) -> None:
        with db.session() as s:
            set_stance(s, team_id=TEAM, number=1, user_id="UBOB", kind=StanceKind.AGREE)

    assert run_threads(6, worker) == []
    assert count(db, Stance) == 1
    assert [e.kind for e in events_of(db, 1)] == ["created", "stance"]


def test_stances_are_closed_on_finished_decisions(db: Database) -> None:
    create(db)
    with db.session() as s:
        change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=DecisionStatus.REJECTED)
    with pytest.raises(Conflict), db.session() as s:
        set_stance(s, team_id=TEAM, number=1, user_id="UBOB", kind=StanceKind.AGREE)
    assert count(db, Stance) == 0


def test_stance_in_another_workspace_is_not_found(db: Database) -> None:
    create(db)
    with pytest.raises(NotFound), db.session() as s:
        set_stance(s, team_id=OTHER_TEAM, number=1, user_id="UBOB", kind=StanceKind.AGREE)
    assert count(db, Stance) == 0
