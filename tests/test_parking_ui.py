"""The pure Slack-facing pieces of the parking lot: the `/parkinglot` parser, RICE, timeline
impacts, the scope-watch matcher, the modals and their validation, and the Block Kit of
items (limits, escaping, the 30-day flag, buttons per state)."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.ids import Action, Callback, ParkField
from bot.features.parking import views
from bot.features.parking.command import (
    REQUEST_MAX,
    ParkCommand,
    parse_parkinglot,
    parse_related,
    parse_timeline,
    rice,
)
from bot.features.parking.forms import (
    AcceptDraft,
    Score,
    build_accept_modal,
    build_decline_modal,
    build_defer_modal,
    build_park_modal,
    build_score_modal,
    item_number_from,
    park_context_from,
    parse_accept_form,
    parse_decline_form,
    parse_defer_form,
    parse_park_form,
    parse_score_form,
)
from bot.features.parking.scope_watch import looks_like_scope_addition
from storage.models import Moscow, ParkingItem, ParkingState

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
PERMALINK = "https://acme.slack.com/archives/C0123/p1700000000123456"

# -- helpers -----------------------------------------------------------------------------------


def strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    if isinstance(node, list | tuple):
        return [s for v in node for s in strings(v)]
    return []


def text_objects(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
            found.append(node)
        for value in node.values():
            found += text_objects(value)
    elif isinstance(node, list):
        for value in node:
            found += text_objects(value)
    return found


def mrkdwn_text(node: Any) -> str:
    return "\n".join(t["text"] for t in text_objects(node) if t["type"] == "mrkdwn")


def assert_message_limits(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= 50
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75
                assert len(element["value"]) <= 2000
    assert len(json.dumps(blocks)) < 40_000


def assert_modal_limits(view: dict[str, Any]) -> None:
    assert len(view["title"]["text"]) <= 24
    assert len(view["submit"]["text"]) <= 24
    assert len(view["private_metadata"]) <= 3000
    assert len(view["blocks"]) <= 100
    ids = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert len(ids) == len(set(ids))
    for block in view["blocks"]:
        if block["type"] == "input":
            assert len(block["label"]["text"]) <= 2000
            assert len(block.get("hint", {}).get("text", "")) <= 2000


def item(**fields: Any) -> ParkingItem:
    base: dict[str, Any] = {
        "id": 1,
        "team_id": "T1",
        "number": 12,
        "request": "Export the report to CSV for finance",
        "requester_id": "U0ANA",
        "parked_by": "U0BO",
        "channel_id": "C0123",
        "channel_private": False,
        "permalink": PERMALINK,
        "created_at": NOW - timedelta(days=2),
    }
    base.update(fields)
    return ParkingItem(**base)


def scored(**fields: Any) -> ParkingItem:
    values = {"reach": 500.0, "impact": 2.0, "confidence": 80, "effort": 6.7}
    values.update(fields)
    values["rice"] = rice(values["reach"], values["impact"], values["confidence"], values["effort"])
    return item(**values)


def text_input(value: str) -> dict[str, Any]:
    return {Action.VALUE: {"type": "plain_text_input", "value": value}}


def number(value: str) -> dict[str, Any]:
    return {Action.VALUE: {"type": "number_input", "value": value}}


def choice(value: str) -> dict[str, Any]:
    return {Action.VALUE: {"type": "static_select", "selected_option": {"value": value}}}


def user(value: str | None) -> dict[str, Any]:
    return {Action.VALUE: {"type": "users_select", "selected_user": value}}


def picked(day: str | None) -> dict[str, Any]:
    return {Action.VALUE: {"type": "datepicker", "selected_date": day}}


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
    assert command.text == "@ana wants CSV & PDF, like @U0BO"

    both = parse_parkinglot("E-3 adr7: Dark mode")
    assert (both.decision_number, both.round_number, both.text) == (7, 3, "Dark mode")
    assert parse_parkinglot("E3 conference badge").round_number is None  # "E3" is a word


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


# -- the scope watch ---------------------------------------------------------------------------

POSITIVES = [
    "Can we also add a CSV export?",
    "can  we\nalso show totals",
    "Could we also ping finance?",
    "While we're at it, rename the button",
    "while we’re at it: dark mode",
    "While we are at it, one thing",
    "while were at it lol",
    "Oh, one more thing — the footer",
    "ONE MORE THING",
    "Quick addition: the logo",
    "could you just add a flag?",
    "Can you just add a checkbox",
    "(can we also) do it",
    "> quoted line\nbut can we also do X",
    "`code` and then one more thing",
]
NEGATIVES = [
    "",
    "scan we also",
    "pecan we also",
    "can we alsoo",
    "one more things",
    "someone more thing",
    "while we're at items",
    "quick additions were merged",
    "could you just address this",
    "Looks good to me, ship it",
    "```\ncan we also\n```",
    "`one more thing`",
    "> can we also add X",
    "&gt; can we also add X",
    "  &gt; while we're at it",
    "can we please also add X",  # not a listed phrase
]


@pytest.mark.parametrize("text", POSITIVES)
def test_watch_matches_scope_phrases(text: str) -> None:
    assert looks_like_scope_addition(text)


@pytest.mark.parametrize("text", NEGATIVES)
def test_watch_ignores_other_text(text: str) -> None:
    assert not looks_like_scope_addition(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=500))
def test_watch_never_raises(text: str) -> None:
    assert looks_like_scope_addition(text) in (True, False)


def test_watch_timing_sanity() -> None:
    """No timing assert (shared machines); prints the cost per message."""
    message = (
        "Hey team, I looked at the dashboard and the numbers seem fine, but the export is slow "
        "for the finance people. Can we check that tomorrow? Thanks!"
    )
    samples = [message, message + " While we're at it, rename it.", "> quoted\n" + message]
    rounds = 20_000
    start = time.perf_counter()
    for _ in range(rounds):
        for text in samples:
            looks_like_scope_addition(text)
    per_message = (time.perf_counter() - start) / (rounds * len(samples)) * 1e6
    long = message * 200
    start = time.perf_counter()
    for _ in range(200):
        looks_like_scope_addition(long)
    per_long = (time.perf_counter() - start) / 200 * 1e6
    print(f"scope watch: {per_message:.2f} µs per message, {per_long:.0f} µs per {len(long)} chars")


# -- the park modal ----------------------------------------------------------------------------


def test_park_modal_prefilled_from_a_message() -> None:
    view = build_park_modal(
        request="Can we also export <!channel>?",
        requester="U0ANA",
        permalink=PERMALINK,
        channel_id="C0123",
        thread_ts="1700000000.123456",
    )
    assert view["callback_id"] == Callback.PARK_FORM
    assert_modal_limits(view)
    blocks = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(blocks) == [
        ParkField.REQUEST,
        ParkField.REQUESTER,
        ParkField.WHY,
        ParkField.RELATED,
        ParkField.REACH,
        ParkField.IMPACT,
        ParkField.CONFIDENCE,
        ParkField.EFFORT,
        ParkField.MOSCOW,
    ]
    assert blocks[ParkField.REQUEST]["element"]["initial_value"] == "Can we also export <!channel>?"
    assert blocks[ParkField.REQUEST]["element"]["max_length"] == 3000
    assert blocks[ParkField.REQUESTER]["element"]["initial_user"] == "U0ANA"
    impacts = [o["value"] for o in blocks[ParkField.IMPACT]["element"]["options"]]
    assert impacts == ["3", "2", "1", "0.5", "0.25"]
    confidences = [o["value"] for o in blocks[ParkField.CONFIDENCE]["element"]["options"]]
    assert confidences == ["100", "80", "50"]
    assert "unscored until all four" in blocks[ParkField.REACH]["hint"]["text"]
    context = park_context_from(view)
    assert context is not None
    assert (context.channel_id, context.thread_ts, context.permalink) == (
        "C0123",
        "1700000000.123456",
        PERMALINK,
    )


def test_park_modal_without_a_message() -> None:
    view = build_park_modal(
        request="x" * 5000, requester=None, permalink=None, channel_id="C0123", thread_ts=None
    )
    assert_modal_limits(view)
    request = next(b for b in view["blocks"] if b.get("block_id") == ParkField.REQUEST)
    assert len(request["element"]["initial_value"]) == 3000
    requester = next(b for b in view["blocks"] if b.get("block_id") == ParkField.REQUESTER)
    assert "initial_user" not in requester["element"]
    context = park_context_from(view)
    assert context is not None and context.thread_ts is None and context.permalink is None
    assert park_context_from({"private_metadata": "nope"}) is None
    assert park_context_from({}) is None


def test_park_form_parses_a_full_submission() -> None:
    draft, errors = parse_park_form(
        {
            ParkField.REQUEST: text_input("  Export to CSV  "),
            ParkField.REQUESTER: user("U0ANA"),
            ParkField.WHY: text_input("Finance closes the month by hand"),
            ParkField.RELATED: text_input("ADR-12"),
            ParkField.REACH: number("500"),
            ParkField.IMPACT: choice("2"),
            ParkField.CONFIDENCE: choice("80"),
            ParkField.EFFORT: number("6.7"),
            ParkField.MOSCOW: choice("should"),
        }
    )
    assert errors == {}
    assert draft is not None
    assert draft.request == "Export to CSV"
    assert draft.requester_id == "U0ANA"
    assert (draft.decision_number, draft.round_number) == (12, None)
    assert draft.score == Score(500.0, 2.0, 80, 6.7, Moscow.SHOULD)
    assert draft.score.rice == pytest.approx(119.4)


def test_park_form_without_anything() -> None:
    assert parse_park_form({}) == (None, {ParkField.REQUEST: "The request is required."})


def test_park_form_partial_rice_stays_unscored() -> None:
    draft, errors = parse_park_form(
        {ParkField.REQUEST: text_input("Dark mode"), ParkField.REACH: number("40")}
    )
    assert errors == {}
    assert draft is not None
    assert draft.score.reach == 40.0
    assert draft.score.rice is None
    assert draft.requester_id is None


@pytest.mark.parametrize(
    ("values", "block"),
    [
        ({ParkField.REQUEST: text_input("")}, ParkField.REQUEST),
        ({ParkField.REQUEST: text_input("   ")}, ParkField.REQUEST),
        ({ParkField.REQUEST: text_input("\x00")}, ParkField.REQUEST),
        ({ParkField.REQUEST: text_input("x" * 3001)}, ParkField.REQUEST),
        ({ParkField.WHY: text_input("y" * 3001)}, ParkField.WHY),
        ({ParkField.REQUESTER: user("not a user")}, ParkField.REQUESTER),
        ({ParkField.RELATED: text_input("the billing one")}, ParkField.RELATED),
        ({ParkField.REACH: number("0")}, ParkField.REACH),
        ({ParkField.REACH: number("-5")}, ParkField.REACH),
        ({ParkField.REACH: number("lots")}, ParkField.REACH),
        ({ParkField.REACH: number("1e12")}, ParkField.REACH),
        ({ParkField.EFFORT: number("0")}, ParkField.EFFORT),
        ({ParkField.EFFORT: number("nan")}, ParkField.EFFORT),
        ({ParkField.IMPACT: choice("10")}, ParkField.IMPACT),
        ({ParkField.CONFIDENCE: choice("90")}, ParkField.CONFIDENCE),
        ({ParkField.MOSCOW: choice("maybe")}, ParkField.MOSCOW),
    ],
)
def test_park_form_inline_errors(values: dict[str, Any], block: str) -> None:
    values = {ParkField.REQUEST: text_input("Dark mode"), **values}
    draft, errors = parse_park_form(values)
    assert draft is None
    assert set(errors) == {block}
    assert errors[block].endswith(".")


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([f.value for f in ParkField]),
        st.one_of(
            st.none(),
            st.text(max_size=20),
            st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=2),
            st.dictionaries(
                st.just(Action.VALUE.value),
                st.dictionaries(
                    st.sampled_from(["value", "selected_option", "selected_user", "selected_date"]),
                    st.one_of(st.text(max_size=10), st.none(), st.integers()),
                    max_size=2,
                ),
                max_size=1,
            ),
        ),
        max_size=9,
    )
)
def test_forms_never_raise_on_odd_payloads(values: dict[str, Any]) -> None:
    parse_park_form(values)
    parse_score_form(values)
    parse_accept_form(values)
    parse_defer_form(values, TODAY)
    parse_decline_form(values)


# -- score, accept, defer, decline -------------------------------------------------------------


def test_score_modal_is_prefilled() -> None:
    view = build_score_modal(scored(moscow="must"))
    assert view["callback_id"] == Callback.PARK_SCORE_FORM
    assert_modal_limits(view)
    assert item_number_from(view) == 12
    blocks = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert blocks[ParkField.REACH]["element"]["initial_value"] == "500"
    assert blocks[ParkField.EFFORT]["element"]["initial_value"] == "6.7"
    assert blocks[ParkField.IMPACT]["element"]["initial_option"]["value"] == "2"
    assert blocks[ParkField.CONFIDENCE]["element"]["initial_option"]["value"] == "80"
    assert blocks[ParkField.MOSCOW]["element"]["initial_option"]["value"] == "must"
    low = {
        b["block_id"]: b
        for b in build_score_modal(scored(impact=0.25))["blocks"]
        if "block_id" in b
    }
    assert low[ParkField.IMPACT]["element"]["initial_option"]["value"] == "0.25"
    empty = {b["block_id"]: b for b in build_score_modal(item())["blocks"] if "block_id" in b}
    assert "initial_option" not in empty[ParkField.IMPACT]["element"]
    assert "initial_value" not in empty[ParkField.REACH]["element"]


def test_parse_score_form() -> None:
    score, errors = parse_score_form(
        {
            ParkField.REACH: number("100"),
            ParkField.IMPACT: choice("0.25"),
            ParkField.CONFIDENCE: choice("50"),
            ParkField.EFFORT: number("3"),
        }
    )
    assert errors == {}
    assert score is not None and score.rice == 4.17 and score.moscow is None
    assert parse_score_form({}) == (Score(), {})
    none, errors = parse_score_form({ParkField.EFFORT: number("0")})
    assert none is None and set(errors) == {ParkField.EFFORT}


def test_accept_modal_and_form() -> None:
    view = build_accept_modal(item())
    assert view["callback_id"] == Callback.PARK_ACCEPT_FORM
    assert_modal_limits(view)
    assert item_number_from(view) == 12
    timeline = next(b for b in view["blocks"] if b.get("block_id") == ParkField.TIMELINE)
    assert timeline["optional"] is False
    draft, errors = parse_accept_form(
        {ParkField.TIMELINE: text_input("+3d"), ParkField.CHANGES: text_input("E-3")}
    )
    assert errors == {}
    assert draft == AcceptDraft(3.0, None, 3)
    assert parse_accept_form({ParkField.TIMELINE: text_input("-2d")})[0] == AcceptDraft(
        -2.0, None, None
    )


@pytest.mark.parametrize(
    ("values", "block"),
    [
        ({}, ParkField.TIMELINE),
        ({ParkField.TIMELINE: text_input("soon")}, ParkField.TIMELINE),
        ({ParkField.TIMELINE: text_input("3 months")}, ParkField.TIMELINE),
        (
            {ParkField.TIMELINE: text_input("3d"), ParkField.CHANGES: text_input("billing")},
            ParkField.CHANGES,
        ),
    ],
)
def test_accept_form_inline_errors(values: dict[str, Any], block: str) -> None:
    draft, errors = parse_accept_form(values)
    assert draft is None
    assert set(errors) == {block}


def test_defer_modal_and_form() -> None:
    view = build_defer_modal(item(), TODAY)
    assert view["callback_id"] == Callback.PARK_DEFER_FORM
    assert_modal_limits(view)
    assert item_number_from(view) == 12
    picker = next(b for b in view["blocks"] if b.get("block_id") == ParkField.UNTIL)
    assert date.fromisoformat(picker["element"]["initial_date"]) > TODAY
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    assert parse_defer_form({ParkField.UNTIL: picked(tomorrow)}, TODAY) == (
        TODAY + timedelta(days=1),
        {},
    )


@pytest.mark.parametrize(
    "day", [None, "", "2026-13-01", "yesterday", TODAY.isoformat(), "2026-03-01", "2040-01-01"]
)
def test_defer_form_inline_errors(day: str | None) -> None:
    result, errors = parse_defer_form({ParkField.UNTIL: picked(day)}, TODAY)
    assert result is None
    assert set(errors) == {ParkField.UNTIL}


def test_decline_modal_and_form() -> None:
    view = build_decline_modal(item(request="y" * 3000))
    assert view["callback_id"] == Callback.PARK_DECLINE_FORM
    assert_modal_limits(view)
    assert item_number_from(view) == 12
    assert all(len(t["text"]) <= 3000 for t in text_objects(view["blocks"]))
    assert parse_decline_form({ParkField.REASON: text_input(" Out of scope for Q2 ")}) == (
        "Out of scope for Q2",
        {},
    )
    for values in (
        {},
        {ParkField.REASON: text_input("  ")},
        {ParkField.REASON: text_input("n" * 1001)},
    ):
        reason, errors = parse_decline_form(values)
        assert reason is None and set(errors) == {ParkField.REASON}


def test_item_number_from_odd_views() -> None:
    assert item_number_from({}) is None
    assert item_number_from({"private_metadata": "{"}) is None
    assert item_number_from({"private_metadata": '{"item": true}'}) is None
    assert item_number_from({"private_metadata": '{"item": "3"}'}) is None
    assert item_number_from({"private_metadata": "[1]"}) is None


# -- views -------------------------------------------------------------------------------------


def test_parked_text() -> None:
    text = views.parked_text(item(request="Ping <!channel> & <@U0EVE>"))
    assert text.startswith("Parked as *P-12* — triage will decide")
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<@U0EVE>" not in text
    assert "<@U0ANA>" in text  # the requester, from the stored id


def test_list_line_shows_rice_with_its_inputs() -> None:
    blocks = views.build_list_blocks(
        [scored(moscow="must"), item(number=13)], state=ParkingState.PARKED, sort="rice", now=NOW
    )
    text = mrkdwn_text(blocks)
    assert "RICE 119 (reach 500 × impact 2 × 80% ÷ effort 6.7w)" in text
    assert "Must have" in text
    assert "*P-13*" in text and "_unscored_" in text
    assert text.index("*P-12*") < text.index("*P-13*")  # the caller's order is kept
    assert "Parked requests by RICE (2)" in text
    assert_message_limits(blocks)


def test_list_of_accepted_and_deferred_items() -> None:
    accepted = item(state=ParkingState.ACCEPTED, timeline_days=3.0)
    deferred = item(number=14, state=ParkingState.DEFERRED, deferred_until=date(2026, 4, 1))
    text = mrkdwn_text(
        views.build_list_blocks([accepted, deferred], state=None, sort="age", now=NOW)
    )
    assert "+3 working days" in text
    assert "back on 2026-04-01" in text
    assert "oldest first" in text


def test_empty_list() -> None:
    blocks = views.build_list_blocks([], state=ParkingState.DECLINED, sort="rice", now=NOW)
    assert "No declined requests" in mrkdwn_text(blocks)


def test_waiting_30_days_flag() -> None:
    old = item(created_at=NOW - timedelta(days=30))
    young = item(number=13, created_at=NOW - timedelta(days=29, hours=23))
    decided = item(number=14, created_at=NOW - timedelta(days=90), state=ParkingState.DEFERRED)
    naive = item(number=15, created_at=(NOW - timedelta(days=40)).replace(tzinfo=None))
    assert views.waiting_long(old, NOW) and views.waiting_long(naive, NOW)
    assert not views.waiting_long(young, NOW) and not views.waiting_long(decided, NOW)
    lines = {i.number: views.item_line(i, NOW) for i in (old, young, decided, naive)}
    assert "waiting 30+ days" in lines[12] and "waiting 30+ days" in lines[15]
    assert "waiting 30+ days" not in lines[13] and "waiting 30+ days" not in lines[14]
    _, blocks = views.build_show_blocks(old, [], now=NOW)
    assert "waiting 30+ days" in mrkdwn_text(blocks)


def test_list_within_block_kit_limits_with_50_huge_requests() -> None:
    items = [
        scored(number=n, request=("<!channel> " + "a" * 3000)[:3000], why="w" * 3000)
        for n in range(1, 51)
    ] + [item(number=n, request="b" * 3000) for n in range(51, 80)]
    blocks = views.build_list_blocks(items, state=None, sort="rice", now=NOW)
    assert_message_limits(blocks)
    text = mrkdwn_text(blocks)
    assert "<!channel>" not in text
    assert "*P-50*" in text and "29 more" in text
    home = views.home_section(items, items, NOW)
    assert_message_limits(home)
    assert "more" in mrkdwn_text(home)


def test_show_blocks_escape_and_fit() -> None:
    it = scored(
        request=("<!channel> *bold* <https://evil.example|click> & more " * 100)[:3000],
        why="<!here> because",
        reason="ignored while parked",
        permalink=PERMALINK,
    )
    history = [
        views.history_line(kind="parked", actor_id="U0BO", at=NOW, note="<!everyone>"),
        "a plain <!channel> line",
    ] * 40
    fallback, blocks = views.build_show_blocks(it, history, now=NOW, related="ADR-12")
    assert_message_limits(blocks)
    mrkdwn = mrkdwn_text(blocks)
    for markup in ("<!channel>", "<!here>", "<!everyone>", "<https://evil"):
        assert markup not in mrkdwn
        assert markup not in fallback
    assert f"<{PERMALINK}|original message>" in mrkdwn
    assert "<@U0ANA>" in mrkdwn and "<@U0BO>" in mrkdwn and "<#C0123>" in mrkdwn
    assert "ADR-12" in mrkdwn
    assert "ignored while parked" not in mrkdwn
    plain = [b for b in blocks if b["type"] == "section" and b["text"]["type"] == "plain_text"]
    assert plain and plain[0]["text"]["text"].startswith("<!channel> *bold*")  # shown as typed


def test_a_permalink_that_is_not_slacks_is_not_a_link() -> None:
    _, blocks = views.build_show_blocks(
        item(permalink="https://evil.example/archives/C1/p1|x"), [], now=NOW
    )
    assert "evil" not in mrkdwn_text(blocks)


def _buttons(it: ParkingItem) -> list[str]:
    _, blocks = views.build_show_blocks(it, [], now=NOW)
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_show_buttons_follow_the_state() -> None:
    parked = _buttons(item())
    assert parked == [
        Action.PARK_SCORE,
        Action.PARK_ACCEPT,
        Action.PARK_DEFER,
        Action.PARK_DECLINE,
        Action.PARK_WITHDRAW,
    ]
    assert Action.PARK_DONE in _buttons(item(state=ParkingState.ACCEPTED))
    assert Action.PARK_ACCEPT not in _buttons(item(state=ParkingState.ACCEPTED))
    assert Action.PARK_ACCEPT in _buttons(item(state=ParkingState.DEFERRED))
    for final in (ParkingState.DECLINED, ParkingState.DONE, ParkingState.WITHDRAWN):
        assert _buttons(item(state=final)) == []
    _, blocks = views.build_show_blocks(item(), [], now=NOW)
    values = {e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert values == {"12"}


def test_show_of_decided_items() -> None:
    declined = item(
        state=ParkingState.DECLINED, reason="Not this <!here> quarter", decided_by="U0CAT"
    )
    text = mrkdwn_text(views.build_show_blocks(declined, [], now=NOW)[1])
    assert "Not this &lt;!here&gt; quarter" in text and "<@U0CAT>" in text
    accepted = item(state=ParkingState.ACCEPTED, timeline_days=-0.5)
    assert "-0.5 working days" in mrkdwn_text(views.build_show_blocks(accepted, [], now=NOW)[1])
    partial = item(reach=500.0, effort=2.0)
    text = mrkdwn_text(views.build_show_blocks(partial, [], now=NOW)[1])
    assert "_unscored_ (reach 500, effort 2w" in text


def test_timeline_text() -> None:
    assert views.timeline_text(3) == "+3 working days"
    assert views.timeline_text(1) == "+1 working day"
    assert views.timeline_text(-2) == "-2 working days"
    assert views.timeline_text(0) == "no timeline change"
    assert views.timeline_text(None) == ""


def test_dms_and_resurfacing_escape_the_request() -> None:
    base = {"request": "CSV <!channel>", "decided_by": "U0CAT"}
    accepted = views.accepted_dm(item(state=ParkingState.ACCEPTED, timeline_days=3.0, **base))
    assert "accepted into scope" in accepted and "+3 working days" in accepted
    assert "<!channel>" not in accepted and "<@U0CAT>" in accepted
    declined = views.declined_dm(item(state=ParkingState.DECLINED, reason="<!here> no", **base))
    assert "Thank you" in declined and "&lt;!here&gt; no" in declined
    assert "<!here>" not in declined and "<!channel>" not in declined
    back = views.resurfaced_text(
        item(state=ParkingState.DEFERRED, deferred_until=date(2026, 4, 1), **base)
    )
    assert "*P-12* is back" in back and "2026-04-01" in back and "<!channel>" not in back


def test_watch_offer() -> None:
    text, blocks = views.watch_offer_blocks(
        "can we also ping <!channel> and <@U0ANA|ana> &lt;b&gt; " + "z" * 500, "C0123", "17.5"
    )
    assert text == "Sounds like a scope addition — park it so it isn't lost?"
    assert_message_limits(blocks)
    mrkdwn = mrkdwn_text(blocks)
    assert "<!channel>" not in mrkdwn and "<@U0ANA" not in mrkdwn
    assert "@channel" in mrkdwn and "@ana" in mrkdwn and "&lt;b&gt;" in mrkdwn
    button = next(e for b in blocks if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == Action.PARK_OFFER
    assert button["text"]["text"] == "Park it"
    assert views.offer_from(button["value"]) == ("C0123", "17.5")
    assert views.offer_from("nope") is None
    assert views.offer_from('{"channel": 1}') is None


def test_watch_status_texts() -> None:
    on = views.watch_status_text(channel_id="C0123", enabled=True, changed_by="U0ANA")
    assert "*on*" in on and "<#C0123>" in on and "<@U0ANA>" in on
    assert "turned *off*" in views.watch_status_text(
        channel_id="C0123", enabled=False, changed=True
    )
    assert "invite me first" in views.watch_status_text(
        channel_id="C0123", enabled=False, not_in_channel=True
    )
    assert "channels only" in views.watch_status_text(channel_id="D01", enabled=False, in_dm=True)


def test_help_and_home() -> None:
    help_text = mrkdwn_text(views.help_blocks())
    for word in ("list", "show P-12", "watch on|off", "Add to parking lot"):
        assert word in help_text
    home = views.home_section([], [], NOW)
    assert "Nothing is waiting" in mrkdwn_text(home)
    top = [scored(number=n) for n in range(1, 9)]
    text = mrkdwn_text(views.home_section([item(created_at=NOW - timedelta(days=45))], top, NOW))
    assert "waiting 30+ days" in text
    assert "*P-5*" in text and "*P-6*" not in text  # the top five only
