"""storage/events.py: a Slack event is handled once per workspace and its mark pruned after 7
days.

Against a real, migrated database: SQLite and PostgreSQL (``db``). Nothing is mocked: every test
goes through ``Database.session()`` / ``Database.read()`` the way the listeners do, so commits,
rollbacks, locks and dialect differences are all real.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from storage import events
from storage.db import Database
from storage.models import utcnow
from tests.support.decisions import OTHER_TEAM, TEAM

# -- events ----------------------------------------------------------------------------------


def test_event_is_handled_once_per_team_and_its_mark_pruned_after_7_days(db: Database) -> None:
    with db.session() as s:
        assert events.first_delivery(s, team_id=TEAM, event_id="Ev1") is True
    with db.session() as s:
        assert events.first_delivery(s, team_id=TEAM, event_id="Ev1") is False
        assert events.first_delivery(s, team_id=OTHER_TEAM, event_id="Ev1") is True
        assert events.first_delivery(s, team_id=TEAM, event_id="Ev2") is True
    with db.session() as s:
        # handling events costs no pruning row; one row a day serves every workspace
        assert s.execute(text("SELECT count(*) FROM due_work")).scalar_one() == 0
        assert events.schedule_prune(s, now=utcnow()) is True
        assert events.schedule_prune(s, now=utcnow()) is False
    with db.session() as s:
        assert events.prune(s, now=utcnow() + timedelta(days=6)) == 0
    with db.session() as s:
        assert events.prune(s, now=utcnow() + timedelta(days=7, seconds=1)) == 3
    with db.session() as s:
        # a retry of a pruned id is new again
        assert events.first_delivery(s, team_id=TEAM, event_id="Ev1") is True
