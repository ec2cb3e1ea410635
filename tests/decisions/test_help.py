"""`/adr help` short, `/adr help all` complete with the rules, an unknown verb answered with the
closest verb, and the rules on App Home (the builders in bot/features/decisions/listeners.py
and bot/features/home/views.py). Pure: no Slack, no database."""

from __future__ import annotations

from bot.core.adr_command import parse_adr
from bot.features.decisions.listeners import adr_help
from bot.features.home.views import build_home
from tests.support.adr import all_text
from tests.support.blocks import check_blocks
from tests.support.help_words import HELP_WORDS_MAX, OLD_ADR_HELP, shown, words_read


def test_help_names_the_common_verbs_in_few_words_and_points_at_help_all():
    answer = adr_help(parse_adr("help"))
    text = shown(answer)
    assert words_read(text) <= HELP_WORDS_MAX, words_read(text)
    assert text.splitlines()[-1].startswith("`/adr help all`")
    for verb in ("new", "list", "search", "show", "accept", "reject", "edit", "supersede"):
        assert f"`/adr {verb}" in text, verb
    assert "Who may do what" not in text and "workspace admins" not in text  # the rules moved
    check_blocks(answer["blocks"], max_blocks=50)


def test_help_all_still_says_everything_the_old_help_did_and_who_may_do_what():
    answer = adr_help(parse_adr("help all"))
    text = shown(answer)
    missing = [snippet for snippet in OLD_ADR_HELP if snippet not in text]
    assert missing == []
    assert "*Who may do what*" in text
    check_blocks(answer["blocks"], max_blocks=50)


def test_an_unknown_verb_gets_the_closest_verb_and_one_line_of_help():
    text = shown(adr_help(parse_adr("shwo 1 <!here>")))
    assert "Did you mean `/adr show 1 &lt;!here&gt;`?" in text
    assert text.count("\n") == 1 and "`/adr help`" in text.splitlines()[1]
    assert words_read(text) <= 25


def test_an_unknown_word_far_from_every_verb_gets_no_suggestion():
    text = shown(adr_help(parse_adr("frobnicate the widgets")))
    assert "I don't know `frobnicate the widgets`." in text
    assert "Did you mean" not in text and "`/adr help`" in text
    assert words_read(text) <= 20


def test_app_home_shows_who_may_do_what_within_its_limits():
    view = build_home(recent=[], awaiting=[], owned=[])
    text = all_text(view["blocks"])
    assert "*Who may do what*" in text
    assert "a decider when the block was placed" in text and "workspace admins" in text
    check_blocks(view["blocks"], max_blocks=100)


def test_help_and_app_home_say_once_what_adr_e_and_p_numbers_are():
    numbers = "ADR-7 is a decision, E-3 an estimate round (`/estimate`) and P-12 a parked request"
    for answer in (adr_help(parse_adr("help")), adr_help(parse_adr("help all"))):
        assert shown(answer).count(numbers) == 1
    home = all_text(build_home(recent=[], awaiting=[], owned=[])["blocks"])
    assert home.count(numbers) == 1
