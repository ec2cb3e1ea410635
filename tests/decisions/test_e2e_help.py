"""`/adr help`, `/adr help all`, "did you mean" and the rules on App Home, end to end over
signed HTTP, on SQLite and Postgres."""

from __future__ import annotations

from tests.support.adr import Adr, all_text, ephemeral, unescaped_markup
from tests.support.harness import Reply
from tests.support.help_words import HELP_WORDS_MAX, OLD_ADR_HELP, shown, words_read


def _shown(reply: Reply) -> str:
    ephemeral(reply)
    return shown(reply.json())


def test_help_is_short_and_help_all_has_every_verb_and_the_rules(adr: Adr):
    short = _shown(adr.slack.command("help"))
    assert words_read(short) <= HELP_WORDS_MAX, words_read(short)
    assert "`/adr help all`" in short
    assert "Who may do what" not in short
    full = _shown(adr.slack.command("help all"))
    assert [snippet for snippet in OLD_ADR_HELP if snippet not in full] == []
    assert "*Who may do what*" in full
    assert adr.count("decisions") == 0


def test_a_mistyped_verb_gets_did_you_mean_not_the_whole_help(adr: Adr):
    reply = adr.slack.command("shwo 1 <!here>")
    text = _shown(reply)
    assert "Did you mean `/adr show 1 &lt;!here&gt;`?" in text
    assert "`/adr help`" in text and "/adr list" not in text
    assert words_read(text) <= 25 and unescaped_markup(reply.json()) == []
    far = _shown(adr.slack.command("frobnicate 1"))
    assert "I don't know `frobnicate 1`" in far and "Did you mean" not in far
    assert adr.emulator.calls("views.open") == []


def test_app_home_shows_who_may_do_what(adr: Adr, slack, emulator):
    slack.event({"type": "app_home_opened", "user": "UALICE", "channel": "D1", "tab": "home"})
    [publish] = emulator.wait_for("views.publish")
    blocks = publish.args["view"]["blocks"]
    assert len(blocks) <= 100
    text = all_text(blocks)
    assert "*Who may do what*" in text and "a decider when the block was placed" in text
