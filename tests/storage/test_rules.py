"""The rules with one home (storage.rules): RICE against a Decimal reference, the live states
and transitions, who may change a decision, "waiting long"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from storage import rules
from storage.models import DecisionStatus, ParkingState


def reference_rice(reach: float, impact: float, confidence: int, effort: float) -> float:
    exact = Decimal(str(reach)) * Decimal(str(impact)) * Decimal(confidence)
    exact /= Decimal(100) * Decimal(str(effort))
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def test_rice_rounds_half_up_where_floats_rounded_down() -> None:
    # 7102.8 x 0.5 x 50% / 60 is exactly 29.595; float arithmetic made it 29.59.
    assert rules.rice(7102.8, 0.5, 50, 60) == 29.6
    assert rules.rice(100, 0.25, 50, 3) == 4.17


# Inputs as the form takes them: up to 2 decimals, confidence a whole percentage.
amounts = st.decimals(min_value=0, max_value=100_000, places=2).map(float)
efforts = st.decimals(min_value="0.01", max_value=1_000, places=2).map(float)


@given(amounts, st.sampled_from([0.25, 0.5, 1, 2, 3]), st.integers(0, 100), efforts)
def test_rice_is_the_decimal_formula(
    reach: float, impact: float, confidence: int, effort: float
) -> None:
    assert rules.rice(reach, impact, confidence, effort) == reference_rice(
        reach, impact, confidence, effort
    )


def test_live_states_take_stances_and_can_be_superseded() -> None:
    assert {s for s in DecisionStatus if rules.is_live(s)} == {
        DecisionStatus.PROPOSED,
        DecisionStatus.ACCEPTED,
    }
    assert rules.can_become(DecisionStatus.ACCEPTED, DecisionStatus.SUPERSEDED)
    assert not rules.can_become(DecisionStatus.REJECTED, DecisionStatus.SUPERSEDED)
    assert not rules.can_become(DecisionStatus.ACCEPTED, DecisionStatus.ACCEPTED)


def test_only_the_author_and_deciders_may_change_a_decision() -> None:
    assert rules.may_change(author_id="UA", deciders=["UD"], user_id="UA")
    assert rules.may_change(author_id="UA", deciders=["UD"], user_id="UD")
    assert not rules.may_change(author_id="UA", deciders=["UD"], user_id="UX")
    assert rules.change_refused(ref="ADR-7", author_id="UA") == (
        "Only the author and the deciders of ADR-7 can do that. "
        "Ask <@UA> if something should change."
    )


def test_waiting_long_is_thirty_days_parked() -> None:
    now = datetime(2027, 3, 1, tzinfo=UTC)
    month = now - timedelta(days=30)
    assert rules.is_waiting_long(state=ParkingState.PARKED, created_at=month, now=now)
    assert not rules.is_waiting_long(
        state=ParkingState.PARKED, created_at=month + timedelta(seconds=1), now=now
    )
    assert not rules.is_waiting_long(state=ParkingState.ACCEPTED, created_at=month, now=now)
