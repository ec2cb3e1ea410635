"""`/estimate help`, `/estimate help all` and "did you mean", end to end over signed HTTP, on
SQLite and Postgres: a mistyped verb starts no round; a topic near a verb still does."""

from __future__ import annotations

from tests.support.adr import Adr, ephemeral
from tests.support.delivery import settle
from tests.support.harness import SlackDriver
from tests.support.help_words import HELP_WORDS_MAX, OLD_ESTIMATE_HELP, shown, words_read


def _shown(slack: SlackDriver, text: str) -> str:
    reply = slack.command(text, command="/estimate", user="UFAC")
    ephemeral(reply)
    return shown(reply.json())


def test_help_is_short_and_help_all_has_everything(adr: Adr, slack: SlackDriver):
    short = _shown(slack, "help")
    assert words_read(short) <= HELP_WORDS_MAX, words_read(short)
    assert "`/estimate help all`" in short
    full = _shown(slack, "help all")
    assert [snippet for snippet in OLD_ESTIMATE_HELP if snippet not in full] == []
    assert adr.count("estimate_rounds") == 0


def test_a_mistyped_verb_gets_did_you_mean_and_starts_no_round(adr: Adr, slack: SlackDriver):
    text = _shown(slack, "shwo E-3")
    assert "Did you mean `/estimate show E-3`?" in text and "`/estimate help`" in text
    assert words_read(text) <= 40
    assert adr.count("estimate_rounds") == 0
    # a topic is still a topic, even near a verb or far from every one
    assert "E-1" in _shown(slack, "Migrate the DB <@UANA|ana>")
    assert "E-2" in _shown(slack, "Release 2")
    settle(slack)
    topics = [r["topic"] for r in adr.rows("SELECT topic FROM estimate_rounds ORDER BY number")]
    assert topics == ["Migrate the DB", "Release 2"]
