"""Decide-by dates end to end, on SQLite and Postgres (issue 26): the form stores them, the
deciders without a stance are nudged once the working day before at 09:00 their time (across
a clock change), the author on the day with Accept / Extend / Ping again, `/adr dm off` holds,
a decided decision sends nothing, two sweeps send nothing twice, and the nudges are paused
with the workspace."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlmodel import col

from bot.app import work_registry
from bot.core import dates
from bot.core.ids import Action, Callback, Field
from bot.features.decisions.views import decide_by_day
from bot.runtime.scheduler import run_due
from storage import installations
from storage import people as people_repo
from storage.db import Database
from storage.decide_by import KINDS, DecideByWork
from storage.models import DueWork, WorkState
from tests.support.adr import Adr, all_text, ephemeral
from tests.support.delivery import aware, next_last_sunday_of, posts_to, settle, sweep, today
from tests.support.stances import _open_stance_form

NUDGE = "to be decided by"
ON_THE_DAY = "was to be decided by today"


def _cache(db: Database, **zones: str | None) -> None:
    """The user cache knows these people (and their zones), as a users.list read leaves it."""
    with db.session() as session:
        people_repo.upsert_users(
            session, team_id="TAAA", users=[{"id": u, "tz": tz} for u, tz in zones.items()]
        )


def _rows(adr: Adr) -> list[dict[str, Any]]:
    """The decide-by rows of the outbox (due_at aware, on both databases)."""
    with adr.db.read() as session:
        rows = session.scalars(
            select(DueWork).where(col(DueWork.kind).in_(KINDS)).order_by(col(DueWork.id))
        ).all()
        return [
            {"kind": r.kind, "key": r.key, "state": r.state, "due_at": aware(r.due_at)}
            for r in rows
        ]


def _nudges(emulator, user: str) -> list[str]:
    """The decide-by DMs ``user`` received (their text)."""
    return [
        c.args["text"]
        for c in posts_to(emulator, user)
        if NUDGE in c.args.get("text", "") or ON_THE_DAY in c.args.get("text", "")
    ]


def _new(adr: Adr, day: date, deciders: list[str], title: str = "Use Postgres") -> int:
    return adr.new(
        title,
        values={
            Field.DECIDERS: deciders,
            Field.DECIDE_BY: day.isoformat(),
            Field.REVIEW_DATE: "",  # no review asks in the sweeps below
        },
    )


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _author_dm(adr: Adr) -> dict[str, Any]:
    rows = adr.rows("SELECT channel_id, message_ts FROM decide_by_nudges WHERE role = 'author'")
    assert len(rows) == 1, rows
    return rows[0]


# -- the form ------------------------------------------------------------------------------------


def test_the_form_stores_a_decide_by_date_and_refuses_a_past_or_unreadable_one(adr: Adr, slack):
    view = adr.open_form("new Use Postgres")
    assert any(b.get("block_id") == Field.DECIDE_BY for b in view["blocks"])
    unreadable = dates.read_date("the twelfth of never", today=today())
    assert isinstance(unreadable, dates.Unreadable)
    for typed, sentence in (
        ("2001-01-01", "The decide-by date is in the past: pick today or later."),
        ("the twelfth of never", unreadable.sentence),
    ):
        reply = slack.submit(view, {Field.DECISION: "We use it.", Field.DECIDE_BY: typed})
        assert reply.json() == {"response_action": "errors", "errors": {Field.DECIDE_BY: sentence}}
    assert adr.count("decisions") == 0

    day = today() + timedelta(days=10)
    assert _new(adr, day, ["UBOB"]) == 1
    assert aware_date(adr.decision(1)["decide_by"]) == day

    # an edit that moves it is in the history, and the nudges follow the new date
    view = adr.open_form("edit 1")
    later = day + timedelta(days=7)
    assert slack.submit(view, {Field.DECIDE_BY: later.isoformat()}).text == ""
    assert aware_date(adr.decision(1)["decide_by"]) == later
    (edit,) = adr.events(1, kind="edited")
    assert edit["detail"]["changes"]["decide_by"] == [day.isoformat(), later.isoformat()]
    live = [r for r in _rows(adr) if r["state"] == WorkState.PENDING]
    assert {r["key"].split(":")[2] for r in live} == {later.isoformat()}
    assert all(r["state"] == WorkState.CANCELLED for r in _rows(adr) if r not in live)

    # a date that has passed meanwhile may be kept by an edit (not typed anew)
    past = today() - timedelta(days=3)
    with adr.db.session() as session:
        session.execute(text("UPDATE decisions SET decide_by = :d WHERE number = 1"), {"d": past})
    view = adr.open_form("edit 1")
    assert slack.submit(view, {Field.TITLE: "Use Postgres 16"}).text == ""
    assert aware_date(adr.decision(1)["decide_by"]) == past
    view = adr.open_form("edit 1")
    reply = slack.submit(view, {Field.DECIDE_BY: (past - timedelta(days=1)).isoformat()})
    assert reply.json()["errors"] == {
        Field.DECIDE_BY: "The decide-by date is in the past: pick today or later."
    }

    # an accepted decision is created without one (nothing to wait for)
    assert (
        adr.new(
            "Drop IE11",
            values={Field.STATUS: "accepted", Field.DECIDE_BY: day.isoformat()},
        )
        == 2
    )
    assert adr.decision(2)["decide_by"] is None


def aware_date(value: object) -> date | None:
    """A date column as read by raw SQL (SQLite: a string; Postgres: a date)."""
    if value is None:
        return None
    return date.fromisoformat(str(value)[:10])


# -- nudges ----------------------------------------------------------------------------------------


def test_nudges_at_nine_local_across_a_clock_change_once_each(adr: Adr, slack, emulator, db):
    # Berlin moves its clocks forward on the last Sunday of March: the Friday before is
    # UTC+1, the Monday after UTC+2. UCAROL is not in the cache: the workspace has no zone
    # set, so UTC.
    sunday = next_last_sunday_of(3)
    monday, friday = sunday + timedelta(days=1), sunday - timedelta(days=2)
    _cache(db, UALICE="Europe/Berlin", UBOB="Europe/Berlin")
    assert _new(adr, monday, ["UBOB", "UCAROL"]) == 1

    due = {
        (r["kind"], r["key"].rsplit(":", 1)[-1]): r["due_at"]
        for r in _rows(adr)
        if r["state"] == WorkState.PENDING
    }
    assert due == {
        (DecideByWork.DECIDER, "UBOB"): _at(friday, 8),  # 09:00 CET
        (DecideByWork.DECIDER, "UCAROL"): _at(friday, 9),  # 09:00 UTC
        (DecideByWork.AUTHOR, "UALICE"): _at(monday, 7),  # 09:00 CEST
    }

    sweep(slack, db, _at(friday, 7) + timedelta(minutes=59))
    assert _nudges(emulator, "UBOB") == []
    sweep(slack, db, _at(friday, 8))
    assert len(_nudges(emulator, "UBOB")) == 1 and _nudges(emulator, "UCAROL") == []
    assert (
        f"*ADR-1: Use Postgres* is to be decided by {decide_by_day(monday)}"
        in (_nudges(emulator, "UBOB")[0])
    )

    # two sweeps at once (two run-due processes): each DM once
    threads = [
        threading.Thread(
            target=run_due, args=(db, slack.server.dispatch_client), kwargs={"now": _at(friday, 9)}
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    settle(slack)
    sweep(slack, db, _at(friday, 10))
    assert len(_nudges(emulator, "UBOB")) == 1 and len(_nudges(emulator, "UCAROL")) == 1

    # UBOB agrees; on the day the author hears who has not answered: UCAROL only
    assert slack.click(Action.AGREE, "1", user="UBOB").status == 200
    slack.listeners_done()
    assert "UBOB" in adr.stances(1)
    sweep(slack, db, _at(monday, 6))
    assert _nudges(emulator, "UALICE") == []
    sweep(slack, db, _at(monday, 7))
    sweep(slack, db, _at(monday, 8))
    (dm,) = [c for c in posts_to(emulator, "UALICE") if ON_THE_DAY in c.args.get("text", "")]
    assert "Not answered yet: <@UCAROL>." in dm.args["text"]
    assert "<@UBOB>" not in dm.args["text"]
    buttons = [e["action_id"] for b in dm.args["blocks"] for e in b.get("elements", [])]
    assert buttons == [Action.DECIDE_BY_ACCEPT, Action.DECIDE_BY_EXTEND, Action.DECIDE_BY_PING]
    where = _author_dm(adr)
    assert where["channel_id"].startswith("D") and where["message_ts"]

    # Ping again: one DM to each decider still without a stance, per click
    slack.click(
        Action.DECIDE_BY_PING,
        "1",
        channel=where["channel_id"],
        message_ts=where["message_ts"],
    )
    emulator.wait_for(
        "response_url", where=lambda c: "I asked <@UCAROL> again." in c.args.get("text", "")
    )
    settle(slack)
    pings = _nudges(emulator, "UCAROL")
    assert len(pings) == 2 and pings[1].startswith("<@UALICE> asks again:")
    # the same click delivered twice (Slack retries) pings once; a new click pings again
    click = _ping_payload(emulator, where, action_ts="1790000000.000100")
    for _ in range(2):
        assert slack._interactive(click).status == 200
    slack.listeners_done()
    settle(slack)
    assert len(_nudges(emulator, "UCAROL")) == 3
    answers = [c for c in emulator.calls("response_url") if c.key == "ping1790000000.000100"]
    assert answers and all("I asked <@UCAROL> again." in c.args["text"] for c in answers)
    assert len(_nudges(emulator, "UBOB")) == 1

    # Accept from the DM: as `/adr accept 1`
    slack.click(
        Action.DECIDE_BY_ACCEPT, "1", channel=where["channel_id"], message_ts=where["message_ts"]
    )
    emulator.wait_for(
        "response_url", where=lambda c: c.args.get("text") == "ADR-1 is now accepted."
    )
    assert adr.decision(1)["status"] == "accepted"
    assert [e["actor_id"] for e in adr.events(1, kind="status_changed")] == ["UALICE"]


def _ping_payload(emulator, where: dict[str, Any], *, action_ts: str) -> dict[str, Any]:
    """A "Ping again" click on the author's DM, with its own ``action_ts``."""
    return {
        "type": "block_actions",
        "team": {"id": "TAAA", "domain": "taaa"},
        "user": {"id": "UALICE", "username": "ualice", "team_id": "TAAA"},
        "api_app_id": "A0001",
        "trigger_id": f"trigger.ping.{action_ts}",
        "container": {
            "type": "message",
            "message_ts": where["message_ts"],
            "channel_id": where["channel_id"],
        },
        "channel": {"id": where["channel_id"], "name": "directmessage"},
        "message": {"ts": where["message_ts"], "text": ""},
        "response_url": emulator.response_url(f"ping{action_ts}"),
        "actions": [
            {
                "type": "button",
                "action_id": Action.DECIDE_BY_PING,
                "block_id": "b",
                "value": "1",
                "action_ts": action_ts,
            }
        ],
    }


