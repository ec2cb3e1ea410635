"""One clock, the reader's, end to end over signed HTTP on SQLite and Postgres (issue 20).

People in Berlin, New York and Tokyo record a decision with a review date on a Saturday, look
at it, ask for a review now, snooze it, move it, open App Home, answer it. Everything Slack
received for them (messages, DMs, ephemeral answers, modals, Home) is walked: every time of
day is Slack's date formatting, ``<!date^…|fallback>`` with the zone named in the fallback, and
in plain text (buttons, headers, notifications) a time names its zone, never UTC. The card,
the export and `/adr show` give the review the same day: the one it is asked (a weekend moves
to Monday), which the form says.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.dates import review_instant
from bot.core.ids import Action, Field
from storage.db import Database
from storage.models import Review
from tests.support.adr import Adr, all_text, ephemeral, header_text
from tests.support.delivery import aware, next_weekday, posts_to, settle, sweep
from tests.support.harness import Reply, SlackDriver
from tests.support.reviews import (
    BERLIN,
    asks_in,
    disagree,
    open_outcome_form,
    reviews,
    submit_outcome,
    wait_review,
)
from tests.support.slack_emulator import Call, SlackEmulator
from tests.support.times import misplaced_times, shown_payloads, time_tokens

PEOPLE = {"UALICE": BERLIN, "UBOB": "America/New_York", "UCAROL": "Asia/Tokyo"}


def _due(review: Review) -> datetime:
    due = aware(review.due_at)
    assert due is not None
    return due


def _dm_to(user: str) -> Callable[[Call], bool]:
    return lambda c: c.args.get("channel") == user and bool(c.args.get("blocks"))


def _home_of(user: str) -> Callable[[Call], bool]:
    return lambda c: c.args["user_id"] == user


def _answer(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, (reply.status, reply.text)
    body = reply.json()
    assert isinstance(body, dict), reply.text
    return body


def test_every_time_shown_to_people_in_other_zones_is_in_their_own_zone(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
) -> None:
    for user, tz in PEOPLE.items():
        emulator.set_user(user, tz=tz)
    saturday = next_weekday(5)
    number = adr.new(
        "Use Postgres",
        values={Field.DECIDERS: ["UBOB"], Field.REVIEW_DATE: saturday.isoformat()},
    )
    wait_review(db, number)
    disagree(slack, "UCAROL", "Too slow for analytics", number)
    answers = [slack.command(f"show {number}", user=user) for user in PEOPLE]

    # asked now: the author and decider for the outcome, Carol about her concern
    answers.append(slack.command(f"review {number}"))
    for user in PEOPLE:
        emulator.wait_for("chat.postMessage", where=_dm_to(user))
    settle(slack)
    assert slack.click(Action.DETAILS, str(number), user="UCAROL").status == 200
    extra = reviews(db, number)[0]
    assert extra.state == "open"
    snoozed = slack.select(Action.REVIEW_SNOOZE, f"{extra.id}:1w", user="UBOB", channel="DBOB")
    assert snoozed.status == 200
    emulator.wait_for("response_url", where=lambda c: c.key == slack.last_response_key)
    answers.append(slack.command(f"remind {number} {next_weekday(5, at_least=21)}"))
    settle(slack)
    for n, user in enumerate(PEOPLE):
        home = {"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home"}
        assert slack.event(home, event_id=f"EvClockHome{n}").status == 200
        emulator.wait_for("views.publish", where=_home_of(user))

    # every round is asked on its day, with reminders after; Alice answers the last one
    for r in sorted(reviews(db, number), key=_due):
        if r.state == "scheduled":
            sweep(slack, db, _due(r) + timedelta(minutes=1))
    last = reviews(db, number)[-1]
    assert last.state == "open" and last.id is not None
    view = open_outcome_form(slack, Action.REVIEW_WORKED, last.id, "UALICE")
    submit_outcome(slack, view, "UALICE", "Fast enough")
    settle(slack)
    answers += [slack.command(f"show {number}", user=user) for user in PEOPLE]
    answers.append(slack.command("list"))
    slack.finish()

    shown = [(f"answer {i}", _answer(a)) for i, a in enumerate(answers)]
    shown += list(shown_payloads(emulator.calls()))
    faults = [f"{what}: {fault}" for what, payload in shown for fault in misplaced_times(payload)]
    assert faults == []
    # and the walk saw times: history, next reviews, the review asked now, App Home
    tokens = [t for _, payload in shown for t in time_tokens(payload)]
    assert len(tokens) >= 20, len(tokens)
    zones = {t["fallback"].rsplit(" ", 1)[-1] for t in tokens}
    assert set(PEOPLE.values()) <= zones, zones  # each reader's own fallback where known
    alice_home = [c for c in emulator.calls("views.publish") if c.args["user_id"] == "UALICE"]
    assert time_tokens(alice_home[0].args["view"]), "App Home shows the next review's time"


def test_card_export_and_show_agree_on_the_day_a_weekend_review_is_asked(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
) -> None:
    emulator.set_user("UALICE", tz=BERLIN)
    emulator.set_user("UBOB", tz=BERLIN)
    saturday = next_weekday(5)
    monday = saturday + timedelta(days=2)

    # the form says where a weekend goes
    form = adr.open_form("new Use Postgres")
    [field] = [b for b in form["blocks"] if b.get("block_id") == Field.REVIEW_DATE]
    assert "Saturday or Sunday moves to the Monday after" in field["hint"]["text"]

    number = adr.new(
        "Use Postgres",
        values={Field.DECIDERS: ["UBOB"], Field.REVIEW_DATE: saturday.isoformat()},
    )
    review = wait_review(db, number)
    asked_at = _due(review)
    assert asked_at == review_instant(saturday, tz=BERLIN, hour=10)
    assert asked_at.astimezone(ZoneInfo(BERLIN)).date() == monday

    # the card
    [card] = [p for p in adr.posts("CGENERAL") if header_text(p) == f"ADR-{number}: Use Postgres"]
    card_text = all_text(card.args["blocks"])
    assert f"*Review:* {monday.isoformat()}" in card_text
    assert saturday.isoformat() not in card_text

    # /adr show: the same day, and the time it is asked in the reader's own zone
    shown = adr.show(number)
    assert f"*Review on:* {monday.isoformat()}" in shown
    assert f"Next review: <!date^{int(asked_at.timestamp())}^" in shown
    assert f"|{monday.isoformat()} 10:00 Europe/Berlin>" in shown
    assert saturday.isoformat() not in shown

    # the export
    ephemeral(slack.command(f"export {number}"))
    emulator.wait_for("files.completeUploadExternal")
    [exported] = emulator.uploaded_files()
    text = exported["data"].decode()
    assert monday.isoformat() in text and saturday.isoformat() not in text

    # App Home lists the review at its time, in the reader's zone
    event = {"type": "app_home_opened", "user": "UALICE", "channel": "DALICE", "tab": "home"}
    assert slack.event(event, event_id="EvClockAgree").status == 200
    [home] = emulator.wait_for("views.publish")
    assert f"review <!date^{int(asked_at.timestamp())}^" in all_text(home.args["view"])

    # `/adr remind` to a Saturday says the Monday it asks on
    later = next_weekday(5, at_least=21)
    said = adr.run(f"remind {number} {later.isoformat()}")
    assert (
        f"on {(later + timedelta(days=2)).isoformat()} ({later.isoformat()} is a Saturday" in said
    )
    settle(slack)
    [moved] = reviews(db, number)
    assert aware(moved.due_at) == review_instant(later + timedelta(days=2), tz=BERLIN, hour=10)


def test_a_snooze_says_when_it_asks_again_and_the_planned_review_wins_when_sooner(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
) -> None:
    emulator.set_user("UBOB", tz=BERLIN)
    soon = next_weekday(2)  # a Wednesday 7 to 13 days out: before "ask again in 1 month"
    number = adr.new(
        "Use Postgres",
        values={Field.DECIDERS: ["UBOB"], Field.REVIEW_DATE: soon.isoformat()},
    )
    planned = wait_review(db, number)
    adr.run(f"review {number}")
    settle(slack)
    extra = reviews(db, number)[0]
    assert extra.state == "open" and extra.id != planned.id
    assert asks_in(posts_to(emulator, "UBOB"))

    slack.select(Action.REVIEW_SNOOZE, f"{extra.id}:1m", user="UBOB", channel="DBOB")
    [answer] = emulator.wait_for("response_url", where=lambda c: c.key == slack.last_response_key)
    said = answer.args["text"]
    assert "planned review of ADR-1 comes first" in said, said
    assert f"<!date^{int(_due(planned).timestamp())}^" in said
    states = {r.id: r.state for r in reviews(db, number)}
    assert states == {extra.id: "cancelled", planned.id: "scheduled"}
