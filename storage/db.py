"""Engine and session factory from DATABASE_URL; migrations; schema checks.

SQLite (the embedded default) runs in WAL mode with a busy timeout and foreign keys on, so
several gunicorn workers and the scheduler can share one file. Postgres goes through psycopg 3.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, TypeVarTuple, Unpack

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Row, Select, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@dataclass(frozen=True)
class Limits:
    """How long Postgres may keep a caller waiting, and how many connections a pool holds.

    ``connect_timeout``: seconds to open a connection (libpq counts at least 2), and also the
    longest a caller waits for a free pooled one; ``statement_timeout``: seconds any statement
    may run, or None for no limit (migrations); ``pool_size`` + ``max_overflow``: the most
    connections the engine opens.
    """

    connect_timeout: int = 5
    statement_timeout: float | None = 10
    pool_size: int = 10
    max_overflow: int = 10
    # The dispatcher's own engine (Database.for_dispatch): its deliveries plus the claim loop.
    dispatch_pool_size: int = 10
    # A pooled Postgres connection idle this long is pinged before it is handed out (a
    # dropped one is replaced, not failed on); one used more recently is handed out as is.
    ping_idle_after: float = 5.0


class EngineOptions(TypedDict, total=False):
    """The ``create_engine`` options callers set beyond ``Limits`` (each has a default)."""

    hide_parameters: bool
    pool_pre_ping: bool
    pool_recycle: int
    pool_size: int
    max_overflow: int
    pool_timeout: float


def make_engine(
    url: str, *, limits: Limits | None = None, **kwargs: Unpack[EngineOptions]
) -> Engine:
    """Create the engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys;
    Postgres gets the connect and statement timeouts and the pool bounds of ``limits``.
    Statement parameters (what people typed) never appear in SQLAlchemy's errors or logs."""
    limits = limits or Limits()
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=kwargs.pop("pool_size", 20),
            max_overflow=kwargs.pop("max_overflow", 20),
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin, so that
            # BEGIN IMMEDIATE below really takes the write lock up front.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            # A writing transaction takes the write lock at BEGIN, so concurrent writers queue
            # on busy_timeout instead of failing with "database is locked" when a read lock is
            # upgraded. Read-only sessions (Database.read) begin deferred and never block.
            if conn.get_execution_options().get("readonly"):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # Sent with the connection's startup packet: no extra round trip. Options already in the
    # URL (?options=...) are kept, and come first. JIT is off: our statements are short, and a
    # plan costed above its threshold (the visibility clause's EXISTS raises every estimate)
    # spent 140 ms of a 320 ms `/adr stats workspace 1y` compiling (benchmarks/health.py).
    options = [str(parsed.query.get("options") or ""), "-c jit=off"]
    if limits.statement_timeout:
        options.append(f"-c statement_timeout={max(1, round(limits.statement_timeout * 1000))}")
    connect_args: dict[str, int | str] = {
        "connect_timeout": limits.connect_timeout,
        "options": " ".join(o for o in options if o),
    }
    ping = kwargs.pop("pool_pre_ping", True)
    engine = create_engine(
        url,
        connect_args=connect_args,
        pool_size=kwargs.pop("pool_size", limits.pool_size),
        max_overflow=kwargs.pop("max_overflow", limits.max_overflow),
        pool_timeout=kwargs.pop("pool_timeout", limits.connect_timeout),
        **kwargs,
    )
    if ping:
        _ping_when_idle(engine, limits.ping_idle_after)
    return engine


