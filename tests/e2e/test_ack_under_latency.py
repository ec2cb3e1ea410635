"""Every request is acked before any Slack call it causes, even when each Web API call takes
2 s, so it is acked within Slack's 3 s whatever Slack's latency (issue 7). On SQLite and on
Postgres.

The decisions and reviews the requests act on are made first, with Slack answering at once;
then the emulator adds 2 s to every Web API call and each command, click, submission,
shortcut and event is sent over signed HTTP and timed until its HTTP answer (the ack). A modal
is opened (views.open) after the ack, so its 2 s never count. The proof is structural: every
Web API call is watched in-process, and none may be made before the request it serves was
acked (a single pre-ack call costs at most the request client's 2.5 s timeout, inside 3 s, so
the clock alone could not tell anyway). The ack times are printed, not asserted: on a stalled
CI machine an ack can take 3 s without the bot doing anything wrong (no timing asserts in
tests; the benchmarks measure them).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.web.base_client import BaseClient
from slack_sdk.webhook import WebhookClient

from bot.core.ids import Action, Callback, Field
from tests.support.adr import Adr
from tests.support.delivery import aware, next_weekday, sweep
from tests.support.harness import Reply, SlackDriver
from tests.support.reviews import disagree, new_decision, review, reviews
from tests.support.slack_emulator import SlackEmulator

SLACK_LATENCY = 2.0  # seconds added to every Web API call and response_url post
ACK_WITHIN = 3.0  # Slack's limit: no answer by then and the person sees an error


class PreAckCalls:
    """Records Slack calls made before the request they serve was acked: from a listener
    before its ack(), or from the thread answering the HTTP request before it answered."""

    def __init__(self, slack: SlackDriver, monkeypatch: pytest.MonkeyPatch) -> None:
        self.found: list[str] = []
        state = threading.local()
        runner = slack.server.app.listener_runner
        start = runner.listener_start_handler.handle

        def listener_starts(request: Any, response: Any) -> None:
            state.ack = request.context.ack  # Bolt runs each listener on a thread of its pool
            start(request=request, response=response)

        httpd = slack.server.httpd
        app = httpd.get_app()

        def answering(environ: dict[str, Any], start_response: Any) -> Any:
            state.answering = True
            try:
                return app(environ, start_response)
            finally:
                state.answering = False

        def before_ack() -> bool:
            ack = getattr(state, "ack", None)
            return getattr(state, "answering", False) or (ack is not None and ack.response is None)

        api_call = BaseClient.api_call
        send_dict = WebhookClient.send_dict

        def calling(client: BaseClient, api_method: str, *args: Any, **kw: Any) -> Any:
            if before_ack():
                self.found.append(api_method)
            return api_call(client, api_method, *args, **kw)

        def responding(client: WebhookClient, body: dict[str, Any], *args: Any, **kw: Any) -> Any:
            if before_ack():
                self.found.append("response_url")
            return send_dict(client, body, *args, **kw)

        monkeypatch.setattr(runner.listener_start_handler, "handle", listener_starts)
        monkeypatch.setattr(httpd, "application", answering)
        monkeypatch.setattr(BaseClient, "api_call", calling)
        monkeypatch.setattr(WebhookClient, "send_dict", responding)


class AckClock:
    """Sends requests and keeps how long each one's HTTP answer took."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, label: str, send: Callable[[], Reply]) -> Reply:
        assert label not in self.seconds, label
        started = time.monotonic()
        reply = send()
        self.seconds[label] = time.monotonic() - started
        assert reply.status == 200, (label, reply.status, reply.text)
        return reply

    def late(self) -> dict[str, float]:
        return {k: round(v, 2) for k, v in self.seconds.items() if v >= ACK_WITHIN}

    def report(self) -> None:
        """Print how long each ack took (shown with `pytest -s`, or when the test fails)."""
        for label, seconds in self.seconds.items():
            print(f"acked in {seconds:5.2f} s: {label}")
        if self.late():
            print(f"acked after Slack's {ACK_WITHIN} s (a slow machine?): {self.late()}")


def command(slack: SlackDriver, text: str) -> Reply:
    """`/adr <text>`: its HTTP answer (the ack), not an answer that follows via response_url."""
    return slack.command(text, follow=False)


