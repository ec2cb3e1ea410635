"""Count every statement the process sends to its databases, for the per-interaction budgets
(``tests/e2e/test_statement_budgets.py``, ``benchmarks/interaction_profile.py``).

A statement is what reaches the server (or SQLite): every cursor execute, the transaction's
BEGIN (explicit on SQLite, where ``storage.db`` sends it; psycopg sends it implicitly before
the first statement on Postgres), its COMMIT or ROLLBACK, and a liveness ping on checkout if
an engine has SQLAlchemy's ``pool_pre_ping`` on. (``storage.db`` pings a Postgres connection
only once it has been idle for ``Limits.ping_idle_after`` seconds, never within a burst of
work; those pings are not counted.) ``NOTIFY`` and the outbox claims are cursor
executes like any other. Counted for every engine of the process, in every thread, while the
``counting()`` block is open: the caller makes sure nothing else runs meanwhile (no background
dispatcher, no other test).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import Pool

_FIRST_WORD = re.compile(r"\s*(?:/\*.*?\*/\s*)?(\w+)", re.S)


@dataclass
class Statements:
    """What was sent, in order: ``(kind, sql)`` with kind the first keyword (``SELECT``,
    ``INSERT``, ``BEGIN``, ``COMMIT``, ``PING``...)."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, kind: str, sql: str = "") -> None:
        with self._lock:
            self.sent.append((kind, sql))

    @property
    def total(self) -> int:
        return len(self.sent)

    def kinds(self) -> Counter[str]:
        return Counter(kind for kind, _ in self.sent)

    def describe(self) -> str:
        """One line per statement, for a failing budget's message."""
        return "\n".join(f"  {kind:8} {' '.join(sql.split())[:150]}" for kind, sql in self.sent)


def _kind(sql: str) -> str:
    match = _FIRST_WORD.match(sql)
    return match.group(1).upper() if match else "?"


@contextmanager
def counting() -> Iterator[Statements]:
    """Every statement sent by any engine of this process while the block is open."""
    seen = Statements()

    def executed(
        conn: Connection,
        _cursor: Any,
        statement: str,
        _params: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        seen.add(_kind(statement), statement)

    def began(conn: Connection) -> None:
        # SQLite's BEGIN is a cursor execute of its own (storage.db's "begin" listener).
        if conn.dialect.name != "sqlite":
            seen.add("BEGIN")

    def committed(_conn: Connection) -> None:
        seen.add("COMMIT")

    def rolled_back(_conn: Connection) -> None:
        seen.add("ROLLBACK")

    def checked_out(_dbapi: Any, _record: Any, proxy: Any) -> None:
        # The ping is sent before this event, on every checkout of a connection that is not
        # brand new (counted on every one: after the first requests, none is new).
        if proxy._pool._pre_ping:
            seen.add("PING", "SELECT 1 (pool_pre_ping)")

    listeners: list[tuple[type, str, Any]] = [
        (Engine, "before_cursor_execute", executed),
        (Engine, "begin", began),
        (Engine, "commit", committed),
        (Engine, "rollback", rolled_back),
        (Pool, "checkout", checked_out),
    ]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    try:
        yield seen
    finally:
        for target, name, fn in listeners:
            event.remove(target, name, fn)
