"""storage/decisions.py against a real, migrated database: SQLite and PostgreSQL (``db``).

Nothing is mocked: every test goes through ``Database.session()`` / ``Database.read()`` the way
the listeners do, so commits, rollbacks, locks and dialect differences are all real.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from storage import decisions as repo
from storage import events
from storage.db import Database
from storage.decisions import DecisionDraft, Viewer
from storage.errors import Conflict, InvalidInput, NotAllowed, NotFound
from storage.models import (
    Counter,
    Decision,
    DecisionEvent,
    DecisionMember,
    DecisionStatus,
    Stance,
    StanceKind,
    utcnow,
)

TEAM = "TAAA"
OTHER_TEAM = "TBBB"
AUTHOR = "UAUTHOR"
DECIDER = "UDECIDER"
OUTSIDER = "UOUTSIDER"


def draft(**kw: Any) -> DecisionDraft:
    values: dict[str, Any] = {
        "title": "Use Postgres",
        "decision": "We store events in Postgres.",
        "channel_id": "CGENERAL",
    }
    values.update(kw)
    return DecisionDraft(**values)


def create(
    db: Database,
    *,
    team: str = TEAM,
    author: str = AUTHOR,
    private: bool = False,
    **kw: Any,
) -> Decision:
    with db.session() as s:
        return repo.create_decision(
            s, team_id=team, author_id=author, draft=draft(**kw), channel_private=private
        )


def count(db: Database, model: type, **where: Any) -> int:
    with db.read() as s:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return int(s.execute(stmt).scalar_one())


def events_of(db: Database, number: int, team: str = TEAM) -> list[DecisionEvent]:
    with db.read() as s:
        d = repo.get_decision(s, team_id=team, number=number)
        return repo.events(s, decision=d)


def get(db: Database, number: int, team: str = TEAM) -> Decision:
    with db.read() as s:
        return repo.get_decision(s, team_id=team, number=number)


def run_threads(n: int, target: Callable[[int], None]) -> list[BaseException]:
    """Start n threads at once (behind a barrier); return the exceptions they raised."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def body(i: int) -> None:
        barrier.wait()
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    return errors


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
        assert repo.next_number(s, team_id=TEAM, kind="adr") == 1
        assert repo.next_number(s, team_id=TEAM, kind="estimate") == 1
        assert repo.next_number(s, team_id=TEAM, kind="adr") == 2


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
        record = repo.load_record(s, decision=repo.get_decision(s, team_id=TEAM, number=1))
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
        repo.set_stance(s, team_id=TEAM, number=1, user_id="UBOB", kind=StanceKind.AGREE)
    with db.read() as s:
        record = repo.load_record(s, decision=repo.get_decision(s, team_id=TEAM, number=1))
    stamps = [record.decision.created_at, record.decision.updated_at]
    stamps += [e.created_at for e in record.events] + [st.updated_at for st in record.stances]
    assert all(t.utcoffset() == timedelta(0) for t in stamps), stamps


def test_get_decision_is_team_scoped(db: Database) -> None:
    create(db)
    with db.read() as s, pytest.raises(NotFound):
        repo.get_decision(s, team_id=OTHER_TEAM, number=1)


# -- stances ---------------------------------------------------------------------------------


