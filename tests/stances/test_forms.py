"""The stance modals (bot/features/stances/forms.py): Disagree & commit and Block, parsed and
built within Slack's limits. Pure: no Slack, no database."""

from __future__ import annotations

from bot.core.forms import TEXT_MAX
from bot.core.ids import Field
from bot.features.stances.forms import (
    StanceMeta,
    build_block_modal,
    build_disagree_modal,
    parse_block_form,
    parse_disagree_form,
)
from storage.models import Stance, StanceKind
from tests.support.blocks import BIG, big_decision, check_modal, no_unescaped_pings, state


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
        assert StanceMeta.decode(view).number == d.number
