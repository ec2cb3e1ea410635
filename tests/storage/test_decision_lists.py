"""storage/decision_lists.py: lists filtered by status and tag, newest first, paginated; private
decisions visible only where they belong; the App Home queries.

Against a real, migrated database: SQLite and PostgreSQL (``db``). Nothing is mocked: every test
goes through ``Database.session()`` / ``Database.read()`` the way the listeners do, so commits,
rollbacks, locks and dialect differences are all real.
"""

from __future__ import annotations

from typing import Any

import pytest

from storage import decisions as repo
from storage.db import Database
from storage.decision_lists import (
    awaiting_stance,
    list_decisions,
    owned_decisions,
    recent_decisions,
)
from storage.errors import NotFound
from storage.models import DecisionStatus, StanceKind
from storage.stances import set_stance
from storage.visibility import Viewer
from tests.support.decisions import AUTHOR, DECIDER, OTHER_TEAM, OUTSIDER, TEAM, create, search

# -- listing and visibility ------------------------------------------------------------------


def listed(db: Database, viewer: Viewer, team: str = TEAM, **kw: Any) -> tuple[list[int], int]:
    with db.read() as s:
        rows, total = list_decisions(s, team_id=team, viewer=viewer, **kw)
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
        assert [d.number for d in recent_decisions(s, team_id=TEAM, viewer=Viewer(OUTSIDER))] == [1]


def test_home_queries(db: Database) -> None:
    create(db, deciders=["UME"])  # 1: waiting for me
    create(db, consulted=["UME"])  # 2: waiting for me
    create(db, informed=["UME"])  # 3: informed people are not asked for a stance
    create(db, author="UME")  # 4: mine
    create(db, deciders=["UME"], status=DecisionStatus.ACCEPTED)  # 5: not proposed
    create(db, team=OTHER_TEAM, deciders=["UME"])
    with db.session() as s:
        set_stance(s, team_id=TEAM, number=2, user_id="UME", kind=StanceKind.AGREE)
    with db.read() as s:
        awaiting = awaiting_stance(s, team_id=TEAM, user_id="UME")
        owned = owned_decisions(s, team_id=TEAM, user_id="UME")
    assert [d.number for d in awaiting] == [1]
    assert [d.number for d in owned] == [5, 4, 1]