def test_set_stance_is_idempotent(db: Database) -> None:
    create(db)
    for expected in (True, False):
        with db.session() as s:
            _, changed = repo.set_stance(
                s, team_id=TEAM, number=1, user_id="UBOB", kind=StanceKind.AGREE
            )
        assert changed is expected
    assert count(db, Stance) == 1
    assert [e.kind for e in events_of(db, 1)] == ["created", "stance"]

    # A change is recorded with what it replaced; repeating it changes nothing again.
    for expected in (True, False):
        with db.session() as s:
            _, changed = repo.set_stance(
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
            repo.set_stance(
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
            repo.set_stance(s, team_id=TEAM, number=1, user_id="UBOB", kind=StanceKind.AGREE)

    assert run_threads(6, worker) == []
    assert count(db, Stance) == 1
    assert [e.kind for e in events_of(db, 1)] == ["created", "stance"]


def test_stances_are_closed_on_finished_decisions(db: Database) -> None:
    create(db)
    with db.session() as s:
        repo.change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=DecisionStatus.REJECTED)
    with pytest.raises(Conflict), db.session() as s:
        repo.set_stance(s, team_id=TEAM, number=1, user_id="UBOB", kind=StanceKind.AGREE)
    assert count(db, Stance) == 0


def test_stance_in_another_workspace_is_not_found(db: Database) -> None:
    create(db)
    with pytest.raises(NotFound), db.session() as s:
        repo.set_stance(s, team_id=OTHER_TEAM, number=1, user_id="UBOB", kind=StanceKind.AGREE)
    assert count(db, Stance) == 0


# -- status changes --------------------------------------------------------------------------


def test_only_author_and_deciders_change_status(db: Database) -> None:
    create(db, deciders=[DECIDER], consulted=["UCONS"])
    for who in (OUTSIDER, "UCONS"):
        with pytest.raises(NotAllowed), db.session() as s:
            repo.change_status(s, team_id=TEAM, number=1, actor_id=who, to=DecisionStatus.ACCEPTED)
    assert get(db, 1).status == DecisionStatus.PROPOSED
    with db.session() as s:
        repo.change_status(
            s, team_id=TEAM, number=1, actor_id=DECIDER, to=DecisionStatus.ACCEPTED, note="ok"
        )
    assert get(db, 1).status == DecisionStatus.ACCEPTED
    ev = events_of(db, 1)[-1]
    assert (ev.kind, ev.actor_id) == ("status_changed", DECIDER)
    assert json.loads(ev.detail) == {"from": "proposed", "to": "accepted", "note": "ok"}
    with db.session() as s:
        repo.change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=DecisionStatus.DEPRECATED)
    ev = events_of(db, 1)[-1]
    assert ev.actor_id == AUTHOR
    assert json.loads(ev.detail) == {"from": "accepted", "to": "deprecated"}


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (DecisionStatus.ACCEPTED, DecisionStatus.ACCEPTED),
        (DecisionStatus.ACCEPTED, DecisionStatus.REJECTED),
        (DecisionStatus.REJECTED, DecisionStatus.ACCEPTED),
        (DecisionStatus.REJECTED, DecisionStatus.DEPRECATED),
        (DecisionStatus.DEPRECATED, DecisionStatus.ACCEPTED),
        (DecisionStatus.DEPRECATED, DecisionStatus.DEPRECATED),
    ],
)
def test_invalid_transitions_conflict(
    db: Database, start: DecisionStatus, to: DecisionStatus
) -> None:
    create(
        db,
        status=DecisionStatus.ACCEPTED
        if start != DecisionStatus.REJECTED
        else DecisionStatus.PROPOSED,
    )
    if start in (DecisionStatus.REJECTED, DecisionStatus.DEPRECATED):
        with db.session() as s:
            repo.change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=start)
    before = len(events_of(db, 1))
    with pytest.raises(Conflict), db.session() as s:
        repo.change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=to)
    assert get(db, 1).status == start
    assert len(events_of(db, 1)) == before


