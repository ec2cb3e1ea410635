"""storage/health_series.py: `/adr stats`'s figures month by month, on storage/health.py's
hand-built history (``tests.storage.test_health.history``: ``t(n)`` is n days before END,
2026-06-01 12:00 UTC), for a channel, the workspace and a viewer; each month's figures add up
to ``health.flow``'s, on SQLite and PostgreSQL (``db``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.db import Database, is_select, statements_sent
from storage.health import Period, Scope, flow
from storage.health_series import MonthFigures, monthly, months_of
from storage.visibility import Viewer
from tests.storage.test_health import (
    DIDNT,
    END,
    NAMED,
    OTHER,
    PARTLY,
    PRIVATE,
    PRIVATE_AUTHOR,
    PUBLIC,
    TEAM,
    WORKED,
    days,
    history,
)


def series(db: Database, scope: Scope, period_days: int = 90) -> list[MonthFigures]:
    with db.read() as s:
        return monthly(s, scope=scope, period=Period(period_days, END))


def mix(worked: int = 0, partly: int = 0, didnt: int = 0) -> dict[str, int]:
    return {WORKED: worked, PARTLY: partly, DIDNT: didnt}


def test_the_months_a_period_touches() -> None:
    assert months_of(Period(90, END)) == ["2026-03", "2026-04", "2026-05", "2026-06"]
    assert months_of(Period(30, datetime(2026, 6, 1, tzinfo=UTC))) == ["2026-05"]
    year = months_of(Period(365, datetime(2027, 1, 15, tzinfo=UTC)))
    assert year[0] == "2026-01" and year[-1] == "2027-01" and len(year) == 13


# The public channel over 90 days (since 2026-03-03 12:00), by month of acceptance:
# March ADR-4 (lead 115 days, reversed 84 days later) and ADR-5 (20 days): median rank
# ceil(2/2)=1 is 20 days; April ADR-1 (3 days) and ADR-2 (1 day, reversed): 1 day; May ADR-3
# (recorded accepted: no lead time, reversed) and ADR-8 (2 days; superseded after END: not a
# reversal). Outcomes by when answered: R4 partly in March; R1 worked, R2 didn't and R8
# worked in May.
PUBLIC_90 = [
    MonthFigures("2026-03", days(20), 2, 2, 1, mix(partly=1)),
    MonthFigures("2026-04", days(1), 2, 2, 1, mix()),
    MonthFigures("2026-05", days(2), 1, 2, 1, mix(worked=2, didnt=1)),
    MonthFigures("2026-06", None, 0, 0, 0, mix()),
]


def test_a_public_channel_month_by_month(db: Database) -> None:
    history(db)
    assert series(db, Scope(TEAM, PUBLIC)) == PUBLIC_90


@pytest.mark.parametrize(
    "scope",
    [
        Scope(TEAM, PUBLIC),
        Scope(TEAM),
        Scope(TEAM, PRIVATE),
        Scope(TEAM, None, Viewer("UREADER", PUBLIC)),
        Scope(TEAM, None, Viewer("UMEMBER", PRIVATE)),
        Scope(TEAM, PRIVATE, Viewer(PRIVATE_AUTHOR, PUBLIC)),
        Scope(TEAM, None, Viewer(NAMED, OTHER, guest=True)),
    ],
)
@pytest.mark.parametrize("period_days", [30, 90, 365])
def test_the_months_add_up_to_the_flow(db: Database, scope: Scope, period_days: int) -> None:
    history(db)
    months = series(db, scope, period_days)
    with db.read() as s:
        total = flow(s, scope=scope, period=Period(period_days, END))
    assert sum(m.accepted for m in months) == total.accepted
    assert sum(m.reversed_ for m in months) == total.reversed_
    assert sum(m.lead_decisions for m in months) == total.lead_decisions
    for outcome, count in total.outcomes.items():
        assert sum(m.outcomes[outcome] for m in months) == count


def test_a_private_channel_counts_only_asked_from_inside(db: Database) -> None:
    history(db)
    # ADR-11 accepted in April (6 days), ADR-12 in May (1 day, reversed); R9 partly in May
    inside = series(db, Scope(TEAM, PRIVATE, Viewer("UMEMBER", PRIVATE)))
    assert [(m.month, m.lead_median, m.reversed_) for m in inside] == [
        ("2026-03", None, 0),
        ("2026-04", days(6), 0),
        ("2026-05", days(1), 1),
        ("2026-06", None, 0),
    ]
    assert inside[2].outcomes == mix(partly=1)
    elsewhere = series(db, Scope(TEAM, PRIVATE, Viewer(PRIVATE_AUTHOR, PUBLIC)))
    assert all(m == MonthFigures(m.month) for m in elsewhere)


def test_three_statements_whatever_the_data(db: Database) -> None:
    scope = Scope(TEAM, None, Viewer("U1", PUBLIC))
    with db.read() as s, statements_sent(db.engine, is_select) as empty:
        monthly(s, scope=scope, period=Period(90, END))
    history(db)
    with db.read() as s, statements_sent(db.engine, is_select) as full:
        monthly(s, scope=scope, period=Period(90, END))
    assert len(empty) == len(full) == 3
