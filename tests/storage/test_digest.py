"""``storage.digest.gather`` on a real database (SQLite and Postgres, ``db``): the number of
statements does not grow with the data, and an unknown section is refused.

The week is ``[START, END)`` with END an hour from now, so rows made now fall in it; rows meant
to be elsewhere are moved in time with a plain UPDATE (``move``, tests/support/digest.py).
"""

from __future__ import annotations

import pytest

from storage.db import Database, is_select, statements_sent
from storage.digest import QUERIES, Coverage, DigestData, gather
from storage.models import DigestSection
from tests.support.digest import END, EVERYTHING, START, TEAM, TODAY, WORKSPACE, _bulk_decisions


def _statements(db: Database, coverage: Coverage) -> tuple[int, DigestData]:
    with db.read() as s:
        with statements_sent(db.engine, is_select) as seen:
            data = gather(
                s, coverage=coverage, start=START, end=END, sections=EVERYTHING, today=TODAY
            )
    return len(seen), data


def test_the_number_of_statements_does_not_grow_with_the_digest(db: Database) -> None:
    _bulk_decisions(db, 5, "CFEW")
    _bulk_decisions(db, 500, "CMANY")
    few, few_data = _statements(db, Coverage(TEAM, "CFEW"))
    many, many_data = _statements(db, Coverage(TEAM, "CMANY"))
    assert few_data.decisions is not None and few_data.decisions.recorded.total == 5
    assert many_data.decisions is not None and many_data.decisions.recorded.total == 500
    assert many_data.reviews is not None and many_data.reviews.dissent_decisions == 500
    assert few == many == sum(QUERIES.values())
    with db.read() as s, statements_sent(db.engine, is_select) as seen:
        gather(s, coverage=WORKSPACE, start=START, end=END, sections=["decisions"], today=TODAY)
    assert len(seen) == QUERIES[DigestSection.DECISIONS]


def test_an_unknown_section_is_refused(db: Database) -> None:
    with db.read() as s, pytest.raises(ValueError):
        gather(s, coverage=WORKSPACE, start=START, end=END, sections=["gossip"], today=TODAY)