def test_blocked_decision_needs_a_decider_override_with_a_note(db: Database) -> None:
    create(db, deciders=[DECIDER])
    with db.session() as s:
        repo.set_stance(
            s, team_id=TEAM, number=1, user_id="UBLOCKER", kind=StanceKind.BLOCK, reason="risky"
        )
    refused: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"actor_id": AUTHOR}, Conflict),
        ({"actor_id": DECIDER}, Conflict),
        ({"actor_id": DECIDER, "note": "ship it"}, Conflict),  # a note alone is no override
        ({"actor_id": AUTHOR, "override": True, "note": "ship it"}, NotAllowed),  # not a decider
        ({"actor_id": DECIDER, "override": True}, InvalidInput),  # no note
        ({"actor_id": DECIDER, "override": True, "note": "   "}, InvalidInput),
    ]
    for kwargs, error in refused:
        with pytest.raises(error), db.session() as s:
            repo.change_status(s, team_id=TEAM, number=1, to=DecisionStatus.ACCEPTED, **kwargs)
        assert get(db, 1).status == DecisionStatus.PROPOSED, kwargs

    # Rejecting a blocked decision needs no override.
    with db.session() as s:
        repo.change_status(
            s,
            team_id=TEAM,
            number=1,
            actor_id=DECIDER,
            to=DecisionStatus.ACCEPTED,
            override=True,
            note="deadline; revisit in Q3",
        )
    assert get(db, 1).status == DecisionStatus.ACCEPTED
    ev = events_of(db, 1)[-1]
    assert ev.actor_id == DECIDER
    detail = json.loads(ev.detail)
    assert detail["overrode_blocks"] == ["UBLOCKER"]
    assert detail["note"] == "deadline; revisit in Q3"


def test_withdrawn_block_allows_acceptance(db: Database) -> None:
    create(db)
    with db.session() as s:
        repo.set_stance(
            s, team_id=TEAM, number=1, user_id="UBLOCKER", kind=StanceKind.BLOCK, reason="x"
        )
    with pytest.raises(Conflict), db.session() as s:
        repo.change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=DecisionStatus.ACCEPTED)
    with db.session() as s:
        repo.set_stance(s, team_id=TEAM, number=1, user_id="UBLOCKER", kind=StanceKind.AGREE)
    with db.session() as s:
        repo.change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=DecisionStatus.ACCEPTED)
    assert get(db, 1).status == DecisionStatus.ACCEPTED


def test_blocked_decision_can_be_rejected(db: Database) -> None:
    create(db)
    with db.session() as s:
        repo.set_stance(
            s, team_id=TEAM, number=1, user_id="UBLOCKER", kind=StanceKind.BLOCK, reason="x"
        )
    with db.session() as s:
        repo.change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=DecisionStatus.REJECTED)
    assert get(db, 1).status == DecisionStatus.REJECTED


def test_status_change_in_another_workspace_is_not_found(db: Database) -> None:
    create(db)
    with pytest.raises(NotFound), db.session() as s:
        repo.change_status(
            s, team_id=OTHER_TEAM, number=1, actor_id=AUTHOR, to=DecisionStatus.ACCEPTED
        )
    assert get(db, 1).status == DecisionStatus.PROPOSED


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
        old_rec = repo.load_record(s, decision=repo.get_decision(s, team_id=TEAM, number=1))
        new_rec = repo.load_record(s, decision=repo.get_decision(s, team_id=TEAM, number=2))
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
        repo.change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=DecisionStatus.REJECTED)
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


# -- listing and visibility ------------------------------------------------------------------


def listed(db: Database, viewer: Viewer, team: str = TEAM, **kw: Any) -> tuple[list[int], int]:
    with db.read() as s:
        rows, total = repo.list_decisions(s, team_id=team, viewer=viewer, **kw)
    return [d.number for d in rows], total


