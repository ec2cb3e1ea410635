"""The `/parkinglot` parser (bot/features/parking/command.py), RICE and timeline impacts. Pure:
no Slack, no database."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features.parking.command import (
    REQUEST_MAX,
    ParkCommand,
    parse_parkinglot,
    parse_related,
    parse_timeline,
)
from storage.models import ParkingState
from storage.rules import rice

# -- the command -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ParkCommand("open")),
        ("   ", ParkCommand("open")),
        ("help", ParkCommand("help")),
        ("?", ParkCommand("help")),
        ("list", ParkCommand("list")),
        ("list all", ParkCommand("list", state=None)),
        ("LIST accepted by age", ParkCommand("list", state=ParkingState.ACCEPTED, sort="age")),
        ("list by age", ParkCommand("list", sort="age")),
        ("list by rice withdrawn", ParkCommand("list", state=ParkingState.WITHDRAWN)),
        ("show P-12", ParkCommand("show", number=12)),
        ("show p12", ParkCommand("show", number=12)),
        ("show #7", ParkCommand("show", number=7)),
        ("watch", ParkCommand("watch")),
        ("watch ON", ParkCommand("watch", watch="on")),
        ("watch off", ParkCommand("watch", watch="off")),
    ],
)
def test_subcommands(text: str, expected: ParkCommand) -> None:
    assert parse_parkinglot(text) == expected


@pytest.mark.parametrize(
    "text",
    ["list exprots", "list all all", "list by size", "list by", "show", "show P-", "show 12 now"],
)
def test_mistyped_subcommands_are_invalid_with_a_sentence(text: str) -> None:
    command = parse_parkinglot(text)
    assert command.name == "invalid"
    assert command.error.endswith(".")
    assert "/parkinglot" in command.error


def test_watch_with_a_stray_word_is_invalid() -> None:
    assert parse_parkinglot("watch maybe").name == "invalid"


def test_a_request_starting_with_a_subcommand_word_is_parked() -> None:
    assert parse_parkinglot("show the export button on mobile").name == "park"
    assert parse_parkinglot("list the reports we export every week").name == "park"
    assert parse_parkinglot("watch the latency of login").name == "park"
    assert parse_parkinglot("help text on the billing page").name == "park"


def test_park_text_with_references_and_mentions() -> None:
    command = parse_parkinglot("ADR-12 <@U0ANA|ana> wants CSV &amp; PDF, like <@U0BO>")
    assert command.name == "park"
    assert command.decision_number == 12
    assert command.round_number is None
    assert command.requester_id == "U0ANA"  # the first person mentioned asked
    assert command.mentions == ("U0ANA", "U0BO")
    assert command.text == "wants CSV & PDF, like @U0BO"  # the leading mention named Ana

    both = parse_parkinglot("E-3 adr7: Dark mode")
    assert (both.decision_number, both.round_number, both.text) == (7, 3, "Dark mode")
    assert parse_parkinglot("E3 conference badge").round_number is None  # "E3" is a word


def test_the_mention_that_names_the_requester_is_not_in_the_request() -> None:
    command = parse_parkinglot("<@U0ANA|ana> Export the report to CSV")
    assert (command.requester_id, command.text) == ("U0ANA", "Export the report to CSV")
    first = parse_parkinglot("<@U0ANA>: E-3 dark mode for <@U0BO|bo>")
    assert (first.requester_id, first.round_number) == ("U0ANA", 3)
    assert first.text == "dark mode for @bo"  # a mention inside the request stays
    later = parse_parkinglot("Dark mode, as <@U0ANA|ana> asked")
    assert (later.requester_id, later.text) == ("U0ANA", "Dark mode, as @ana asked")
    assert parse_parkinglot("<@U0ANA|ana>x").text == "@anax"  # not a mention of its own


def test_a_typed_mention_is_not_a_mention() -> None:
    command = parse_parkinglot("&lt;@U0EVE&gt; please add dark mode")
    assert command.name == "park"
    assert command.requester_id is None
    assert command.text == "<@U0EVE> please add dark mode"  # escaped when shown


def test_references_alone_open_the_modal_prefilled() -> None:
    assert parse_parkinglot("<@U0ANA|ana>") == ParkCommand(
        "open", requester_id="U0ANA", mentions=("U0ANA",)
    )
    assert parse_parkinglot("ADR-4") == ParkCommand("open", decision_number=4)
    assert parse_parkinglot("list <@U0ANA>").name == "park"  # subcommands take no mentions


def test_request_length() -> None:
    assert parse_parkinglot("x" * REQUEST_MAX).name == "park"
    too_long = parse_parkinglot("x" * (REQUEST_MAX + 1))
    assert too_long.name == "invalid"
    assert "3000" in too_long.error


def test_nul_is_stripped() -> None:
    command = parse_parkinglot("Dark\x00 mode")
    assert command.text == "Dark mode"


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=4000))
def test_parser_never_raises(text: str) -> None:
    command = parse_parkinglot(text)
    assert command.name in ("open", "park", "list", "show", "watch", "help", "invalid")
    if command.name == "park":
        assert command.text.strip()
        assert len(command.text) <= REQUEST_MAX
        assert "\x00" not in command.text
    if command.name == "invalid":
        assert command.error


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["list", "show", "watch", "P-3", "by", "rice", "age", "all", "on", "<@U1|a>", "ADR-2"]
        ),
        max_size=6,
    )
)
def test_parser_never_raises_on_command_words(words: list[str]) -> None:
    parse_parkinglot(" ".join(words))


def test_parse_related() -> None:
    assert parse_related("") == (None, None)
    assert parse_related("ADR-12") == (12, None)
    assert parse_related("e-3") == (None, 3)
    assert parse_related("ADR-12, E-3") == (12, 3)
    for bad in ("12", "ADR-x", "E-3 E-4", "see ADR-12"):
        with pytest.raises(ValueError):
            parse_related(bad)


# -- RICE and the timeline ---------------------------------------------------------------------


def test_rice_arithmetic_and_rounding() -> None:
    assert rice(500, 2, 80, 6.7) == pytest.approx(119.4, abs=1e-9)
    assert rice(1000, 3, 100, 2) == 1500.0
    assert rice(100, 0.25, 50, 3) == 4.17  # 4.1666… rounded to 2 decimals
    assert rice(1, 1, 80, 1) == 0.8  # no float noise from 80 / 100
    assert rice(0, 2, 80, 1) == 0.0


@pytest.mark.parametrize(
    "inputs",
    [
        (None, 2, 80, 1),
        (500, None, 80, 1),
        (500, 2, None, 1),
        (500, 2, 80, None),
        (500, 2, 80, 0),
        (500, 2, 80, -1),
        (float("inf"), 2, 80, 1),
        (float("nan"), 2, 80, 1),
    ],
)
def test_rice_is_none_when_it_cannot_be_computed(inputs: tuple[Any, ...]) -> None:
    assert rice(*inputs) is None


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("+3d", 3.0),
        ("3 days", 3.0),
        ("3", 3.0),
        ("+1.5w", 7.5),
        ("4h", 0.5),
        ("1 hour", 0.125),
        ("-2d", -2.0),
        ("−1w", -5.0),  # noqa: RUF001 — a typographic minus
        ("0", 0.0),
        ("-0d", 0.0),
        ("1,5 working days", 1.5),
        ("2 business days", 2.0),
        ("  +2   WEEKS ", 10.0),
    ],
)
def test_parse_timeline(text: str, days: float) -> None:
    assert parse_timeline(text) == days


@pytest.mark.parametrize(
    "text", ["", "soon", "3m", "3 months", "1.234d", "3 parsecs", "++3d", "9999w", "x" * 50]
)
def test_parse_timeline_refuses_with_a_sentence(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_timeline(text)
    assert str(caught.value)[-1] in ".?"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parse_timeline_raises_only_value_error(text: str) -> None:
    try:
        days = parse_timeline(text)
    except ValueError:
        return
    assert abs(days) <= 1250
