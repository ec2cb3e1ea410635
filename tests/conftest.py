"""Shared fixtures: a real database (SQLite file, or a real PostgreSQL server), the Slack
Web API emulator, the app served over loopback HTTP, and `/adr` driven over it (``adr``).
Helpers the tests import live in tests/support/.

Postgres: if DECISIONBOT_TEST_POSTGRES_URL is set (``.ci/run`` starts a server and sets it),
tests use that server; otherwise the fixture starts a throwaway cluster from Debian's
postgresql binaries. Postgres tests are skipped only when those binaries are absent.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import text

from storage import review_settings
from storage.db import Database
from tests.support.adr import Adr
from tests.support.harness import BotServer, SlackDriver
from tests.support.pg import PostgresServer, database_of_its_own, postgres_available
from tests.support.slack_emulator import SlackEmulator

TABLES_TO_KEEP = {"alembic_version"}

# How long to wait for the bot's Web API calls. Waiting is not a timing assertion: a loaded CI
# machine may take seconds without anything being wrong (the emulator's own default is 20 s too).
WAIT_SECONDS = 20.0

# Hypothesis fails an example that takes over 200 ms (its default deadline), and a test whose
# data generation is slow (HealthCheck.too_slow): both are wall-clock limits, which a stalled CI
# machine can overrun without anything being wrong. No timing asserts in tests, so neither is
# on by default (a test's own @settings, e.g. its max_examples, still apply on top).
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("DECISIONBOT_TEST_POSTGRES_URL")
    if url:
        # A database of this run's own on the given server: tests truncate every table between
        # them, so two runs sharing one server (two terminals, or helpers) must not share one.
        with database_of_its_own(url, "tests") as own:
            yield own
        return
    if not postgres_available():
        pytest.skip("PostgreSQL server binaries are absent (install Debian's postgresql)")
    server = PostgresServer().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _postgres_db(postgres_url: str) -> Iterator[Database]:
    db = Database(postgres_url)
    db.migrate()
    yield db
    db.dispose()


def _truncate(db: Database) -> None:
    with db.engine.begin() as conn:
        names = [
            r[0]
            for r in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
            if r[0] not in TABLES_TO_KEEP
        ]
        if names:
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # noqa: ANN001
    """A migrated, empty database: a fresh SQLite file, or the shared Postgres one truncated."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'decisionbot.db'}")
        database.migrate()
        yield database
        database.dispose()
        return
    database = request.getfixturevalue("_postgres_db")
    _truncate(database)
    review_settings.forget_cached()  # kept per process for a while: not across tests
    yield database


@pytest.fixture(scope="session")
def _emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emu:
        yield emu


@pytest.fixture
def emulator(_emulator: SlackEmulator) -> SlackEmulator:
    _emulator.reset()
    _emulator.latency = 0.0
    return _emulator


@pytest.fixture(scope="session")
def _tls_emulator() -> Iterator[SlackEmulator]:
    with SlackEmulator(tls=True) as emu:
        yield emu


@pytest.fixture
def tls_emulator(_tls_emulator: SlackEmulator) -> SlackEmulator:
    """The emulator over TLS (issue 28), its certificate trusted by ``client_context()``
    only; no connection open and ``connections_opened`` from 0."""
    _tls_emulator.drop_connections()
    _tls_emulator.reset()
    _tls_emulator.latency = 0.0
    return _tls_emulator


@pytest.fixture
def slack(db: Database, emulator: SlackEmulator) -> Iterator[SlackDriver]:
    """The real app over loopback HTTP, talking to the emulator, on each database."""
    server = BotServer(db, emulator).start()
    try:
        yield SlackDriver(server, emulator)
    finally:
        server.stop()


@pytest.fixture
def adr(
    slack: SlackDriver, emulator: SlackEmulator, db: Database, monkeypatch: pytest.MonkeyPatch
) -> Adr:
    """`/adr` driven over real HTTP against the app, on SQLite and on Postgres."""
    wait_for = functools.partial(SlackEmulator.wait_for, emulator, timeout=WAIT_SECONDS)
    monkeypatch.setattr(emulator, "wait_for", wait_for)
    return Adr(slack, emulator, db)


# -- a database of its own, for tests that run the bot as separate processes ------------------


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[Database]:
    """A fresh, migrated database of its own on the test Postgres server, dropped after."""
    with database_of_its_own(postgres_url, "rundue") as url:
        db = Database(url)
        try:
            db.migrate()
            yield db
        finally:
            db.dispose()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'rundue.db'}")
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_database(request: pytest.FixtureRequest) -> Database:
    name = "pg_database" if request.param == "postgres" else "sqlite_database"
    return request.getfixturevalue(name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything that needs the Postgres server carries the `postgres` marker, so
    `pytest -m "not postgres"` runs without one."""
    for item in items:
        if "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
