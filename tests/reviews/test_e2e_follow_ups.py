""" "Did this decision work?" follow-ups end to end, on SQLite and on a real Postgres server:
nudges when nobody answers, snooze, remind, review now, and follow-ups cancelled when the
decision is rejected, deprecated or superseded.

Decisions are recorded through the real `/adr` modal over signed loopback HTTP; follow-ups are
delivered by ``run_due`` at chosen instants through the app's real WebClient (slack_sdk retry
handlers on) against the Slack emulator. Tests assert on what Slack received and what the
database holds, never on how long anything took.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.dates import review_instant, unreadable, working_days_later
from bot.core.ids import Action, Callback, Field
from storage.rules import review_day
from tests.support.adr import all_text
from tests.support.delivery import aware, next_weekday, posts_to, settle, sweep, today
from tests.support.reviews import (
    BERLIN,
    asks_in,
    events,
    new_decision,
    review,
    reviews,
    wait_review,
    work,
)

# -- no answer: nudges ------------------------------------------------------------------------


def test_no_answer_two_nudges_three_working_days_apart_then_unanswered(adr, slack, emulator, db):
    emulator.set_user("UBOB", tz=BERLIN)
    monday = next_weekday(0)
    number = new_decision(adr, review_date=monday)
    r = reviews(db, number)[0]
    due = aware(r.due_at)
    assert due == review_instant(monday, tz=BERLIN, hour=10)
    assert sweep(slack, db, due).sent == 3

    nudge1 = working_days_later(due, 3, tz=BERLIN, hour=10)
    assert nudge1.astimezone(ZoneInfo(BERLIN)).date() == monday + timedelta(days=3)  # Thursday
    assert sweep(slack, db, nudge1 - timedelta(minutes=1)).claimed == 0
    assert sweep(slack, db, nudge1).sent == 2
    for user in ("UALICE", "UBOB"):
        dms = posts_to(emulator, user)
        assert len(dms) == 2
        assert "Reminder 1" in all_text(dms[1].args["blocks"])
        assert asks_in(dms[1:]), "the reminder has the answer buttons"

    nudge2 = working_days_later(nudge1, 3, tz=BERLIN, hour=10)
    assert nudge2.astimezone(ZoneInfo(BERLIN)).date() == monday + timedelta(days=8)  # Tuesday
    assert sweep(slack, db, nudge2 - timedelta(minutes=1)).claimed == 0
    assert sweep(slack, db, nudge2).sent == 2
    assert all(
        "Reminder 2" in all_text(posts_to(emulator, u)[2].args["blocks"])
        for u in ("UALICE", "UBOB")
    )
    assert review(db, r.id).nudges_sent == 2
    assert review(db, r.id).state == "open"

    expiry = working_days_later(nudge2, 3, tz=BERLIN, hour=10)
    assert sweep(slack, db, expiry).sent == 0
    rv = review(db, r.id)
    assert rv.state == "unanswered" and rv.outcome is None
    assert len(events(db, "review_unanswered")) == 1

    # never a third nudge, whatever later instants are swept
    sent = len(emulator.calls("chat.postMessage"))
    instant = expiry
    while instant < expiry + timedelta(days=45):
        instant += timedelta(hours=7)
        assert sweep(slack, db, instant).claimed == 0
    assert len(emulator.calls("chat.postMessage")) == sent
    assert [len(posts_to(emulator, u)) for u in ("UALICE", "UBOB")] == [3, 3]
    assert all(w.state == "done" for w in work(db, r.id))
    assert len(events(db, "review_unanswered")) == 1


# -- moving the review -------------------------------------------------------------------------


def test_snooze_two_weeks_starts_a_new_round_at_10_local(adr, slack, emulator, db):
    emulator.set_user("UBOB", tz=BERLIN)
    # Snoozing counts from the day the button is pressed (the real today), so this review is
    # due today (or on Monday, on a weekend) and is opened at the real time.
    number = new_decision(adr, review_date=today())
    [r] = reviews(db, number)
    now = max(aware(r.due_at), datetime.now(UTC))
    sweep(slack, db, now)  # (the app's own dispatcher may open it first: it is due now)
    assert review(db, r.id).state == "open"
    assert len(asks_in(posts_to(emulator, "UALICE") + posts_to(emulator, "UBOB"))) == 2
    assert len([c for c in emulator.calls("chat.postMessage") if c.args.get("thread_ts")]) == 1

    def local_today() -> date:
        return datetime.now(UTC).astimezone(ZoneInfo(BERLIN)).date()

    pressed = local_today()
    reply = slack.select(Action.REVIEW_SNOOZE, f"{r.id}:2w", user="UBOB", channel="DBOB")
    assert reply.status == 200
    [answer] = emulator.wait_for("response_url", where=lambda c: c.key == slack.last_response_key)
    # two weeks from Bob's today when the bot handled it (either side of a midnight in Berlin)
    days = [d + timedelta(days=14) for d in sorted({pressed, local_today()})]
    assert answer.args.get("replace_original") is True
    # the time it asks again, in Bob's own zone (Slack's date formatting; the fallback names
    # the review's zone): ten o'clock in Berlin on that day, or the Monday after a weekend
    said = [
        d
        for d in days
        if f"<!date^{int(review_instant(d, tz=BERLIN, hour=10).timestamp())}^"
        in answer.args["text"]
    ]
    assert said and "2 weeks" in answer.args["text"], (days, answer.args["text"])
    assert "10:00 Europe/Berlin>" in answer.args["text"]
    day = said[0]

    first, second = reviews(db, number)
    assert first.state == "cancelled" and second.round == 2 and second.state == "scheduled"
    assert aware(second.due_at) == review_instant(day, tz=BERLIN, hour=10)
    local = aware(second.due_at).astimezone(ZoneInfo(BERLIN))
    assert (local.hour, local.minute) == (10, 0) and local.weekday() < 5
    assert not [w for w in work(db, first.id) if w.state == "pending"]
    assert [e["until"] for e in events(db, "review_snoozed")] == ["2 weeks"]

    # round 1's reminders are gone; round 2 asks again at its time (two weeks from the
    # real today, when the button was pressed)
    dms_before = len(posts_to(emulator, "UBOB"))
    for days in (1, 3, 5, 9):
        assert sweep(slack, db, now + timedelta(days=days)).sent == 0
    assert len(posts_to(emulator, "UBOB")) == dms_before
    assert sweep(slack, db, aware(second.due_at)).sent == 3
    assert len(asks_in(posts_to(emulator, "UBOB"))) == 2
    assert review(db, second.id).state == "open"


def test_remind_moves_the_review(adr, slack, emulator, db):
    number = new_decision(adr, review_date=next_weekday(2))
    [r] = reviews(db, number)
    old_due = aware(r.due_at)

    sent = today()
    text = adr.run(f"remind {number} 2w")
    settle(slack)  # the new date becomes a scheduled review after the ack
    # two weeks from the bot's today (either side of midnight UTC); the day it says is the
    # day it asks: the Monday after, when two weeks on is a weekend
    said = [
        day
        for day in sorted({sent, today()})
        if f"ADR-{number} on {review_day(day + timedelta(days=14)).isoformat()}" in text
    ]
    assert said, text
    day = said[0] + timedelta(days=14)
    assert adr.decision(number)["review_date"] in (day, day.isoformat())
    [moved] = reviews(db, number)
    assert moved.id == r.id and moved.state == "scheduled"
    assert aware(moved.due_at) == review_instant(day, tz="UTC", hour=10)
    [open_row] = [w for w in work(db, r.id) if w.kind == "review.open"]
    assert aware(open_row.due_at) == aware(moved.due_at)

    assert old_due < aware(moved.due_at)
    assert sweep(slack, db, old_due).claimed == 0  # the old date passes quietly
    assert sweep(slack, db, aware(moved.due_at)).sent == 3

    # clear sentences for what it can't do
    assert unreadable("someday") in adr.run(f"remind {number} someday")
    assert "past" in adr.run(f"remind {number} 2020-01-01")
    assert "When?" in adr.run(f"remind {number}")
    assert "Only the author and the deciders" in adr.run(f"remind {number} 3m", user="UEVE")
    assert "ADR-99 doesn't exist" in adr.run("remind 99 2w")


def test_review_now_asks_right_away_and_keeps_the_planned_review(adr, slack, emulator, db):
    emulator.set_user("UALICE", tz=BERLIN)
    number = new_decision(adr)
    [planned] = reviews(db, number)
    planned_at = aware(planned.due_at)
    message_ts = adr.decision(number)["message_ts"]
    assert "Only the author and the deciders" in adr.run(f"review {number}", user="UEVE")
    assert [r.state for r in reviews(db, number)] == ["scheduled"]

    text = adr.run(f"review {number}")
    assert f"ADR-{number} now" in text
    # the reply says the planned review stays, at its time in the reader's own zone
    assert "The planned review stays" in text
    assert f"<!date^{int(planned_at.timestamp())}^" in text, text
    assert f"|{planned_at.astimezone(ZoneInfo(BERLIN)):%Y-%m-%d %H:%M} Europe/Berlin>" in text
    for user in ("UALICE", "UBOB"):
        emulator.wait_for(
            "chat.postMessage",
            where=lambda c, u=user: c.args.get("channel") == u and bool(asks_in([c])),
        )
    emulator.wait_for("chat.postMessage", where=lambda c: c.args.get("thread_ts") == message_ts)
    # the background sweep finishes the extra round's rows
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (
        len(reviews(db, number)) < 2
        or any(
            w.state != "done"
            for w in work(db, reviews(db, number)[0].id)
            if w.kind != "review.nudge"
        )
    ):
        time.sleep(0.02)
    extra, kept = reviews(db, number)  # rounds in the order they are asked
    assert (extra.round, extra.state) == (1, "open")
    assert aware(extra.due_at) < planned_at
    assert [w.state for w in work(db, extra.id) if w.kind != "review.nudge"] == ["done"] * 4
    # the planned review is untouched: same row, same time, still waiting for its day
    assert (kept.id, kept.round, kept.state) == (planned.id, 2, "scheduled")
    assert aware(kept.due_at) == planned_at
    [open_row] = [w for w in work(db, kept.id) if w.kind == "review.open"]
    assert (open_row.state, aware(open_row.due_at)) == ("pending", planned_at)
    shown = adr.show(number)
    assert f"Next review: <!date^{int(planned_at.timestamp())}^" in shown
    assert "asked for a review now; the one planned for <!date^" in shown

    # the planned day comes: everyone is asked again (a new question, not a reminder), and
    # the extra round, still unanswered, stops reminding
    sweep(slack, db, planned_at + timedelta(minutes=1))
    for user in ("UALICE", "UBOB"):
        asked = [c for c in asks_in(posts_to(emulator, user)) if "Reminder" not in all_text(c.args)]
        assert len(asked) == 2, user
    extra, kept = reviews(db, number)
    assert (extra.state, kept.state) == ("cancelled", "open")
    assert not [w for w in work(db, extra.id) if w.state == "pending"]


def test_review_now_twice_asks_again_and_the_planned_review_still_stays(adr, slack, db):
    number = new_decision(adr)
    [planned] = reviews(db, number)
    adr.run(f"review {number}")
    settle(slack)
    adr.run(f"review {number}")
    settle(slack)
    first, second, kept = reviews(db, number)
    assert [r.round for r in (first, second, kept)] == [1, 2, 3]
    assert (first.state, second.state, kept.state) == ("cancelled", "open", "scheduled")
    assert kept.id == planned.id and aware(kept.due_at) == aware(planned.due_at)

    # moving the review date moves the planned review, not the ask in flight
    later = next_weekday(2, at_least=40)
    assert f"on {later.isoformat()}" in adr.run(f"remind {number} {later.isoformat()}")
    settle(slack)
    first, second, kept = reviews(db, number)
    assert second.state == "open" and kept.id == planned.id
    assert aware(kept.due_at) == review_instant(later, tz="UTC", hour=10)


def test_reject_deprecate_and_supersede_cancel_pending_follow_ups(adr, slack, emulator, db):
    d0 = next_weekday(0, at_least=40)  # after the superseding decision's default review
    one = new_decision(adr, title="Reject me", review_date=d0 + timedelta(days=7))
    two = new_decision(adr, title="Deprecate me", review_date=d0)
    three = new_decision(adr, title="Supersede me", review_date=d0)
    assert (one, two, three) == (1, 2, 3)

    assert "rejected" in adr.run("reject 1")
    [r1] = reviews(db, 1)
    assert r1.state == "cancelled"
    assert {w.state for w in work(db, r1.id)} == {"cancelled"}

    due = aware(reviews(db, 2)[0].due_at) + timedelta(minutes=1)
    result = sweep(slack, db, due)
    assert result.sent == 6  # ADR-2 and ADR-3: two DMs and a thread note each
    [r2], [r3] = reviews(db, 2), reviews(db, 3)
    assert r2.state == r3.state == "open"

    assert "deprecated" in adr.run("deprecate 2")
    assert review(db, r2.id).state == "cancelled"

    # "Supersede it" in the review DM opens the decision form for the successor
    before = slack.views_opened()
    assert slack.click(Action.REVIEW_SUPERSEDE, "3", user="UBOB", channel="DBOB").status == 200
    view = slack.opened_view(after=before)
    assert view["callback_id"] == Callback.DECISION_FORM
    reply = slack.submit(view, {Field.TITLE: "Use Postgres 17"}, user="UBOB")
    assert reply.status == 200 and reply.text == "", reply.text
    assert adr.decision(3)["status"] == "superseded"
    wait_review(db, 4)  # ADR-4 is posted (and its own review scheduled) after the ack
    assert review(db, r3.id).state == "cancelled"
    for r in (r1, r2, r3):
        assert not [w for w in work(db, r.id) if w.state in ("pending", "claimed")], r

    # nothing about ADR-1..3 is ever sent again
    mark = len(emulator.calls("chat.postMessage"))
    instant = due
    while instant < due + timedelta(days=60):
        instant += timedelta(hours=12)
        sweep(slack, db, instant)
    later = emulator.calls("chat.postMessage")[mark:]
    about_old = [
        c
        for c in later
        if re.search(
            r"ADR-[123](?!\d)", c.args.get("text", "") + all_text(c.args.get("blocks") or [])
        )
    ]
    assert about_old == []
    assert {r.state for r in reviews(db, 1) + reviews(db, 2) + reviews(db, 3)} == {"cancelled"}
    # rejecting a decision with no review left is fine; reviewing it says why not
    assert "nothing to review" in adr.run("review 1")
