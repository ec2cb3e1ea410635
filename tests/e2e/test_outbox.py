"""The outbox end to end (issue 6), on SQLite and on a real Postgres server: every Slack side
effect after a commit is a row delivered by the dispatcher, so a click's request thread never
waits on Slack, a burst of clicks makes a few coalesced `chat.update` calls, and a 429 storm
delays the refresh without losing a click or blocking an ack.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.core.errors import guarded
from bot.core.ids import Action
from storage.decision_work import REFRESH_INTERVAL
from tests.support.adr import Adr, all_text
from tests.support.harness import Reply, SlackDriver
from tests.support.processes import wait_until
from tests.support.slack_emulator import Call, SlackEmulator

# Slack gives up on an answer after 3 s; a stalled CI machine can take that long without the
# bot being wrong (no timing asserts in tests), so a click gives up only on a hang.
CLICK_TIMEOUT = 15.0
# Longer than CLICK_TIMEOUT: a click whose request thread waited on Retry-After times out.
STORM_RETRY_AFTER = 20


def agree_count(call: Call) -> int:
    found = re.search(r"Agree \*(\d+)\*", all_text(call.args.get("blocks") or []))
    assert found, all_text(call.args.get("blocks") or [])
    return int(found.group(1))


def updates_of(emulator: SlackEmulator, ts: str) -> list[Call]:
    return [c for c in emulator.calls("chat.update") if c.args.get("ts") == ts]


def click_all(slack: SlackDriver, users: list[str], ts: str, *, spread: float = 0.0) -> list[Reply]:
    """Every user presses Agree on ADR-1 at once (20 at a time), each within ``spread`` s.
    Each click gives up on an answer after CLICK_TIMEOUT (the request then fails)."""

    def press(i: int) -> Reply:
        time.sleep(spread * i / max(1, len(users)))
        return slack.click(Action.AGREE, "1", user=users[i], message_ts=ts, timeout=CLICK_TIMEOUT)

    with ThreadPoolExecutor(max_workers=20) as pool:
        return list(pool.map(press, range(len(users))))


def test_fifty_clicks_in_a_second_make_a_few_coalesced_updates_and_the_last_shows_all(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    adr.new("Coalesce the tally")
    ts = adr.decision(1)["message_ts"]
    users = [f"UCLICK{i:03d}" for i in range(50)]
    started = time.monotonic()
    answered = click_all(slack, users, ts, spread=0.8)
    span = time.monotonic() - started
    assert [r.status for r in answered] == [200] * 50
    assert len(adr.stances(1)) == 50
    slack.finish()  # every Web API call the bot was going to make has been made

    updates = updates_of(emulator, ts)
    print(
        f"\n50 clicks in {span:.2f} s -> {len(updates)} chat.update calls: "
        f"{[agree_count(u) for u in updates]}"
    )
    # Coalesced: refreshes start at least REFRESH_INTERVAL apart, so while the burst lasts
    # (about 1 s, longer on a slow machine) at most one per interval, and one more after the
    # last click, not one per click.
    interval = REFRESH_INTERVAL.total_seconds()
    assert 1 <= len(updates) <= 2 + span / interval, (len(updates), span)
    assert agree_count(updates[-1]) == 50  # the last one shows every click


def test_a_429_storm_on_chat_update_delays_the_tally_but_loses_no_click_and_no_ack(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    adr.new("Survive a storm")
    ts = adr.decision(1)["message_ts"]
    # chat.update answers 429 / Retry-After: 20 for as long as anyone asks during the storm
    emulator.fail("chat.update", status=429, retry_after=STORM_RETRY_AFTER, times=1_000)
    users = [f"USTORM{i:03d}" for i in range(40)]
    answered = click_all(slack, users, ts)
    # every click is answered, none after waiting out a Retry-After (longer than a click
    # waits): no request thread waits on Slack
    assert [r.status for r in answered] == [200] * 40
    assert len(adr.stances(1)) == 40  # nothing lost
    # the dispatcher honoured Retry-After: one refused attempt, not one per click or retry
    # (another only once Retry-After has passed, should the run have taken that long)
    [first, *_] = emulator.wait_for("chat.update", where=lambda c: c.args.get("ts") == ts)
    refused = updates_of(emulator, ts)
    window = time.monotonic() - first.at
    assert 1 <= len(refused) <= 1 + window / STORM_RETRY_AFTER, (len(refused), window)

    # the refresh waits, deferred without spending an attempt (read once the refused attempt
    # is back in the queue, not while it is in flight)
    def refresh() -> dict[str, Any]:
        [row] = adr.rows(
            "SELECT state, attempts, last_error FROM due_work WHERE kind = 'decision.refresh'"
        )
        return row

    wait_until(
        lambda: refresh()["state"] == "pending" and refresh()["last_error"],
        timeout=30,
        what="the refused refresh deferred",
    )
    row = refresh()
    assert row["attempts"] == 0 and "rate limited" in row["last_error"], row

    # the storm ends; once Retry-After has passed the message shows the final tally
    emulator.reset_faults("chat.update")
    emulator.wait_for(
        "chat.update",
        timeout=STORM_RETRY_AFTER + 40,
        where=lambda c: c.args.get("ts") == ts and agree_count(c) == 40,
    )
    slack.finish()
    after = updates_of(emulator, ts)
    assert agree_count(after[-1]) == 40
    # one refresh after the storm, not a burst (the refused ones answered 429)
    delivered = [c for c in after if c.response is None or c.response.get("ok")]
    assert len(delivered) <= 2, [c.response for c in after]


def test_guarded_listeners_get_any_bolt_argument_they_ask_for(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    seen: dict[str, Any] = {}

    def listener(ack: Any, payload: dict, say: Any, respond: Any, action: dict) -> None:
        ack()
        seen.update(payload=payload, say=say, respond=respond, action=action)

    slack.server.app.action("test.any_args")(guarded(listener))
    reply = slack.click("test.any_args", "42")
    assert reply.status == 200
    slack.finish()
    assert seen["payload"]["value"] == "42" and seen["action"]["value"] == "42"
    assert callable(seen["say"]) and callable(seen["respond"])


def test_metrics_show_acks_and_the_outbox_backlog(adr: Adr, slack: SlackDriver) -> None:
    adr.new("Watch the backlog")
    slack.click(Action.AGREE, "1", user="UMETRIC")
    deadline = time.monotonic() + 20  # its review is planned after the ack
    while not adr.rows("SELECT id FROM due_work WHERE kind = 'review.open'"):
        assert time.monotonic() < deadline, "the review was never scheduled"
        time.sleep(0.02)
    body = slack.get("/metrics")
    assert body.status == 200
    text = body.text
    assert 'decisionbot_ack_seconds_count{kind="view_submission"}' in text
    assert 'decisionbot_ack_seconds_count{kind="block_actions"}' in text
    assert 'decisionbot_ack_seconds_count{kind="command"}' in text
    assert re.search(
        r'decisionbot_deliveries_total\{kind="decision.post",result="sent"\} [1-9]', text
    )
    # the review scheduled for the decision is a pending row, due in a month
    assert re.search(r'decisionbot_outbox_rows\{kind="review.open",state="pending"\} 1\.0', text)
    assert (
        'decisionbot_outbox_oldest_due_age_seconds{kind="review.open",state="pending"} 0.0' in text
    )
