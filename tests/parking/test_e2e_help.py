"""`/parkinglot help`, `/parkinglot help all` and "did you mean", end to end over signed HTTP,
on SQLite and Postgres: a mistyped verb parks nothing; a request near a verb is still parked."""

from __future__ import annotations

from tests.support.adr import Adr, ephemeral
from tests.support.delivery import settle
from tests.support.harness import SlackDriver
from tests.support.help_words import HELP_WORDS_MAX, OLD_PARKING_HELP, shown, words_read


def _shown(slack: SlackDriver, text: str) -> str:
    reply = slack.command(text, command="/parkinglot")
    ephemeral(reply)
    return shown(reply.json())


def test_help_is_short_and_help_all_has_everything(adr: Adr, slack: SlackDriver):
    short = _shown(slack, "help")
    assert words_read(short) <= HELP_WORDS_MAX, words_read(short)
    assert "`/parkinglot help all`" in short
    full = _shown(slack, "help all")
    assert [snippet for snippet in OLD_PARKING_HELP if snippet not in full] == []
    assert adr.count("parking_items") == 0


def test_a_mistyped_verb_gets_did_you_mean_and_parks_nothing(adr: Adr, slack: SlackDriver):
    text = _shown(slack, "shwo P-12")
    assert "Did you mean `/parkinglot show P-12`?" in text and "`/parkinglot help`" in text
    assert words_read(text) <= 40
    assert adr.count("parking_items") == 0
    # a request is still a request, even near a verb or far from every one
    assert "P-1" in _shown(slack, "Can we also export CSV")
    assert "P-2" in _shown(slack, "Lists should be sortable")
    settle(slack)
    requests = [r["request"] for r in adr.rows("SELECT request FROM parking_items ORDER BY number")]
    assert requests == ["Can we also export CSV", "Lists should be sortable"]
