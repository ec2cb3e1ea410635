"""Decision health in ADR files (issue 25), on SQLite and a real Postgres (``db``): doors and
scored forecasts — never who made them — go into the export and come back on import; a
forecast not scored yet (pending, or left unscored by a rejection) is in no exported file; an
imported file with them still comes back byte for byte. Through the real storage functions,
parser, import and export; nothing is mocked.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from adr_files import parse
from adr_files.records import ForecastRecord
from storage import decisions as repo
from storage import review_answers, reviews
from storage.adr_export_files import INDEX, export_files
from storage.db import Database
from storage.decision_status import change_status
from storage.forecasts import save_forecast
from storage.models import (
    Decision,
    DecisionStatus,
    Forecast,
    ForecastSource,
    ForecastState,
    Outcome,
    SlackUser,
)
from tests.support.adr_import import (
    ANA,
    BOB,
    CARL,
    DANA,
    OTHER,
    TEAM,
    Source,
    adr,
    by_number,
    create_in_slack,
    run_import,
    source,
)

DUE = datetime(2026, 6, 1, 10, tzinfo=UTC)


def _forecast(db: Database, number: int, user_id: str, probability: int) -> None:
    with db.session() as s:
        decision = repo.get_decision(s, team_id=TEAM, number=number, for_update=True)
        save_forecast(
            s,
            decision=decision,
            user_id=user_id,
            probability=probability,
            source=ForecastSource.ADDED,
        )


def _answer(db: Database, number: int, outcome: Outcome) -> None:
    """The decision's review, asked and answered by its author (ANA)."""
    with db.session() as s:
        decision = repo.get_decision(s, team_id=TEAM, number=number)
        review = reviews.schedule_review(
            s, decision=decision, due_at=DUE, timezone="UTC", actor_id=ANA
        )
        assert review.id is not None
        reviews.open_review(
            s, team_id=TEAM, review_id=review.id, now=DUE, nudge_at=DUE + timedelta(days=3)
        )
        review_answers.record_outcome(
            s, team_id=TEAM, review_id=review.id, user_id=ANA, outcome=outcome, now=DUE
        )


def _seed(db: Database) -> None:
    """ADR-1: a one-way door, three forecasts scored by a "partly"; ADR-2: a two-way door,
    a forecast still pending; ADR-3: a forecast left unscored (rejected); ADR-4: nothing."""
    with db.session() as s:
        s.add(SlackUser(team_id=TEAM, user_id=ANA, name="Ana Lima"))
    create_in_slack(db, "Use Postgres", deciders=[ANA], door="one_way", forecast=75)
    _forecast(db, 1, BOB, 40)
    _forecast(db, 1, CARL, 95)
    _answer(db, 1, Outcome.PARTLY)
    create_in_slack(db, "Use Kafka", deciders=[ANA], door="two_way")
    _forecast(db, 2, CARL, 90)
    create_in_slack(db, "Use Redis", deciders=[ANA])
    _forecast(db, 3, DANA, 60)
    with db.session() as s:
        change_status(s, team_id=TEAM, number=3, actor_id=ANA, to=DecisionStatus.REJECTED)
    create_in_slack(db, "Use S3", deciders=[ANA])


def _export(db: Database, fmt: str, team: str = TEAM) -> dict[str, str]:
    with db.read() as s:
        return dict(export_files(s, team_id=team, fmt=fmt))


def _scored(db: Database, team: str) -> list[tuple[int, int, float, float, str | None, str]]:
    """(number, probability, outcome, brier, user, source) of the workspace's scored ones."""
    with db.read() as s:
        rows = s.execute(
            select(
                col(Decision.number),
                col(Forecast.probability),
                col(Forecast.outcome),
                col(Forecast.brier),
                col(Forecast.user_id),
                col(Forecast.source),
            )
            .join(Decision, col(Decision.id) == col(Forecast.decision_id))
            .where(col(Forecast.team_id) == team, col(Forecast.state) == ForecastState.SCORED.value)
        ).all()
    return sorted((n, p, float(o), round(float(b), 6), u, src) for n, p, o, b, u, src in rows)


@pytest.mark.parametrize("fmt", ["madr", "nygard"])
def test_doors_and_scored_forecasts_round_trip_without_who_made_them(db: Database, fmt: str):
    _seed(db)
    exported = _export(db, fmt)
    first = next(text for name, text in exported.items() if name.startswith("0001-"))
    if fmt == "madr":
        assert (
            "door: one-way\n"
            "forecasts:\n"
            "- probability: 40\n"
            "  outcome: partly\n"
            "- probability: 75\n"
            "  outcome: partly\n"
            "- probability: 95\n"
            "  outcome: partly\n"
        ) in first
    else:
        assert "- Door: one-way\n- Forecasts: 40% partly, 75% partly, 95% partly\n" in first
    # nobody who only forecast is named anywhere: the forecasts carry no one
    assert all(
        BOB not in text and CARL not in text and DANA not in text for text in exported.values()
    )

    # into an empty workspace: the same doors and scored forecasts, nobody's
    files = [
        Source(name, str(i), parse.parse_text(text, file_name=name), text)
        for i, (name, text) in enumerate(sorted(exported.items()))
        if name != INDEX
    ]
    report = run_import(db, files, team=OTHER)
    assert report.problems == [] and len(report.created) == 4
    doors = {n: d.door for n, d in by_number(db, OTHER).items()}
    assert doors == {1: "one_way", 2: "two_way", 3: None, 4: None}
    # (0.40 - 0.5)^2 = 0.01, (0.75 - 0.5)^2 = 0.0625, (0.95 - 0.5)^2 = 0.2025
    assert _scored(db, TEAM) == [
        (1, 40, 0.5, 0.01, BOB, "added"),
        (1, 75, 0.5, 0.0625, ANA, "decision"),
        (1, 95, 0.5, 0.2025, CARL, "added"),
    ]
    assert _scored(db, OTHER) == [
        (1, 40, 0.5, 0.01, None, "import"),
        (1, 75, 0.5, 0.0625, None, "import"),
        (1, 95, 0.5, 0.2025, None, "import"),
    ]
    with db.read() as s:
        assert (
            s.scalars(select(col(Forecast.state)).where(col(Forecast.team_id) == OTHER)).all()
            == ["scored"] * 3
        )
    # and out again: the same files
    assert _export(db, fmt, team=OTHER) == exported


