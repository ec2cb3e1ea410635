"""Waking a dispatcher in another process: Postgres ``LISTEN decisionbot_due``.

Every transaction that writes outbox rows sends ``NOTIFY decisionbot_due`` (see
``storage.due_work``); Postgres delivers it to listeners when the transaction commits. A
worker holds one extra connection for this. On SQLite there is no such channel: workers poll
(the ticker, about once a second).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

from storage.due_work import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


def libpq_url(sqlalchemy_url: str) -> str:
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


class PgListener:
    """A thread that calls ``wake`` on every NOTIFY (and once after each (re)connect)."""

    def __init__(self, database_url: str, wake: Callable[[], None]) -> None:
        self.url = libpq_url(database_url)
        self.wake = wake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-listen", daemon=True)

    def start(self) -> PgListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.wake()  # whatever was written while we were not listening
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self.wake()
            except psycopg.Error as exc:
                log.warning("LISTEN %s: %s; reconnecting in 1 s", NOTIFY_CHANNEL, exc)
                self._stop.wait(1.0)
