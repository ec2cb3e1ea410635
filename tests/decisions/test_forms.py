"""The decision modal (bot/features/decisions/forms.py): parsing a submission into a draft or
errors on the field, tags, and the modal within Slack's limits with its metadata. Pure: no
Slack, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.core.blocks import modal
from bot.core.dates import time_refused, unreadable
from bot.core.forms import TEXT_MAX
from bot.core.ids import Action, Callback, Field
from bot.core.metadata import STALE_FORM, StaleForm
from bot.features.decisions.forms import (
    PEOPLE_MAX,
    TAG_MAX,
    TITLE_MAX,
    FormMeta,
    build_decision_modal,
    earliest_today,
    parse_decision_form,
    parse_tags,
    post_in_warning,
    shown_post_in_warning,
    with_post_in_warning,
)
from bot.features.stances.forms import StanceMeta
from storage.models import DecisionStatus
from tests.support.blocks import BIG_TITLE, PEOPLE, big_decision, check_modal, state

NOW = datetime(2025, 6, 10, 9, 0, tzinfo=UTC)


def valid(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        Field.TITLE: "Use Postgres",
        Field.DECISION: "We use Postgres.",
        Field.STATUS: "proposed",
        Field.REVIEW_DATE: "2025-07-10",
        Field.CHANNEL: "CGENERAL",
    }
    fields.update(overrides)
    return state(**{k: v for k, v in fields.items() if v is not ...})


def test_valid_form_gives_a_draft() -> None:
    values = valid(
        **{
            Field.TITLE: "  Use Postgres  ",
            Field.CONTEXT: "We need a store.",
            Field.OPTIONS: "Postgres, MySQL",
            Field.CONSEQUENCES: "Ops work",
            Field.SUCCESS: "p99 < 10ms",
            Field.STATUS: "accepted",
            Field.TAGS: "#DB, infra  ops,db",
            Field.DECIDERS: ["UBOB", "UBOB", "WENTERPRISE1"],
            Field.CONSULTED: ["UCAROL"],
            Field.INFORMED: [],
        }
    )
    draft, errors = parse_decision_form(values, now=NOW)
    assert errors == {}
    assert draft is not None
    assert draft.title == "Use Postgres"
    assert draft.decision == "We use Postgres."
    assert (draft.context, draft.options, draft.consequences, draft.success_criteria) == (
        "We need a store.",
        "Postgres, MySQL",
        "Ops work",
        "p99 < 10ms",
    )
    assert draft.status == DecisionStatus.ACCEPTED
    assert draft.tags == ["db", "infra", "ops"]
    assert draft.review_date == date(2025, 7, 10)
    assert draft.deciders == ["UBOB", "WENTERPRISE1"]
    assert draft.consulted == ["UCAROL"]
    assert draft.informed == []
    assert draft.channel_id == "CGENERAL"


def test_optional_fields_may_be_missing_entirely() -> None:
    values = valid(**{Field.REVIEW_DATE: None, Field.STATUS: None})
    draft, errors = parse_decision_form(values, now=NOW)
    assert errors == {}
    assert draft is not None
    assert draft.review_date is None
    assert draft.status == DecisionStatus.PROPOSED
    assert draft.tags == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({Field.TITLE: ...}, Field.TITLE),
        ({Field.TITLE: ""}, Field.TITLE),
        ({Field.TITLE: "   \n "}, Field.TITLE),
        ({Field.TITLE: None}, Field.TITLE),
        ({Field.DECISION: ...}, Field.DECISION),
        ({Field.DECISION: "  "}, Field.DECISION),
        ({Field.TITLE: "x" * (TITLE_MAX + 1)}, Field.TITLE),
        ({Field.DECISION: "x" * (TEXT_MAX + 1)}, Field.DECISION),
        ({Field.CONTEXT: "x" * (TEXT_MAX + 1)}, Field.CONTEXT),
        ({Field.OPTIONS: "x" * (TEXT_MAX + 1)}, Field.OPTIONS),
        ({Field.CONSEQUENCES: "x" * (TEXT_MAX + 1)}, Field.CONSEQUENCES),
        ({Field.SUCCESS: "x" * (TEXT_MAX + 1)}, Field.SUCCESS),
        ({Field.STATUS: "rejected"}, Field.STATUS),
        ({Field.STATUS: "superseded"}, Field.STATUS),
        ({Field.REVIEW_DATE: "2025-06-08"}, Field.REVIEW_DATE),  # past for everyone
        ({Field.REVIEW_DATE: "1999-01-01"}, Field.REVIEW_DATE),
        ({Field.REVIEW_DATE: "2031-01-01"}, Field.REVIEW_DATE),  # over five years out
        ({Field.REVIEW_DATE: "not a date"}, Field.REVIEW_DATE),
        ({Field.REVIEW_DATE: "2025-02-30"}, Field.REVIEW_DATE),
        ({Field.REVIEW_DATE: 20250701}, Field.REVIEW_DATE),
        ({Field.TAGS: "ok, not/ok"}, Field.TAGS),
        ({Field.TAGS: "x" * 31}, Field.TAGS),
        ({Field.TAGS: " ".join(f"t{i}" for i in range(TAG_MAX + 1))}, Field.TAGS),
        ({Field.TAGS: "<!channel>"}, Field.TAGS),
        ({Field.DECIDERS: ["<!channel>"]}, Field.DECIDERS),
        ({Field.DECIDERS: ["ubob"]}, Field.DECIDERS),
        ({Field.DECIDERS: ["CGENERAL"]}, Field.DECIDERS),
        ({Field.CONSULTED: ["U" + "A" * 40]}, Field.CONSULTED),
        ({Field.INFORMED: [f"U{i:04d}" for i in range(PEOPLE_MAX + 1)]}, Field.INFORMED),
        ({Field.CHANNEL: ...}, Field.CHANNEL),
        ({Field.CHANNEL: None}, Field.CHANNEL),
        ({Field.CHANNEL: ""}, Field.CHANNEL),
        ({Field.CHANNEL: "UBOB"}, Field.CHANNEL),
        ({Field.CHANNEL: "#general"}, Field.CHANNEL),
    ],
)
def test_invalid_field_is_reported_on_that_field(overrides: dict[str, Any], field: str) -> None:
    draft, errors = parse_decision_form(valid(**overrides), now=NOW)
    assert draft is None
    assert set(errors) == {field}
    assert errors[field].strip()
    assert len(errors[field]) <= 300


def test_limits_are_inclusive() -> None:
    values = valid(
        **{
            Field.TITLE: "t" * TITLE_MAX,
            Field.DECISION: "d" * TEXT_MAX,
            Field.TAGS: " ".join(f"tag{i}" for i in range(TAG_MAX)),
            Field.DECIDERS: [f"U{i:04d}" for i in range(PEOPLE_MAX)],
            Field.REVIEW_DATE: "2030-06-01",
        }
    )
    draft, errors = parse_decision_form(values, now=NOW)
    assert errors == {}
    assert draft is not None and len(draft.deciders) == PEOPLE_MAX


def test_many_errors_at_once() -> None:
    values = state(**{Field.TAGS: "bad/tag", Field.REVIEW_DATE: "2000-01-01"})
    draft, errors = parse_decision_form(values, now=NOW)
    assert draft is None
    assert set(errors) == {
        Field.TITLE,
        Field.DECISION,
        Field.TAGS,
        Field.REVIEW_DATE,
        Field.CHANNEL,
    }


def test_review_date_today_is_fine_even_far_west() -> None:
    # 05:00 UTC on June 10 is still June 9 at UTC-12: June 9 is "today" there, June 8 is past.
    early = datetime(2025, 6, 10, 5, 0, tzinfo=UTC)
    assert earliest_today(early) == date(2025, 6, 9)
    for day in ("2025-06-09", "2025-06-10", "2025-06-11"):
        _, errors = parse_decision_form(valid(**{Field.REVIEW_DATE: day}), now=early)
        assert errors == {}, day
    _, errors = parse_decision_form(valid(**{Field.REVIEW_DATE: "2025-06-08"}), now=early)
    assert set(errors) == {Field.REVIEW_DATE}
    # At 13:00 UTC it is June 10 everywhere (UTC-12 is 01:00 June 10), so June 9 is past.
    late = datetime(2025, 6, 10, 13, 0, tzinfo=UTC)
    assert earliest_today(late) == date(2025, 6, 10)
    _, errors = parse_decision_form(valid(**{Field.REVIEW_DATE: "2025-06-09"}), now=late)
    assert set(errors) == {Field.REVIEW_DATE}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("tomorrow", date(2025, 6, 11)),
        ("next tuesday", date(2025, 6, 17)),  # June 10, 2025 is a Tuesday: a week on
        ("in 2 weeks", date(2025, 6, 24)),
        ("3m", date(2025, 9, 10)),
        ("2025-07-10", date(2025, 7, 10)),
        ("today", date(2025, 6, 10)),
    ],
)
def test_the_review_date_reads_date_phrases(typed: str, expected: date) -> None:
    draft, errors = parse_decision_form(valid(**{Field.REVIEW_DATE: typed}), now=NOW)
    assert errors == {} and draft is not None
    assert draft.review_date == expected


def test_the_review_date_counts_from_the_persons_today() -> None:
    # 23:00 UTC on June 10 is June 11 in Tokyo: "tomorrow" there is June 12, and June 10 past.
    late = datetime(2025, 6, 10, 23, 0, tzinfo=UTC)
    draft, _ = parse_decision_form(
        valid(**{Field.REVIEW_DATE: "tomorrow"}), now=late, tz="Asia/Tokyo"
    )
    assert draft is not None and draft.review_date == date(2025, 6, 12)
    _, errors = parse_decision_form(
        valid(**{Field.REVIEW_DATE: "2025-06-10"}), now=late, tz="Asia/Tokyo"
    )
    assert errors == {Field.REVIEW_DATE: "The review date is in the past: pick today or later."}


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        ("next blursday", unreadable("next blursday")),
        ("tomorrow 9:00", time_refused("tomorrow 9:00")),
    ],
)
def test_the_review_date_refuses_with_the_one_sentence(typed: str, sentence: str) -> None:
    _, errors = parse_decision_form(valid(**{Field.REVIEW_DATE: typed}), now=NOW)
    assert errors == {Field.REVIEW_DATE: sentence}


def test_a_datepicker_from_a_form_opened_before_still_reads() -> None:
    values = valid()
    values[Field.REVIEW_DATE] = {
        Action.VALUE: {"type": "datepicker", "selected_date": "2025-07-10"}
    }
    draft, errors = parse_decision_form(values, now=NOW)
    assert errors == {} and draft is not None and draft.review_date == date(2025, 7, 10)


def test_edit_mode_skips_status_and_channel() -> None:
    values = valid(**{Field.STATUS: ..., Field.CHANNEL: ...})
    draft, errors = parse_decision_form(values, now=NOW, editing=True)
    assert errors == {}
    assert draft is not None
    assert draft.channel_id == ""
    assert draft.status == DecisionStatus.PROPOSED
    # Even garbage in those fields is ignored when editing.
    values = valid(**{Field.STATUS: "rejected", Field.CHANNEL: "nope"})
    assert parse_decision_form(values, now=NOW, editing=True)[1] == {}


@pytest.mark.parametrize(
    "values",
    [
        {},
        [],
        None,
        "values",
        {Field.TITLE: None},
        {Field.TITLE: "x"},
        {Field.TITLE: {Action.VALUE: "x"}},
        {Field.TITLE: {Action.VALUE: {"value": 12}}},
        {Field.TITLE: {"other_action": {"value": "Use Postgres"}}},
        {Field.DECIDERS: {Action.VALUE: {"selected_users": "UBOB"}}},
        {Field.DECIDERS: {Action.VALUE: {"selected_users": [1, None, {"a": 1}]}}},
        {Field.STATUS: {Action.VALUE: {"selected_option": {"value": ["accepted"]}}}},
        {Field.REVIEW_DATE: {Action.VALUE: {"selected_date": ["2025-07-01"]}}},
        {Field.CHANNEL: {Action.VALUE: {"selected_conversation": {"id": "C1"}}}},
    ],
)
def test_malformed_state_gives_errors_not_exceptions(values: Any) -> None:
    draft, errors = parse_decision_form(values, now=NOW)
    assert draft is None
    assert errors
    assert set(errors) <= {f.value for f in Field}


def test_nul_characters_are_dropped_from_text() -> None:
    values = valid(**{Field.TITLE: "Use\x00 Postgres", Field.DECISION: "\x00 yes \x00"})
    draft, errors = parse_decision_form(values, now=NOW)
    assert errors == {} and draft is not None
    assert (draft.title, draft.decision) == ("Use Postgres", "yes")
    _, errors = parse_decision_form(valid(**{Field.TITLE: "\x00"}), now=NOW)
    assert set(errors) == {Field.TITLE}


def test_other_action_id_in_a_block_is_tolerated() -> None:
    values = valid()
    values[Field.TITLE] = {"renamed": {"type": "plain_text_input", "value": "Renamed"}}
    draft, errors = parse_decision_form(values, now=NOW)
    assert errors == {} and draft is not None and draft.title == "Renamed"


@pytest.mark.parametrize(
    ("raw", "tags", "ok"),
    [
        ("", [], True),
        ("  ,, ", [], True),
        ("#DB, infra  ops", ["db", "infra", "ops"], True),
        ("db db DB #db", ["db"], True),
        ("v1.2 a_b c-d", ["v1.2", "a_b", "c-d"], True),
        ("-leading", [], False),
        ("ünïcode", [], False),
        ("a" * 30, ["a" * 30], True),
        ("a" * 31, [], False),
    ],
)
def test_parse_tags(raw: str, tags: list[str], ok: bool) -> None:
    parsed, error = parse_tags(raw)
    assert parsed == tags
    assert (error is None) is ok


@pytest.mark.parametrize("mode", ["new", "edit", "supersede"])
def test_decision_modal_limits_with_maximal_input(mode: str) -> None:
    meta = FormMeta(mode=mode, number=999_999_999, source="https://x.slack.com/" + "p" * 480)  # type: ignore[arg-type]
    view = build_decision_modal(
        meta=meta,
        today=date(2025, 1, 31),
        channel_id="C" + "9" * 31,
        title=BIG_TITLE,
        decision=big_decision(),
        people={"decider": PEOPLE * 2, "consulted": PEOPLE, "informed": PEOPLE},
    )
    check_modal(view)
    assert view["callback_id"] == Callback.DECISION_FORM
    assert FormMeta.decode(view) == meta
    ids = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert len(ids) == len(set(ids))
    assert (Field.STATUS in ids) is (mode == "new")  # superseding starts as proposed
    assert (Field.CHANNEL in ids) is (mode != "edit")


def test_new_decision_modal_defaults() -> None:
    view = build_decision_modal(meta=FormMeta(), today=date(2024, 1, 31), channel_id="CGENERAL")
    check_modal(view)
    by_id = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    review = by_id[Field.REVIEW_DATE]["element"]
    assert (review["type"], review["initial_value"]) == ("plain_text_input", "2024-02-29")
    assert by_id[Field.CHANNEL]["element"]["initial_conversation"] == "CGENERAL"
    assert by_id[Field.STATUS]["element"]["initial_option"]["value"] == "proposed"
    assert not by_id[Field.TITLE]["optional"] and not by_id[Field.DECISION]["optional"]
    assert by_id[Field.CONTEXT]["optional"]
    post_in = by_id.pop(Field.CHANNEL)
    assert all(b["element"]["action_id"] == Action.VALUE for b in by_id.values())
    # "Post in" has its own action id, and a pick is sent at once (the "Post in" check)
    assert post_in["element"]["action_id"] == Action.POST_IN
    assert post_in["dispatch_action"] is True


def test_modal_metadata_over_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        modal(callback_id="c", title="t", submit="s", blocks=[], metadata="x" * 3001)


def test_modal_metadata_decodes_or_is_a_stale_form() -> None:
    def view(raw: str) -> dict[str, Any]:
        return {"private_metadata": raw}

    assert FormMeta.decode(view("")) == FormMeta()
    assert FormMeta.decode(view('{"mode": "edit", "number": 3}')) == FormMeta(mode="edit", number=3)
    assert StanceMeta.decode(view('{"number": 4}')).number == 4
    for raw in ("not json", '{"mode": "explode"}', '{"mode": "edit", "number": "3"}'):
        with pytest.raises(StaleForm, match=STALE_FORM):
            FormMeta.decode(view(raw))
    for raw in ("junk", "{}", '{"number": true}'):
        with pytest.raises(StaleForm, match=STALE_FORM):
            StanceMeta.decode(view(raw))


# -- the "Post in" warning (issue 20) ------------------------------------------------------------


def test_the_post_in_warning_goes_right_under_post_in_and_changes_nothing_else() -> None:
    built = build_decision_modal(meta=FormMeta(), today=date(2024, 1, 31), channel_id="CSECRET")
    # as Slack sends a view back: with its id, hash and state, which views.update must not get
    from_slack = {**built, "id": "V1", "hash": "h1", "state": {"values": {}}, "team_id": "T1"}
    warning = post_in_warning("CSECRET", seen=True)
    assert "<#CSECRET>" in warning and "`/invite @Decision Bot`" in warning
    warned = with_post_in_warning(from_slack, warning)
    check_modal(warned)
    assert set(warned) == set(built)  # no id, hash, state, team_id
    ids = [b.get("block_id") for b in warned["blocks"]]
    assert ids.index(Field.POST_IN_WARNING) == ids.index(Field.CHANNEL) + 1
    assert [b for b in warned["blocks"] if b.get("block_id") != Field.POST_IN_WARNING] == (
        built["blocks"]
    )
    assert shown_post_in_warning(warned) == warning
    # once only, whatever was shown before; and taken away again
    hidden = post_in_warning("CSECRET", seen=False)
    again = with_post_in_warning(warned, hidden)
    assert ids == [b.get("block_id") for b in again["blocks"]]
    assert shown_post_in_warning(again) == hidden
    cleared = with_post_in_warning(again, None)
    assert cleared["blocks"] == built["blocks"] and shown_post_in_warning(cleared) is None


def _picked(value: str | None) -> dict[str, Any]:
    return {Action.VALUE: {"type": "static_select", "selected_option": {"value": value}}}


def test_forecast_and_door_are_optional_and_checked() -> None:
    values = {
        **valid(),
        Field.FORECAST: _picked("75"),
        Field.DOOR: {
            Action.VALUE: {"type": "radio_buttons", "selected_option": {"value": "two_way"}}
        },
    }
    draft, errors = parse_decision_form(values, now=NOW)
    assert errors == {} and draft is not None
    assert (draft.forecast, draft.door) == (75, "two_way")
    draft, errors = parse_decision_form(valid(), now=NOW)
    assert draft is not None and (draft.forecast, draft.door) == (None, None)
    # a value no form offers (a stale or forged form) is refused on its field
    values = {**valid(), Field.FORECAST: _picked("80"), Field.DOOR: _picked("sideways")}
    draft, errors = parse_decision_form(values, now=NOW)
    assert draft is None and set(errors) == {Field.FORECAST, Field.DOOR}
    # the modal offers both, optional, before "Post in"; an edit shows the door it has
    view = build_decision_modal(meta=FormMeta(), today=NOW.date(), channel_id="CGENERAL")
    ids = [b.get("block_id") for b in view["blocks"]]
    assert ids[-3:] == [Field.FORECAST, Field.DOOR, Field.CHANNEL]
