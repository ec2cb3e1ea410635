from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.core.ids import Action, Field
from bot.runtime.scheduler import run_due
from storage.models import DueWork, Review
from tests.support.delivery import settle


def test_review_asks_owners_and_records_outcome(slack, emulator, db):
    emulator.set_user("UBOB", tz="Europe/Berlin")
    slack.command("new Use Postgres")
    view = slack.opened_view()
    review_day = (datetime.now(UTC) + timedelta(days=40)).date()
    slack.submit(
        view,
        {
            Field.DECISION: "We use Postgres.",
            Field.DECIDERS: ["UBOB"],
            Field.REVIEW_DATE: review_day.isoformat(),
        },
    )
    emulator.wait_for("chat.postMessage")
    # scheduling happens after the ack
    import time

    deadline = time.monotonic() + 20
    while True:
        with db.read() as s:
            r = s.exec(select(Review)).first()
        if r is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert r is not None and r.timezone == "Europe/Berlin"
    # what is due by the real clock (the author's confirmation, ...) goes out first, so the
    # sweep below sends the review's messages only, whatever the timing
    settle(slack)
    result = run_due(db, slack.server.dispatch_client, now=r.due_at + timedelta(minutes=1))
    assert result.sent == 3, result  # author DM, decider DM, thread reply
    dms = [c for c in emulator.calls("chat.postMessage") if c.args["channel"] in ("UALICE", "UBOB")]
    assert {c.args["channel"] for c in dms} == {"UALICE", "UBOB"}
    again = run_due(db, slack.server.dispatch_client, now=r.due_at + timedelta(minutes=2))
    assert again.claimed == 0
    # Alice presses Worked
    reply = slack.click(Action.REVIEW_WORKED, str(r.id), user="UALICE", channel="DALICE")
    assert reply.status == 200
    view = slack.opened_view(after=1)
    reply = slack.submit(view, {Field.WHAT_HAPPENED: "Fast & boring"}, user="UALICE")
    assert reply.status == 200, reply.text
    emulator.wait_for("chat.update", count=2)
    with db.read() as s:
        r2 = s.get(Review, r.id)
        assert r2.outcome == "worked" and r2.outcome_by == "UALICE"
        pending = s.exec(select(DueWork).where(DueWork.state == "pending")).all()
        assert pending == []