def _ping_when_idle(engine: Engine, idle_after: float) -> None:
    """SQLAlchemy's ``pool_pre_ping``, only for connections idle ``idle_after`` seconds.

    ``pool_pre_ping`` sends a ``SELECT 1`` on every checkout: two round trips per request,
    since a request checks out a connection per unit of work. A connection used a moment ago
    is alive as far as a ping could tell; one idle for a while (a database restart, a
    firewall's idle timeout) is pinged, and a dead one is replaced before anyone uses it
    (SQLAlchemy's documented "pessimistic" handling: DisconnectionError on checkout)."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_after:
            return  # brand new, or used a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("idle connection failed its ping") from exc
        if not alive:
            raise DisconnectionError("idle connection failed its ping")


class Database:
    """The app's handle on storage: short, explicit units of work.

    Handlers open a unit, do their queries, and leave it before calling Slack, so no database
    transaction (or SQLite write lock) is ever held across a network call.
    """

    def __init__(
        self, url: str, *, limits: Limits | None = None, **engine_kwargs: Unpack[EngineOptions]
    ) -> None:
        self.url = url
        self.limits = limits or Limits()
        self.engine = make_engine(url, limits=self.limits, **engine_kwargs)
        self._read_engine = self.engine.execution_options(readonly=True)
        self._outbox_hooks: list[Callable[[], None]] = []
        # SQLite has one writer at a time. Threads of this process queue on a lock for it
        # (woken as soon as it is free) instead of polling SQLite's busy handler, whose
        # back-off sleeps grow to 100 ms and made the slowest answers wait seconds.
        self._write_lock = threading.RLock() if self.dialect == "sqlite" else nullcontext()

    def for_dispatch(self) -> Database:
        """A handle on the same database for a dispatcher: its own pool, without a ping on
        every checkout (a dropped connection fails one delivery, which is retried), and the
        same outbox hooks, so a commit through either handle wakes the dispatcher."""
        if self.dialect != "postgresql":
            return self
        sibling = Database(
            self.url,
            limits=self.limits,
            pool_pre_ping=False,
            pool_recycle=1800,
            pool_size=self.limits.dispatch_pool_size,
            max_overflow=0,
            # Dispatcher threads are not answering Slack: they may wait for a connection.
            pool_timeout=30,
        )
        sibling._outbox_hooks = self._outbox_hooks
        return sibling

    def on_outbox_commit(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Call ``hook`` after every commit that wrote outbox rows (the in-process dispatcher
        wakes up on it). Returns a function that removes the hook."""
        self._outbox_hooks.append(hook)
        return lambda: self._outbox_hooks.remove(hook) if hook in self._outbox_hooks else None

    def committed(self, session: Session) -> None:
        """After ``session`` committed: wake whoever waits for outbox rows it wrote."""
        if session.info.pop("outbox", False):
            for hook in list(self._outbox_hooks):
                hook()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A writing unit of work: commits on success, rolls back on any error."""
        with self._write_lock, Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
        self.committed(session)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work (on SQLite it never takes the write lock)."""
        # Closing (not rolling back) ends the transaction without expiring loaded objects, so
        # they stay readable after the unit for building views.
        with Session(self._read_engine, expire_on_commit=False) as session:
            yield session

    def migrate(self) -> None:
        migrate(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


Ts = TypeVarTuple("Ts")


def rows_of(session: Session, stmt: Select[*Ts]) -> Sequence[Row[*Ts]]:
    """Every row of a select of several columns, typed by its columns.

    SQLModel's ``Session.execute`` is declared to return untyped rows (it would have us use
    ``session.exec``, typed for at most four columns); SQLAlchemy's own ``Session.execute``,
    which SQLModel's calls and nothing more, carries the select's column types. One entity or
    one column: ``session.scalars(select(...))``."""
    return OrmSession.execute(session, stmt).all()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest schema (``decisionbot migrate``)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def ping(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@contextmanager
def statements_sent(
    engine: Engine, keep: Callable[[str], bool] | None = None
) -> Iterator[list[tuple[str, object]]]:
    """(SQL, parameters) of each statement sent on ``engine`` while inside (those ``keep``
    accepts): what query-count tests and benchmarks read."""
    seen: list[tuple[str, object]] = []

    def grab(
        _conn: Connection, _cursor: DBAPICursor, statement: str, parameters: object, *_: object
    ) -> None:
        if keep is None or keep(statement):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


def is_select(statement: str) -> bool:
    return statement.lstrip().upper().startswith("SELECT")
