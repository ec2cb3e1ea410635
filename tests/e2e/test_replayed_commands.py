"""A signed slash command sent again makes nothing twice (issue 18, finding 4), end to end over
signed HTTP on SQLite and Postgres: the same body, timestamp and signature sent three times
within Slack's 5 minutes makes one parked item, one estimate round, one export DM, and each
copy is answered; a person who runs the command twice (a new trigger id each time) gets two."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from urllib.parse import urlencode

from tests.support.adr import Adr
from tests.support.delivery import settle
from tests.support.harness import Reply, SlackDriver, sign

_n = count(1)


class SignedCommand:
    """One slash command as Slack sends it, signed once: ``send()`` posts that exact body with
    the same timestamp and signature, as someone replaying a captured request would."""

    def __init__(
        self,
        slack: SlackDriver,
        text: str,
        *,
        command: str,
        user: str = "UALICE",
        channel: str = "CGENERAL",
    ) -> None:
        n = next(_n)
        self.slack = slack
        self.key = f"replay{n}"
        self.body = urlencode(
            {
                "token": "legacy",
                "team_id": "TAAA",
                "team_domain": "taaa",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": user.lower(),
                "command": command,
                "text": text,
                "api_app_id": "A0001",
                "is_enterprise_install": "false",
                "response_url": slack.emulator.response_url(self.key),
                "trigger_id": f"replayed.{n}.{user}",
            }
        )
        self.headers = sign(self.body)

    def send(self) -> Reply:
        return self.slack.post(self.body, signed=False, headers=self.headers)

    def send_three_times(self) -> list[str]:
        """The first copy, then two more at once (as fast as a replaying script sends them);
        what each copy was answered."""
        replies = [self.send()]
        with ThreadPoolExecutor(max_workers=2) as pool:
            replies += pool.map(lambda _: self.send(), range(2))
        assert [r.status for r in replies] == [200] * 3
        self.slack.listeners_done()
        # In the ack when the person is in the user cache, else through response_url after a
        # look-up (the first copy: nobody is cached yet).
        acked = [json.loads(r.text)["text"] for r in replies if r.text]
        later = [
            c.args["text"] for c in self.slack.emulator.calls("response_url") if c.key == self.key
        ]
        assert len(acked) + len(later) == 3, (acked, later)
        return acked + later


def test_a_replayed_parkinglot_command_parks_one_item(adr: Adr, slack, emulator):
    replayed = SignedCommand(slack, "Dark mode for the admin pages", command="/parkinglot")
    answers = replayed.send_three_times()
    assert adr.count("parking_items") == 1
    assert "P-1" in answers[0] and answers == [answers[0]] * 3, answers  # the same answer

    # the same words typed again: a new invocation (a new trigger id), a second item
    SignedCommand(slack, "Dark mode for the admin pages", command="/parkinglot").send()
    slack.listeners_done()
    assert adr.count("parking_items") == 2
    settle(slack)
    assert adr.count("parking_events") == 2  # one "parked" each, no more


def test_a_replayed_estimate_command_starts_one_round(adr: Adr, slack, emulator):
    replayed = SignedCommand(
        slack, "Checkout redesign in days <@UANA> <@UBOB>", command="/estimate", user="UFAC"
    )
    answers = replayed.send_three_times()
    assert adr.count("estimate_rounds") == 1
    assert adr.count("estimate_invites") == 2
    assert "E-1" in answers[0] and answers == [answers[0]] * 3, answers
    settle(slack)
    posts = [c for c in emulator.calls("chat.postMessage") if c.args.get("channel") == "CGENERAL"]
    assert len(posts) == 1  # the round's one message

    SignedCommand(
        slack, "Checkout redesign in days <@UANA> <@UBOB>", command="/estimate", user="UFAC"
    ).send()
    slack.listeners_done()
    assert adr.count("estimate_rounds") == 2


def test_a_replayed_export_command_sends_one_dm(adr: Adr, slack, emulator):
    adr.new("Use Postgres for events", decision="We use Postgres.")
    replayed = SignedCommand(slack, "export", command="/adr")
    answers = replayed.send_three_times()
    assert "in our DM" in answers[0] and answers == [answers[0]] * 3, answers
    settle(slack)
    exports = adr.rows("SELECT key FROM due_work WHERE kind = 'adr.export'")
    assert len(exports) == 1
    assert "replayed." in exports[0]["key"]  # the outbox key comes from the trigger id

    SignedCommand(slack, "export", command="/adr").send()
    slack.listeners_done()
    settle(slack)
    slack.finish()
    assert len(emulator.calls("files.completeUploadExternal")) == 2  # one DM per invocation
