"""What `/adr show` and Details say of a decision's door and forecasts: the door, how many
forecasts are scored (their mean and Brier) and how many wait, never whose and never a
waiting forecast's value. Real database (SQLite and Postgres), the real record view."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from bot.features.decisions.record import build_record_blocks
from storage.db import Database
from storage.decision_record import load_record
from storage.decisions import get_decision
from storage.forecasts import save_forecast
from storage.models import (
    DecisionStatus,
    Door,
    Forecast,
    ForecastSource,
    ForecastState,
    utcnow,
)
from tests.support.blocks import text_objects
from tests.support.decisions import AUTHOR, DECIDER, TEAM, create


def _shown(db: Database) -> str:
    with db.read() as s:
        record = load_record(s, decision=get_decision(s, team_id=TEAM, number=1))
    _, blocks = build_record_blocks(record)
    return "\n".join(str(t["text"]) for t in text_objects(blocks))


def test_details_say_the_door_and_counts_forecasts_without_whose(db: Database) -> None:
    create(
        db,
        deciders=[DECIDER],
        door=Door.ONE_WAY,
        decide_by=utcnow().date() + timedelta(days=5),
    )
    text = _shown(db)
    assert "*Door:* one-way (hard to undo)" in text
    assert "*Decide by:* " in text
    assert "*Forecasts:*" not in text  # none yet
    with db.session() as s:
        decision = get_decision(s, team_id=TEAM, number=1, for_update=True)
        for user, p in ((AUTHOR, 90), (DECIDER, 40), ("UCAROL", 75)):
            save_forecast(
                s, decision=decision, user_id=user, probability=p, source=ForecastSource.ADDED
            )
    text = _shown(db)
    assert "*Forecasts:* 3 forecasts waiting for the review" in text
    assert "75%" not in text and "90%" not in text and "40%" not in text
    with db.session() as s:  # two of them scored (as the first review outcome would)
        s.execute(
            update(Forecast)
            .where(col(Forecast.user_id).in_([AUTHOR, DECIDER]))
            .values(state=ForecastState.SCORED, outcome=1.0, brier=0.1)
        )
    text = _shown(db)
    assert "*Forecasts:* 2 scored: 65% on average, Brier 0.10 · 1 forecast waiting" in text
    assert "75%" not in text


def test_an_accepted_decision_shows_no_decide_by_date(db: Database) -> None:
    create(db, status=DecisionStatus.ACCEPTED, decide_by=utcnow().date() + timedelta(days=5))
    assert "*Decide by:*" not in _shown(db)
