"""What every slash command shares (bot/core/commands.py): decision numbers and the parse of
Slack's escaped command text. Pure: no Slack, no database."""

from __future__ import annotations

import pytest

from bot.core.commands import parse_number, unescape_refs


@pytest.mark.parametrize(
    ("raw", "number"), [("7", 7), ("ADR-7", 7), ("adr7", 7), ("#7", 7), (" 7 ", 7), ("x7", None)]
)
def test_parse_number(raw: str, number: int | None) -> None:
    assert parse_number(raw) == number


@pytest.mark.parametrize(
    ("escaped", "plain"),
    [
        ("list <#C0123|infra>", "list #infra"),
        ("new Read <https://x.io/a?b=1|x.io/a>", "new Read https://x.io/a?b=1"),
        ("new Mail <mailto:a@b.io|a@b.io>", "new Mail mailto:a@b.io"),
        ("settings managers add <@U1|bob>", "settings managers add <@U1|bob>"),  # ids kept
        ("search a&lt;b&gt; &amp;&lt;!channel&gt;", "search a<b> &<!channel>"),  # as typed
    ],
)
def test_slack_escapes_are_undone_except_mentions(escaped: str, plain: str) -> None:
    assert unescape_refs(escaped) == plain