def opened(slack: SlackDriver, before: int) -> dict[str, Any]:
    """The modal the last request opened (views.open is recorded as it arrives)."""
    return slack.opened_view(after=before)


def test_every_command_click_and_submission_is_acked_within_3s_while_slack_is_slow(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db, monkeypatch: pytest.MonkeyPatch
) -> None:
    # -- what the requests act on, with Slack answering at once ------------------------------
    reviewed = new_decision(adr, title="Use Postgres", review_date=next_weekday(0))
    disagree(slack, "UDAN", "Ops load will grow", number=reviewed)
    snoozed = new_decision(adr, title="Use Kafka", review_date=next_weekday(0))
    asked, to_snooze = reviews(db, reviewed)[0], reviews(db, snoozed)[0]
    sweep(slack, db, max(aware(asked.due_at), aware(to_snooze.due_at)) + timedelta(minutes=1))
    assert review(db, asked.id).state == review(db, to_snooze.id).state == "open"
    decided = adr.new("Use Redis", values={Field.DECIDERS: ["UBOB"]})

    # -- Slack slow: 2 s per call from now on ---------------------------------------------
    pre_ack = PreAckCalls(slack, monkeypatch)
    emulator.latency = SLACK_LATENCY
    clock = AckClock()
    try:
        for text in ("help", "list", "search redis", f"show {decided}", "settings"):
            clock(f"/adr {text}", lambda t=text: command(slack, t))

        # the decision modal: /adr new, then Submit
        before = slack.views_opened()
        clock("/adr new", lambda: command(slack, "new Use SQLite"))
        form = opened(slack, before)
        clock(
            "submit decision modal (new)",
            lambda: slack.submit(form, {Field.DECISION: "SQLite for the CLI."}),
        )
        created = decided + 1

        # stances: Agree, Disagree & commit (button, then its modal), Block (likewise)
        clock("click Agree", lambda: slack.click(Action.AGREE, str(decided), user="UCAROL"))
        before = slack.views_opened()
        clock(
            "click Disagree & commit",
            lambda: slack.click(Action.DISAGREE, str(decided), user="UDAN"),
        )
        stance = opened(slack, before)
        clock(
            "submit stance modal (disagree)",
            lambda: slack.submit(
                stance, {Field.CONCERN: "Memory cost", Field.COMMIT: ["commit"]}, user="UDAN"
            ),
        )
        before = slack.views_opened()
        clock("click Block", lambda: slack.click(Action.BLOCK, str(created), user="UEVE"))
        block = opened(slack, before)
        clock(
            "submit stance modal (block)",
            lambda: slack.submit(block, {Field.REASON: "No backups yet"}, user="UEVE"),
        )

        # lifecycle and reviews by command
        for text in (
            f"accept {decided}",
            f"review {decided}",
            f"remind {decided} 2w",
        ):
            clock(f"/adr {text}", lambda t=text: command(slack, t))
        before = slack.views_opened()
        clock(f"/adr edit {decided}", lambda: command(slack, f"edit {decided}"))
        edit = opened(slack, before)
        clock(
            "submit decision modal (edit)",
            lambda: slack.submit(edit, {Field.CONTEXT: "Sessions outgrew memcached."}),
        )
        before = slack.views_opened()
        clock(f"/adr supersede {decided}", lambda: command(slack, f"supersede {decided}"))
        opened(slack, before)

        # the review DMs' buttons: an outcome (button, then its modal), dissent, snooze,
        # supersede
        before = slack.views_opened()
        clock(
            "click Worked",
            lambda: slack.click(Action.REVIEW_WORKED, str(asked.id), user="UBOB", channel="DBOB"),
        )
        outcome = opened(slack, before)
        clock(
            "submit outcome modal",
            lambda: slack.submit(outcome, {Field.WHAT_HAPPENED: "p95 halved"}, user="UBOB"),
        )
        clock(
            "click dissent answer",
            lambda: slack.click(Action.DISSENT_YES, str(asked.id), user="UDAN", channel="DDAN"),
        )
        clock(
            "pick snooze 2 weeks",
            lambda: slack.select(Action.REVIEW_SNOOZE, f"{to_snooze.id}:2w", channel="DALICE"),
        )
        before = slack.views_opened()
        clock(
            "click Supersede it",
            lambda: slack.click(Action.REVIEW_SUPERSEDE, str(reviewed), channel="DALICE"),
        )
        opened(slack, before)

        # the list's paging button, the message shortcut and App Home
        clock(
            "click Older",
            lambda: slack.click(Action.LIST_PAGE, json.dumps({"o": 10}, separators=(",", ":"))),
        )
        before = slack.views_opened()
        clock(
            "shortcut Log as decision",
            lambda: slack.message_shortcut(Callback.LOG_MESSAGE_SHORTCUT, text="Redis it is"),
        )
        opened(slack, before)
        clock(
            "event app_home_opened",
            lambda: slack.event({"type": "app_home_opened", "user": "UALICE", "tab": "home"}),
        )
    finally:
        emulator.latency = 0.0  # the work after the acks drains quickly at teardown

    clock.report()
    assert pre_ack.found == [], f"Slack called before the ack: {pre_ack.found}"
    # and the requests did what they were sent for
    assert adr.decision(decided)["status"] == "accepted"
    assert adr.decision(created)["title"] == "Use SQLite"
    assert {"UCAROL", "UDAN"} <= set(adr.stances(decided))
    assert set(adr.stances(created)) == {"UEVE"}
    assert adr.decision(decided)["context"] == "Sessions outgrew memcached."


