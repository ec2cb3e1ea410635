"""Editing a decision's review date (`/adr edit N`) over signed HTTP, on SQLite and Postgres:
clearing it cancels the review scheduled for the old date; setting one again schedules a new
round. Reviews are delivered by ``run_due`` at chosen instants, as in test_e2e.py."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bot.core.dates import review_instant
from bot.core.ids import Field
from tests.support.adr import Adr
from tests.support.delivery import aware, next_weekday, posts_to, settle, sweep
from tests.support.harness import SlackDriver
from tests.support.reviews import asks_in, new_decision, review, reviews, work

OWNERS = ("UALICE", "UBOB")


def edit_review_date(adr: Adr, number: int, day: date | None) -> None:
    """`/adr edit N`, change only the review date (None: clear it), Submit."""
    view = adr.open_form(f"edit {number}")
    values: dict[str, Any] = {Field.REVIEW_DATE: day.isoformat() if day else None}
    reply = adr.slack.submit(view, values)
    assert reply.status == 200 and reply.text == "", (reply.status, reply.text)


def review_dms(adr: Adr) -> int:
    return sum(len(asks_in(posts_to(adr.emulator, user))) for user in OWNERS)


def test_clearing_the_review_date_cancels_the_review_and_a_new_date_schedules_one(
    adr: Adr, slack: SlackDriver, db
) -> None:
    number = new_decision(adr, review_date=next_weekday(0))
    [scheduled] = reviews(db, number)
    old_due = aware(scheduled.due_at)

    edit_review_date(adr, number, None)
    settle(slack)
    assert adr.decision(number)["review_date"] is None
    [edited] = adr.events(number, kind="edited")
    assert edited["detail"]["changes"]["review_date"][1] is None  # the old date stays in history
    assert review(db, scheduled.id).state == "cancelled"
    assert {w.state for w in work(db, scheduled.id)} == {"cancelled"}

    # the edit form shows no date now: a later edit of the text keeps the review cleared
    view = adr.open_form(f"edit {number}")
    [review_field] = [b for b in view["blocks"] if b.get("block_id") == Field.REVIEW_DATE]
    assert "initial_value" not in review_field["element"]
    reply = adr.slack.submit(view, {Field.TITLE: "Renamed, still no review"})
    assert reply.status == 200 and reply.text == ""
    settle(slack)
    assert adr.decision(number)["review_date"] is None
    assert [r.state for r in reviews(db, number)] == ["cancelled"]

    # the old date passes: nobody is asked
    sweep(slack, db, old_due + timedelta(minutes=1))
    assert review_dms(adr) == 0
    assert [r.state for r in reviews(db, number)] == ["cancelled"]

    # a date again: a new round, asked on that date
    day = next_weekday(2, at_least=21)
    edit_review_date(adr, number, day)
    settle(slack)  # the dispatcher turns the date into a scheduled review
    first, second = reviews(db, number)
    assert first.state == "cancelled"
    assert (second.round, second.state) == (2, "scheduled")
    assert aware(second.due_at) == review_instant(day, tz="UTC", hour=10)
    sweep(slack, db, aware(second.due_at))
    assert review_dms(adr) == len(OWNERS)
    assert review(db, second.id).state == "open"


def test_clearing_the_date_of_a_review_already_asked_stops_its_reminders(
    adr: Adr, slack: SlackDriver, db
) -> None:
    number = new_decision(adr, review_date=next_weekday(0))
    [r] = reviews(db, number)
    asked_at = aware(r.due_at) + timedelta(minutes=1)
    sweep(slack, db, asked_at)
    assert review(db, r.id).state == "open" and review_dms(adr) == len(OWNERS)

    edit_review_date(adr, number, None)
    settle(slack)
    assert review(db, r.id).state == "cancelled"
    assert not [w for w in work(db, r.id) if w.state == "pending"]  # the reminders are gone
    sweep(slack, db, asked_at + timedelta(days=10))
    assert review_dms(adr) == len(OWNERS)
