"""`/estimate help` short, `/estimate help all` complete, and "did you mean" only where a
mistyped verb would otherwise start a round on the typo (bot/features/estimates/command.py and
views.py). Pure: no Slack, no database."""

from __future__ import annotations

import pytest

from bot.features.estimates import views
from bot.features.estimates.command import EstimateCommand, parse_estimate
from tests.support.blocks import check_blocks
from tests.support.help_words import HELP_WORDS_MAX, OLD_ESTIMATE_HELP, shown, words_read


def test_help_is_short_and_help_all_says_everything_the_old_help_did():
    short = shown(views.help_blocks())
    assert words_read(short) <= HELP_WORDS_MAX, words_read(short)
    assert short.splitlines()[-1].startswith("`/estimate help all`")
    full = shown(views.help_blocks(full=True))
    assert [snippet for snippet in OLD_ESTIMATE_HELP if snippet not in full] == []
    check_blocks(views.help_blocks(full=True), max_blocks=50)


@pytest.mark.parametrize("text", ["help all", "? all", "HELP All"])
def test_help_all_is_a_command_not_a_topic(text: str):
    assert parse_estimate(text) == EstimateCommand("help", text="all")


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("shwo E-3", "/estimate show E-3"),
        ("revael 3", "/estimate reveal 3"),
        ("cancle #4", "/estimate cancel #4"),
        ("actaul E-3 7d", "/estimate actual E-3 7d"),
        ("hlep all", "/estimate help all"),
    ],
)
def test_a_mistyped_verb_with_its_argument_gets_did_you_mean(text: str, meant: str):
    command = parse_estimate(text)
    assert command.name == "invalid"
    assert f"Did you mean `{meant}`?" in command.error
    assert "`/estimate help`" in command.error.splitlines()[-1]


def test_only_a_verb_typo_with_its_argument_is_caught_topics_near_a_verb_start_a_round():
    assert parse_estimate("shwo E-3").name == "invalid"
    for text, topic in (
        ("Migrate the DB <@U1|ana>", "Migrate the DB"),
        ("Release 2", "Release 2"),  # near "reveal 2", but a real topic
        ("lsit", "lsit"),  # a word alone stays a topic, as before
        ("Lint", "Lint"),
        ("calibrate the scale", "calibrate the scale"),
        ("shwo the new page", "shwo the new page"),  # no round number after it
        ("cancle E-3 now", "cancle E-3 now"),  # not what `cancel` takes
        ("shwo E-3 <@U1>", "shwo E-3"),  # verbs take no invitees
        ("zzz E-3", "zzz E-3"),  # far from every verb
    ):
        command = parse_estimate(text)
        assert (command.name, command.topic) == ("new", topic), text


def test_what_they_typed_is_escaped_in_the_suggestion():
    error = parse_estimate("actaul E-3 &lt;!here&gt;").error
    assert "`/estimate actual E-3 &lt;!here&gt;`" in error and "<!here>" not in error