def test_a_decided_decision_sends_nothing(adr: Adr, slack, emulator, db):
    day = today() + timedelta(days=14)
    assert _new(adr, day, ["UBOB"]) == 1
    assert _new(adr, day, ["UBOB"], title="Drop IE11") == 2
    assert len([r for r in _rows(adr) if r["state"] == WorkState.PENDING]) == 4
    assert ephemeral(slack.command("accept 1")) == "ADR-1 is now accepted."
    assert ephemeral(slack.command("reject 2")) == "ADR-2 is now rejected."
    assert {r["state"] for r in _rows(adr)} == {WorkState.CANCELLED}
    sweep(slack, db, _at(day, 23))
    assert _nudges(emulator, "UBOB") == [] and _nudges(emulator, "UALICE") == []

    # decided after its rows were planned but not cancelled (a row already claimed by
    # another process): the row checks the decision when it is sent
    assert _new(adr, day + timedelta(days=7), ["UBOB"], title="Retire Jenkins") == 3
    with db.session() as session:
        session.execute(
            text("UPDATE decisions SET status = 'accepted' WHERE team_id = 'TAAA' AND number = 3")
        )
    sweep(slack, db, _at(day + timedelta(days=7), 23))
    assert _nudges(emulator, "UBOB") == [] and _nudges(emulator, "UALICE") == []
    assert {r["state"] for r in _rows(adr)} == {WorkState.CANCELLED, WorkState.DONE}


