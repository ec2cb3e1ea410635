"""Tests for the throwaway PostgreSQL helper in tests/support/pg.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.pg import PostgresServer, postgres_available

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not postgres_available(),
        reason="PostgreSQL server binaries (initdb/pg_ctl/postgres) are absent",
    ),
]

psycopg = pytest.importorskip(
    "psycopg", reason="psycopg 3 not installed (pip install 'psycopg[binary]')"
)

REPO = Path(__file__).resolve().parents[2]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _libpq(url: str) -> str:
    """SQLAlchemy URL -> libpq URL that psycopg.connect accepts."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="module")
def pg():
    with PostgresServer() as server:
        yield server


def test_url_shape(pg):
    assert pg.url == f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/decisionbot"


def test_select_1(pg):
    with psycopg.connect(_libpq(pg.url)) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        assert conn.execute("select current_database()").fetchone() == ("decisionbot",)
        # settings we rely on for speed / benchmarks
        assert conn.execute("show fsync").fetchone() == ("off",)
        assert conn.execute("show max_connections").fetchone() == ("200",)
        assert conn.execute("show listen_addresses").fetchone() == ("127.0.0.1",)


def test_for_update_skip_locked(pg):
    with psycopg.connect(_libpq(pg.url), autocommit=True) as setup:
        setup.execute("drop table if exists jobs")
        setup.execute("create table jobs (id int primary key, done bool not null default false)")
        setup.execute("insert into jobs (id) select generate_series(1, 5)")

    claim = "select id from jobs where not done order by id limit 2 for update skip locked"
    with psycopg.connect(_libpq(pg.url)) as a, psycopg.connect(_libpq(pg.url)) as b:
        got_a = [r[0] for r in a.execute(claim).fetchall()]  # a holds row locks (open txn)
        got_b = [r[0] for r in b.execute(claim).fetchall()]
        assert got_a == [1, 2]
        assert got_b == [3, 4]  # skipped a's locked rows instead of blocking
        a.rollback()
        b.rollback()


def test_create_and_drop_database(pg):
    url = pg.create_database("scratch_db")
    assert url == f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/scratch_db"

    try:
        import sqlalchemy as sa
    except ImportError:
        sa = None
    if sa is not None:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(sa.text("select current_database()")).scalar() == "scratch_db"
        finally:
            engine.dispose()
    else:
        with psycopg.connect(_libpq(url)) as conn:
            assert conn.execute("select current_database()").fetchone() == ("scratch_db",)

    # drop works even with an open connection (WITH (FORCE))
    lingering = psycopg.connect(_libpq(url))
    try:
        pg.drop_database("scratch_db")
    finally:
        lingering.close()
    with psycopg.connect(_libpq(pg.url)) as conn:
        q = "select count(*) from pg_database where datname = 'scratch_db'"
        n = conn.execute(q).fetchone()[0]
    assert n == 0
    pg.drop_database("scratch_db")  # IF EXISTS: no error


def test_stop_removes_tmpdir_and_closes_port():
    server = PostgresServer().start()
    tmpdir, port = server.tmpdir, server.port
    assert tmpdir is not None and tmpdir.is_dir()
    assert _accepts(port)
    # the data dir belongs to the postgres OS user when we run as root
    if os.geteuid() == 0:
        import pwd

        assert (tmpdir / "data").stat().st_uid == pwd.getpwnam("postgres").pw_uid

    server.stop()
    assert not tmpdir.exists()
    assert not _accepts(port)
    server.stop()  # idempotent


def test_cli_prints_url_and_stops_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.pg"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line_holder: list[str] = []
        reader = threading.Thread(
            target=lambda: line_holder.append(proc.stdout.readline()), daemon=True
        )
        reader.start()
        reader.join(30)
        prefix = "postgresql+psycopg://postgres@127.0.0.1:"
        assert line_holder and line_holder[0].startswith(prefix), (line_holder, proc.poll())
        url = line_holder[0].strip()
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with psycopg.connect(_libpq(url)) as conn:
            assert conn.execute("select 1").fetchone() == (1,)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert not _accepts(port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
