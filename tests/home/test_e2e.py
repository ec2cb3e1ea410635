"""The App Home tab end to end over signed HTTP, on SQLite and Postgres: recent decisions, those
waiting for your stance and those you own, retried events ignored; reviews waiting for your
answer, outcomes and next reviews."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.ids import Action, Field
from tests.support.adr import Adr, all_text, listed_numbers
from tests.support.reviews import new_decision, open_outcome_form, opened, submit_outcome


def _section_after(blocks: list[dict], label: str) -> str:
    """The list shown under a Home section heading ('' if the heading says it is empty)."""
    for i, b in enumerate(blocks):
        if b["type"] == "section" and f"*{label}*" in b["text"]["text"]:
            nxt = blocks[i + 1] if i + 1 < len(blocks) else {}
            return nxt["text"]["text"] if nxt.get("type") == "section" else ""
    raise AssertionError(f"no {label!r} section in {blocks}")


def test_app_home_shows_recent_waiting_and_owned_and_ignores_retries(adr: Adr, slack, emulator):
    adr.new("Bob should weigh in", values={Field.DECIDERS: ["UBOB"]})
    adr.new("Carol consulted", values={Field.CONSULTED: ["UCAROL"]})
    # ADR-3 is in a private channel: only its author and named people see it anywhere
    emulator.set_channel("CPRIV", is_private=True)
    adr.new("Secret plan", channel="CPRIV", values={Field.DECIDERS: ["UDAN"]})

    event = {"type": "app_home_opened", "user": "UBOB", "channel": "DBOB", "tab": "home"}
    reply = slack.event(event, event_id="EvHOME1")
    assert reply.status == 200
    [publish] = emulator.wait_for("views.publish")
    assert publish.args["user_id"] == "UBOB"
    view = publish.args["view"]
    assert view["type"] == "home"
    blocks = view["blocks"]
    assert "*ADR-1*" in _section_after(blocks, "Waiting for your stance")
    assert "*ADR-1*" in _section_after(blocks, "Decisions you own")
    recent = _section_after(blocks, "Recent decisions")
    assert "*ADR-2*" in recent and "*ADR-1*" in recent

    # Slack retries the same event (our ack was "slow"): it must not publish again
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    reply = slack.event(event, event_id="EvHOME1", headers=retry)
    assert reply.status == 200
    # a later, different event is handled; by then the retry would have been too
    slack.event({**event, "user": "UALICE"}, event_id="EvHOME2")
    emulator.wait_for("views.publish", where=lambda c: c.args["user_id"] == "UALICE")

    alice = next(c for c in emulator.calls("views.publish") if c.args["user_id"] == "UALICE")
    owned = _section_after(alice.args["view"]["blocks"], "Decisions you own")
    assert listed_numbers(owned) == [3, 2, 1]
    assert "Nothing is waiting for you" in all_text(alice.args["view"]["blocks"])

    # Carol is not named on the private ADR-3: her Home doesn't show it
    slack.event({**event, "user": "UCAROL"}, event_id="EvHOME3")
    [carol] = emulator.wait_for("views.publish", where=lambda c: c.args["user_id"] == "UCAROL")
    blocks = carol.args["view"]["blocks"]
    assert listed_numbers(_section_after(blocks, "Waiting for your stance")) == [2]
    assert 3 not in listed_numbers(all_text(blocks))
    assert "Secret plan" not in all_text(blocks)

    # once the app has finished all its work, Bob's Home was published once: the retry was
    # dropped, not merely slow
    slack.finish()
    assert len([c for c in emulator.calls("views.publish") if c.args["user_id"] == "UBOB"]) == 1
    assert adr.rows("SELECT event_id FROM processed_events ORDER BY event_id") == [
        {"event_id": "EvHOME1"},
        {"event_id": "EvHOME2"},
        {"event_id": "EvHOME3"},
    ]


def test_app_home_shows_reviews_waiting_outcomes_and_next_reviews(adr, slack, emulator, db):
    upcoming = new_decision(
        adr, title="Later one", review_date=datetime.now(UTC).date() + timedelta(days=200)
    )
    number = new_decision(adr, title="Reviewed now")
    r, _ = opened(slack, db, number)

    def home(user: str) -> str:
        before = len(emulator.calls("views.publish"))
        slack.event({"type": "app_home_opened", "user": user, "tab": "home"})
        [*_, call] = emulator.wait_for("views.publish", count=before + 1)
        return all_text(call.args["view"]["blocks"])

    bob = home("UBOB")
    waiting = bob.split("Reviews waiting for your answer", 1)[1].split("Decisions you own", 1)[0]
    assert f"ADR-{number}" in waiting and f"ADR-{upcoming}" not in waiting
    assert f"ADR-{upcoming}" in bob.split("Outcomes and next reviews", 1)[1]

    view = open_outcome_form(slack, Action.REVIEW_DIDNT_WORK, r.id, "UBOB")
    submit_outcome(slack, view, "UBOB", "Too slow")
    adr.wait_update(lambda c: c.args.get("channel") == "CGENERAL")
    bob = home("UBOB")
    waiting = bob.split("Reviews waiting for your answer", 1)[1].split("Decisions you own", 1)[0]
    assert f"ADR-{number}" not in waiting
    assert "didn't work" in bob.split("Outcomes and next reviews", 1)[1]