def test_a_click_refused_before_its_ack_is_acked_before_the_person_is_told(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A click refused before its ack (stances on a rejected decision) has nothing to say in
    its HTTP answer: the sentence goes to response_url, after the ack, not before it."""
    number = adr.new("Use Redis")
    assert "rejected" in adr.run(f"reject {number}")
    pre_ack = PreAckCalls(slack, monkeypatch)
    emulator.latency = SLACK_LATENCY
    clock = AckClock()
    try:
        clock("click Agree", lambda: slack.click(Action.AGREE, str(number), user="UBOB"))
        [told] = emulator.wait_for("response_url", where=lambda c: c.key.startswith("act"))
    finally:
        emulator.latency = 0.0
    assert "stances are closed" in told.args["text"]
    clock.report()
    assert pre_ack.found == [], f"Slack called before the ack: {pre_ack.found}"


def test_the_first_request_of_a_process_is_acked_before_any_slack_call(
    slack: SlackDriver, emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    pre_ack = PreAckCalls(slack, monkeypatch)
    emulator.latency = SLACK_LATENCY
    clock = AckClock()
    try:
        clock("/adr help", lambda: command(slack, "help"))
    finally:
        emulator.latency = 0.0
    clock.report()
    assert pre_ack.found == [], f"Slack called before the ack: {pre_ack.found}"


def test_the_decision_forms_post_in_check_comes_after_every_ack(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20: "Post in" is checked (conversations.info, then views.update) after the ack of
    the command that opens the form and of each change of the select; Submit still calls no
    Slack method before its ack, though the form it submits shows the warning."""
    emulator.set_channel("CSECRET", is_private=True, is_member=False)
    pre_ack = PreAckCalls(slack, monkeypatch)
    emulator.latency = SLACK_LATENCY
    clock = AckClock()

    def updates(count: int) -> None:
        emulator.wait_for("views.update", count=count, where=lambda c: c.args["view_id"] == vid)
        slack.listeners_done()

    try:
        clock(
            "/adr new in a private channel I'm not in",
            lambda: slack.command("new Use SQLite", channel="CSECRET", follow=False),
        )
        [opened_call] = emulator.wait_for("views.open")
        emulator.wait_for("conversations.info")  # asked once views.open has answered
        assert opened_call.response is not None
        vid = str(opened_call.response["view"]["id"])
        updates(1)  # the warning
        clock("pick a channel I'm in", lambda: slack.pick_in_modal(vid, Field.CHANNEL, "CGENERAL"))
        updates(2)  # no warning
        clock(
            "pick the private one again", lambda: slack.pick_in_modal(vid, Field.CHANNEL, "CSECRET")
        )
        updates(3)  # the warning again
        slack.enter(vid, {Field.DECISION: "SQLite for the CLI."})
        clock("submit the decision form (warning shown)", lambda: slack.submit_modal(vid))
    finally:
        emulator.latency = 0.0
    clock.report()
    assert pre_ack.found == [], f"Slack called before the ack: {pre_ack.found}"
    assert adr.decision(1)["title"] == "Use SQLite"
