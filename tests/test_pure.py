"""Pure logic with no Slack and no database: the `/adr` parser, modal parsers, rendering and
Block Kit builders (which must stay within Slack's limits for any input)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.core.blocks import modal
from bot.core.forms import (
    PEOPLE_MAX,
    TAG_MAX,
    TEXT_MAX,
    TITLE_MAX,
    earliest_today,
    one_month_after,
    parse_block_form,
    parse_decision_form,
    parse_disagree_form,
    parse_tags,
)
from bot.core.ids import Action, Callback, Field
from bot.core.render import Mrkdwn, escape, mention, render, truncate, truncate_mrkdwn
from bot.features.decisions.command import AdrCommand, parse_adr, parse_number
from bot.features.decisions.views import (
    FormMeta,
    build_block_modal,
    build_decision_message,
    build_decision_modal,
    build_disagree_modal,
    build_home,
    build_list_blocks,
    build_record_blocks,
    build_search_blocks,
    parse_form_meta,
    parse_stance_meta,
)
from storage.decisions import DecisionRecord
from storage.models import (
    Decision,
    DecisionEvent,
    DecisionStatus,
    Stance,
    StanceKind,
)

NOW = datetime(2025, 6, 10, 9, 0, tzinfo=UTC)
HOSTILE = "<!channel> & <@U1>"

# -- /adr ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", AdrCommand("new")),
        ("   ", AdrCommand("new")),
        ("new", AdrCommand("new")),
        ("new Use Postgres", AdrCommand("new", text="Use Postgres")),
        ("NEW   Use  Postgres ", AdrCommand("new", text="Use  Postgres")),
        ("help", AdrCommand("help")),
        ("?", AdrCommand("help")),
        ('search kafka "event store"', AdrCommand("search", text='kafka "event store"')),
        ("list", AdrCommand("list")),
        ("list accepted", AdrCommand("list", status=DecisionStatus.ACCEPTED)),
        ("list #DB", AdrCommand("list", tag="db")),
        ("list #infra Proposed", AdrCommand("list", status=DecisionStatus.PROPOSED, tag="infra")),
        ("show 7", AdrCommand("show", number=7)),
        ("show ADR-7", AdrCommand("show", number=7)),
        ("show adr7", AdrCommand("show", number=7)),
        ("show #7", AdrCommand("show", number=7)),
        ("accept 3", AdrCommand("accept", number=3)),
        ("accept 3 looks good", AdrCommand("accept", number=3, text="looks good")),
        (
            "accept 3 --override deadline is Friday",
            AdrCommand("accept", number=3, text="deadline is Friday", override=True),
        ),
        ("reject 4 too costly", AdrCommand("reject", number=4, text="too costly")),
        ("deprecate 5", AdrCommand("deprecate", number=5)),
        ("supersede 6", AdrCommand("supersede", number=6)),
        ("edit 12", AdrCommand("edit", number=12)),
        ("frobnicate 3", AdrCommand("unknown", text="frobnicate 3")),
        ("list #db\x00", AdrCommand("list", tag="db")),  # NUL can't reach Postgres
        ("digest", AdrCommand("digest")),
        ("digest Preview", AdrCommand("digest", text="preview")),
        ("digest off", AdrCommand("digest", text="off")),
        ("export", AdrCommand("export", text="madr")),
        ("export ADR-7", AdrCommand("export", number=7, text="madr")),
        ("export nygard 7", AdrCommand("export", number=7, text="nygard")),
        ("export 7 MADR", AdrCommand("export", number=7, text="madr")),
    ],
)
def test_parse_adr(text: str, expected: AdrCommand) -> None:
    assert parse_adr(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "search",
        "search   ",
        "show",
        "show x",
        "show -1",
        "show 1.5",
        "accept ADR-",
        "edit 1234567890",  # more digits than any decision number
        "list banana",
        "list #",
        "digest weekly",
        "export 7 8",
        "export pdf",
    ],
)
def test_parse_adr_invalid_gives_a_sentence(text: str) -> None:
    cmd = parse_adr(text)
    assert cmd.name == "invalid"
    assert cmd.error and cmd.error.endswith(".")
    assert "/adr" in cmd.error


def test_override_only_for_accept() -> None:
    assert parse_adr("reject 3 --override x") == AdrCommand("reject", number=3, text="--override x")
    assert parse_adr(None).name == "new"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "number"), [("7", 7), ("ADR-7", 7), ("adr7", 7), ("#7", 7), (" 7 ", 7), ("x7", None)]
)
def test_parse_number(raw: str, number: int | None) -> None:
    assert parse_number(raw) == number


# -- the decision form -----------------------------------------------------------------------


def state(**fields: Any) -> dict[str, Any]:
    """``view.state.values`` as Slack sends it, for the given block ids."""
    kinds = {
        Field.STATUS: lambda v: {
            "type": "static_select",
            "selected_option": None if v is None else {"value": v},
        },
        Field.DECIDERS: lambda v: {"type": "multi_users_select", "selected_users": v},
        Field.CONSULTED: lambda v: {"type": "multi_users_select", "selected_users": v},
        Field.INFORMED: lambda v: {"type": "multi_users_select", "selected_users": v},
        Field.REVIEW_DATE: lambda v: {"type": "datepicker", "selected_date": v},
        Field.CHANNEL: lambda v: {"type": "conversations_select", "selected_conversation": v},
        Field.COMMIT: lambda v: {
            "type": "checkboxes",
            "selected_options": [{"value": x} for x in v],
        },
    }
    out: dict[str, Any] = {}
    for block, value in fields.items():
        make = kinds.get(block, lambda v: {"type": "plain_text_input", "value": v})  # type: ignore[arg-type]
        out[block] = {Action.VALUE: make(value)}
    return out


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


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2023, 1, 31), date(2023, 2, 28)),
        (date(2024, 1, 31), date(2024, 2, 29)),
        (date(2024, 1, 30), date(2024, 2, 29)),
        (date(2024, 1, 15), date(2024, 2, 15)),
        (date(2024, 3, 31), date(2024, 4, 30)),
        (date(2024, 12, 31), date(2025, 1, 31)),
        (date(2024, 12, 1), date(2025, 1, 1)),
        (date(2024, 2, 29), date(2024, 3, 29)),
    ],
)
def test_one_month_after(day: date, expected: date) -> None:
    assert one_month_after(day) == expected


def test_disagree_form() -> None:
    ok = state(
        **{
            Field.CONCERN: " It won't scale ",
            Field.CHANGE_MY_MIND: "A load test",
            Field.COMMIT: ["commit"],
        }
    )
    assert parse_disagree_form(ok) == (("It won't scale", "A load test"), {})
    no_change = state(**{Field.CONCERN: "x", Field.COMMIT: ["commit"]})
    assert parse_disagree_form(no_change) == (("x", ""), {})

    parsed, errors = parse_disagree_form(state(**{Field.CONCERN: "x", Field.COMMIT: []}))
    assert parsed is None and set(errors) == {Field.COMMIT}
    parsed, errors = parse_disagree_form(state(**{Field.CONCERN: "  ", Field.COMMIT: ["commit"]}))
    assert parsed is None and set(errors) == {Field.CONCERN}
    too_long = state(
        **{
            Field.CONCERN: "x" * (TEXT_MAX + 1),
            Field.CHANGE_MY_MIND: "y" * (TEXT_MAX + 1),
            Field.COMMIT: ["commit"],
        }
    )
    assert set(parse_disagree_form(too_long)[1]) == {Field.CONCERN, Field.CHANGE_MY_MIND}
    assert set(parse_disagree_form({})[1]) == {Field.CONCERN, Field.COMMIT}


def test_block_form() -> None:
    assert parse_block_form(state(**{Field.REASON: " Security review first "})) == (
        "Security review first",
        {},
    )
    for bad in ({}, state(**{Field.REASON: ""}), state(**{Field.REASON: "x" * (TEXT_MAX + 1)})):
        reason, errors = parse_block_form(bad)
        assert reason is None and set(errors) == {Field.REASON}


# -- rendering -------------------------------------------------------------------------------


def test_escape() -> None:
    assert escape(HOSTILE) == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert escape("&amp;") == "&amp;amp;"  # escaping is not idempotent by design: shown as typed


def test_mention_only_for_valid_ids() -> None:
    assert mention("U123ABC") == "<@U123ABC>"
    assert mention("W123ABC") == "<@W123ABC>"
    assert isinstance(mention("U1"), Mrkdwn)
    for bad in ("<!channel>", "u123", "U12 3", "U123>", "!here", "", "U" + "1" * 40, "@U1"):
        out = mention(bad)
        assert "<" not in out and ">" not in out, bad


def test_templates_escape_user_text() -> None:
    out = render("decisions/field.md.j2", label=HOSTILE, text=HOSTILE)
    assert "<!channel>" not in out and "<@U1>" not in out
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;" in out
    quoted = render("decisions/unknown_command.md.j2", text=HOSTILE)
    assert "<!" not in quoted and "<@" not in quoted


def test_render_limit() -> None:
    out = render("decisions/field.md.j2", label="L", text="x" * 5000, limit=100)
    assert len(out) <= 100 and out.endswith("…")


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("hello world", 8, "hello w…"),
        ("hello world", 7, "hello…"),  # the cut's trailing space is dropped
        ("hello", 1, "…"),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected
    assert len(truncate(text, limit)) <= limit


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("a &amp; b", 100, "a &amp; b"),
        ("ab &amp; cdef", 6, "ab…"),  # never "ab &a…"
        ("ab &amp; cdef", 10, "ab &amp;…"),
        ("hi <@U0123456789> there", 10, "hi…"),  # never "hi <@U01…"
        ("hi <@U01> there", 11, "hi <@U01>…"),
        ("<https://example.com|link> and more", 8, "…"),
        ("x &lt;!channel&gt; y", 14, "x &lt;!channe…"),
        ("x &lt;!channel&gt; y", 18, "x &lt;!channel…"),  # not "&g…"
    ],
)
def test_truncate_mrkdwn_never_cuts_markup_in_half(text: str, limit: int, expected: str) -> None:
    assert truncate_mrkdwn(text, limit) == expected
    assert len(truncate_mrkdwn(text, limit)) <= limit


def test_truncate_with_custom_more() -> None:
    assert truncate("abcdef", 4, more="") == "abcd"
    assert truncate("abcdef", 5, more="...") == "ab..."


# -- view builders within Slack's limits -----------------------------------------------------

BIG = ("<!channel> & <@U1> " * 200)[:TEXT_MAX]  # maximal, and the worst case for escaping
BIG_TITLE = ("<!here> & " * 30)[:TITLE_MAX]
PEOPLE = [f"U{i:031d}" for i in range(PEOPLE_MAX)]  # 32-character ids
TAGS = " " + " ".join(f"{i:02d}" + "t" * 28 for i in range(TAG_MAX)) + " "
WHEN = datetime(2025, 6, 1, tzinfo=UTC)


def big_decision(number: int = 999_999_999, **kw: Any) -> Decision:
    values: dict[str, Any] = {
        "id": number,
        "team_id": "TAAA",
        "number": number,
        "title": BIG_TITLE,
        "context": BIG,
        "options": BIG,
        "decision": BIG,
        "consequences": BIG,
        "success_criteria": BIG,
        "status": DecisionStatus.PROPOSED,
        "tags": TAGS,
        "review_date": date(2030, 12, 31),
        "channel_id": "C" + "9" * 31,
        "channel_private": False,
        "author_id": PEOPLE[0],
        "source_permalink": "https://x.slack.com/archives/C1/p1?" + "q" * 460,
        "created_at": WHEN,
        "updated_at": WHEN,
    }
    values.update(kw)
    return Decision(**values)


def big_record() -> DecisionRecord:
    d = big_decision()
    kinds = list(StanceKind)
    stances = [
        Stance(
            team_id="TAAA",
            decision_id=d.id,
            user_id=f"U{i:031d}",
            kind=kinds[i % 3],
            concern=BIG,
            change_my_mind=BIG,
            reason=BIG,
            committed=kinds[i % 3] == StanceKind.DISAGREE_AND_COMMIT,
            created_at=WHEN,
            updated_at=WHEN,
        )
        for i in range(300)
    ]
    details = [
        ("created", {"status": "proposed"}),
        ("stance", {"kind": "block", "reason": BIG, "previous": {"kind": "agree"}}),
        (
            "status_changed",
            {"from": "proposed", "to": "accepted", "note": BIG, "overrode_blocks": PEOPLE},
        ),
        ("edited", {"changes": {"title": [BIG, BIG], "context": [BIG, BIG]}}),
        ("superseded", {"by": "ADR-1000000000"}),
        ("supersedes", {"of": "ADR-1"}),
    ]
    events = [
        DecisionEvent(
            id=i,
            team_id="TAAA",
            decision_id=d.id,
            actor_id=f"U{i:031d}",
            kind=details[i % len(details)][0],
            detail=json.dumps(details[i % len(details)][1]),
            created_at=WHEN,
        )
        for i in range(200)
    ]
    return DecisionRecord(
        decision=d,
        members={"decider": PEOPLE, "consulted": PEOPLE, "informed": PEOPLE},
        stances=stances,
        events=events,
        supersedes=big_decision(1),
        superseded_by=big_decision(1_000_000_000),
    )


def text_objects(node: Any) -> list[dict[str, Any]]:
    """Every Block Kit text object under ``node``."""
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


def check_blocks(blocks: list[dict[str, Any]], *, max_blocks: int) -> None:
    assert 0 < len(blocks) <= max_blocks
    for block in blocks:
        if block["type"] == "header":
            assert 0 < len(block["text"]["text"]) <= 150
            assert block["text"]["type"] == "plain_text"
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= 3000
        if block["type"] == "context":
            assert 0 < len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
        if block["type"] == "actions":
            assert 0 < len(block["elements"]) <= 25
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75
                assert len(element.get("value", "")) <= 2000
        if block["type"] == "input":
            assert len(block["label"]["text"]) <= 2000
            assert len(block["block_id"]) <= 255
            element = block["element"]
            if "initial_value" in element:
                assert len(element["initial_value"]) <= element["max_length"] <= 3000
            if "initial_users" in element:
                assert len(element["initial_users"]) <= element["max_selected_items"]
            if element["type"] == "static_select":
                assert len(element["options"]) <= 100
    for obj in text_objects(blocks):
        assert obj["text"], "Slack rejects empty text objects"
        assert len(obj["text"]) <= 3000
        if obj["type"] == "mrkdwn":
            assert_whole_markup(obj["text"])


def assert_whole_markup(text: str) -> None:
    """A cut mrkdwn text ends with no half entity (``&am…``) and no half mention (``<@U0…``)."""
    assert text.count("<") == text.count(">"), text[-80:]
    assert not re.search(r"&#?[A-Za-z0-9]*…$", text), text[-80:]


def check_modal(view: dict[str, Any]) -> None:
    assert view["type"] == "modal"
    for key in ("title", "submit", "close"):
        assert 0 < len(view[key]["text"]) <= 24, key
        assert view[key]["type"] == "plain_text"
    assert len(view["private_metadata"]) <= 3000
    assert len(view["callback_id"]) <= 255
    check_blocks(view["blocks"], max_blocks=100)


def no_unescaped_pings(node: Any) -> None:
    for obj in text_objects(node):
        if obj["type"] == "mrkdwn":
            assert "<!channel>" not in obj["text"] and "<!here>" not in obj["text"]
            assert "<@U1>" not in obj["text"]


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
    assert parse_form_meta(view["private_metadata"]) == meta
    ids = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert len(ids) == len(set(ids))
    assert (Field.STATUS in ids) is (mode == "new")  # superseding starts as proposed
    assert (Field.CHANNEL in ids) is (mode != "edit")


def test_new_decision_modal_defaults() -> None:
    view = build_decision_modal(meta=FormMeta(), today=date(2024, 1, 31), channel_id="CGENERAL")
    check_modal(view)
    by_id = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert by_id[Field.REVIEW_DATE]["element"]["initial_date"] == "2024-02-29"
    assert by_id[Field.CHANNEL]["element"]["initial_conversation"] == "CGENERAL"
    assert by_id[Field.STATUS]["element"]["initial_option"]["value"] == "proposed"
    assert not by_id[Field.TITLE]["optional"] and not by_id[Field.DECISION]["optional"]
    assert by_id[Field.CONTEXT]["optional"]
    assert all(b["element"]["action_id"] == Action.VALUE for b in by_id.values())


def test_modal_metadata_over_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        modal(callback_id="c", title="t", submit="s", blocks=[], metadata="x" * 3001)


def test_form_meta_parsing_is_forgiving() -> None:
    assert parse_form_meta("") == FormMeta()
    assert parse_form_meta("not json") == FormMeta()
    assert parse_form_meta('{"mode": "explode"}') == FormMeta()
    assert parse_form_meta('{"mode": "edit", "number": 3}') == FormMeta(mode="edit", number=3)
    assert parse_stance_meta("junk") is None
    assert parse_stance_meta('{"number": 4}').number == 4  # type: ignore[union-attr]


def test_decision_message_limits_and_escaping() -> None:
    text, blocks = build_decision_message(big_record())
    check_blocks(blocks, max_blocks=50)
    no_unescaped_pings(blocks)
    assert "<!" not in text and "<@U1>" not in text
    assert len(text) <= 3000
    header = blocks[0]
    assert header["type"] == "header" and header["text"]["text"].startswith("ADR-999999999: ")
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == [
        Action.AGREE,
        Action.DISAGREE,
        Action.BLOCK,
    ]
    assert all(e["value"] == "999999999" for e in actions[0]["elements"])


def test_finished_decisions_have_no_stance_buttons() -> None:
    record = big_record()
    record.decision.status = DecisionStatus.SUPERSEDED
    _, blocks = build_decision_message(record)
    assert not [b for b in blocks if b["type"] == "actions"]


def test_record_blocks_limits() -> None:
    text, blocks = build_record_blocks(big_record())
    check_blocks(blocks, max_blocks=50)
    no_unescaped_pings(blocks)
    history = [b for b in blocks if b["type"] != "actions"][-1]["text"]["text"]
    assert "earlier change(s) not shown" in history
    assert blocks[-1]["elements"][0]["action_id"] == Action.EXPORT  # Export as ADR file


def test_list_and_search_blocks_limits() -> None:
    decisions = [big_decision(n) for n in range(1, 11)]
    blocks = build_list_blocks(decisions, total=1000, offset=10, status="accepted", tag="t" * 30)
    check_blocks(blocks, max_blocks=50)
    no_unescaped_pings(blocks)
    nav = [b for b in blocks if b["type"] == "actions"][0]["elements"]
    assert [json.loads(b["value"])["o"] for b in nav] == [0, 20]
    assert (
        build_list_blocks(decisions, total=10, offset=0, status=None, tag=None)[-1]["type"]
        != "actions"
    )
    empty = build_list_blocks([], total=0, offset=0, status=None, tag=HOSTILE)
    check_blocks(empty, max_blocks=50)
    no_unescaped_pings(empty)

    for query in (HOSTILE * 600, ""):
        for found in (decisions, []):
            blocks = build_search_blocks(query, found)
            check_blocks(blocks, max_blocks=50)
            no_unescaped_pings(blocks)


def test_stance_modals_limits() -> None:
    d = big_decision()
    current = Stance(
        team_id="TAAA",
        decision_id=1,
        user_id="UBOB",
        kind=StanceKind.BLOCK,
        concern=BIG,
        change_my_mind=BIG,
        reason=BIG,
    )
    for view in (
        build_disagree_modal(d, current),
        build_block_modal(d, current),
        build_disagree_modal(d),
    ):
        check_modal(view)
        no_unescaped_pings(view["blocks"])
        assert parse_stance_meta(view["private_metadata"]).number == d.number  # type: ignore[union-attr]


def test_home_limits() -> None:
    many = [big_decision(n) for n in range(1, 60)]
    view = build_home(recent=many, awaiting=many, owned=many)
    assert view["type"] == "home"
    check_blocks(view["blocks"], max_blocks=100)
    no_unescaped_pings(view["blocks"])
    empty = build_home(recent=[], awaiting=[], owned=[])
    check_blocks(empty["blocks"], max_blocks=100)


# -- /adr redact and /adr dm -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redact 7 title", AdrCommand("redact", number=7, field="title")),
        ("REDACT ADR-7 Context", AdrCommand("redact", number=7, field="context")),
        ("redact 7 success", AdrCommand("redact", number=7, field="success")),
        ("redact 7 success_criteria", AdrCommand("redact", number=7, field="success")),
        ("redact 7 tag", AdrCommand("redact", number=7, field="tags")),
        (
            "redact 7 stance <@UANA|ana>",
            AdrCommand("redact", number=7, field="stance", person="UANA"),
        ),
        ("redact 7 concern <@UANA>", AdrCommand("redact", number=7, field="stance", person="UANA")),
        ("dm", AdrCommand("dm")),
        ("dm Off", AdrCommand("dm", text="off")),
        ("dm on", AdrCommand("dm", text="on")),
    ],
)
def test_parse_redact_and_dm(text: str, expected: AdrCommand) -> None:
    assert parse_adr(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("redact", "Which decision?"),
        ("redact x title", "Which decision?"),
        ("redact 7", "Which field of ADR-7?"),
        ("redact 7 password", "Fields: title, context, options, decision, consequences"),
        ("redact 7 <!channel>", "&lt;!channel&gt;"),  # the echo is escaped
        ("redact 7 title now", "Just the field"),
        ("redact 7 stance", "Whose stance?"),
        ("redact 7 stance @ana", "Whose stance?"),  # a name Slack didn't turn into an id
        ("redact 7 stance <@UANA> <@UBOB>", "Whose stance?"),
        ("dm maybe", "`/adr dm off`"),
    ],
)
def test_parse_redact_and_dm_invalid_give_a_sentence(text: str, says: str) -> None:
    cmd = parse_adr(text)
    assert cmd.name == "invalid"
    assert says in cmd.error and cmd.error.endswith(".")
    assert "<!channel>" not in cmd.error


def test_a_redaction_marker_is_shown_with_a_mention_and_nothing_else_is() -> None:
    from bot.core.redacted import shown, shown_plain
    from storage.redaction import marker, parse_marker

    text = marker("UANA", date(2026, 5, 1))
    assert text == "redacted by <@UANA> on 2026-05-01"
    assert parse_marker(text) == ("UANA", "2026-05-01")
    assert shown(text) == "_redacted by <@UANA> on 2026-05-01_"
    assert isinstance(shown(text), Mrkdwn)
    assert shown_plain(text) == "(redacted on 2026-05-01)"
    for other in (HOSTILE, text + " and more", "redacted by <!channel> on 2026-05-01", ""):
        assert shown(other) == other and not isinstance(shown(other), Mrkdwn)
    d = big_decision()
    d.title, d.context = text, marker("UBOB", date(2026, 5, 2))
    record = DecisionRecord(
        decision=d, members={}, stances=[], events=[], supersedes=None, superseded_by=None
    )
    fallback, blocks = build_decision_message(record)
    body = json.dumps(blocks)
    assert blocks[0]["text"]["text"] == f"ADR-{d.number}: (redacted on 2026-05-01)"
    assert "_redacted by <@UBOB> on 2026-05-02_" in body
    assert "<@" not in fallback
