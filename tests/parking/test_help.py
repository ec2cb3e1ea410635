"""`/parkinglot help` short, `/parkinglot help all` complete, and "did you mean" only where a
mistyped verb would otherwise park the typo (bot/features/parking/command.py and views.py).
Pure: no Slack, no database."""

from __future__ import annotations

import pytest

from bot.features.parking import views
from bot.features.parking.command import ParkCommand, parse_parkinglot
from tests.support.blocks import check_blocks
from tests.support.help_words import HELP_WORDS_MAX, OLD_PARKING_HELP, shown, words_read


def test_help_is_short_and_help_all_says_everything_the_old_help_did():
    short = shown(views.help_blocks())
    assert words_read(short) <= HELP_WORDS_MAX, words_read(short)
    assert short.splitlines()[-1].startswith("`/parkinglot help all`")
    full = shown(views.help_blocks(full=True))
    assert [snippet for snippet in OLD_PARKING_HELP if snippet not in full] == []
    check_blocks(views.help_blocks(full=True), max_blocks=50)


@pytest.mark.parametrize("text", ["help all", "? all", "Help ALL"])
def test_help_all_is_a_command_not_a_request(text: str):
    assert parse_parkinglot(text) == ParkCommand("help", text="all")


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("shwo P-12", "/parkinglot show P-12"),
        ("lsit accepted by age", "/parkinglot list accepted by age"),
        ("wacth off", "/parkinglot watch off"),
        ("hlep all", "/parkinglot help all"),
    ],
)
def test_a_mistyped_verb_with_its_arguments_gets_did_you_mean(text: str, meant: str):
    command = parse_parkinglot(text)
    assert command.name == "invalid"
    assert f"Did you mean `{meant}`?" in command.error
    assert "`/parkinglot help`" in command.error.splitlines()[-1]


def test_only_a_verb_typo_with_its_arguments_is_caught_requests_near_a_verb_are_parked():
    assert parse_parkinglot("shwo P-12").name == "invalid"
    for text in (
        "Can we also export CSV",
        "lsit",  # a word alone stays a request, as before
        "Lists should be sortable",  # near `list`, but not what `list` takes
        "shwo the export button on mobile",
        "wacth the latency of login",
        "shwo P-12 <@U0ANA>",  # verbs take no mentions
        "zzz P-12",  # far from every verb
    ):
        assert parse_parkinglot(text).name == "park", text


def test_what_they_typed_is_escaped_in_the_answer():
    error = parse_parkinglot("sh&lt;w P-12").error  # Slack sends a typed < as &lt;
    assert "If `sh&lt;w P-12` is a request" in error and "<" not in error
