"""The pure Slack-facing pieces of `/estimate`: the command parser, deadlines, the estimate
modal and its validation, and the Block Kit of rounds (blindness, limits, escaping)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.ids import Action, Callback, EstimateField
from bot.features.estimates import estimation, views
from bot.features.estimates.command import EstimateCommand, parse_deadline, parse_estimate
from bot.features.estimates.forms import (
    ParsedEstimate,
    build_estimate_modal,
    parse_estimate_form,
    round_number_from,
    task_block,
    typed_text,
)
from storage.models import (
    ConePhase,
    Estimate,
    EstimateRound,
    EstimateTask,
    EstimateUnit,
    Familiarity,
    RoundState,
)

# -- helpers -----------------------------------------------------------------------------------


def strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    if isinstance(node, list | tuple):
        return [s for v in node for s in strings(v)]
    return []


def all_text(node: Any) -> str:
    return "\n".join(strings(node))


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


def check_blocks(blocks: list[dict[str, Any]], *, max_blocks: int) -> None:
    assert 0 < len(blocks) <= max_blocks
    for block in blocks:
        if block["type"] == "header":
            assert 0 < len(block["text"]["text"]) <= 150
        if block["type"] == "actions":
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75 and len(element["value"]) <= 2000
        if block["type"] == "input":
            assert len(block["block_id"]) <= 255 and len(block["label"]["text"]) <= 2000
            element = block["element"]
            if "initial_value" in element:
                assert len(element["initial_value"]) <= element["max_length"] <= 3000
    for obj in text_objects(blocks):
        assert obj["text"], "Slack rejects empty text objects"
        assert len(obj["text"]) <= 3000
        if obj["type"] == "mrkdwn":
            unquoted = re.sub(r"(?m)^> ", "", obj["text"])  # a quote's marker is not markup
            assert unquoted.count("<") == unquoted.count(">"), obj["text"][-80:]
            assert not re.search(r"&#?[A-Za-z0-9]*…$", obj["text"])


def check_message(text: str, blocks: list[dict[str, Any]]) -> None:
    check_blocks(blocks, max_blocks=50)
    assert 0 < len(text) <= 3000
    assert len(json.dumps(blocks, ensure_ascii=False)) < 40_000 + 20_000  # JSON adds keys
    assert sum(len(o["text"]) for o in text_objects(blocks)) <= 40_000
    no_pings(text)
    no_pings(blocks)


def no_pings(node: Any) -> None:
    """No mrkdwn (or fallback text) holds a ping a user typed."""
    texts = (
        [node]
        if isinstance(node, str)
        else [o["text"] for o in text_objects(node) if o["type"] == "mrkdwn"]
    )
    for text in texts:
        assert "<!channel>" not in text and "<!here>" not in text and "<@UEVIL>" not in text


def make_round(**kw: Any) -> EstimateRound:
    fields: dict[str, Any] = {
        "id": 1,
        "team_id": "T1",
        "number": 3,
        "topic": "Checkout redesign",
        "facilitator_id": "UFAC",
        "channel_id": "C1",
        "unit": EstimateUnit.DAYS,
        "phase": ConePhase.INITIAL,
    }
    fields.update(kw)
    return EstimateRound(**fields)


def make_tasks(names: list[str]) -> list[EstimateTask]:
    return [
        EstimateTask(team_id="T1", round_id=1, position=i, name=name)
        for i, name in enumerate(names)
    ]


def make_estimate(user: str, ranges: list[list[float]], **kw: Any) -> Estimate:
    fields: dict[str, Any] = {
        "team_id": "T1",
        "round_id": 1,
        "user_id": user,
        "ranges": json.dumps(ranges),
        "confidence": 80,
        "familiarity": Familiarity.SIMILAR,
        "assumptions": "",
    }
    fields.update(kw)
    return Estimate(**fields)


# Figures no builder may show before the reveal: each appears nowhere else in these tests.
SECRET = estimation.Combined(
    p50=777.0,
    p90=888.0,
    mean=999.0,
    best=611.0,
    likely=777.0,
    worst=933.0,
    cone_low=194.0,
    cone_high=3108.0,
    spreads=[estimation.TaskSpread("API", 411.0, 422.0, 433.0)],
    outliers=[estimation.Outlier("API", "UANA", "UBO", 3.0)],
)
SECRET_FIGURES = ("777", "888", "999", "611", "933", "194", "3108", "411", "422", "433")


# -- the command -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", EstimateCommand("help")),
        ("   ", EstimateCommand("help")),
        ("help", EstimateCommand("help")),
        ("list", EstimateCommand("list")),
        ("show E-3", EstimateCommand("show", number=3)),
        ("show e3", EstimateCommand("show", number=3)),
        ("reveal 3", EstimateCommand("reveal", number=3)),
        ("cancel #4", EstimateCommand("cancel", number=4)),
        ("actual E-3 7d", EstimateCommand("actual", number=3, text="7d")),
        ("actual E-3 1.5 weeks", EstimateCommand("actual", number=3, text="1.5 weeks")),
        ("calibration", EstimateCommand("calibration")),
        ("calibration <@U1|ana>", EstimateCommand("calibration", invitees=("U1",))),
        ("API cache", EstimateCommand("new", topic="API cache")),
        (
            "Checkout redesign: API; UI; data migration",
            EstimateCommand(
                "new", topic="Checkout redesign", tasks=("API", "UI", "data migration")
            ),
        ),
        (
            "API cache <@U1|ana> <@U2> in hours",
            EstimateCommand(
                "new", topic="API cache", unit=EstimateUnit.HOURS, invitees=("U1", "U2")
            ),
        ),
        (
            "<@U2|bo> API <@U1|ana> cache <@U2|bo>",
            EstimateCommand("new", topic="API cache", invitees=("U2", "U1")),
        ),
        ("Index rebuild in points", EstimateCommand("new", topic="Index rebuild", unit="points")),
        ("Index rebuild in w", EstimateCommand("new", topic="Index rebuild", unit="weeks")),
        (
            "API cache by Friday 15:00",
            EstimateCommand("new", topic="API cache", deadline="Friday 15:00"),
        ),
        (
            "API cache by 2026-12-04 15:00 in weeks",
            EstimateCommand("new", topic="API cache", unit="weeks", deadline="2026-12-04 15:00"),
        ),
        (
            "API cache in weeks by tomorrow 9:00 phase design",
            EstimateCommand(
                "new",
                topic="API cache",
                unit="weeks",
                deadline="tomorrow 9:00",
                phase=ConePhase.DESIGN,
            ),
        ),
        (
            "API cache --phase requirements",
            EstimateCommand("new", topic="API cache", phase=ConePhase.REQUIREMENTS),
        ),
        (
            "ADR-12 Migration to Postgres",
            EstimateCommand("new", topic="Migration to Postgres", decision_number=12),
        ),
        (
            "adr12: Migration: schema; data",
            EstimateCommand("new", topic="Migration", tasks=("schema", "data"), decision_number=12),
        ),
        # words that look like options but aren't stay in the topic
        ("Move billing by hand", EstimateCommand("new", topic="Move billing by hand")),
        ("Rewrite search in Rust", EstimateCommand("new", topic="Rewrite search in Rust")),
        ("Redesign phase two", EstimateCommand("new", topic="Redesign phase two")),
        ("show page redesign", EstimateCommand("new", topic="show page redesign")),
        ("list view filters", EstimateCommand("new", topic="list view filters")),
        # an unreadable deadline is kept raw for the listener to report
        (
            "API cache by next Friday",
            EstimateCommand("new", topic="API cache", deadline="next Friday"),
        ),
        # a URL is not a task separator; Slack's escaping is undone, mentions typed as text don't count
        (
            "see <https://x.io/a|x>: one; two",
            EstimateCommand("new", topic="see https://x.io/a", tasks=("one", "two")),
        ),
        (
            "&lt;!channel&gt; &amp; &lt;@UEVIL&gt;",
            EstimateCommand("new", topic="<!channel> & <@UEVIL>"),
        ),
        ("API\x00 cache", EstimateCommand("new", topic="API cache")),
        ("a: x; x; y", EstimateCommand("new", topic="a", tasks=("x", "y"))),
    ],
)
def test_parse_estimate(text: str, expected: EstimateCommand) -> None:
    assert parse_estimate(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("show", "Which round"),
        ("show E3x", "Which round"),
        ("reveal", "Which round"),
        ("cancel E-3 now", "Just the round"),
        ("actual", "Which round"),
        ("actual E-3", "How long"),
        ("calibration <@U1> <@U2>", "One person"),
        ("ADR-12", "What should we estimate for ADR-12"),
        ("<@U1>", "What should we estimate"),
        ("in days", "What should we estimate"),
        ("API --phase later", "phase is one of"),
        ("Big: " + "; ".join(f"t{i}" for i in range(16)), "At most 15 tasks"),
        ("Big: " + "x" * 201, "200 characters"),
        ("t" * 201, "200 characters"),
        ("API " + " ".join(f"<@U{i:03d}>" for i in range(51)), "At most 50 people"),
    ],
)
def test_parse_estimate_invalid_gives_a_sentence(text: str, says: str) -> None:
    cmd = parse_estimate(text)
    assert cmd.name == "invalid"
    assert says in cmd.error and cmd.error.endswith(".")


def test_limits_are_inclusive() -> None:
    cmd = parse_estimate("Big: " + "; ".join("x" * 198 + f"{i:02d}" for i in range(15)))
    assert cmd.name == "new" and len(cmd.tasks) == 15
    cmd = parse_estimate("API " + " ".join(f"<@U{i:03d}|n>" for i in range(50)))
    assert cmd.name == "new" and len(cmd.invitees) == 50
    assert parse_estimate("t" * 200).topic == "t" * 200


@given(st.text(max_size=600))
@settings(max_examples=400, deadline=None)
def test_parse_estimate_never_raises(text: str) -> None:
    cmd = parse_estimate(text)
    assert cmd.name in {
        "new",
        "help",
        "list",
        "show",
        "reveal",
        "cancel",
        "actual",
        "calibration",
        "invalid",
    }
    if cmd.name == "invalid":
        assert cmd.error
    if cmd.name == "new":
        assert cmd.topic and len(cmd.topic) <= 200 and "\x00" not in cmd.topic
        assert len(cmd.tasks) <= 15 and all(0 < len(t) <= 200 for t in cmd.tasks)
        assert len(cmd.invitees) <= 50 and len(set(cmd.invitees)) == len(cmd.invitees)


mention_or_word = st.one_of(
    st.sampled_from(
        ["<@U1|a>", "<@W2>", "in", "hours", "by", "Friday", "15:00", "phase", "design", ":", ";"]
    ),
    st.sampled_from(["--phase", "ADR-3", "E-3", "show", "actual", "&lt;", "<!here>", "x"]),
)


@given(st.lists(mention_or_word, max_size=30))
@settings(max_examples=300, deadline=None)
def test_parse_estimate_never_raises_on_option_soup(words: list[str]) -> None:
    cmd = parse_estimate(" ".join(words))
    assert cmd.name == "invalid" or cmd.name != "new" or cmd.topic


# -- deadlines -----------------------------------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")
FRIDAY_10 = datetime(2026, 11, 27, 10, 0, tzinfo=BERLIN)  # a Friday


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("Friday 15:00", datetime(2026, 11, 27, 15, 0, tzinfo=BERLIN)),  # later today
        ("Friday 9:00", datetime(2026, 12, 4, 9, 0, tzinfo=BERLIN)),  # past today: next week
        ("fri 3pm", datetime(2026, 11, 27, 15, 0, tzinfo=BERLIN)),
        ("Monday at 9am", datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)),
        ("Tuesday", datetime(2026, 12, 1, 17, 0, tzinfo=BERLIN)),
        ("tomorrow 9:00", datetime(2026, 11, 28, 9, 0, tzinfo=BERLIN)),
        ("today 17:30", datetime(2026, 11, 27, 17, 30, tzinfo=BERLIN)),
        ("15:00", datetime(2026, 11, 27, 15, 0, tzinfo=BERLIN)),
        ("9:00", datetime(2026, 11, 28, 9, 0, tzinfo=BERLIN)),  # past: tomorrow's
        ("12am", datetime(2026, 11, 28, 0, 0, tzinfo=BERLIN)),
        ("noon", datetime(2026, 11, 27, 12, 0, tzinfo=BERLIN)),
        ("2026-12-04 15:00", datetime(2026, 12, 4, 15, 0, tzinfo=BERLIN)),
        ("2026-12-04", datetime(2026, 12, 4, 17, 0, tzinfo=BERLIN)),
        ("2026-01-04 15:00", datetime(2026, 1, 4, 15, 0, tzinfo=BERLIN)),  # past: caller says so
    ],
)
def test_parse_deadline(phrase: str, expected: datetime) -> None:
    got = parse_deadline(phrase, FRIDAY_10)
    assert got == expected
    assert got is not None and got.tzinfo is BERLIN


@pytest.mark.parametrize(
    "phrase",
    ["", "next Friday", "hand", "13pm", "25:00", "Friday 3", "2026-02-30 10:00", "Friday 9:75"],
)
def test_unreadable_deadline_is_none(phrase: str) -> None:
    assert parse_deadline(phrase, FRIDAY_10) is None


def test_deadline_across_a_dst_change_keeps_the_wall_clock() -> None:
    before = datetime(2026, 10, 23, 12, 0, tzinfo=BERLIN)  # CEST; clocks go back on the 25th
    got = parse_deadline("Monday 9:00", before)
    assert got is not None and (got.hour, got.utcoffset()) == (9, timedelta(hours=1))


def test_naive_now_reads_as_utc() -> None:
    got = parse_deadline("tomorrow 9:00", datetime(2026, 11, 27, 10, 0))
    assert got == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_parse_deadline_never_raises(phrase: str) -> None:
    got = parse_deadline(phrase, FRIDAY_10)
    assert got is None or got.tzinfo is not None


def test_every_parsed_deadline_phrase_reads() -> None:
    for text in ("API by Friday 15:00", "API by tomorrow 9:00", "API by 2026-12-04 15:00"):
        assert parse_deadline(parse_estimate(text).deadline, FRIDAY_10) is not None


# -- the estimate modal ------------------------------------------------------------------------


def values(**blocks: Any) -> dict[str, Any]:
    """``view.state.values`` as Slack sends it."""
    out: dict[str, Any] = {}
    for block, value in blocks.items():
        if block in (EstimateField.CONFIDENCE, EstimateField.FAMILIARITY):
            element = {
                "type": "radio_buttons",
                "selected_option": None if value is None else {"value": value},
            }
        else:
            element = {"type": "plain_text_input", "value": value}
        out[block] = {Action.VALUE: element}
    return out


def filled(n_tasks: int = 1, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for i in range(n_tasks):
        fields |= {
            task_block(i, "best"): "2",
            task_block(i, "likely"): "3",
            task_block(i, "worst"): "5",
        }
    fields |= {
        EstimateField.CONFIDENCE: "80",
        EstimateField.FAMILIARITY: "similar",
        EstimateField.ASSUMPTIONS: "",
    }
    fields.update(overrides)
    return values(**fields)


def check_modal(view: dict[str, Any]) -> None:
    assert view["type"] == "modal" and view["callback_id"] == Callback.ESTIMATE_FORM
    for key in ("title", "submit", "close"):
        assert 0 < len(view[key]["text"]) <= 24
    assert len(view["private_metadata"]) <= 3000
    check_blocks(view["blocks"], max_blocks=100)


def test_modal_for_fifteen_tasks_fits_and_prefills() -> None:
    rnd = make_round(number=999_999_999, topic="<!channel> " + "&" * 190)
    tasks = make_tasks([f"{'<' * 190} {i}" for i in range(15)])
    current = make_estimate(
        "UANA",
        [[1, 2, 4]] * 14 + [[0.125, 1.25, 2]],
        confidence=90,
        familiarity="new",
        assumptions="a" * 3000,
    )
    view = build_estimate_modal(rnd, tasks, current)
    check_modal(view)
    no_pings(view)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert len(inputs) == 15 * 3 + 3
    assert inputs["t0_best"]["element"]["initial_value"] == "1"
    assert inputs["t14_best"]["element"]["initial_value"] == "1h"  # 0.125 days, re-parseable
    assert inputs["t14_likely"]["element"]["initial_value"] == "1.25"
    assert inputs["confidence"]["element"]["initial_option"]["value"] == "90"
    assert inputs["familiarity"]["element"]["initial_option"]["value"] == "new"
    assert inputs["assumptions"]["element"]["initial_value"] == "a" * 3000
    assert inputs["assumptions"]["optional"] is True
    labels = all_text(inputs["familiarity"])
    assert "×1.0" in labels and "×1.5" in labels and "×2.5" in labels
    assert round_number_from(view) == 999_999_999
    # what it prefills parses back to what was stored
    state = {
        block: {Action.VALUE: {"value": b["element"].get("initial_value", "")}}
        for block, b in inputs.items()
        if b["element"]["type"] == "plain_text_input"
    } | values(confidence="90", familiarity="new")
    parsed, errors = parse_estimate_form(state, rnd, tasks)
    assert errors == {} and parsed is not None
    assert parsed.ranges[14] == (0.125, 1.25, 2.0)


def test_new_modal_defaults() -> None:
    view = build_estimate_modal(make_round(), [], None)
    check_modal(view)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert set(inputs) == {
        "t0_best",
        "t0_likely",
        "t0_worst",
        "confidence",
        "familiarity",
        "assumptions",
    }
    assert inputs["confidence"]["element"]["initial_option"]["value"] == "80"
    assert "initial_option" not in inputs["familiarity"]["element"]  # a conscious choice
    assert "initial_value" not in inputs["t0_best"]["element"]
    assert view["title"]["text"] == "Estimate E-3"


@pytest.mark.parametrize(
    "view",
    [
        {},
        {"private_metadata": ""},
        {"private_metadata": "nope"},
        {"private_metadata": "[1]"},
        {"private_metadata": '{"round": "3"}'},
        {"private_metadata": '{"round": true}'},
    ],
)
def test_round_number_from_a_foreign_view(view: dict[str, Any]) -> None:
    assert round_number_from(view) is None


def test_valid_form_parses() -> None:
    rnd = make_round(unit=EstimateUnit.DAYS)
    state = filled(
        2,
        t1_best="4h",
        t1_likely="1d",
        t1_worst="0.5w",
        assumptions="  assumes the payment API batches\x00  ",
        familiarity="done",
        confidence="90",
    )
    parsed, errors = parse_estimate_form(state, rnd, make_tasks(["API", "UI"]))
    assert errors == {}
    assert parsed == ParsedEstimate(
        ranges=[(2.0, 3.0, 5.0), (0.5, 1.0, 2.5)],
        confidence=90,
        familiarity=Familiarity.DONE,
        assumptions="assumes the payment API batches",
    )
    assert json.loads(parsed.ranges_json()) == [[2.0, 3.0, 5.0], [0.5, 1.0, 2.5]]
    assert parsed.person("UANA").familiarity == "done"


def test_equal_best_likely_worst_is_fine() -> None:
    parsed, errors = parse_estimate_form(
        filled(t0_best="3", t0_likely="3", t0_worst="3"), make_round(), []
    )
    assert errors == {} and parsed is not None and parsed.ranges == [(3.0, 3.0, 3.0)]


@pytest.mark.parametrize(
    ("overrides", "block"),
    [
        ({"t0_best": ""}, "t0_best"),
        ({"t0_best": "abc"}, "t0_best"),
        ({"t0_best": "0"}, "t0_best"),
        ({"t0_best": "-1"}, "t0_best"),
        ({"t0_likely": "2,345"}, "t0_likely"),
        ({"t0_worst": "99999"}, "t0_worst"),  # over the sane size for days
        ({"t0_worst": "3pt"}, "t0_worst"),  # points don't convert to time
        ({"t0_worst": "1" * 30}, "t0_worst"),
        ({"t0_likely": "1"}, "t0_likely"),  # below best
        ({"t0_worst": "2.5"}, "t0_worst"),  # below likely
        ({"t0_likely": None}, "t0_likely"),
        ({"confidence": None}, "confidence"),
        ({"confidence": "70"}, "confidence"),
        ({"familiarity": None}, "familiarity"),
        ({"familiarity": "expert"}, "familiarity"),
        ({"assumptions": "x" * 3001}, "assumptions"),
    ],
)
def test_every_field_has_an_inline_error(overrides: dict[str, Any], block: str) -> None:
    parsed, errors = parse_estimate_form(filled(**overrides), make_round(), [])
    assert parsed is None
    assert block in errors, errors
    assert all(0 < len(e) <= 150 for e in errors.values())


def test_errors_point_at_the_task_they_concern() -> None:
    state = filled(3, t2_worst="1", t1_best="x")
    parsed, errors = parse_estimate_form(state, make_round(), make_tasks(["a", "b", "c"]))
    assert parsed is None and set(errors) == {"t1_best", "t2_worst"}


def test_points_round_takes_plain_numbers_only() -> None:
    rnd = make_round(unit=EstimateUnit.POINTS)
    parsed, errors = parse_estimate_form(filled(t0_worst="8"), rnd, [])
    assert errors == {} and parsed is not None
    _, errors = parse_estimate_form(filled(t0_worst="2d"), rnd, [])
    assert "t0_worst" in errors


shaped = st.fixed_dictionaries(
    {},
    optional={
        "t0_best": st.text(max_size=30),
        "t0_likely": st.text(max_size=30),
        "t0_worst": st.text(max_size=30),
        "confidence": st.one_of(st.none(), st.text(max_size=4)),
        "familiarity": st.one_of(st.none(), st.text(max_size=10)),
        "assumptions": st.text(max_size=50),
    },
).map(lambda d: values(**d))
raw = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3)
    ),
    max_leaves=12,
)


@given(st.one_of(shaped, raw))
@settings(max_examples=300, deadline=None)
def test_malformed_submissions_give_errors_not_exceptions(state: Any) -> None:
    parsed, errors = parse_estimate_form(state, make_round(), [])
    assert (parsed is None) == bool(errors)


def test_typed_text_round_trips() -> None:
    for value, unit in (
        (3.0, "days"),
        (0.125, "days"),
        (1.25, "weeks"),
        (0.1875, "hours"),
        (7.0, "points"),
    ):
        assert estimation.parse_duration(typed_text(value, unit), unit) == pytest.approx(
            value, abs=0.005
        )


# -- the round's message: blindness --------------------------------------------------------------


def test_open_message_shows_names_never_values() -> None:
    rnd = make_round(deadline_at=datetime(2026, 12, 4, 14, 0, tzinfo=UTC))
    text, blocks = views.build_round_message(
        rnd,
        make_tasks(["API", "UI"]),
        ["UANA"],
        ["UANA", "UBO"],
        SECRET,
        "ADR-12",
        assumptions=["secret assumption"],
    )
    check_message(text, blocks)
    shown = all_text({"text": text, "blocks": blocks})
    for figure in SECRET_FIGURES:
        assert figure not in shown
    assert "secret assumption" not in shown and "talk first" not in shown
    assert "<@UANA>" in shown and "<@UBO>" in shown and "<@UFAC>" in shown
    assert "<!date^1796392800^" in shown and "2026-12-04 14:00 UTC" in shown
    assert "ADR-12" in shown and "initial concept" in shown and "days" in shown
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (Action.ESTIMATE_ADD, "3"),
        (Action.ESTIMATE_REVEAL, "3"),
        (Action.ESTIMATE_CANCEL, "3"),
    ]
    waiting = next(b for b in blocks if "not estimated yet" in all_text(b))
    assert "<@UBO>" in all_text(waiting) and "<@UANA>" not in all_text(waiting)


def test_show_and_home_and_details_are_blind_before_the_reveal() -> None:
    rnd = make_round()
    text, blocks = views.build_show_blocks(rnd, make_tasks(["API"]), ["UANA"], SECRET)
    check_message(text, blocks)
    shown = all_text({"text": text, "blocks": blocks})
    assert not any(figure in shown for figure in SECRET_FIGURES)
    assert not [b for b in blocks if b["type"] == "actions"]
    home = views.home_section([rnd], [rnd])
    assert not any(figure in all_text(home) for figure in SECRET_FIGURES)
    estimate = make_estimate("UANA", [[777, 888, 999]], assumptions="secret")
    assert views.build_detail_messages(rnd, [], [estimate]) == []


def test_revealed_message_shows_the_figures() -> None:
    rnd = make_round(state=RoundState.REVEALED, revealed_by="UFAC")
    text, blocks = views.build_round_message(
        rnd,
        make_tasks(["API", "UI"]),
        ["UANA", "UBO"],
        ["UANA", "UBO"],
        SECRET,
        None,
        assumptions=["the payment API batches", ""],
    )
    check_message(text, blocks)
    shown = all_text(blocks)
    assert "50%: *777 days*, 90%: *888 days*" in shown and "mean 999 days" in shown
    assert "lowest 411 · median 422 · highest 433 days" in shown
    assert "<@UANA>'s likely is 3x <@UBO>'s for *API* — talk first" in shown
    assert "Best case 611 days, likely 777, worst 933; 90% confident within 888 days." in shown
    assert "Assumes the payment API batches." in shown
    assert "194 days – 3108 days" in shown and "0.25x–4x" in shown
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [Action.ESTIMATE_AGAIN]
    _, show = views.build_show_blocks(rnd, [], ["UANA"], SECRET)
    assert "777 days" in all_text(show)


@pytest.mark.parametrize(
    ("state", "says"),
    [(RoundState.CANCELLED, "Cancelled"), (RoundState.EXPIRED, "Closed without a reveal")],
)
def test_closed_rounds_say_so_without_buttons(state: RoundState, says: str) -> None:
    rnd = make_round(state=state, closed_note="Not revealed within 14 days.")
    text, blocks = views.build_round_message(rnd, [], ["UANA"], [], SECRET, None)
    check_message(text, blocks)
    assert says in all_text(blocks) and "Not revealed within 14 days." in all_text(blocks)
    assert not [b for b in blocks if b["type"] == "actions"]
    assert not any(figure in all_text(blocks) for figure in SECRET_FIGURES)
    assert "closed without a reveal" in views.expired_text(rnd)


# -- limits and escaping ---------------------------------------------------------------------------

EVIL = "<!channel> <@UEVIL> & <https://x.io|click> "


def big_round(**kw: Any) -> tuple[EstimateRound, list[EstimateTask], list[Estimate]]:
    rnd = make_round(
        number=999_999_999,
        topic=(EVIL * 10)[:200],
        deadline_at=datetime(2026, 12, 4, 14, 0, tzinfo=UTC),
        **kw,
    )
    tasks = make_tasks([(f"{i} " + EVIL * 10)[:200] for i in range(15)])
    estimates = [
        make_estimate(
            f"U{i:010d}",
            [[1234.25, 1234.5, 1249.75]] * 15,
            confidence=90,
            familiarity="new",
            assumptions=(EVIL * 100)[:3000],
        )
        for i in range(30)
    ]
    return rnd, tasks, estimates


def test_biggest_open_round_fits_and_escapes() -> None:
    rnd, tasks, estimates = big_round()
    people = [e.user_id for e in estimates]
    invited = people + [f"W{i:010d}" for i in range(20)]
    text, blocks = views.build_round_message(rnd, tasks, people, invited, None, "ADR-999999999")
    check_message(text, blocks)
    assert blocks[-1]["type"] in ("actions", "context")
    assert any(b["type"] == "actions" for b in blocks)
    assert "&lt;!channel&gt;" in all_text(blocks)


def test_biggest_revealed_round_fits_and_escapes() -> None:
    rnd, tasks, estimates = big_round(state=RoundState.REVEALED)
    people = [e.user_id for e in estimates]
    combined = estimation.Combined(
        p50=9000.5,
        p90=12000.25,
        mean=9100.0,
        best=8000.0,
        likely=9000.5,
        worst=13000.0,
        cone_low=2250.0,
        cone_high=36000.0,
        spreads=[estimation.TaskSpread(t.name, 1000.0, 1100.0, 1249.75) for t in tasks],
        outliers=[estimation.Outlier(t.name, people[0], people[1], 12.5) for t in tasks],
    )
    text, blocks = views.build_round_message(
        rnd, tasks, people, people, combined, None, assumptions=[e.assumptions for e in estimates]
    )
    check_message(text, blocks)
    assert blocks[-1]["type"] == "actions"
    _, show = views.build_show_blocks(rnd, tasks, people, combined)
    check_message("x", show)


def test_details_of_thirty_people_and_fifteen_tasks_fit() -> None:
    rnd, tasks, estimates = big_round(state=RoundState.REVEALED)
    messages = views.build_detail_messages(rnd, tasks, estimates)
    assert len(messages) > 1
    for text, blocks in messages:
        check_message(text, blocks)
    shown = all_text([blocks for _, blocks in messages])
    for e in estimates:
        assert f"<@{e.user_id}>" in shown
    assert "×2.5" in shown and "90%" in shown and "1234.25 – 1234.5 – 1249.75" in shown
    # assumptions go whole, as plain text: exactly what was typed, never markup
    plain = [
        o["text"]
        for _, blocks in messages
        for o in text_objects(blocks)
        if o["type"] == "plain_text"
    ]
    assert sum(p.count("<!channel>") for p in plain) == 30 * (EVIL * 100)[:3000].count("<!channel>")


def test_confirmation_is_escaped_and_complete() -> None:
    rnd, tasks, estimates = big_round()
    text = views.confirmation_text(rnd, tasks, estimates[0])
    no_pings(text)
    assert "1234.25 – 1234.5 – 1249.75" in text and "×2.5" in text
    assert len(text) <= views.TEXT_LIMIT
    small = views.confirmation_text(
        make_round(), [], make_estimate("UANA", [[1, 2, 3]], assumptions="<!here> ok")
    )
    assert "&lt;!here&gt; ok" in small and "1 – 2 – 3" in small


def test_texts_escape_the_topic() -> None:
    rnd = make_round(topic=EVIL, deadline_at=datetime(2026, 12, 4, 14, 0, tzinfo=UTC))
    for text in (
        views.reminder_text(rnd),
        views.expired_text(rnd),
        views.ask_actual_text(rnd, SECRET),
        views.started_text(rnd, "Friday 15:00"),
        views.post_failed_text(rnd, "not_in_channel"),
        views.chart_failed_text(rnd, "upload_failed"),
    ):
        no_pings(text)
        assert "&lt;!channel&gt;" in text or "E-3" in text
    assert "<#C1>" in views.reminder_text(rnd) and "<!date^" in views.reminder_text(rnd)
    assert "888 days" in views.ask_actual_text(rnd, SECRET)


def test_list_home_and_help_fit() -> None:
    rnd, _, _ = big_round()
    rounds = [rnd] * 100
    check_message("x", views.build_list_blocks(rounds))
    assert "No estimate rounds yet" in all_text(views.build_list_blocks([]))
    home = views.home_section(rounds, rounds)
    check_blocks(home, max_blocks=20)
    no_pings(home)
    assert "No round is waiting" in all_text(views.home_section([], []))
    help_text = all_text(views.help_blocks())
    for phrase in (
        "/estimate actual E-3 7d",
        "/estimate calibration",
        "Estimate this",
        "in points",
    ):
        assert phrase in help_text


def test_calibration_text() -> None:
    records = [estimation.CalibrationRecord("UANA", 1, 2, 4, 90, 5.0) for _ in range(4)]
    text = views.calibration_text(estimation.calibration(records), "UANA")
    assert text.count("<@UANA>'s") == 1 and "held 0 of 4 times" in text
    team = views.calibration_text(
        estimation.calibration(records), "UANA", team=estimation.calibration(records[:2])
    )
    assert "The team's calibration: not enough data yet" in team
    assert "not enough data yet" in views.calibration_text(estimation.calibration([]), None)
    assert "<@" not in views.calibration_text(estimation.calibration([]), None)
