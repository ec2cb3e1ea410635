"""storage/forecasts.py: one forecast per person and decision, saved idempotently and privately
(no history event), scored with a Brier score at the first outcome or left unscored, and read
back as calibration — a person's own, and a team's only with at least 5 forecasters.

Against a real, migrated database: SQLite and PostgreSQL (``db``). The expected numbers are
worked out by hand in each test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, true
from sqlmodel import Session, col

from storage import decisions as repo
from storage.db import Database
from storage.decision_status import change_status
from storage.errors import Conflict, InvalidInput
from storage.forecasts import (
    MIN_FORECASTERS,
    Calibration,
    CalibrationBin,
    calibration,
    forecast_of,
    pending_of,
    save_forecast,
    score_forecasts,
    team_calibration,
    void_forecasts,
)
from storage.models import (
    Decision,
    DecisionStatus,
    Forecast,
    ForecastSource,
    ForecastState,
    Outcome,
    Review,
)
from tests.support.decisions import AUTHOR, OTHER_TEAM, TEAM, count, create, events_of

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _forecast(
    db: Database,
    number: int,
    user_id: str,
    probability: int,
    *,
    team: str = TEAM,
    source: ForecastSource = ForecastSource.ADDED,
) -> bool:
    with db.session() as s:
        decision = repo.get_decision(s, team_id=team, number=number, for_update=True)
        _, changed = save_forecast(
            s, decision=decision, user_id=user_id, probability=probability, source=source
        )
    return changed


def _score(db: Database, number: int, outcome: Outcome, *, team: str = TEAM) -> int:
    with db.session() as s:
        decision = repo.get_decision(s, team_id=team, number=number, for_update=True)
        rounds = s.scalars(select(Review).where(col(Review.decision_id) == decision.id)).all()
        review = Review(
            team_id=team,
            decision_id=decision.id,
            round=len(rounds) + 1,
            due_at=NOW,
            state="answered",
            outcome=outcome,
        )
        s.add(review)
        s.flush()
        return score_forecasts(s, decision=decision, review=review, outcome=outcome, now=NOW)


def _rows(db: Database) -> list[Forecast]:
    with db.read() as s:
        return list(s.scalars(select(Forecast).order_by(col(Forecast.id))).all())


def _imported(s: Session, decision: Decision, probability: int, outcome: float) -> None:
    """A scored forecast read back from an ADR file: it names nobody."""
    s.add(
        Forecast(
            team_id=decision.team_id,
            decision_id=decision.id or 0,
            user_id=None,
            probability=probability,
            source=ForecastSource.IMPORT,
            state=ForecastState.SCORED,
            outcome=outcome,
            brier=(probability / 100 - outcome) ** 2,
            scored_at=NOW,
        )
    )


# -- Brier scores and calibration ------------------------------------------------------------


def test_brier_scores_and_calibration_bins_on_known_data(db: Database) -> None:
    for _ in range(4):
        create(db)
    # ADR-1 worked, ADR-2 partly, ADR-3 didn't work; ADR-4 has no outcome yet.
    _forecast(db, 1, "UANN", 75)
    _forecast(db, 2, "UANN", 75)
    _forecast(db, 3, "UANN", 10)
    _forecast(db, 4, "UANN", 90)
    _forecast(db, 1, "UBOB", 40)
    assert _score(db, 1, Outcome.WORKED) == 2
    assert _score(db, 2, Outcome.PARTLY) == 1
    assert _score(db, 3, Outcome.DIDNT_WORK) == 1

    by_decision = {
        (f.decision_id, f.user_id): (f.state, f.outcome, f.brier, f.scored_at) for f in _rows(db)
    }
    ids = {n: repo_id(db, n) for n in (1, 2, 3, 4)}
    # (0.75 - 1)^2 = 0.0625; (0.75 - 0.5)^2 = 0.0625; (0.10 - 0)^2 = 0.01; (0.40 - 1)^2 = 0.36
    expected = {
        (ids[1], "UANN"): ("scored", 1.0, 0.0625),
        (ids[2], "UANN"): ("scored", 0.5, 0.0625),
        (ids[3], "UANN"): ("scored", 0.0, 0.01),
        (ids[4], "UANN"): ("pending", None, None),
        (ids[1], "UBOB"): ("scored", 1.0, 0.36),
    }
    assert set(by_decision) == set(expected)
    for key, (state, outcome, brier) in expected.items():
        got_state, got_outcome, got_brier, scored_at = by_decision[key]
        assert (got_state, got_outcome) == (state, outcome)
        if brier is None:
            assert got_brier is None and scored_at is None
        else:
            assert got_brier == pytest.approx(brier)
            assert scored_at == NOW

    with db.read() as s:
        ann = calibration(s, team_id=TEAM, user_id="UANN")
        bob = calibration(s, team_id=TEAM, user_id="UBOB")
        nobody = calibration(s, team_id=TEAM, user_id="UCAROL")
    # Ann: at 10% one forecast, came true 0 times; at 75% two, worked + partly = 0.75.
    assert ann.bins == (
        CalibrationBin(probability=10, count=1, came_true=0.0),
        CalibrationBin(probability=75, count=2, came_true=0.75),
    )
    assert (ann.scored, ann.forecasters) == (3, 1)
    assert ann.brier == pytest.approx((0.0625 + 0.0625 + 0.01) / 3)  # 0.045
    assert bob.bins == (CalibrationBin(probability=40, count=1, came_true=1.0),)
    assert bob.brier == pytest.approx(0.36)
    assert nobody == Calibration(bins=(), scored=0, forecasters=0, brier=None)


def repo_id(db: Database, number: int) -> int:
    with db.read() as s:
        decision_id = repo.get_decision(s, team_id=TEAM, number=number).id
    assert decision_id is not None
    return decision_id


def test_scoring_only_touches_pending_forecasts_once(db: Database) -> None:
    create(db)
    _forecast(db, 1, "UANN", 60)
    assert _score(db, 1, Outcome.DIDNT_WORK) == 1
    # A later review (or the same answer again) scores nothing more.
    assert _score(db, 1, Outcome.WORKED) == 0
    [row] = _rows(db)
    assert (row.outcome, row.brier) == (0.0, pytest.approx(0.36))


# -- team calibration ------------------------------------------------------------------------


def test_team_calibration_needs_five_forecasters(db: Database) -> None:
    create(db)  # ADR-1 in #general
    create(db, channel_id="COTHER")  # ADR-2 elsewhere
    people = [f"UPERSON{i}" for i in range(MIN_FORECASTERS)]
    for person in people[:4]:
        _forecast(db, 1, person, 90)
    _forecast(db, 2, people[4], 50)  # the fifth, on a decision outside the channel
    _forecast(db, 1, "ULATE", 25)
    assert _score(db, 1, Outcome.WORKED) == 5
    assert _score(db, 2, Outcome.PARTLY) == 1
    with db.session() as s:
        decision = repo.get_decision(s, team_id=TEAM, number=1)
        for _ in range(3):  # imported forecasts name nobody: not forecasters, left out
            _imported(s, decision, 10, 0.0)
    create(db)  # ADR-3: a pending forecast never counts
    _forecast(db, 3, people[4], 95)

    in_general = col(Decision.channel_id) == "CGENERAL"
    with db.read() as s:
        # five people's scored forecasts in #general (UPERSON0..3 and ULATE)
        channel = team_calibration(s, team_id=TEAM, decisions=in_general)
        workspace = team_calibration(s, team_id=TEAM, decisions=true())
        other_team = team_calibration(s, team_id=OTHER_TEAM, decisions=true())
    assert channel is not None
    # #general: four at 90% and one at 25%, all worked; the imported ones are left out.
    assert channel.bins == (
        CalibrationBin(probability=25, count=1, came_true=1.0),
        CalibrationBin(probability=90, count=4, came_true=1.0),
    )
    assert (channel.scored, channel.forecasters) == (5, 5)
    # Brier: 4 x (0.9 - 1)^2 + (0.25 - 1)^2 = 0.04 + 0.5625 = 0.6025, over 5
    assert channel.brier == pytest.approx(0.6025 / 5)
    assert workspace is not None
    assert (workspace.scored, workspace.forecasters) == (6, 6)
    assert workspace.bins[1] == CalibrationBin(probability=50, count=1, came_true=0.5)
    assert other_team is None


def test_team_calibration_is_none_under_five_and_present_at_five(db: Database) -> None:
    create(db)
    for i in range(MIN_FORECASTERS - 1):
        _forecast(db, 1, f"UPERSON{i}", 75)
    _score(db, 1, Outcome.WORKED)
    with db.session() as s:
        decision = repo.get_decision(s, team_id=TEAM, number=1)
        _imported(s, decision, 75, 1.0)  # a fifth forecast, but nobody's
    create(db)
    _forecast(db, 2, "UPERSON4", 75)  # a fifth person, not scored yet
    with db.read() as s:
        assert team_calibration(s, team_id=TEAM, decisions=true()) is None
    _score(db, 2, Outcome.DIDNT_WORK)
    with db.read() as s:
        team = team_calibration(s, team_id=TEAM, decisions=true())
        # a clause that leaves out ADR-2 leaves four people again
        narrowed = team_calibration(s, team_id=TEAM, decisions=col(Decision.number) == 1)
    assert team is not None
    # four of five 75% forecasts worked: came true 0.8
    assert team.bins == (CalibrationBin(probability=75, count=5, came_true=0.8),)
    assert (team.scored, team.forecasters) == (5, 5)
    # 4 x (0.75 - 1)^2 + (0.75 - 0)^2 = 0.25 + 0.5625 = 0.8125, over 5
    assert team.brier == pytest.approx(0.8125 / 5)
    assert narrowed is None


# -- saving ----------------------------------------------------------------------------------


def test_saving_the_same_forecast_again_changes_nothing(db: Database) -> None:
    create(db)
    assert _forecast(db, 1, "UANN", 60, source=ForecastSource.STANCE) is True
    [first] = _rows(db)
    assert _forecast(db, 1, "UANN", 60) is False
    [again] = _rows(db)
    assert (again.probability, again.source, again.updated_at) == (
        60,
        "stance",
        first.updated_at,
    )
    assert _forecast(db, 1, "UANN", 90) is True
    [changed] = _rows(db)
    assert (changed.id, changed.probability, changed.source, changed.state) == (
        first.id,
        90,
        "added",
        "pending",
    )
    assert count(db, Forecast) == 1
    # private until scored: nothing in the history others read
    assert [e.kind for e in events_of(db, 1)] == ["created"]
    with db.read() as s:
        decision = repo.get_decision(s, team_id=TEAM, number=1)
        mine = forecast_of(s, decision=decision, user_id="UANN")
        theirs = forecast_of(s, decision=decision, user_id="UBOB")
    assert mine is not None and mine.probability == 90
    assert theirs is None


def test_save_returns_the_saved_row(db: Database) -> None:
    create(db)
    with db.session() as s:
        decision = repo.get_decision(s, team_id=TEAM, number=1, for_update=True)
        row, changed = save_forecast(
            s,
            decision=decision,
            user_id="UANN",
            probability=25,
            source=ForecastSource.DECISION_FORM,
        )
        assert changed is True
        assert (row.user_id, row.probability, row.source, row.state) == (
            "UANN",
            25,
            "decision",
            "pending",
        )
        row, changed = save_forecast(
            s, decision=decision, user_id="UANN", probability=40, source=ForecastSource.ADDED
        )
        assert (changed, row.probability) == (True, 40)


@pytest.mark.parametrize("probability", [0, 5, 33, 99, 100])
def test_a_probability_off_the_scale_is_refused(db: Database, probability: int) -> None:
    create(db)
    with pytest.raises(InvalidInput) as refused:
        _forecast(db, 1, "UANN", probability)
    assert str(refused.value) == "Pick one of 10, 25, 40, 50, 60, 75, 90 or 95%."
    assert count(db, Forecast) == 0


def test_no_forecast_once_scored_or_closed(db: Database) -> None:
    create(db)
    _forecast(db, 1, "UANN", 75)
    _score(db, 1, Outcome.WORKED)
    with pytest.raises(Conflict) as scored:
        _forecast(db, 1, "UBOB", 50)
    assert "ADR-1" in str(scored.value)
    with pytest.raises(Conflict):  # nor change a scored one
        _forecast(db, 1, "UANN", 95)

    create(db)
    with db.session() as s:
        change_status(
            s, team_id=TEAM, number=2, actor_id=AUTHOR, to=DecisionStatus.REJECTED, note=""
        )
    with pytest.raises(Conflict) as closed:
        _forecast(db, 2, "UBOB", 50)
    assert str(closed.value) == "ADR-2 is rejected, so it takes no more forecasts."
    assert [(f.user_id, f.probability, f.state) for f in _rows(db)] == [("UANN", 75, "scored")]


def test_an_accepted_decision_takes_forecasts(db: Database) -> None:
    create(db)
    with db.session() as s:
        change_status(s, team_id=TEAM, number=1, actor_id=AUTHOR, to=DecisionStatus.ACCEPTED)
    assert _forecast(db, 1, "UANN", 95) is True


# -- voiding and the pending list ------------------------------------------------------------


def test_void_leaves_pending_forecasts_unscored(db: Database) -> None:
    create(db)
    create(db)
    _forecast(db, 1, "UANN", 75)
    _forecast(db, 1, "UBOB", 25)
    _forecast(db, 2, "UANN", 50)
    with db.session() as s:
        decision = repo.get_decision(s, team_id=TEAM, number=1, for_update=True)
        assert void_forecasts(s, decision=decision) == 2
    with db.session() as s:
        decision = repo.get_decision(s, team_id=TEAM, number=1, for_update=True)
        assert void_forecasts(s, decision=decision) == 0
    assert _score(db, 1, Outcome.WORKED) == 0  # unscored stays unscored
    states = {(f.decision_id, f.user_id): (f.state, f.outcome, f.brier) for f in _rows(db)}
    assert states == {
        (repo_id(db, 1), "UANN"): ("unscored", None, None),
        (repo_id(db, 1), "UBOB"): ("unscored", None, None),
        (repo_id(db, 2), "UANN"): ("pending", None, None),
    }
    with db.read() as s:
        assert calibration(s, team_id=TEAM, user_id="UANN").scored == 0


def test_pending_of_lists_only_the_persons_own_pending_forecasts(db: Database) -> None:
    for _ in range(4):
        create(db)
    create(db, team=OTHER_TEAM)
    _forecast(db, 1, "UANN", 75)
    _forecast(db, 2, "UANN", 25)
    _forecast(db, 3, "UANN", 40)
    _forecast(db, 4, "UBOB", 60)  # someone else's
    _forecast(db, 1, "UANN", 50, team=OTHER_TEAM)  # another workspace
    _score(db, 2, Outcome.PARTLY)  # scored: no longer pending
    _forecast(db, 1, "UANN", 90)  # changed last: newest
    with db.read() as s:
        pending = pending_of(s, team_id=TEAM, user_id="UANN")
    assert [(d.number, f.probability) for d, f in pending] == [(1, 90), (3, 40)]


def test_pending_of_stops_at_twenty(db: Database) -> None:
    for _ in range(22):
        create(db)
    with db.session() as s:
        for number in range(1, 23):
            decision = repo.get_decision(s, team_id=TEAM, number=number)
            forecast, _ = save_forecast(
                s, decision=decision, user_id="UANN", probability=50, source=ForecastSource.ADDED
            )
            # the same transaction's clock: order by the stated time, newest first
            forecast.updated_at = NOW + timedelta(minutes=number)
            s.add(forecast)
    with db.read() as s:
        pending = pending_of(s, team_id=TEAM, user_id="UANN")
    assert [d.number for d, _ in pending] == list(range(22, 2, -1))
