"""Postgres search finds its newest matches one of two ways (walking the table newest-first, or
reading every match through the GIN index behind a materialized CTE), chosen from the planner's
estimate. Both must give exactly the same results, including when the cap widens."""

from __future__ import annotations

import random
from typing import Any

import pytest

from storage import decisions as repo
from storage import search
from storage.db import Database
from storage.decisions import DecisionDraft
from storage.visibility import Viewer

TEAM = "TAAA"
OTHER_TEAM = "TBBB"
USERS = [f"U{i}" for i in range(6)]
WORDS = "kafka postgres redis billing search ledger audit zeppelin".split()
QUERIES = [
    "kafka",
    "postgres",
    "kafka billing",
    "redis OR ledger",
    '"kafka billing"',
    "audit",
    "zeppelin",
    "nowhere",
    "-kafka",
    "",
]

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_database: Database) -> Database:
    """The two plans are Postgres': a database of its own there (no SQLite variant to skip)."""
    return pg_database


def _seed(db: Database, n: int = 80) -> None:
    rng = random.Random(7)
    with db.session() as s:
        for i in range(n):
            team = OTHER_TEAM if i % 7 == 0 else TEAM

            def text(k: int) -> str:
                # Skewed: "kafka" common, "zeppelin" rare.
                return " ".join(rng.choices(WORDS, weights=[8, 5, 3, 4, 2, 2, 1, 0.2], k=k))

            draft = DecisionDraft(
                title=text(2),
                decision=text(4),
                context=text(3),
                channel_id=rng.choice(["CGENERAL", "CPRIV", "COTHER"]),
                deciders=[rng.choice(USERS)],
            )
            repo.create_decision(
                s,
                team_id=team,
                author_id=rng.choice(USERS),
                draft=draft,
                channel_private=rng.random() < 0.6,
            )


def _search(db: Database, query: str, viewer: Viewer) -> list[int]:
    with db.read() as s:
        return [
            d.number for d in search.search_decisions(s, team_id=TEAM, viewer=viewer, query=query)
        ]


@pytest.mark.parametrize("caps", [search.SEARCH_CANDIDATES, (3, 7, -1), (1, 2, -1)])
def test_both_ways_to_the_newest_matches_agree(
    pg: Database, monkeypatch: pytest.MonkeyPatch, caps: tuple[int, ...]
) -> None:
    _seed(pg)
    monkeypatch.setattr(search, "SEARCH_CANDIDATES", caps)
    viewers = [Viewer(u, c) for u in USERS[:3] for c in ("CGENERAL", "CPRIV", None)]
    seen: dict[bool, list[Any]] = {}
    for through_index in (False, True):

        def chosen(matches: float, rows: float, cap: int, flag: bool = through_index) -> bool:
            return flag and cap > 0  # forced one way for every cap that has a newest-first

        monkeypatch.setattr(search, "_read_all_matches", chosen)
        seen[through_index] = [_search(pg, q, v) for q in QUERIES for v in viewers]
    assert seen[True] == seen[False]
    assert any(seen[True])  # the seed does match


def test_a_word_found_nowhere_reads_the_index_not_the_table(pg: Database) -> None:
    _seed(pg)
    with pg.read() as s:
        matches, rows = search._pg_match_estimate(s, team_id=TEAM, query="zeppelinx")
    assert search._read_all_matches(matches, rows, 500)
    assert not search._read_all_matches(matches, rows, -1)


def test_the_choice_follows_the_cost_of_each_way() -> None:
    n = 1_000_000
    assert search._read_all_matches(0, n, 500)  # nothing to read
    assert search._read_all_matches(5_001, n, 500)  # the planner's guess for an unlisted word
    assert search._read_all_matches(9_000, n, 500)  # ~63k index visits beat a ~55k-row walk
    assert not search._read_all_matches(21_000, n, 500)  # a 2% word: the walk stops at ~24k rows
    assert not search._read_all_matches(250_000, n, 500)
    assert search._read_all_matches(50_000, n, 20_000)  # the wider cap walks further
