"""Helpers for the `/adr` end-to-end tests: record decisions through the real modal, read what
Slack received and what the database holds."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import text

from bot.core.ids import Action, Field
from storage.db import Database
from tests.support.harness import Reply, SlackDriver
from tests.support.slack_emulator import Call, SlackEmulator

# What a user types to try to ping everyone, and what Slack must receive in mrkdwn instead.
RAW = "<!channel> & <@U999>"
ESCAPED = "&lt;!channel&gt; &amp; &lt;@U999&gt;"
RAW_MARKUP = ("<!channel>", "<@U999>")
# History kinds the decision log writes (scheduled reviews etc. add their own, asynchronously).
LOG_EVENTS = frozenset(
    {"created", "status_changed", "stance", "edited", "superseded", "supersedes"}
)


def strings(obj: Any) -> Iterator[str]:
    """Every string inside a JSON-like value."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)


def all_text(obj: Any) -> str:
    return "\n".join(strings(obj))


def reply_text(reply: Reply) -> str:
    """The text and blocks of an ephemeral slash-command reply, as one string."""
    assert reply.status == 200, (reply.status, reply.text)
    body = reply.json()
    assert isinstance(body, dict), reply.text
    return all_text({"text": body.get("text"), "blocks": body.get("blocks")})


def ephemeral(reply: Reply) -> str:
    """The reply must be an ephemeral message (seen only by the person who typed)."""
    assert reply.status == 200, (reply.status, reply.text)
    body = reply.json()
    assert body.get("response_type") == "ephemeral", body
    return reply_text(reply)


def header_text(call: Call) -> str:
    return call.args["blocks"][0]["text"]["text"]


def has_stance_buttons(blocks: list[dict[str, Any]]) -> bool:
    return any(
        b["type"] == "actions"
        and [e["action_id"] for e in b["elements"]][:3]
        == [Action.AGREE, Action.DISAGREE, Action.BLOCK]
        for b in blocks
    )


