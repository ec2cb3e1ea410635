"""storage/decisions.py: creating a decision with its members, tags and events, reading it back
in its workspace, edits that keep the replaced values, supersede links and post results.

Against a real, migrated database: SQLite and PostgreSQL (``db``). Nothing is mocked: every test
goes through ``Database.session()`` / ``Database.read()`` the way the listeners do, so commits,
rollbacks, locks and dialect differences are all real.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from storage import decisions as repo
from storage.db import Database
from storage.decision_record import load_record
from storage.decision_status import change_status
from storage.errors import Conflict, NotAllowed, NotFound
from storage.models import Counter, Decision, DecisionMember, DecisionStatus, StanceKind
from storage.stances import set_stance
from storage.visibility import Viewer
from tests.support.decisions import (
    AUTHOR,
    DECIDER,
    OTHER_TEAM,
    OUTSIDER,
    TEAM,
    count,
    create,
    draft,
    events_of,
    get,
    search,
)


def test_create_saves_members_tags_and_a_created_event(db: Database) -> None:
    d = create(
        db,
        tags=["db", "infra", "db"],
        deciders=[DECIDER, DECIDER, "UOTHER"],
        consulted=["UCONS"],
        informed=["UINF"],
        review_date=date(2031, 1, 31),
        status=DecisionStatus.ACCEPTED,
    )
    assert d.ref == "ADR-1"
    with db.read() as s:
        record = load_record(s, decision=repo.get_decision(s, team_id=TEAM, number=1))
    assert record.decision.tag_list == ["db", "infra"]
    assert record.decision.status == DecisionStatus.ACCEPTED
    assert record.decision.review_date == date(2031, 1, 31)
    assert record.members == {
        "decider": [DECIDER, "UOTHER"],
        "consulted": ["UCONS"],
        "informed": ["UINF"],
    }
    [created] = record.events
    assert (created.kind, created.actor_id) == ("created", AUTHOR)
    assert json.loads(created.detail) == {"status": "accepted"}


def test_timestamps_read_back_timezone_aware(db: Database) -> None:
    create(db)
    with db.session() as s:
        set_stance(s, team_id=TEAM, number=1, user_id="UBOB", kind=StanceKind.AGREE)
    with db.read() as s:
        record = load_record(s, decision=repo.get_decision(s, team_id=TEAM, number=1))
    stamps = [record.decision.created_at, record.decision.updated_at]
    stamps += [e.created_at for e in record.events] + [st.updated_at for st in record.stances]
    assert all(t.utcoffset() == timedelta(0) for t in stamps), stamps


def test_get_decision_is_team_scoped(db: Database) -> None:
    create(db)
    with db.read() as s, pytest.raises(NotFound):
        repo.get_decision(s, team_id=OTHER_TEAM, number=1)


# -- edits -----------------------------------------------------------------------------------


def test_update_keeps_replaced_values_in_the_event(db: Database) -> None:
    create(
        db,
        context="old context",
        tags=["db"],
        deciders=[DECIDER],
        review_date=date(2031, 5, 1),
    )
    new = draft(
        title="Use Postgres 16",
        context="new context",
        tags=["db", "infra"],
        deciders=[DECIDER, "UNEW"],
        review_date=date(2032, 1, 1),
        channel_id="",
    )
    with db.session() as s:
        d, changes = repo.update_decision(s, team_id=TEAM, number=1, actor_id=DECIDER, draft=new)
    assert set(changes) == {"title", "context", "tags", "review_date", "decider"}
    after = get(db, 1)
    assert after.title == "Use Postgres 16"
    assert after.tag_list == ["db", "infra"]
    assert after.review_date == date(2032, 1, 1)
    assert after.channel_id == "CGENERAL"  # an edit never moves the decision
    ev = events_of(db, 1)[-1]
    assert (ev.kind, ev.actor_id) == ("edited", DECIDER)
    detail = json.loads(ev.detail)["changes"]
    assert detail["title"] == ["Use Postgres", "Use Postgres 16"]
    assert detail["context"] == ["old context", "new context"]
    assert detail["tags"] == [" db ", " db infra "]
    assert detail["review_date"] == ["2031-05-01", "2032-01-01"]
    assert detail["decider"] == [[DECIDER], [DECIDER, "UNEW"]]
    with db.read() as s:
        assert repo.members(s, decision=after)["decider"] == [DECIDER, "UNEW"]


def test_update_without_changes_records_nothing(db: Database) -> None:
    create(db, tags=["db"], deciders=[DECIDER])
    with db.session() as s:
        _, changes = repo.update_decision(
            s,
            team_id=TEAM,
            number=1,
            actor_id=AUTHOR,
            draft=draft(tags=["db"], deciders=[DECIDER]),
        )
    assert changes == {}
    assert [e.kind for e in events_of(db, 1)] == ["created"]


def test_update_by_outsider_is_refused_and_saves_nothing(db: Database) -> None:
    create(db)
    with pytest.raises(NotAllowed), db.session() as s:
        repo.update_decision(
            s, team_id=TEAM, number=1, actor_id=OUTSIDER, draft=draft(title="Hijacked")
        )
    assert get(db, 1).title == "Use Postgres"
    assert [e.kind for e in events_of(db, 1)] == ["created"]


def test_edit_updates_the_search_index(db: Database) -> None:
    create(db, title="Adopt Cassandra")
    with db.session() as s:
        repo.update_decision(
            s, team_id=TEAM, number=1, actor_id=AUTHOR, draft=draft(title="Adopt Kafka")
        )
    viewer = Viewer(AUTHOR, "CGENERAL")
    with db.read() as s:
        assert [d.number for d in search(s, "kafka", viewer)] == [1]
        assert search(s, "cassandra", viewer) == []


# -- supersede -------------------------------------------------------------------------------


def test_supersede_links_both_ways(db: Database) -> None:
    create(db, deciders=[DECIDER])
    with db.session() as s:
        new = repo.create_decision(
            s,
            team_id=TEAM,
            author_id=DECIDER,
            draft=draft(title="Use Postgres and Kafka"),
            channel_private=False,
            supersedes_number=1,
        )
    assert new.number == 2
    with db.read() as s:
        old_rec = load_record(s, decision=repo.get_decision(s, team_id=TEAM, number=1))
        new_rec = load_record(s, decision=repo.get_decision(s, team_id=TEAM, number=2))
    assert old_rec.decision.status == DecisionStatus.SUPERSEDED
    assert old_rec.superseded_by is not None and old_rec.superseded_by.number == 2
    assert new_rec.supersedes is not None and new_rec.supersedes.number == 1
    old_ev = old_rec.events[-1]
    assert (old_ev.kind, old_ev.actor_id) == ("superseded", DECIDER)
    assert json.loads(old_ev.detail) == {"by": "ADR-2", "from": "proposed"}
    assert [e.kind for e in new_rec.events] == ["created", "supersedes"]
    assert json.loads(new_rec.events[-1].detail) == {"of": "ADR-1"}


def test_supersede_by_outsider_saves_nothing(db: Database) -> None:
    create(db)
    with pytest.raises(NotAllowed), db.session() as s:
        repo.create_decision(
            s,
            team_id=TEAM,
            author_id=OUTSIDER,
            draft=draft(title="Hostile takeover", deciders=[OUTSIDER]),
            channel_private=False,
            supersedes_number=1,
        )
    assert count(db, Decision) == 1
    assert count(db, DecisionMember) == 0
    assert get(db, 1).status == DecisionStatus.PROPOSED
    assert get(db, 1).superseded_by_id is None
    assert [e.kind for e in events_of(db, 1)] == ["created"]
    assert create(db).number == 2  # the refused supersede used no number


def test_supersede_of_a_finished_decision_conflicts(db: Database) -> None:
    create(db)
    with db.session() as s:
        change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=DecisionStatus.REJECTED)
    with pytest.raises(Conflict), db.session() as s:
        repo.create_decision(
            s,
            team_id=TEAM,
            author_id=AUTHOR,
            draft=draft(),
            channel_private=False,
            supersedes_number=1,
        )
    assert count(db, Decision) == 1


def test_supersede_across_workspaces_is_not_found(db: Database) -> None:
    create(db)
    with pytest.raises(NotFound), db.session() as s:
        repo.create_decision(
            s,
            team_id=OTHER_TEAM,
            author_id=AUTHOR,
            draft=draft(),
            channel_private=False,
            supersedes_number=1,
        )
    assert count(db, Decision) == 1
    assert get(db, 1).status == DecisionStatus.PROPOSED


def test_post_result_is_recorded(db: Database) -> None:
    d = create(db)
    with db.session() as s:
        repo.set_post_result(s, decision=d, message_ts=None, error="not_in_channel")
    assert (get(db, 1).message_ts, get(db, 1).post_error) == (None, "not_in_channel")
    with db.session() as s:
        repo.set_post_result(s, decision=d, message_ts="1.2", error=None)
    assert (get(db, 1).message_ts, get(db, 1).post_error) == ("1.2", None)
    # A later failure (e.g. on a repost) keeps the existing message ts.
    with db.session() as s:
        repo.set_post_result(s, decision=d, message_ts=None, error="is_archived")
    assert (get(db, 1).message_ts, get(db, 1).post_error) == ("1.2", "is_archived")
    assert count(db, Counter) == 1
