"""`/adr stats [#channel | workspace] [30d | 90d | 1y]` in the `/adr` parser
(bot/core/adr_command.py): the scope and the period in either order, their defaults, and one
sentence naming the form for anything else. Pure: no Slack, no database."""

from __future__ import annotations

import pytest

from bot.core.adr_command import STATS_HELP, VERBS, AdrCommand, parse_adr
from bot.core.commands import with_closest_verb


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stats", AdrCommand("stats", text="90d")),
        ("  STATS  ", AdrCommand("stats", text="90d")),
        ("stats 30d", AdrCommand("stats", text="30d")),
        ("stats 1Y", AdrCommand("stats", text="1y")),
        ("stats workspace", AdrCommand("stats", text="90d", workspace=True)),
        ("stats Workspace 1y", AdrCommand("stats", text="1y", workspace=True)),
        ("stats 30d workspace", AdrCommand("stats", text="30d", workspace=True)),
        ("stats <#C0PUB|general>", AdrCommand("stats", text="90d", channel="C0PUB")),
        ("stats <#C0PUB|general> 90d", AdrCommand("stats", text="90d", channel="C0PUB")),
        ("stats 1y <#G0PRIV|secret>", AdrCommand("stats", text="1y", channel="G0PRIV")),
        # Slack may leave a private channel's name out of the reference
        ("stats <#C0PRIV|>", AdrCommand("stats", text="90d", channel="C0PRIV")),
        ("stats <#C0PRIV>  30d", AdrCommand("stats", text="30d", channel="C0PRIV")),
        ("stats 30d\x00", AdrCommand("stats", text="30d")),
    ],
)
def test_stats_reads_a_scope_and_a_period_in_either_order(text: str, expected: AdrCommand) -> None:
    assert parse_adr(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "stats 7d",  # not one of the periods
        "stats 2y",
        "stats last month",
        "stats #general",  # a word, not a channel Slack linked
        "stats @ana",
        "stats <@U0ANA|ana>",
        "stats 30d 90d",  # a period twice
        "stats 30d 30d",
        "stats workspace workspace",  # a scope twice
        "stats workspace <#C0PUB|general>",
        "stats <#C0PUB|general> <#C0OTHER|other>",
        "stats <!channel>",
        "stats <#C0PUB|general",
        "stats 90",
    ],
)
def test_anything_else_gets_one_sentence_naming_the_form(text: str) -> None:
    cmd = parse_adr(text)
    assert cmd == AdrCommand("invalid", error=STATS_HELP)
    assert "`/adr stats [#channel | workspace] [30d | 90d | 1y]`" in cmd.error
    assert cmd.error.count(". ") == 0 and cmd.error.endswith(".")  # one sentence


def test_stats_is_a_verb_for_did_you_mean_and_other_verbs_still_unescape_channels() -> None:
    assert "stats" in VERBS
    assert with_closest_verb("stast 30d", VERBS) == "stats 30d"
    # the channel reference is read only by stats: other verbs still see what was typed
    assert parse_adr("search <#C0PUB|general> rollout") == AdrCommand(
        "search", text="#general rollout"
    )
    assert parse_adr("statistics") == AdrCommand("unknown", text="statistics")