def test_dm_off_is_respected_and_the_author_told_whom_it_skipped(adr: Adr, slack, emulator, db):
    day = today() + timedelta(days=14)
    assert "I won't DM you" in adr.run("dm off", user="UBOB")
    assert _new(adr, day, ["UBOB", "UCAROL"]) == 1
    sweep(slack, db, _at(day, 23))
    assert _nudges(emulator, "UBOB") == []
    assert len(_nudges(emulator, "UCAROL")) == 1
    (dm,) = _nudges(emulator, "UALICE")
    assert "I didn't nudge <@UBOB>: they turned my DMs off (`/adr dm off`)." in dm

    # the author turned DMs off too: nothing on the day for them either
    assert _new(adr, day + timedelta(days=7), ["UCAROL"], title="Drop IE11") == 2
    assert "I won't DM you" in adr.run("dm off", user="UALICE")
    sweep(slack, db, _at(day + timedelta(days=7), 23))
    assert len(_nudges(emulator, "UALICE")) == 1


def test_extend_and_accept_refused_while_blocked(adr: Adr, slack, emulator, db):
    day = today() + timedelta(days=14)
    assert _new(adr, day, ["UBOB", "UCAROL"]) == 1
    sweep(slack, db, _at(day, 23))
    where = _author_dm(adr)
    click = {"channel": where["channel_id"], "message_ts": where["message_ts"]}

    # UCAROL blocks after the DM went out: Accept is refused with change_status's sentence
    form = _open_stance_form(adr, Action.BLOCK, "UCAROL")
    assert slack.submit(form, {Field.REASON: "No caching story"}, user="UCAROL").text == ""
    slack.click(Action.DECIDE_BY_ACCEPT, "1", **click)
    refusal = (
        "ADR-1 is blocked by <@UCAROL>. It can be accepted once the block is withdrawn, or a "
        "decider can override it: `/adr accept 1 --override` followed by the reason."
    )
    emulator.wait_for("response_url", where=lambda c: refusal in all_text(c.args))
    assert adr.decision(1)["status"] == "proposed"

    # someone else clicking the author's buttons: the DM was not sent to them, so the
    # visibility rule holds (a guest, or someone not known yet, sees nothing from a DM), and
    # someone who may see it may still not change it
    slack.click(Action.DECIDE_BY_EXTEND, "1", user="UDAN", **click)
    emulator.wait_for(
        "response_url", where=lambda c: "ADR-1 doesn't exist in this workspace" in all_text(c.args)
    )
    _cache(db, UEVE=None)
    slack.click(Action.DECIDE_BY_EXTEND, "1", user="UEVE", **click)
    emulator.wait_for(
        "response_url",
        where=lambda c: "Only the author and the deciders of ADR-1" in all_text(c.args),
    )

    # Extend: the modal reads the date with the one parser, refuses a past day, and replans
    before = slack.views_opened()
    slack.click(Action.DECIDE_BY_EXTEND, "1", **click)
    view = slack.opened_view(after=before)
    assert view["callback_id"] == Callback.DECIDE_BY_EXTEND_FORM
    reply = slack.submit(view, {Field.DECIDE_BY: "2001-01-01"})
    assert reply.json()["errors"] == {
        Field.DECIDE_BY: "The decide-by date is in the past: pick today or later."
    }
    later = day + timedelta(days=7)
    assert slack.submit(view, {Field.DECIDE_BY: later.isoformat()}).text == ""
    assert aware_date(adr.decision(1)["decide_by"]) == later
    pending = [r for r in _rows(adr) if r["state"] == WorkState.PENDING]
    assert {(r["kind"], r["key"].split(":")[2]) for r in pending} == {
        (DecideByWork.DECIDER, later.isoformat()),
        (DecideByWork.AUTHOR, later.isoformat()),
    }
    assert len(pending) == 3  # UBOB, UCAROL and the author
    sweep(slack, db, _at(later, 23))
    assert len(_nudges(emulator, "UALICE")) == 2
    assert len(_nudges(emulator, "UBOB")) == 2
    assert len(_nudges(emulator, "UCAROL")) == 1  # UCAROL took a stance (a block)


def test_nudges_are_paused_with_the_workspace(adr: Adr, db):
    assert {DecideByWork.DECIDER, DecideByWork.AUTHOR} <= work_registry().scheduled()
    assert _new(adr, today() + timedelta(days=14), ["UBOB"]) == 1
    with db.session() as session:
        installations.leave_work(
            session,
            team_id="TAAA",
            retention=timedelta(days=30),
            scheduled_kinds=work_registry().scheduled(),
            now=datetime.now(UTC),
        )
    assert {r["state"] for r in _rows(adr)} == {WorkState.PAUSED}
