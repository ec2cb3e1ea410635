"""storage/invocations.py: a slash command that makes something makes it once per trigger id,
even when copies of one request arrive at once, and its trigger id is forgotten after a day.

Against a real, migrated database: SQLite and PostgreSQL (``db``), through
``Database.session()`` as the listeners use it, so commits, rollbacks and locks are real.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import text

from storage import invocations
from storage.db import Database
from storage.invocations import Creates, made_before, record_made
from storage.models import utcnow
from tests.support.decisions import OTHER_TEAM, TEAM

ITEM = Creates.PARKED_ITEM


def remembered(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(text("SELECT count(*) FROM command_invocations")).scalar_one())


def test_a_trigger_id_makes_one_thing_per_workspace_and_copies_learn_its_number(db: Database):
    with db.session() as s:
        assert made_before(s, team_id=TEAM, trigger_id="t.1", kind=ITEM) is None
        record_made(s, team_id=TEAM, trigger_id="t.1", number=3)
    with db.session() as s:
        assert made_before(s, team_id=TEAM, trigger_id="t.1", kind=ITEM) == 3  # a replay
        assert made_before(s, team_id=TEAM, trigger_id="t.1", kind=ITEM) == 3
        assert made_before(s, team_id=OTHER_TEAM, trigger_id="t.1", kind=ITEM) is None
        assert made_before(s, team_id=TEAM, trigger_id="t.2", kind=ITEM) is None  # run again
    # without a trigger id nothing can be recognised (Slack always sends one): every copy runs
    with db.session() as s:
        assert made_before(s, team_id=TEAM, trigger_id="", kind=ITEM) is None
        record_made(s, team_id=TEAM, trigger_id="", number=9)
        assert made_before(s, team_id=TEAM, trigger_id="", kind=ITEM) is None
    assert remembered(db) == 3


def test_a_command_that_fails_is_forgotten_and_can_run_again(db: Database):
    with pytest.raises(RuntimeError), db.session() as s:
        assert made_before(s, team_id=TEAM, trigger_id="t.fail", kind=ITEM) is None
        raise RuntimeError("the item could not be saved")
    with db.session() as s:
        assert made_before(s, team_id=TEAM, trigger_id="t.fail", kind=ITEM) is None


def test_copies_at_once_wait_for_the_first_and_answer_with_its_number(db: Database):
    first_in = threading.Event()
    go_on = threading.Event()

    def first() -> int | None:
        with db.session() as s:
            earlier = made_before(s, team_id=TEAM, trigger_id="t.race", kind=ITEM)
            first_in.set()
            assert go_on.wait(10)  # still making it while the copy arrives
            record_made(s, team_id=TEAM, trigger_id="t.race", number=5)
            return earlier

    def copy() -> int | None:
        assert first_in.wait(10)
        with db.session() as s:
            return made_before(s, team_id=TEAM, trigger_id="t.race", kind=ITEM)

    with ThreadPoolExecutor(max_workers=2) as pool:
        made, again = pool.submit(first), pool.submit(copy)
        assert first_in.wait(10)
        time.sleep(0.3)  # let the copy reach the first's uncommitted row (not an assertion)
        go_on.set()
        assert made.result(timeout=30) is None
        assert again.result(timeout=30) == 5


def test_trigger_ids_are_forgotten_after_a_day_by_later_commands(db: Database):
    now = utcnow()
    with db.session() as s:
        for n in range(3):
            assert made_before(s, team_id=TEAM, trigger_id=f"old.{n}", kind=ITEM, now=now) is None
        made_before(s, team_id=OTHER_TEAM, trigger_id="old.x", kind=ITEM, now=now)
    with db.session() as s:  # a day later, almost
        made_before(s, team_id=TEAM, trigger_id="new.1", kind=ITEM, now=now + timedelta(hours=23))
    assert remembered(db) == 5
    later = now + timedelta(days=1, seconds=1)
    with db.session() as s:  # over a day later: every workspace's old ids go, in batches
        assert invocations.prune(s, now=later, limit=2) == 2
    assert remembered(db) == 3
    with db.session() as s:  # the next command prunes the rest (new.1 is not a day old)
        assert made_before(s, team_id=TEAM, trigger_id="new.2", kind=ITEM, now=later) is None
    assert remembered(db) == 2
    with db.session() as s:  # Bolt refuses a request that old: a forgotten id is new again
        assert made_before(s, team_id=TEAM, trigger_id="old.0", kind=ITEM, now=later) is None
