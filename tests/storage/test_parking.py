"""``storage.parking`` on a real database (SQLite and Postgres, ``db``): what a transition
refuses, whatever the caller checked before."""

from __future__ import annotations

from datetime import date

import pytest

from storage import parking
from storage.db import Database
from storage.errors import InvalidInput
from storage.models import ParkingItem, ParkingState
from storage.visibility import Viewer

TEAM = "T1"


def _park(db: Database) -> int:
    with db.session() as s:
        item = parking.create_item(
            s,
            team_id=TEAM,
            parked_by="UALICE",
            request="Export to CSV",
            requester_id="UBOB",
            why="",
            channel_id="CPROJ",
            thread_ts=None,
            scores=parking.Scores(),
            decision_number=None,
            round_number=None,
            viewer=Viewer(user_id="UALICE", channel_id="CPROJ"),
        )
        return item.number


def test_a_deferral_without_its_day_is_refused_and_the_item_stays_parked(db: Database) -> None:
    number = _park(db)
    with pytest.raises(InvalidInput, match="Pick the day P-1 should come back"):
        with db.session() as s:
            item = parking.get_item(s, team_id=TEAM, number=number, for_update=True)
            parking.transition(s, item=item, actor_id="UALICE", to=ParkingState.DEFERRED)
    with db.read() as s:
        item = parking.get_item(s, team_id=TEAM, number=number)
        assert item.state == ParkingState.PARKED
        assert [e.kind for e in parking.history(s, item)] == ["parked"]
    with db.session() as s:  # with its day it is deferred
        item = parking.get_item(s, team_id=TEAM, number=number, for_update=True)
        parking.transition(
            s,
            item=item,
            actor_id="UALICE",
            to=ParkingState.DEFERRED,
            deferred_until=date(2031, 3, 6),
        )
    with db.read() as s:
        item = parking.get_item(s, team_id=TEAM, number=number)
        assert (item.state, item.deferred_until) == (ParkingState.DEFERRED, date(2031, 3, 6))


def test_an_item_not_saved_yet_has_no_id_to_record_against() -> None:
    item = ParkingItem(team_id=TEAM, number=7, request="x", parked_by="U1", channel_id="C1")
    with pytest.raises(ValueError, match="P-7 is not saved yet"):
        parking.saved_id(item)