def test_list_filters_status_and_tag_newest_first_paginated(db: Database) -> None:
    create(db, tags=["db", "infra"])  # 1
    create(db, tags=["dbx"])  # 2: "db" must not match "dbx"
    create(db, tags=["a_b"])  # 3: "_" is literal, not a LIKE wildcard
    create(db, tags=["axb"])  # 4
    create(db, tags=["db"], status=DecisionStatus.ACCEPTED)  # 5
    create(db, tags=["100%"])  # 6 (not a valid form tag, but storage must not care)
    create(db, tags=["1000"])  # 7
    for _ in range(8):  # 8..15
        create(db)
    create(db, team=OTHER_TEAM, tags=["db"])
    me = Viewer("UREADER", "CGENERAL")

    assert listed(db, me, tag="db") == ([5, 1], 2)
    assert listed(db, me, tag="a_b") == ([3], 1)
    assert listed(db, me, tag="100%") == ([6], 1)
    assert listed(db, me, tag="infra", status=DecisionStatus.PROPOSED) == ([1], 1)
    assert listed(db, me, tag="db", status=DecisionStatus.ACCEPTED) == ([5], 1)
    assert listed(db, me, status=DecisionStatus.REJECTED) == ([], 0)
    assert listed(db, me, tag="nope") == ([], 0)
    assert listed(db, me, tag="db\x00") == ([5, 1], 2)  # NUL would make Postgres raise

    page1 = listed(db, me, limit=10)
    page2 = listed(db, me, limit=10, offset=10)
    assert page1 == (list(range(15, 5, -1)), 15)
    assert page2 == ([5, 4, 3, 2, 1], 15)
    assert listed(db, me, limit=10, offset=20) == ([], 15)
    assert listed(db, Viewer("UREADER"), team=OTHER_TEAM) == ([1], 1)


def test_private_decisions_are_visible_only_where_they_belong(db: Database) -> None:
    create(db, title="Public one")  # 1
    create(
        db,
        title="Secret reorg",
        private=True,
        channel_id="GSECRET",
        deciders=[DECIDER],
        informed=["UINFORMED"],
    )  # 2
    create(db, title="Secret DM plan", private=True, channel_id="DAUTHOR")  # 3

    def numbers(viewer: Viewer) -> list[int]:
        return listed(db, viewer)[0]

    assert numbers(Viewer(OUTSIDER, "CGENERAL")) == [1]
    assert numbers(Viewer(OUTSIDER, None)) == [1]  # App Home
    assert numbers(Viewer(OUTSIDER, "GSECRET")) == [2, 1]  # channel members see it there
    assert numbers(Viewer(AUTHOR, "CGENERAL")) == [3, 2, 1]
    assert numbers(Viewer(DECIDER, "CGENERAL")) == [2, 1]
    assert numbers(Viewer("UINFORMED", None)) == [2, 1]
    assert listed(db, Viewer(OUTSIDER, "GSECRET"), team=OTHER_TEAM) == ([], 0)

    with db.read() as s:
        with pytest.raises(NotFound):
            repo.get_decision(s, team_id=TEAM, number=2, viewer=Viewer(OUTSIDER, "CGENERAL"))
        assert repo.get_decision(s, team_id=TEAM, number=2, viewer=Viewer(OUTSIDER, "GSECRET"))
        assert search(s, "secret", Viewer(OUTSIDER, "CGENERAL")) == []
        assert [d.number for d in search(s, "secret", Viewer(OUTSIDER, "GSECRET"))] == [2]
        assert sorted(d.number for d in search(s, "secret", Viewer(AUTHOR, None))) == [2, 3]
        assert [
            d.number for d in repo.recent_decisions(s, team_id=TEAM, viewer=Viewer(OUTSIDER))
        ] == [1]


def test_home_queries(db: Database) -> None:
    create(db, deciders=["UME"])  # 1: waiting for me
    create(db, consulted=["UME"])  # 2: waiting for me
    create(db, informed=["UME"])  # 3: informed people are not asked for a stance
    create(db, author="UME")  # 4: mine
    create(db, deciders=["UME"], status=DecisionStatus.ACCEPTED)  # 5: not proposed
    create(db, team=OTHER_TEAM, deciders=["UME"])
    with db.session() as s:
        repo.set_stance(s, team_id=TEAM, number=2, user_id="UME", kind=StanceKind.AGREE)
    with db.read() as s:
        awaiting = repo.awaiting_stance(s, team_id=TEAM, user_id="UME")
        owned = repo.owned_decisions(s, team_id=TEAM, user_id="UME")
    assert [d.number for d in awaiting] == [1]
    assert [d.number for d in owned] == [5, 4, 1]