def unescaped_markup(obj: Any, path: str = "$") -> list[str]:
    """Paths of every string Slack would render as mrkdwn that still holds raw ``<!channel>`` /
    ``<@U999>``. ``plain_text`` objects and text-input initial values are shown literally by
    Slack, so raw text is fine there."""
    found: list[str] = []
    if isinstance(obj, dict):
        if obj.get("type") == "plain_text":
            return found
        for key, value in obj.items():
            if key == "initial_value" and obj.get("type") == "plain_text_input":
                continue
            found += unescaped_markup(value, f"{path}.{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            found += unescaped_markup(value, f"{path}[{i}]")
    elif isinstance(obj, str) and any(m in obj for m in RAW_MARKUP):
        found.append(f"{path}: {obj[:200]!r}")
    return found


# The control sequences Slack's mrkdwn understands; any other "<...>" is a stray bracket that
# Slack would try to parse (text must escape < > & as &lt; &gt; &amp;).
_CONTROL = re.compile(
    r"<(?:@[UW][A-Z0-9]+|#[CG][A-Z0-9]+(?:\|[^<>]*)?|![a-z]+(?:\^[^<>]*)?(?:\|[^<>]*)?"
    r"|(?:https?|mailto):[^<>|\s]+(?:\|[^<>]*)?)>"
)


def stray_brackets(obj: Any, path: str = "$") -> list[str]:
    """Paths of mrkdwn strings with a ``<`` or ``>`` that isn't part of a Slack control
    sequence (``plain_text`` and text-input values are shown literally, so they're skipped)."""
    found: list[str] = []
    if isinstance(obj, dict):
        if obj.get("type") == "plain_text":
            return found
        for key, value in obj.items():
            if key in ("initial_value", "private_metadata", "value", "url", "response_url"):
                continue
            found += stray_brackets(value, f"{path}.{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            found += stray_brackets(value, f"{path}[{i}]")
    elif isinstance(obj, str):
        rest = re.sub(r"(?m)^>", "", _CONTROL.sub("", obj))  # "> " starts a block quote
        if "<" in rest or ">" in rest:
            found.append(f"{path}: {obj[:300]!r}")
    return found


class Adr:
    """Drives `/adr` as people would, and reads the database the app wrote."""

    def __init__(self, slack: SlackDriver, emulator: SlackEmulator, db: Database) -> None:
        self.slack = slack
        self.emulator = emulator
        self.db = db

    # -- database --------------------------------------------------------------------------
    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self.db.engine.execution_options(readonly=True).connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params)]

    def decision(self, number: int, team: str = "TAAA") -> dict[str, Any]:
        [row] = self.rows(
            "SELECT * FROM decisions WHERE team_id = :t AND number = :n", t=team, n=number
        )
        return row

    def count(self, table: str, team: str | None = None) -> int:
        if team is None:
            return int(self.rows(f"SELECT count(*) AS n FROM {table}")[0]["n"])
        return int(
            self.rows(f"SELECT count(*) AS n FROM {table} WHERE team_id = :t", t=team)[0]["n"]
        )

    def events(self, number: int, team: str = "TAAA", kind: str | None = None) -> list[dict]:
        """The decision-log history of ADR-n (other features' event kinds left out)."""
        rows = self.rows(
            "SELECT e.* FROM decision_events e JOIN decisions d ON d.id = e.decision_id "
            "WHERE d.team_id = :t AND d.number = :n ORDER BY e.id",
            t=team,
            n=number,
        )
        for r in rows:
            r["detail"] = json.loads(r["detail"])
        return [r for r in rows if r["kind"] in LOG_EVENTS and (kind is None or r["kind"] == kind)]

    def stances(self, number: int, team: str = "TAAA") -> dict[str, dict[str, Any]]:
        rows = self.rows(
            "SELECT s.* FROM stances s JOIN decisions d ON d.id = s.decision_id "
            "WHERE d.team_id = :t AND d.number = :n ORDER BY s.id",
            t=team,
            n=number,
        )
        by_user = {r["user_id"]: r for r in rows}
        assert len(by_user) == len(rows), f"more than one stance per person: {rows}"
        return by_user

    # -- Slack -----------------------------------------------------------------------------
    def posts(self, channel: str | None = None) -> list[Call]:
        return [
            c
            for c in self.emulator.calls("chat.postMessage")
            if channel is None or c.args.get("channel") == channel
        ]

    def wait_post(self, header: str, *, channel: str, count: int = 1) -> Call:
        """The ``count``-th channel post whose header is ``header``."""
        calls = self.emulator.wait_for(
            "chat.postMessage",
            count=count,
            where=lambda c: (
                c.args.get("channel") == channel
                and bool(c.args.get("blocks"))
                and header_text(c) == header
            ),
        )
        return calls[count - 1]

    def wait_update(self, predicate: Any, *, count: int = 1) -> Call:
        """The newest chat.update matching ``predicate`` (waits for at least ``count``)."""
        return self.emulator.wait_for("chat.update", count=count, where=predicate)[-1]

    def open_form(
        self, text: str = "", *, user: str = "UALICE", team: str = "TAAA", channel: str = "CGENERAL"
    ) -> dict[str, Any]:
        """Run ``/adr <text>`` and return the modal the bot opened."""
        before = self.slack.views_opened()
        reply = self.slack.command(text, user=user, team=team, channel=channel)
        assert reply.status == 200 and reply.text == "", (reply.status, reply.text)
        return self.slack.opened_view(after=before)

    def new(
        self,
        title: str = "Use Postgres",
        *,
        decision: str = "We use Postgres.",
        user: str = "UALICE",
        team: str = "TAAA",
        channel: str = "CGENERAL",
        post_in: str | None = None,
        values: dict[str, Any] | None = None,
        posted: bool = True,
    ) -> int:
        """Record a decision through `/adr new` and the modal; returns its ADR number.

        With ``posted`` it also waits for the channel post (``post_in``, default ``channel``).
        """
        view = self.open_form(f"new {title}", user=user, team=team, channel=channel)
        fields: dict[str, Any] = {Field.DECISION: decision}
        if post_in:
            fields[Field.CHANNEL] = post_in
        fields.update(values or {})
        before = self.count("decisions", team)
        target = post_in or channel
        reply = self.slack.submit(view, fields, user=user, team=team)
        assert reply.status == 200 and reply.text == "", (reply.status, reply.text)
        rows = self.rows("SELECT number FROM decisions WHERE team_id = :t ORDER BY id DESC", t=team)
        assert len(rows) == before + 1, rows
        number = int(rows[0]["number"])
        if posted:
            # The dispatcher posts it, then records the message ts: once that is in the
            # database, the post is complete in Slack and in the database.
            self.wait_recorded(number, team=team)
            post = self.posts(target)[-1]
            assert header_text(post) == f"ADR-{number}: {title}", header_text(post)
        return number

    def wait_recorded(self, number: int, *, team: str = "TAAA", timeout: float = 20.0) -> None:
        """Wait until the dispatcher recorded ADR-n's post (message ts) with its row done."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.decision(number, team)["message_ts"]:
                return
            time.sleep(0.01)
        raise AssertionError(f"ADR-{number}'s post was never recorded")

    def show(
        self, number: int, *, user: str = "UALICE", team: str = "TAAA", channel: str = "CGENERAL"
    ) -> str:
        return ephemeral(
            self.slack.command(f"show {number}", user=user, team=team, channel=channel)
        )

    def run(
        self, text_: str, *, user: str = "UALICE", team: str = "TAAA", channel: str = "CGENERAL"
    ) -> str:
        """``/adr <text>`` answered in the HTTP response; the ephemeral reply's text."""
        return ephemeral(self.slack.command(text_, user=user, team=team, channel=channel))


ADR_LINE = re.compile(r"\*ADR-(\d+)\*")


def listed_numbers(text_: str) -> list[int]:
    """ADR numbers in a list/search reply, in the order shown."""
    return [int(n) for n in ADR_LINE.findall(text_)]
