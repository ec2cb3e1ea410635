""" "Did this decision work?" delivered once whatever Slack or the sweepers do, on SQLite and on
a real Postgres server: leases taken over, rate limits, server errors, timeouts, permanent
errors, archived channels, and catching up after downtime.

Decisions are recorded through the real `/adr` modal over signed loopback HTTP; follow-ups are
delivered by ``run_due`` at chosen instants through the app's real WebClient (slack_sdk retry
handlers on) against the Slack emulator. Tests assert on what Slack received and what the
database holds, never on how long anything took.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient

from bot.core.dates import working_days_later
from bot.engine.registry import OneClient
from bot.runtime.clients import build_dispatch_client
from bot.runtime.scheduler import SweepResult, run_due
from tests.support.adr import all_text
from tests.support.delivery import aware, next_weekday, posts_to, settle, sweep
from tests.support.reviews import asks, asks_in, new_decision, reviews, work

# -- sweepers and leases ------------------------------------------------------------------------


class _GatedClient:
    """The app's client, but the first chat.postMessage waits until the test opens the gate
    (a sweeper stuck in a slow Slack call while its lease runs out)."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self.entered = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def chat_postMessage(self, **kwargs: Any) -> Any:  # noqa: N802 - slack_sdk's name
        if not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(timeout=60)
        return self._client.chat_postMessage(**kwargs)


def test_a_sweeper_whose_lease_ran_out_does_not_resend_what_another_took_over(
    adr, slack, emulator, db
):
    number = new_decision(adr, deciders=("UBOB", "UCAROL"))
    now = aware(reviews(db, number)[0].due_at)
    # the lease-length setting, short so that it runs out here, yet long enough that it can't
    # run out on a stalled machine before B's first sweep below
    lease = timedelta(seconds=10)
    settle(slack)
    # Only A and B sweep here (the app's own dispatcher would also take A's expired rows).
    slack.server.dispatcher.stop(grace=5)
    slow = _GatedClient(slack.server.dispatch_client)
    results: list[SweepResult] = []
    sweeper_a = threading.Thread(
        target=lambda: results.append(
            run_due(
                db, OneClient(slow), now=now, owner="A", lease=lease, concurrency=1, capacity=50
            )  # type: ignore[arg-type]
        )
    )
    sweeper_a.start()
    try:
        # A claimed the asks and the thread note and is stuck sending the first of them
        assert slow.entered.wait(timeout=20)
        # While A's lease runs (on the database's clock), B takes nothing of A's, even
        # sweeping at an instant far ahead: `now` says what is due, never when leases end.
        early = run_due(
            db, slack.server.dispatch_client, now=now + timedelta(days=1), owner="B", lease=lease
        )
        assert early.claimed == 0, early
        time.sleep(lease.total_seconds() + 0.2)
        # A's lease has run out: B takes over every item A holds
        taken = run_due(
            db, slack.server.dispatch_client, now=now, owner="B", lease=timedelta(minutes=5)
        )
        assert taken.claimed == 4 and taken.sent == 4, taken
    finally:
        slow.release.set()
        sweeper_a.join(timeout=60)
    [done_a] = results
    # A finishes only its in-flight message; the items B took over are not sent again
    for user in ("UBOB", "UCAROL"):
        assert len(posts_to(emulator, user)) == 1, user
    assert len([c for c in emulator.calls("chat.postMessage") if c.args.get("thread_ts")]) == 1
    assert len(posts_to(emulator, "UALICE")) <= 2  # the in-flight item is the only repeat
    assert done_a.sent <= 1, done_a
    assert all(w.state in ("done", "pending") for w in work(db))
    assert {w.lease_owner for w in work(db)} == {None}


# -- Slack failures -----------------------------------------------------------------------------