# -- search ----------------------------------------------------------------------------------


def search(s: Any, query: str, viewer: Viewer, team: str = TEAM) -> list[Decision]:
    return repo.search_decisions(s, team_id=team, viewer=viewer, query=query)


def test_search_ranks_title_matches_first(db: Database) -> None:
    create(db, title="Adopt Kafka for events", decision="We adopt it.")  # 1
    create(
        db, title="Queue choice", decision="We pick RabbitMQ.", context="Kafka was too heavy."
    )  # 2
    create(db, title="Unrelated", decision="Tabs over spaces.")  # 3
    create(db, title="Consequences", decision="Keep it.", consequences="More kafka ops.")  # 4
    viewer = Viewer(AUTHOR, "CGENERAL")
    with db.read() as s:
        found = [d.number for d in search(s, "kafka", viewer)]
        assert found[0] == 1
        assert sorted(found) == [1, 2, 4]
        # Stemming/prefixes: "events" is found by "event"
        assert [d.number for d in search(s, "event", viewer)] == [1]
        # A quoted phrase is a phrase
        assert [d.number for d in search(s, '"tabs over spaces"', viewer)] == [3]
        assert search(s, '"spaces over tabs"', viewer) == []
        assert search(s, "kafka", viewer, team=OTHER_TEAM) == []


HOSTILE = [
    '"',
    '""',
    '"""',
    '"unbalanced',
    'kafka"',
    "'",
    "kafka' OR '1'='1",
    "kafka OR postgres",
    "OR",
    "AND NOT",
    "NEAR(",
    "NEAR(kafka postgres, 2)",
    "kafka*",
    "*",
    "-kafka",
    "-",
    "^kafka",
    "^",
    "title:kafka",
    "{title}: kafka",
    "(kafka",
    "kafka)",
    "a & b | !c <-> d",
    "!!",
    ":*",
    "'; DROP TABLE decisions; --",
    "1; SELECT * FROM decisions",
    "%",
    "_",
    "\\",
    "",
    "   ",
    "\t\n",
    "k" * 10_000,
    "kafka " * 2_000,
    "Kafka ünïcödé 日本語 🚀 ﷽ \u200b\u202e",
    "ｋａｆｋａ",
    "\x00kafka",
    "kafka\x00",
    "\x00",
]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_search_never_raises_on_hostile_input(db: Database, query: str) -> None:
    create(db, title="Adopt Kafka", decision="Kafka for events; ünïcödé text.")
    create(db, team=OTHER_TEAM, title="Adopt Kafka", decision="Kafka for events.")
    with db.read() as s:
        found = search(s, query, Viewer(AUTHOR, "CGENERAL"))
    assert all(d.team_id == TEAM for d in found)
    assert [d.number for d in found] in ([], [1])


def test_search_with_quotes_and_operators_still_finds(db: Database) -> None:
    create(db, title="Adopt Kafka", decision="Kafka for events.")
    viewer = Viewer(AUTHOR, "CGENERAL")
    with db.read() as s:
        for query in ('"kafka"', 'kafka"', "kafka*", "kafka'", "(kafka)", "kafka;"):
            assert [d.number for d in search(s, query, viewer)] == [1], query


def test_search_reads_or_alike_on_both_databases(db: Database) -> None:
    create(db, title="Adopt Kafka", decision="Kafka for events.")  # 1
    create(db, title="Pizza Fridays", decision="Pizza it is.")  # 2
    create(db, title="Event sourcing", decision="Store every change.")  # 3
    viewer = Viewer(AUTHOR, "CGENERAL")
    with db.read() as s:
        assert sorted(d.number for d in search(s, '"event sourcing" OR pizza', viewer)) == [2, 3]
        assert sorted(d.number for d in search(s, "kafka OR pizza", viewer)) == [1, 2]
        assert search(s, "kafka pizza", viewer) == []  # adjacent words must all match


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
