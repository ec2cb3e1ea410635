"""One date grammar everywhere (issue 20, item 2): `/adr remind`, the decision form's review
date and a parked item's Defer until… read the same phrases ("tomorrow", "next tuesday",
"in 2 weeks", "2w", "3m", "2027-03-06") in the person's own time zone, and answer a phrase they
cannot read — or a time where only a day is wanted — with the same sentence. Signed HTTP →
the Bolt app → the database → the Slack emulator, on SQLite and Postgres."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.core.dates import read_date, time_refused, unreadable, zone
from bot.core.ids import Action, Field, ParkField
from storage.models import utcnow
from storage.rules import review_day
from tests.support.adr import Adr, ephemeral
from tests.support.delivery import next_weekday, settle
from tests.support.harness import SlackDriver
from tests.support.slack_emulator import SlackEmulator

# Read the same way by every field: a date-only field takes a day and nothing more.
PHRASES = ("tomorrow", "next tuesday", "friday", "in 2 weeks", "2w", "10d", "3m", "in a month")
UNREADABLE = "next blursday"
WITH_A_TIME = "tomorrow 9:00"


@pytest.fixture
def far_zone(emulator: SlackEmulator) -> str:
    """Alice's time zone, chosen so that her today is not UTC's today when the test runs
    (UTC+14 from 10:00 UTC, UTC-11 before 11:00 UTC): phrases counted from UTC's today would
    land on another day, so the checks below see whose today was used."""
    tz = "Pacific/Kiritimati" if datetime.now(UTC).hour >= 10 else "Pacific/Pago_Pago"
    emulator.set_user("UALICE", tz=tz)
    return tz


def expected_days(phrase: str, tz: str, read: Callable[[str], Any]) -> tuple[set[date], Any]:
    """What ``phrase`` may mean (Alice's today before and after ``read(phrase)`` ran: the
    clock may pass midnight in between), and what ``read(phrase)`` returned."""
    before = utcnow().astimezone(zone(tz)).date()
    got = read(phrase)
    after = utcnow().astimezone(zone(tz)).date()
    days = {read_date(phrase, today=today) for today in (before, after)}
    assert all(isinstance(d, date) for d in days)
    return days, got


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def known_to_the_bot(adr: Adr, tz: str) -> None:
    """Any `/adr` command: the bot asks Slack who Alice is (her zone) and caches it."""
    adr.run("list")
    settle(adr.slack)
    [row] = adr.rows("SELECT tz FROM slack_users WHERE user_id = 'UALICE'")
    assert row["tz"] == tz


def test_adr_remind_reads_every_phrase_in_the_persons_zone(adr: Adr, far_zone: str) -> None:
    known_to_the_bot(adr, far_zone)
    number = adr.new(values={Field.DECIDERS: ["UBOB"]})
    for phrase in (*PHRASES, "2027-03-06"):
        days, text = expected_days(phrase, far_zone, lambda p: adr.run(f"remind {number} {p}"))
        said = as_date(adr.decision(number)["review_date"])
        assert said in days, (phrase, said, days)
        # the day it is asked: the Monday after, for a weekend date (issue 20, item 1)
        assert f"OK: I'll review ADR-{number} on {review_day(said).isoformat()}" in text, text


def test_adr_remind_says_the_one_sentence(adr: Adr) -> None:
    number = adr.new(values={Field.DECIDERS: ["UBOB"]})
    assert unreadable(UNREADABLE) in adr.run(f"remind {number} {UNREADABLE}")
    assert time_refused(WITH_A_TIME) in adr.run(f"remind {number} {WITH_A_TIME}")
    assert adr.decision(number)["review_date"] is not None  # unchanged


def submit_review_date(adr: Adr, number: int, typed: str) -> dict[str, Any]:
    """`/adr edit N`, type ``typed`` in the review date, Submit: the HTTP answer's body."""
    view = adr.open_form(f"edit {number}")
    reply = adr.slack.submit(view, {Field.REVIEW_DATE: typed})
    assert reply.status == 200, reply.text
    return reply.json() if reply.text else {}