def test_rate_limited_dm_is_delivered_once_after_waiting(adr, slack, emulator, db):
    number = new_decision(adr)
    r = reviews(db, number)[0]
    emulator.fail("chat.postMessage", status=429, retry_after=1)  # the first DM (Alice's)
    result = sweep(slack, db, aware(r.due_at))
    # Alice's DM is put back until Retry-After has passed, without spending an attempt; the
    # sweep goes on with the others (no thread sleeps on Retry-After)
    assert (result.sent, result.retried, result.failed, result.deferred) == (2, 0, 0, 1), result
    ask = asks(db, r.id)[("UALICE", "owner")]
    [row] = [w for w in work(db, r.id) if w.key.endswith(f":ask:{ask.id}:0")]
    assert (row.state, row.attempts) == ("pending", 0)
    assert aware(row.due_at) == aware(r.due_at) + timedelta(seconds=1)
    time.sleep(1.1)  # the Retry-After window this process remembers
    result = sweep(slack, db, aware(r.due_at) + timedelta(seconds=1))
    assert (result.claimed, result.sent) == (1, 1), result
    attempts = posts_to(emulator, "UALICE")
    assert len(attempts) == 2  # refused once with Retry-After, then delivered
    assert attempts[0].args["text"] == attempts[1].args["text"]
    ask = asks(db, r.id)[("UALICE", "owner")]
    assert ask.message_ts and ask.channel_id == "DALICE"
    [row] = [w for w in work(db, r.id) if w.key.endswith(f":ask:{ask.id}:0")]
    assert (row.state, row.attempts) == ("done", 1)
    assert sweep(slack, db, aware(r.due_at) + timedelta(minutes=5)).claimed == 0
    assert len(posts_to(emulator, "UALICE")) == 2


def test_server_errors_beyond_the_client_retries_are_retried_by_a_later_sweep(
    adr, slack, emulator, db
):
    number = new_decision(adr)
    r = reviews(db, number)[0]
    now = aware(r.due_at)
    # the app's client never retries a post (issue 18: a 5xx may have posted): one 503 is
    # the engine's to retry, by a later sweep
    emulator.fail("chat.postMessage", status=503)
    result = sweep(slack, db, now)
    assert (result.sent, result.retried, result.failed) == (2, 1, 0), result
    assert len(posts_to(emulator, "UALICE")) == 1
    ask = asks(db, r.id)[("UALICE", "owner")]
    assert ask.message_ts is None
    [row] = [w for w in work(db, r.id) if w.key.endswith(f":ask:{ask.id}:0")]
    assert (row.state, row.attempts) == ("pending", 1)
    assert "internal_error" in row.last_error
    assert aware(row.due_at) == now + timedelta(seconds=30)

    assert sweep(slack, db, now + timedelta(seconds=29)).claimed == 0  # backing off
    result = sweep(slack, db, now + timedelta(seconds=30))
    assert (result.claimed, result.sent) == (1, 1), result
    assert len(posts_to(emulator, "UALICE")) == 2  # one refused, one delivered
    assert asks(db, r.id)[("UALICE", "owner")].message_ts
    assert sweep(slack, db, now + timedelta(hours=1)).claimed == 0
    assert len(posts_to(emulator, "UALICE")) == 2 and len(posts_to(emulator, "UBOB")) == 1


def test_a_timeout_is_retried_later_and_delivered(adr, slack, emulator, db):
    number = new_decision(adr)
    r = reviews(db, number)[0]
    now = aware(r.due_at)
    client: WebClient = build_dispatch_client(slack.server.settings)
    # Short enough that the test waits it out once; long enough that no answer in time is
    # missed on a slow machine. The timed-out call is not waited for (the emulator answers it
    # to nobody, later).
    client.timeout = 5  # type: ignore[assignment]
    assert [type(h) for h in client.retry_handlers] == [
        type(h) for h in slack.server.dispatch_client.retry_handlers
    ]
    # Alice's DM: Slack answers (with an error, so nothing was posted) only after 30 s
    emulator.fail("chat.postMessage", status=500, delay=30.0)
    settle(slack)
    result = run_due(db, client, now=now, concurrency=1)
    assert (result.sent, result.retried, result.failed) == (2, 1, 0), result
    ask = asks(db, r.id)[("UALICE", "owner")]
    [row] = [w for w in work(db, r.id) if w.key.endswith(f":ask:{ask.id}:0")]
    assert row.state == "pending" and "timed out" in (row.last_error or "").lower()

    result = run_due(db, client, now=now + timedelta(minutes=1), concurrency=1)
    assert (result.claimed, result.sent) == (1, 1), result
    attempts = posts_to(emulator, "UALICE")
    assert len(attempts) == 2  # one timed out (refused by the emulator), one delivered
    assert asks(db, r.id)[("UALICE", "owner")].message_ts
    assert run_due(db, client, now=now + timedelta(hours=1)).claimed == 0


