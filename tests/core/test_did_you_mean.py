"""Did-you-mean for every slash command (bot/core/commands.py), and `/adr help all` in the
`/adr` parser. Pure: no Slack, no database."""

from __future__ import annotations

import pytest

from bot.core.adr_command import VERBS, AdrCommand, parse_adr
from bot.core.commands import CLOSE_IN_FREE_TEXT, closest_verb, with_closest_verb


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("shwo 1", "show 1"),
        ("Shwo ADR-1", "show ADR-1"),  # any case; the rest as typed
        ("acept 7 looks good", "accept 7 looks good"),
        ("lsit accepted #db", "list accepted #db"),
        ("superseed 3", "supersede 3"),
        ("exprot nygard", "export nygard"),
        ("hlep", "help"),
    ],
)
def test_the_closest_verb_replaces_the_first_word_and_keeps_the_rest(typed: str, meant: str):
    assert with_closest_verb(typed, VERBS) == meant


@pytest.mark.parametrize("typed", ["frobnicate 3", "zzz", "Use Postgres for events", "", "show 1"])
def test_nothing_close_or_a_real_verb_gets_no_suggestion(typed: str):
    assert with_closest_verb(typed, VERBS) is None


def test_free_text_commands_ask_for_a_closer_match():
    # "Release 2" is a topic, not "reveal 2": close enough for /adr, not for free text
    assert closest_verb("release", ["reveal"]) == "reveal"
    assert closest_verb("release", ["reveal"], cutoff=CLOSE_IN_FREE_TEXT) is None
    assert closest_verb("revael", ["reveal"], cutoff=CLOSE_IN_FREE_TEXT) == "reveal"


def test_help_all_is_read_apart_from_help():
    assert parse_adr("help") == AdrCommand("help")
    assert parse_adr("help all") == AdrCommand("help", text="all")
    assert parse_adr("? ALL") == AdrCommand("help", text="all")
    assert parse_adr("help me") == AdrCommand("help")  # as before: the short help
