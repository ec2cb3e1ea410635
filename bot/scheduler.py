"""Scheduled work: ``run_due(now)`` and the APScheduler ticker that calls it.

APScheduler is only the ticker; the due_work table is the truth. ``run_due`` claims due rows
atomically with a lease, delivers each, and marks it done — so any number of processes can
sweep one database and each item is delivered once. Nothing starts on import.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Connection
from sqlmodel import Session

from bot.config import Settings
from bot.followups import HANDLERS, Delivery, PermanentFailure, tell_author_of_failure
from bot.slack_calls import PERMANENT_ERRORS, slack_error
from storage import due_work
from storage.db import Database
from storage.models import DueWork
from storage.reviews import ASK

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 10  # a bug in a handler must not retry forever


@dataclass
class SweepResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def summary(self, now: datetime) -> str:
        return (
            f"run-due at {now.isoformat()}: claimed {self.claimed}, sent {self.sent}, "
            f"retried {self.retried}, failed {self.failed}"
        )


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def run_due(
    db: Database,
    client: WebClient,
    *,
    now: datetime,
    owner: str | None = None,
    batch: int = 50,
    lease: timedelta = DEFAULT_LEASE,
) -> SweepResult:
    """Deliver every piece of work due at ``now`` once; return what happened.

    Work scheduled by the sweep itself for ``now`` (a review fanning out into one DM per
    person) is picked up by the same sweep. Retries are scheduled after ``now`` and wait for
    a later sweep.
    """
    owner = owner or worker_id()
    result = SweepResult()
    ctx = Delivery(db=db, client=client, now=now)
    # Claims and "done" marks go through one connection held for the sweep (never inside a
    # transaction while Slack is called): no pool checkout and pre-ping round trip per item.
    with db.engine.connect() as conn:
        while True:
            with _unit(conn) as session:
                items = due_work.claim(session, now=now, owner=owner, limit=batch, lease=lease)
            if not items:
                return result
            result.claimed += len(items)
            ctx.prefetch(items)
            # A batch can outlive its lease (429 waits, a slow Slack): another sweeper may
            # then have re-claimed rows we hold, and they are theirs to send. Before each item
            # we know whether it is still ours (checked in the previous item's "done"
            # transaction), so the only message that can repeat is the one in flight.
            ours = True  # just claimed
            for position, item in enumerate(items):
                upcoming = items[position + 1] if position + 1 < len(items) else None
                if ours:
                    ours = _deliver(ctx, conn, item, owner, result, upcoming)
                else:
                    ours = _holds(conn, upcoming, owner)


@contextmanager
def _unit(conn: Connection) -> Iterator[Session]:
    """A writing unit of work on the sweep's connection, like ``Database.session()``: one
    transaction, committed on success, rolled back on any error."""
    with Session(bind=conn, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _holds(conn: Connection, item: DueWork | None, owner: str) -> bool:
    if item is None:
        return True
    with _unit(conn) as session:
        return due_work.holds_lease(session, item=item, owner=owner)


def _deliver(
    ctx: Delivery,
    conn: Connection,
    item: DueWork,
    owner: str,
    result: SweepResult,
    upcoming: DueWork | None = None,
) -> bool:
    """Deliver ``item``; return whether we still hold ``upcoming`` (the batch's next row)."""
    ctx.after_send.clear()
    try:
        sent = HANDLERS[item.kind](ctx, item)
    except PermanentFailure as failure:
        _fail(ctx, item, owner, result, failure.error)
        tell_author_of_failure(ctx, item, failure)
        return _holds(conn, upcoming, owner)
    except SlackApiError as exc:
        error = slack_error(exc)
        if error in PERMANENT_ERRORS:
            _fail(ctx, item, owner, result, error)
        else:
            _retry(ctx, item, owner, result, f"slack:{error}")
        return _holds(conn, upcoming, owner)
    except Exception as exc:  # noqa: BLE001 - timeouts, connection errors, bugs: retry later
        log.warning("work item %s (%s, team %s) failed: %r", item.id, item.kind, item.team_id, exc)
        if item.attempts >= MAX_ATTEMPTS:
            _fail(
                ctx, item, owner, result, f"gave up after {item.attempts} attempts: {exc!r}"[:200]
            )
        else:
            _retry(ctx, item, owner, result, repr(exc)[:200])
        return _holds(conn, upcoming, owner)
    finally:
        if item.kind != ASK:
            ctx.invalidate()  # it may have changed a review the batch's asks depend on
    # What the handler recorded about its message and "done" commit together: one write
    # transaction per item, and the row is done as soon as its message is out, so a crash
    # can repeat at most the message in flight.
    with _unit(conn) as session:
        for write in ctx.after_send:
            write(session)
        due_work.complete(session, item=item, owner=owner)
        ours = upcoming is None or due_work.holds_lease(session, item=upcoming, owner=owner)
    ctx.after_send.clear()
    if sent:
        result.sent += 1
    return ours


def _fail(ctx: Delivery, item: DueWork, owner: str, result: SweepResult, error: str) -> None:
    log.warning(
        "work item %s (%s, team %s) failed permanently: %s", item.id, item.kind, item.team_id, error
    )
    with ctx.db.session() as session:
        due_work.fail_permanently(session, item=item, owner=owner, error=error)
    result.failed += 1


def _retry(ctx: Delivery, item: DueWork, owner: str, result: SweepResult, error: str) -> None:
    with ctx.db.session() as session:
        due_work.retry_later(session, item=item, owner=owner, now=ctx.now, error=error)
    result.retried += 1


def run_due_once(settings: Settings, db: Database, *, now: datetime) -> str:
    """`decisionbot run-due`: one sweep at ``now``, summarised in one line."""
    from bot.app import build_client

    return run_due(db, build_client(settings), now=now).summary(now)


def start_scheduler(settings: Settings, db: Database) -> Any:
    """Start the in-process ticker (serve/socket only): every N seconds, run_due(now)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.app import build_client

    client = build_client(settings)

    def tick() -> None:
        now = datetime.now(UTC)
        result = run_due(db, client, now=now)
        if result.claimed:
            log.info(result.summary(now))

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        tick,
        "interval",
        seconds=settings.scheduler_interval_seconds,
        id="decisionbot.run_due",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    return scheduler