def test_the_review_date_field_reads_every_phrase_in_the_persons_zone(
    adr: Adr, far_zone: str
) -> None:
    known_to_the_bot(adr, far_zone)
    days, number = expected_days(
        "next tuesday",
        far_zone,
        lambda p: adr.new(values={Field.DECIDERS: ["UBOB"], Field.REVIEW_DATE: p}),
    )
    assert as_date(adr.decision(number)["review_date"]) in days
    for phrase in (*PHRASES, "2027-03-06"):
        days, answer = expected_days(phrase, far_zone, lambda p: submit_review_date(adr, number, p))
        assert answer == {}, (phrase, answer)
        assert as_date(adr.decision(number)["review_date"]) in days, phrase


def test_the_review_date_field_says_the_one_sentence(adr: Adr) -> None:
    number = adr.new(values={Field.DECIDERS: ["UBOB"]})
    for typed, sentence in (
        (UNREADABLE, unreadable(UNREADABLE)),
        (WITH_A_TIME, time_refused(WITH_A_TIME)),
    ):
        answer = submit_review_date(adr, number, typed)
        assert answer == {
            "response_action": "errors",
            "errors": {Field.REVIEW_DATE: sentence},
        }


def park_and_defer(slack: SlackDriver, typed: str, *, number: int = 1) -> dict[str, Any]:
    """Click Defer until… on P-n, type ``typed``, Submit: the HTTP answer's body."""
    before = slack.views_opened()
    reply = slack.click(Action.PARK_DEFER, str(number), user="UALICE", channel="CGENERAL")
    assert reply.status == 200 and reply.text == "", reply.text
    view = slack.opened_view(after=before)
    reply = slack.submit(view, {ParkField.UNTIL: typed}, user="UALICE")
    assert reply.status == 200, reply.text
    return reply.json() if reply.text else {}


def deferred_until(adr: Adr) -> date:
    [row] = adr.rows("SELECT state, deferred_until FROM parking_items WHERE number = 1")
    assert row["state"] == "deferred"
    return as_date(row["deferred_until"])


def test_defer_until_reads_every_phrase_in_the_persons_zone(
    adr: Adr, slack: SlackDriver, far_zone: str
) -> None:
    known_to_the_bot(adr, far_zone)
    ephemeral(slack.command("Offline mode", command="/parkinglot"))
    for phrase in (*PHRASES, "2027-03-06"):
        days, answer = expected_days(phrase, far_zone, lambda p: park_and_defer(slack, p))
        assert answer == {}, (phrase, answer)
        assert deferred_until(adr) in days, phrase


def test_defer_until_says_the_one_sentence(adr: Adr, slack: SlackDriver) -> None:
    ephemeral(slack.command("Offline mode", command="/parkinglot"))
    for typed, sentence in (
        (UNREADABLE, unreadable(UNREADABLE)),
        (WITH_A_TIME, time_refused(WITH_A_TIME)),
    ):
        answer = park_and_defer(slack, typed)
        assert answer == {"response_action": "errors", "errors": {ParkField.UNTIL: sentence}}
    [row] = adr.rows("SELECT state FROM parking_items WHERE number = 1")
    assert row["state"] == "parked"


def test_the_same_day_from_every_command(adr: Adr, slack: SlackDriver, far_zone: str) -> None:
    """One phrase, typed in all three places, names one day (the parser is shared)."""
    known_to_the_bot(adr, far_zone)
    phrase = "in 2 weeks"
    days, number = expected_days(
        phrase,
        far_zone,
        lambda p: adr.new(values={Field.DECIDERS: ["UBOB"], Field.REVIEW_DATE: p}),
    )
    from_form = as_date(adr.decision(number)["review_date"])
    adr.run(f"remind {number} {next_weekday(2).isoformat()}")
    adr.run(f"remind {number} {phrase}")
    from_remind = as_date(adr.decision(number)["review_date"])
    ephemeral(slack.command("Offline mode", command="/parkinglot"))
    park_and_defer(slack, phrase)
    from_defer = deferred_until(adr)
    assert from_form in days and from_remind in days and from_defer in days
    assert len({from_form, from_remind, from_defer}) <= len(days)  # one day, bar midnight
