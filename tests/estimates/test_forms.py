"""The estimate modal and its validation (bot/features/estimates/forms.py). Pure: no Slack, no
database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import durations
from bot.core.ids import Action, Callback, EstimateField
from bot.core.metadata import STALE_FORM, StaleForm
from bot.features.estimates.forms import (
    ParsedEstimate,
    RoundMeta,
    build_estimate_modal,
    parse_estimate_form,
    task_block,
    typed_text,
)
from storage.models import EstimateUnit, Familiarity
from tests.support.estimates import (
    all_text,
    check_blocks,
    make_estimate,
    make_round,
    make_tasks,
    no_pings,
)

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
    assert RoundMeta.decode(view).round == 999_999_999
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
    # a first Submit with only the numbers works: "similar" preselected, and the form says so
    assert inputs["familiarity"]["element"]["initial_option"]["value"] == "similar"
    assert "Preselected for your first estimate" in inputs["familiarity"]["hint"]["text"]
    again = build_estimate_modal(make_round(), [], None, last_familiarity="new")
    chosen = {b["block_id"]: b for b in again["blocks"] if b["type"] == "input"}["familiarity"]
    assert chosen["element"]["initial_option"]["value"] == "new"
    assert "your choice last time" in chosen["hint"]["text"]
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
def test_a_foreign_views_metadata_is_a_stale_form(view: dict[str, Any]) -> None:
    with pytest.raises(StaleForm, match=STALE_FORM):
        RoundMeta.decode(view)


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
        typed=parsed.typed,
    )
    assert parsed.typed == [["2", "3", "5"], ["4h", "1d", "0.5w"]]  # as typed, kept
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
        assert durations.parse_duration(typed_text(value, unit), unit) == pytest.approx(
            value, abs=0.005
        )
