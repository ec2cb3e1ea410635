"""Running the engine in a process: the dispatcher, its wake-ups, and the APScheduler ticker.

APScheduler is only the ticker: every few seconds it wakes the dispatcher, which then claims
whatever fell due (reviews, nudges, retries) and rows whose lease expired. The outbox table
is the truth. ``serve`` and ``socket`` run an embedded dispatcher (unless
``DECISIONBOT_DISPATCHER=off``); ``worker`` runs one without HTTP, woken by Postgres NOTIFY,
or on SQLite by a one-second ticker. Nothing starts on import.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from slack_sdk import WebClient

from bot.app import work_registry
from bot.engine.delivery import SweepResult
from bot.engine.dispatcher import DEFAULT_CONCURRENCY, DEFAULT_LEASE, Dispatcher
from bot.engine.registry import Clients
from bot.engine.wakeup import PgListener
from bot.runtime.clients import dispatch_clients
from bot.runtime.config import Settings
from storage import events
from storage.db import Database
from storage.models import utcnow

log = logging.getLogger(__name__)

SQLITE_WORKER_POLL = 1.0  # seconds: a worker on SQLite has no NOTIFY, so it polls


class Ticker(Protocol):
    """What the engine uses of APScheduler's ``BackgroundScheduler`` (which has no types)."""

    def shutdown(self, wait: bool = True) -> None: ...


def start_ticker(seconds: float, tick: Callable[[], None]) -> Ticker:
    """An APScheduler job calling ``tick`` every ``seconds`` (and once right away)."""

    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        tick,
        "interval",
        seconds=seconds,
        id="decisionbot.tick",
        max_instances=1,
        coalesce=True,
        next_run_time=utcnow(),
    )
    scheduler.start()
    ticker: Ticker = scheduler
    return ticker


@dataclass
class Engine:
    """A running dispatcher with what wakes it; ``stop`` shuts it down gracefully."""

    dispatcher: Dispatcher
    ticker: Ticker
    listener: PgListener | None

    def stop(self, grace: float) -> None:
        self.ticker.shutdown(wait=False)
        if self.listener is not None:
            self.listener.stop()
        self.dispatcher.stop(grace)


def dispatcher_for(settings: Settings, db: Database, *, idle_wait: float) -> Dispatcher:
    dispatch_db = db.for_dispatch()
    return Dispatcher(
        dispatch_db,
        dispatch_clients(settings, dispatch_db),
        work_registry(),
        concurrency=settings.dispatch_concurrency,
        lease=timedelta(seconds=settings.lease_seconds),
        idle_wait=idle_wait,
    )


def start_engine(settings: Settings, db: Database, *, worker: bool = False) -> Engine:
    """Start a dispatcher in this process. A ``worker`` on Postgres also listens for
    NOTIFY; on SQLite it polls every second. Embedded dispatchers are woken by this process's
    own commits and by the ticker (``DECISIONBOT_TICK_SECONDS``)."""
    tick: float = settings.scheduler_interval_seconds
    listener = None
    with db.session() as session:  # the daily pruning chain: make sure it has a link
        events.schedule_prune(session, now=utcnow())
    if worker and db.dialect == "sqlite":
        tick = min(tick, SQLITE_WORKER_POLL)
    dispatcher = dispatcher_for(settings, db, idle_wait=tick).start()
    if worker and db.dialect == "postgresql":
        listener = PgListener(db.url, dispatcher.wake).start()
    ticker = start_ticker(tick, dispatcher.wake)
    return Engine(dispatcher=dispatcher, ticker=ticker, listener=listener)


def run_due(
    db: Database,
    client: WebClient | Clients,
    *,
    now: datetime,
    owner: str | None = None,
    lease: timedelta = DEFAULT_LEASE,
    concurrency: int = DEFAULT_CONCURRENCY,
    capacity: int | None = None,
) -> SweepResult:
    """One sweep at ``now`` with every feature's work kinds (``run-due`` and tests)."""
    from bot.engine.dispatcher import run_due as sweep

    return sweep(
        db,
        client,
        work_registry(),
        now=now,
        owner=owner,
        lease=lease,
        concurrency=concurrency,
        capacity=capacity,
    )


def run_due_once(settings: Settings, db: Database, *, now: datetime) -> str:
    """`decisionbot run-due`: one sweep at ``now``, summarised in one line."""
    result = run_due(
        db,
        dispatch_clients(settings, db),
        now=now,
        lease=timedelta(seconds=settings.lease_seconds),
        concurrency=settings.dispatch_concurrency,
    )
    return result.summary(now)
