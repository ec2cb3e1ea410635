"""Postgres connections are pinged only after being idle (storage.db._ping_when_idle): a
connection the server dropped while it sat in the pool is replaced before a request uses it,
and one used a moment ago is handed out without a round trip."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from storage.db import Database, Limits
from tests.support.pg import database_of_its_own


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    with database_of_its_own(postgres_url, "ping") as url:
        db = Database(url, limits=Limits(ping_idle_after=0.3))
        try:
            yield db
        finally:
            db.dispose()


def _backend_pid(db: Database) -> int:
    with db.read() as session:
        return int(session.scalars(text("SELECT pg_backend_pid()")).one())


def test_a_connection_dropped_while_idle_is_replaced_before_anyone_uses_it(
    pg: Database, postgres_url: str
) -> None:
    first = _backend_pid(pg)
    admin = Database(postgres_url)
    try:
        with admin.engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            conn.commit()
    finally:
        admin.dispose()
    time.sleep(0.4)  # idle past ping_idle_after: the checkout pings, finds it dead
    second = _backend_pid(pg)  # no error: a new connection
    assert second != first


def test_a_connection_used_a_moment_ago_is_not_pinged_and_an_idle_one_is(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    real_ping = pg.engine.dialect.do_ping

    def counted_ping(dbapi: object) -> bool:
        pings.append(dbapi)
        return real_ping(dbapi)  # type: ignore[arg-type]  # the connection psycopg gave

    monkeypatch.setattr(pg.engine.dialect, "do_ping", counted_ping)
    _backend_pid(pg)  # a new connection: never pinged
    _backend_pid(pg)  # used a moment ago
    assert pings == []
    time.sleep(0.4)
    _backend_pid(pg)
    assert len(pings) == 1
