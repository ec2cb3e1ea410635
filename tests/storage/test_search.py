"""storage/search.py: title matches first, hostile input never raises, quotes and operators
still find, OR reads alike on both databases.

Against a real, migrated database: SQLite and PostgreSQL (``db``). Nothing is mocked: every test
goes through ``Database.session()`` / ``Database.read()`` the way the listeners do, so commits,
rollbacks, locks and dialect differences are all real.
"""

from __future__ import annotations

import pytest

from storage.db import Database
from storage.visibility import Viewer
from tests.support.decisions import AUTHOR, OTHER_TEAM, TEAM, create, search


def test_search_ranks_title_matches_first(db: Database) -> None:
    create(db, title="Adopt Kafka for events", decision="We adopt it.")  # 1
    create(
        db, title="Queue choice", decision="We pick RabbitMQ.", context="Kafka was too heavy."
    )  # 2
    create(db, title="Unrelated", decision="Tabs over spaces.")  # 3
    create(db, title="Consequences", decision="Keep it.", consequences="More kafka ops.")  # 4
    viewer = Viewer(AUTHOR, "CGENERAL")
    with db.read() as s:
        found = [d.number for d in search(s, "kafka", viewer)]
        assert found[0] == 1
        assert sorted(found) == [1, 2, 4]
        # Stemming/prefixes: "events" is found by "event"
        assert [d.number for d in search(s, "event", viewer)] == [1]
        # A quoted phrase is a phrase
        assert [d.number for d in search(s, '"tabs over spaces"', viewer)] == [3]
        assert search(s, '"spaces over tabs"', viewer) == []
        assert search(s, "kafka", viewer, team=OTHER_TEAM) == []


HOSTILE = [
    '"',
    '""',
    '"""',
    '"unbalanced',
    'kafka"',
    "'",
    "kafka' OR '1'='1",
    "kafka OR postgres",
    "OR",
    "AND NOT",
    "NEAR(",
    "NEAR(kafka postgres, 2)",
    "kafka*",
    "*",
    "-kafka",
    "-",
    "^kafka",
    "^",
    "title:kafka",
    "{title}: kafka",
    "(kafka",
    "kafka)",
    "a & b | !c <-> d",
    "!!",
    ":*",
    "'; DROP TABLE decisions; --",
    "1; SELECT * FROM decisions",
    "%",
    "_",
    "\\",
    "",
    "   ",
    "\t\n",
    "k" * 10_000,
    "kafka " * 2_000,
    "Kafka ünïcödé 日本語 🚀 ﷽ \u200b\u202e",
    "ｋａｆｋａ",
    "\x00kafka",
    "kafka\x00",
    "\x00",
]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_search_never_raises_on_hostile_input(db: Database, query: str) -> None:
    create(db, title="Adopt Kafka", decision="Kafka for events; ünïcödé text.")
    create(db, team=OTHER_TEAM, title="Adopt Kafka", decision="Kafka for events.")
    with db.read() as s:
        found = search(s, query, Viewer(AUTHOR, "CGENERAL"))
    assert all(d.team_id == TEAM for d in found)
    assert [d.number for d in found] in ([], [1])


def test_search_with_quotes_and_operators_still_finds(db: Database) -> None:
    create(db, title="Adopt Kafka", decision="Kafka for events.")
    viewer = Viewer(AUTHOR, "CGENERAL")
    with db.read() as s:
        for query in ('"kafka"', 'kafka"', "kafka*", "kafka'", "(kafka)", "kafka;"):
            assert [d.number for d in search(s, query, viewer)] == [1], query


def test_search_reads_or_alike_on_both_databases(db: Database) -> None:
    create(db, title="Adopt Kafka", decision="Kafka for events.")  # 1
    create(db, title="Pizza Fridays", decision="Pizza it is.")  # 2
    create(db, title="Event sourcing", decision="Store every change.")  # 3
    viewer = Viewer(AUTHOR, "CGENERAL")
    with db.read() as s:
        assert sorted(d.number for d in search(s, '"event sourcing" OR pizza', viewer)) == [2, 3]
        assert sorted(d.number for d in search(s, "kafka OR pizza", viewer)) == [1, 2]
        assert search(s, "kafka pizza", viewer) == []  # adjacent words must all match