@pytest.mark.parametrize("fmt", ["madr", "nygard"])
def test_a_forecast_not_scored_is_in_no_exported_file(db: Database, fmt: str):
    _seed(db)
    with db.read() as s:
        states = dict(
            s.execute(
                select(col(Forecast.probability), col(Forecast.state)).where(
                    col(Forecast.probability).in_([90, 60])
                )
            ).all()
        )
    assert states[90] == "pending"  # ADR-2's
    assert states[60] != "scored"  # ADR-3's, rejected before any outcome
    for name, text in _export(db, fmt).items():
        assert "90" not in text and "60" not in text, name
        if not name.startswith("0001-"):
            assert "orecast" not in text, name
    with db.read() as s:  # `/adr export 2`: one decision alone
        [(_name, text)] = export_files(s, team_id=TEAM, fmt=fmt, number=2)
    assert "door: two-way" in text or "- Door: two-way" in text
    assert "orecast" not in text


def test_an_imported_file_with_them_comes_back_byte_for_byte(db: Database, tmp_path: Path):
    # written by hand: keys in its own order, forecasts not in the bot's order, a key of its own
    text = (
        "---\n"
        "forecasts:\n"
        "  - {probability: 90, outcome: worked}\n"
        "  - {probability: 25, outcome: didn't work}\n"
        "status: accepted\n"
        "nav_order: 3\n"
        "door: two-way\n"
        "date: 2025-02-03\n"
        "---\n"
        "\n"
        "# Use feature flags\n"
        "\n"
        "## Decision Outcome\n"
        "\n"
        "We ship behind flags.\n"
    )
    (tmp_path / "0003-use-feature-flags.md").write_text(text)
    files, problems = parse.read_tree(tmp_path)
    assert problems == []
    report = run_import(db, files)
    assert report.problems == []
    [decision] = by_number(db).values()
    assert (decision.door, decision.accepted_at, decision.closed_at) == (
        "two_way",
        datetime(2025, 2, 3, tzinfo=UTC),
        None,
    )
    # (0.9 - 1)^2 = 0.01; (0.25 - 0)^2 = 0.0625
    assert _scored(db, TEAM) == [
        (3, 25, 0.0, 0.0625, None, "import"),
        (3, 90, 1.0, 0.01, None, "import"),
    ]
    assert _export(db, "madr") == {
        "0003-use-feature-flags.md": text,
        INDEX: _export(db, "madr")[INDEX],
    }

    # changed in Slack: house style, the file's keys in its order, its own key kept
    with db.session() as s:
        change_status(s, team_id=TEAM, number=3, actor_id="UBOT", to=DecisionStatus.DEPRECATED)
    after = _export(db, "madr")["0003-use-feature-flags.md"]
    assert after.startswith(
        "---\n"
        "forecasts:\n"
        "- probability: 25\n"
        "  outcome: didn't work\n"
        "- probability: 90\n"
        "  outcome: worked\n"
        "status: deprecated\n"
        "nav_order: 3\n"
        "door: two-way\n"
        "date: 2025-02-03\n"
        "---\n"
    )


def test_an_import_refuses_a_door_or_forecast_the_app_has_no_value_for(db: Database):
    report = run_import(
        db,
        [
            source("0001-a.md", adr(1, "A", door="revolving")),
            source("0002-b.md", adr(2, "B", forecasts=[ForecastRecord(100, "worked")])),
            source("0003-c.md", adr(3, "C", forecasts=[ForecastRecord(50, "maybe")])),
            source("0004-d.md", adr(4, "D", status="rejected", door="one_way")),
        ],
    )
    assert sorted(report.problems) == [
        ("0001-a.md", "door 'revolving' is not one of one_way, two_way"),
        ("0002-b.md", "a forecast of 100% is not between 1 and 99%"),
        ("0003-c.md", "forecast outcome 'maybe' is not one of didnt_work, partly, worked"),
    ]
    [decision] = by_number(db).values()
    assert (decision.number, decision.door, decision.accepted_at, decision.closed_at) == (
        4,
        "one_way",
        None,
        datetime.combine(date(2021, 3, 4), datetime.min.time(), tzinfo=UTC),
    )
    with db.read() as s:
        assert s.scalars(select(Forecast)).all() == []
