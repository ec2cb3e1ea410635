"""What every slash command shares (bot/core/commands.py): decision numbers and the parse of
Slack's escaped command text. Pure: no Slack, no database."""

from __future__ import annotations

from typing import Any

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


# -- the verb tables ---------------------------------------------------------------------------


def test_every_adr_verb_the_grammar_knows_has_one_handler() -> None:
    from bot.app import adr_command
    from bot.core.adr_command import NUMBERED, parse_adr

    samples = ["new T", "list", "search x", "settings", "redact 1 context", "export", "digest"]
    samples += ["dm", "stats", *(f"{verb} 1 2w" for verb in NUMBERED)]
    produced = {parse_adr(text).name for text in samples}
    assert adr_command().verbs == produced
    # what no feature handles is answered with help, by the table itself
    assert {parse_adr(t).name for t in ("help", "frobnicate", "dm maybe")} == {
        "help",
        "unknown",
        "invalid",
    }


def test_a_verb_is_added_once_and_either_runs_or_answers() -> None:
    from bot.core.commands import SlashCommand

    table: SlashCommand[Any] = SlashCommand("/x", parse=lambda text: text, help=lambda c: {})
    table.add("go", run=lambda cmd, request: None)
    with pytest.raises(ValueError, match="added twice"):
        table.add("go", run=lambda cmd, request: None)
    with pytest.raises(ValueError, match="either"):
        table.add("both", run=lambda c, r: None, answer=lambda c, r, p: {})
    with pytest.raises(ValueError, match="either"):
        table.add("neither")
