"""What decision health reads about a decision's life, written where it happens: when it was
accepted and ended, the spans a Block held it, and what its end and its first review outcome do
to its forecasts (storage/decision_spans.py and its callers). Both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from storage import review_answers, reviews
from storage.db import Database
from storage.decision_status import change_status
from storage.decisions import create_decision, get_decision
from storage.forecasts import save_forecast
from storage.models import (
    DecisionBlock,
    DecisionStatus,
    Door,
    Forecast,
    ForecastSource,
    ForecastState,
    Outcome,
    StanceKind,
    utcnow,
)
from storage.stances import set_stance
from tests.support.decisions import AUTHOR, DECIDER, TEAM, create, draft, get

BLOCKER = "UBLOCKER"


def _forecast(db: Database, number: int, user: str, probability: int) -> None:
    with db.session() as s:
        decision = get_decision(s, team_id=TEAM, number=number, for_update=True)
        save_forecast(
            s, decision=decision, user_id=user, probability=probability, source=ForecastSource.ADDED
        )


def _forecasts(db: Database, number: int) -> list[Forecast]:
    with db.read() as s:
        decision = get_decision(s, team_id=TEAM, number=number)
        return list(
            s.scalars(
                select(Forecast)
                .where(col(Forecast.decision_id) == decision.id)
                .order_by(col(Forecast.user_id))
            )
        )


def _blocks(db: Database, number: int) -> list[DecisionBlock]:
    with db.read() as s:
        decision = get_decision(s, team_id=TEAM, number=number)
        return list(
            s.scalars(
                select(DecisionBlock)
                .where(col(DecisionBlock.decision_id) == decision.id)
                .order_by(col(DecisionBlock.id))
            )
        )


def _block(db: Database, number: int, user: str, kind: StanceKind) -> None:
    with db.session() as s:
        set_stance(s, team_id=TEAM, number=number, user_id=user, kind=kind, reason="no")


def test_accepting_sets_accepted_at_and_ending_sets_closed_at(db: Database) -> None:
    create(db, deciders=[DECIDER])
    assert (get(db, 1).accepted_at, get(db, 1).closed_at) == (None, None)
    with db.session() as s:
        change_status(s, team_id=TEAM, number=1, actor_id=DECIDER, to=DecisionStatus.ACCEPTED)
    accepted = get(db, 1)
    assert accepted.accepted_at is not None and accepted.closed_at is None
    assert accepted.accepted_at >= accepted.created_at
    with db.session() as s:
        change_status(s, team_id=TEAM, number=1, actor_id=DECIDER, to=DecisionStatus.DEPRECATED)
    ended = get(db, 1)
    assert ended.accepted_at == accepted.accepted_at
    assert ended.closed_at is not None and ended.closed_at >= ended.accepted_at


def test_recorded_as_accepted_has_no_lead_time_and_a_supersede_closes_the_old(
    db: Database,
) -> None:
    create(db, status=DecisionStatus.ACCEPTED, door=Door.ONE_WAY)
    first = get(db, 1)
    assert first.accepted_at == first.created_at
    assert first.door == Door.ONE_WAY
    with db.session() as s:
        create_decision(
            s,
            team_id=TEAM,
            author_id=AUTHOR,
            draft=draft(title="Use MySQL"),
            channel_private=False,
            supersedes_number=1,
        )
    old, new = get(db, 1), get(db, 2)
    assert old.status == DecisionStatus.SUPERSEDED and old.closed_at is not None
    assert (new.accepted_at, new.closed_at) == (None, None)


def test_a_block_opens_a_span_that_a_change_of_stance_closes_as_withdrawn(db: Database) -> None:
    create(db, deciders=[DECIDER])
    _block(db, 1, BLOCKER, StanceKind.BLOCK)
    _block(db, 1, BLOCKER, StanceKind.BLOCK)  # the same block again: still one span
    [span] = _blocks(db, 1)
    assert (span.user_id, span.resolved_at, span.resolution) == (BLOCKER, None, None)
    _block(db, 1, BLOCKER, StanceKind.AGREE)
    [span] = _blocks(db, 1)
    assert span.resolution == "withdrawn" and span.resolved_at is not None
    assert span.resolved_at >= span.placed_at
    _block(db, 1, BLOCKER, StanceKind.BLOCK)  # blocking again opens a new span
    assert [b.resolution for b in _blocks(db, 1)] == ["withdrawn", None]


def test_an_override_and_an_end_close_the_open_spans(db: Database) -> None:
    create(db, deciders=[DECIDER])
    create(db, deciders=[DECIDER])
    for number in (1, 2):
        _block(db, number, BLOCKER, StanceKind.BLOCK)
        _block(db, number, "UOTHER", StanceKind.BLOCK)
    with db.session() as s:
        change_status(
            s,
            team_id=TEAM,
            number=1,
            actor_id=DECIDER,
            to=DecisionStatus.ACCEPTED,
            note="we need it now",
            override=True,
        )
        change_status(s, team_id=TEAM, number=2, actor_id=DECIDER, to=DecisionStatus.REJECTED)
    assert [b.resolution for b in _blocks(db, 1)] == ["overridden", "overridden"]
    assert [b.resolution for b in _blocks(db, 2)] == ["closed", "closed"]


@pytest.mark.parametrize("end", [DecisionStatus.REJECTED, "superseded"])
def test_rejected_or_superseded_before_an_outcome_leaves_forecasts_unscored(
    db: Database, end: str
) -> None:
    create(db, deciders=[DECIDER])
    _forecast(db, 1, AUTHOR, 75)
    _forecast(db, 1, DECIDER, 25)
    with db.session() as s:
        if end == "superseded":
            create_decision(
                s,
                team_id=TEAM,
                author_id=AUTHOR,
                draft=draft(title="Another way"),
                channel_private=False,
                supersedes_number=1,
            )
        else:
            change_status(s, team_id=TEAM, number=1, actor_id=DECIDER, to=DecisionStatus.REJECTED)
    assert [(f.state, f.brier) for f in _forecasts(db, 1)] == [
        (ForecastState.UNSCORED, None),
        (ForecastState.UNSCORED, None),
    ]


def test_deprecated_keeps_forecasts_pending(db: Database) -> None:
    create(db, deciders=[DECIDER], status=DecisionStatus.ACCEPTED)
    _forecast(db, 1, AUTHOR, 75)
    with db.session() as s:
        change_status(s, team_id=TEAM, number=1, actor_id=DECIDER, to=DecisionStatus.DEPRECATED)
    assert [f.state for f in _forecasts(db, 1)] == [ForecastState.PENDING]


def _answer(db: Database, number: int, outcome: Outcome, who: str = AUTHOR) -> None:
    now = utcnow()
    with db.session() as s:
        decision = get_decision(s, team_id=TEAM, number=number, for_update=True)
        review = reviews.schedule_review(
            s, decision=decision, due_at=now - timedelta(minutes=1), timezone="UTC", actor_id=AUTHOR
        )
        reviews.open_review(
            s, team_id=TEAM, review_id=review.id or 0, now=now, nudge_at=now + timedelta(days=3)
        )
    with db.session() as s:
        review_answers.record_outcome(
            s, team_id=TEAM, review_id=review.id or 0, user_id=who, outcome=outcome
        )


def test_the_first_outcome_scores_every_pending_forecast_and_a_later_one_changes_nothing(
    db: Database,
) -> None:
    create(db, deciders=[DECIDER], status=DecisionStatus.ACCEPTED)
    _forecast(db, 1, AUTHOR, 90)
    _forecast(db, 1, DECIDER, 40)
    _answer(db, 1, Outcome.PARTLY)
    scored = {f.user_id: (f.state, f.outcome, f.brier) for f in _forecasts(db, 1)}
    assert scored[AUTHOR] == (ForecastState.SCORED, 0.5, pytest.approx(0.16))
    assert scored[DECIDER] == (ForecastState.SCORED, 0.5, pytest.approx(0.01))
    _answer(db, 1, Outcome.WORKED)  # a second round's outcome: the first one scored them
    again = {f.user_id: (f.state, f.outcome, f.brier) for f in _forecasts(db, 1)}
    assert again == scored