def test_permanent_error_is_recorded_not_retried_and_the_author_is_told(adr, slack, emulator, db):
    number = new_decision(adr, deciders=("UBOB", "UCAROL"))
    r = reviews(db, number)[0]
    now = aware(r.due_at)
    # The asks go out in order Alice, Bob, Carol: let two through, then Carol's is refused.
    emulator.fail("chat.postMessage", times=2)
    emulator.fail("chat.postMessage", error="account_inactive")
    result = sweep(slack, db, now)
    # two asks and the thread note; the notice to the author is outbox work of its own,
    # delivered by this sweep or by the app's dispatcher, whichever claims it first
    assert (result.failed, result.retried) == (1, 0) and result.sent in (3, 4), result
    carol = asks(db, r.id)[("UCAROL", "owner")]
    [row] = [w for w in work(db, r.id) if w.key.endswith(f":ask:{carol.id}:0")]
    assert (row.state, row.last_error) == ("failed", "account_inactive")
    assert len(posts_to(emulator, "UCAROL")) == 1

    told = [c for c in posts_to(emulator, "UALICE") if "account_inactive" in c.args.get("text", "")]
    assert len(told) == 1
    assert "<@UCAROL>" in told[0].args["text"]  # a real mention, not escaped markup
    assert f"ADR-{number}" in told[0].args["text"]

    # later sweeps never retry it — the reminders go to the others only
    for hours in (1, 24):
        assert sweep(slack, db, now + timedelta(hours=hours)).claimed == 0
    nudge1 = working_days_later(now, 3, tz="UTC", hour=10)
    result = sweep(slack, db, nudge1)
    assert result.failed == 0, result
    assert len(posts_to(emulator, "UCAROL")) == 1
    assert len(asks_in(posts_to(emulator, "UBOB"))) == 2
    assert [w.state for w in work(db, r.id) if w.key.endswith(f":ask:{carol.id}:0")] == ["failed"]
    told = [c for c in posts_to(emulator, "UALICE") if "account_inactive" in c.args.get("text", "")]
    assert len(told) == 1  # told once


def test_thread_note_in_an_archived_channel_fails_once_and_the_author_is_told(
    adr, slack, emulator, db
):
    number = new_decision(adr)
    r = reviews(db, number)[0]
    emulator.set_channel("CGENERAL", is_archived=True)
    result = sweep(slack, db, aware(r.due_at))
    # two asks (and maybe the notice to the author, see above); the thread note failed
    assert (result.failed, result.retried) == (1, 0) and result.sent in (2, 3), result
    [thread_row] = [w for w in work(db, r.id) if w.kind == "review.thread"]
    assert (thread_row.state, thread_row.last_error) == ("failed", "is_archived")
    told = [c for c in posts_to(emulator, "UALICE") if "is_archived" in c.args.get("text", "")]
    assert len(told) == 1 and "archived" in told[0].args["text"]
    assert sweep(slack, db, aware(r.due_at) + timedelta(hours=2)).claimed == 0
    assert len([c for c in emulator.calls("chat.postMessage") if c.args.get("thread_ts")]) == 1


def test_downtime_catch_up_delivers_each_follow_up_once(adr, slack, emulator, db):
    monday = next_weekday(0)
    new_decision(adr, title="First", review_date=monday)
    new_decision(adr, title="Second", review_date=monday + timedelta(days=2))
    latest = max(aware(reviews(db, n)[0].due_at) for n in (1, 2))
    late = latest + timedelta(days=7)  # nothing ran for a week

    result = sweep(slack, db, late)
    assert (result.sent, result.retried, result.failed) == (6, 0, 0), result
    for user in ("UALICE", "UBOB"):
        dms = asks_in(posts_to(emulator, user))
        assert sorted(re.search(r"ADR-(\d)", c.args["text"])[1] for c in dms) == ["1", "2"]
        assert not any("Reminder" in all_text(c.args["blocks"]) for c in dms)
    assert sweep(slack, db, late).claimed == 0
    assert sweep(slack, db, late + timedelta(minutes=1)).claimed == 0

    # down again for three weeks: the missed reminders come once, not once per missed slot
    later = late + timedelta(weeks=3)
    result = sweep(slack, db, later)
    assert result.sent == 4, result  # one reminder per person per decision
    for user in ("UALICE", "UBOB"):
        reminders = [
            c for c in asks_in(posts_to(emulator, user)) if "Reminder" in all_text(c.args["blocks"])
        ]
        assert len(reminders) == 2 and all(
            "Reminder 1" in all_text(c.args["blocks"]) for c in reminders
        )
    assert sweep(slack, db, later).claimed == 0
