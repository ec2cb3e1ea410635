"""The parking lot's modals (bot/features/parking/forms.py): park, score, accept, defer and
decline, prefilled and within Slack's limits, and their validation with inline errors. Pure: no
Slack, no database."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.dates import time_refused, unreadable
from bot.core.ids import Action, Callback, ParkField
from bot.core.metadata import STALE_FORM, StaleForm
from bot.features.parking.forms import (
    AcceptDraft,
    ItemMeta,
    ParkMeta,
    Score,
    build_park_modal,
    parse_park_form,
)
from bot.features.parking.triage_forms import (
    build_accept_modal,
    build_decline_modal,
    build_defer_modal,
    build_score_modal,
    parse_accept_form,
    parse_decline_form,
    parse_defer_form,
    parse_score_form,
)
from storage.models import Moscow
from tests.support.parking import NOW, PERMALINK, item, scored, text_objects

TODAY = NOW.date()


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
    context = ParkMeta.decode(view)
    assert (context.channel, context.thread_ts, context.permalink) == (
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
    context = ParkMeta.decode(view)
    assert context.thread_ts is None and context.permalink is None
    for stale in ({"private_metadata": "nope"}, {}):
        with pytest.raises(StaleForm, match=STALE_FORM):
            ParkMeta.decode(stale)


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
    assert ItemMeta.decode(view).item == 12
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
    assert ItemMeta.decode(view).item == 12
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
    assert ItemMeta.decode(view).item == 12
    until = next(b for b in view["blocks"] if b.get("block_id") == ParkField.UNTIL)
    assert until["element"]["type"] == "plain_text_input"
    assert date.fromisoformat(until["element"]["initial_value"]) > TODAY
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    assert parse_defer_form({ParkField.UNTIL: text_input(tomorrow)}, TODAY) == (
        TODAY + timedelta(days=1),
        {},
    )
    # a datepicker from a form opened before the field took typed phrases still reads
    assert parse_defer_form({ParkField.UNTIL: picked(tomorrow)}, TODAY)[0] == TODAY + timedelta(1)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("tomorrow", date(2026, 3, 3)),
        ("next tuesday", date(2026, 3, 3)),  # TODAY is Monday 2026-03-02
        ("monday", date(2026, 3, 9)),
        ("in 2 weeks", date(2026, 3, 16)),
        ("2w", date(2026, 3, 16)),
        ("3m", date(2026, 6, 2)),
        ("2027-03-06", date(2027, 3, 6)),
    ],
)
def test_defer_reads_date_phrases(typed: str, expected: date) -> None:
    assert parse_defer_form({ParkField.UNTIL: text_input(typed)}, TODAY) == (expected, {})


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        ("next blursday", unreadable("next blursday")),
        ("tomorrow 9:00", time_refused("tomorrow 9:00")),
        ("today", "Pick a day after today: it comes back to the channel then."),
    ],
)
def test_defer_refusals(typed: str, sentence: str) -> None:
    assert parse_defer_form({ParkField.UNTIL: text_input(typed)}, TODAY) == (
        None,
        {ParkField.UNTIL: sentence},
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
    assert ItemMeta.decode(view).item == 12
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


@pytest.mark.parametrize("raw", ["", "{", '{"item": true}', '{"item": "3"}', "[1]"])
def test_item_metadata_that_is_not_ours_is_a_stale_form(raw: str) -> None:
    with pytest.raises(StaleForm, match=STALE_FORM):
        ItemMeta.decode({"private_metadata": raw})
