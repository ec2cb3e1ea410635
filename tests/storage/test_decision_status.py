"""storage/decision_status.py: who may change a decision's status, which transitions are
allowed, and blocks that need a decider's override.

Against a real, migrated database: SQLite and PostgreSQL (``db``). Nothing is mocked: every test
goes through ``Database.session()`` / ``Database.read()`` the way the listeners do, so commits,
rollbacks, locks and dialect differences are all real.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from storage.db import Database
from storage.decision_status import change_status
from storage.errors import Conflict, InvalidInput, NotAllowed, NotFound
from storage.models import DecisionStatus, StanceKind
from storage.stances import set_stance
from tests.support.decisions import (
    AUTHOR,
    DECIDER,
    OTHER_TEAM,
    OUTSIDER,
    TEAM,
    create,
    events_of,
    get,
)

# -- status changes --------------------------------------------------------------------------


def test_only_author_and_deciders_change_status(db: Database) -> None:
    create(db, deciders=[DECIDER], consulted=["UCONS"])
    for who in (OUTSIDER, "UCONS"):
        with pytest.raises(NotAllowed), db.session() as s:
            change_status(s, team_id=TEAM, number=1, actor_id=who, to=DecisionStatus.ACCEPTED)
    assert get(db, 1).status == DecisionStatus.PROPOSED
    with db.session() as s:
        change_status(
            s, team_id=TEAM, number=1, actor_id=DECIDER, to=DecisionStatus.ACCEPTED, note="ok"
        )
    assert get(db, 1).status == DecisionStatus.ACCEPTED
    ev = events_of(db, 1)[-1]
    assert (ev.kind, ev.actor_id) == ("status_changed", DECIDER)
    assert json.loads(ev.detail) == {"from": "proposed", "to": "accepted", "note": "ok"}
    with db.session() as s:
        change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=DecisionStatus.DEPRECATED)
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
            change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=start)
    before = len(events_of(db, 1))
    with pytest.raises(Conflict), db.session() as s:
        change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=to)
    assert get(db, 1).status == start
    assert len(events_of(db, 1)) == before


def test_blocked_decision_needs_a_decider_override_with_a_note(db: Database) -> None:
    create(db, deciders=[DECIDER])
    with db.session() as s:
        set_stance(
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
            change_status(s, team_id=TEAM, number=1, to=DecisionStatus.ACCEPTED, **kwargs)
        assert get(db, 1).status == DecisionStatus.PROPOSED, kwargs

    # Rejecting a blocked decision needs no override.
    with db.session() as s:
        change_status(
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
        set_stance(s, team_id=TEAM, number=1, user_id="UBLOCKER", kind=StanceKind.BLOCK, reason="x")
    with pytest.raises(Conflict), db.session() as s:
        change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=DecisionStatus.ACCEPTED)
    with db.session() as s:
        set_stance(s, team_id=TEAM, number=1, user_id="UBLOCKER", kind=StanceKind.AGREE)
    with db.session() as s:
        change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=DecisionStatus.ACCEPTED)
    assert get(db, 1).status == DecisionStatus.ACCEPTED


def test_blocked_decision_can_be_rejected(db: Database) -> None:
    create(db)
    with db.session() as s:
        set_stance(s, team_id=TEAM, number=1, user_id="UBLOCKER", kind=StanceKind.BLOCK, reason="x")
    with db.session() as s:
        change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=DecisionStatus.REJECTED)
    assert get(db, 1).status == DecisionStatus.REJECTED


def test_status_change_in_another_workspace_is_not_found(db: Database) -> None:
    create(db)
    with pytest.raises(NotFound), db.session() as s:
        change_status(s, team_id=OTHER_TEAM, number=1, actor_id=AUTHOR, to=DecisionStatus.ACCEPTED)
    assert get(db, 1).status == DecisionStatus.PROPOSED
