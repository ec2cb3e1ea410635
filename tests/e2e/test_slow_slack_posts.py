"""A slow Slack doubles no post (issue 18, finding 3), on SQLite and on a real Postgres server.

Slack may post a message and still lose its answer: it answers after the client's timeout,
or answers 500 after posting. The dispatcher's client never reposts by itself; the engine
retries the row marked "outcome unknown", looks for the earlier post by its metadata (the
outbox row's key) in the channel's history, and adopts its ts instead of posting again. Where
the bot cannot read the channel (a public channel it posts to without being a member), it
posts anyway: a rare double, counted in /metrics.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import text

from bot.engine.posting import METADATA_EVENT
from storage.models import utcnow
from tests.support.adr import Adr, header_text
from tests.support.harness import SlackDriver
from tests.support.processes import wait_until
from tests.support.slack_emulator import SlackEmulator

# The dispatcher client's timeout in these tests (10 s in production): Slack's late answer
# comes after it, so nobody waits 10 s.
CLIENT_TIMEOUT = 1.0
LATE = 3.0


def reconciliations(slack: SlackDriver) -> dict[str, float]:
    body = slack.get("/metrics").text
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(
            r'^decisionbot_post_reconciliations_total\{result="(\w+)"\} (\S+)$', body, re.M
        )
    }


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0)}


def adr_posts(emulator: SlackEmulator, channel: str, number: int = 1) -> list[dict[str, Any]]:
    """The messages really posted in ``channel`` (kept by the emulator) that are ADR-n."""
    return [
        m
        for m in emulator.messages(channel)
        if m.get("blocks") and m["blocks"][0]["text"]["text"].startswith(f"ADR-{number}:")
    ]


def post_row(adr: Adr) -> dict[str, Any]:
    [row] = adr.rows(
        "SELECT id, key, state, attempts, last_error FROM due_work WHERE kind = 'decision.post'"
    )
    return row


def retry_now(slack: SlackDriver, adr: Adr) -> None:
    """Once the post's first attempt is over: if its row went back to pending (after its
    outcome was unknown), make it due now instead of after its 30 s backoff and wake the
    dispatcher. Each check reads the row once: separate reads of its state and attempts
    could straddle the claim (pending from before it, attempts from after it) and then
    find the row still running, leaving the retry to its 30 s backoff."""
    seen: dict[str, Any] = {}

    def first_attempt_over() -> bool:
        seen.update(post_row(adr))
        return seen["state"] == "done" or (seen["state"], seen["attempts"]) == ("pending", 1)

    wait_until(first_attempt_over, timeout=30, what="the post's first attempt over")
    if seen["state"] == "pending":
        with adr.db.engine.begin() as conn:
            conn.execute(
                text("UPDATE due_work SET due_at = :now WHERE id = :id AND state = 'pending'"),
                {"now": utcnow(), "id": seen["id"]},
            )
        slack.server.dispatcher.wake()


def record_with_lost_answer(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, fault: str, channel: str
) -> None:
    slack.server.dispatch_client.timeout = CLIENT_TIMEOUT  # type: ignore[assignment]
    if fault == "late":  # posted at once, answered after the client gave up
        emulator.fail("chat.postMessage", delay=LATE, performed=True)
    else:  # posted, then answered 500
        emulator.fail("chat.postMessage", status=500, performed=True)
    adr.new("Slow Slack", channel=channel, posted=False)
    retry_now(slack, adr)
    adr.wait_recorded(1, timeout=30)


@pytest.mark.parametrize("fault", ["late", "500"])
def test_a_post_whose_answer_was_lost_is_found_and_not_posted_again(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, fault: str
) -> None:
    before = reconciliations(slack)
    record_with_lost_answer(adr, slack, emulator, fault, "CGENERAL")
    counted = delta(before, reconciliations(slack))
    slack.finish()

    [message] = adr_posts(emulator, "CGENERAL")  # in #general exactly once
    assert adr.decision(1)["message_ts"] == message["ts"]  # and its ts is the one stored
    row = post_row(adr)
    assert (row["state"], row["attempts"]) == ("done", 2), row
    # the post carried the row's key as metadata, nothing typed
    assert message["metadata"] == {
        "event_type": METADATA_EVENT,
        "event_payload": {"key": row["key"]},
    }
    # one attempt to post, then one read of the history instead of a second post
    assert len(adr.posts("CGENERAL")) == 1
    [read] = emulator.calls("conversations.history")
    assert read.args["channel"] == "CGENERAL" and str(read.args["include_all_metadata"]) in (
        "1",
        "true",
        "True",
    )
    assert int(read.args["limit"]) <= 15 and float(read.args["oldest"]) > 0
    assert counted == {"found": 1.0}
    # later updates reach the one message
    assert all(c.args["ts"] == message["ts"] for c in emulator.calls("chat.update"))


@pytest.mark.parametrize("fault", ["late", "500"])
def test_where_the_bot_cannot_read_the_channel_it_posts_again_and_counts_it(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, fault: str
) -> None:
    # A public channel the bot posts in through chat:write.public without being a member:
    # Slack refuses it the history (not_in_channel). The documented fallback: post anyway.
    emulator.chat_write_public = True
    emulator.set_channel("CPUBLIC", is_member=False, name="public")
    before = reconciliations(slack)
    record_with_lost_answer(adr, slack, emulator, fault, "CPUBLIC")
    counted = delta(before, reconciliations(slack))
    slack.finish()

    first, second = adr_posts(emulator, "CPUBLIC")  # the rare double, accepted
    assert adr.decision(1)["message_ts"] == second["ts"]  # updates reach the newer copy
    [read] = emulator.calls("conversations.history")
    assert read.response == {"ok": False, "error": "not_in_channel"}
    assert counted == {"unreadable": 1.0}
    assert post_row(adr)["state"] == "done"
    assert [header_text(c) for c in adr.posts("CPUBLIC")] == ["ADR-1: Slow Slack"] * 2


def test_a_post_refused_by_slack_is_posted_again_without_a_read(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    # A 200 with ok=false is a known outcome (nothing was posted): no history read.
    emulator.fail("chat.postMessage", error="internal_error")
    adr.new("Refused once", posted=False)
    # one read of the row for all three (two reads could straddle the attempt's write)
    wait_until(
        lambda: (
            tuple(post_row(adr)[k] for k in ("state", "attempts", "last_error"))
            == ("pending", 1, "slack:internal_error")
        ),
        timeout=30,
        what="retried after slack:internal_error",
    )
    with adr.db.engine.begin() as conn:
        conn.execute(
            text("UPDATE due_work SET due_at = :now WHERE kind = 'decision.post'"),
            {"now": utcnow()},
        )
    slack.server.dispatcher.wake()
    adr.wait_recorded(1, timeout=30)
    slack.finish()
    [message] = adr_posts(emulator, "CGENERAL")
    assert adr.decision(1)["message_ts"] == message["ts"]
    assert emulator.calls("conversations.history") == []
