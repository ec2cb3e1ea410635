"""Delivering one claimed outbox row: run its kind's handler, then record what happened.

- Sent (or nothing to send): what the handler recorded about its message and "done" commit in
  one transaction.
- Rate limited (``RateLimited``): back to pending until Retry-After; no attempt is spent.
- A ``PermanentFailure``, a permanent Slack error, or a subject deleted meanwhile: failed at
  once, and the kind's ``on_failure`` may tell a human in the same transaction.
- Anything else (timeouts, connection errors, bugs): retried later with backoff, until
  ``max_attempts`` (every kind of error counts: nothing is retried forever). A post whose
  outcome is unknown (``OutcomeUnknown``) is retried with ``last_error`` marked ``unknown:``,
  and the mark stays through later failed or deferred attempts, so the next attempt looks for
  the earlier post before posting again (``bot.engine.posting``).
- Handed back unsent (``_release``): pending again at once, its attempt refunded.
- Slack says the token has expired (token rotation): it is refreshed once, under the
  installation row's lock, and the row handed back at once (``_refresh_then_retry``).

The claiming, leases and lanes around it are ``bot.engine.dispatcher``'s.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.core import metrics
from bot.core.slack_api import PERMANENT_ERRORS, slack_error
from bot.engine.posting import UNKNOWN, OutcomeUnknown, keep_marker
from bot.engine.ratelimit import RateLimited, current_team
from bot.engine.registry import Clients, Job, NotInstalled, PermanentFailure, Registry
from storage import due_work, installations
from storage.db import Database
from storage.errors import NotFound
from storage.models import DueWork, utcnow
from storage.token_refresh import Refreshed

log = logging.getLogger(__name__)

# Slack refusing the token itself: the workspace may have uninstalled the app.
AUTH_ERRORS = frozenset({"invalid_auth", "token_revoked", "account_inactive", "not_authed"})
MAX_ATTEMPTS = 10  # every kind of error counts: nothing is retried forever
# Token rotation (issue 24): the token's 12 hours are over; refreshed once, then the row again.
TOKEN_EXPIRED = "token_expired"


def error_code(exc: BaseException) -> str:
    """What ``due_work.last_error`` and the logs keep of an unexpected error: a code or the
    exception's class, never its message (which may quote what people typed). A timeout is
    "timeout (timed out)"; an error wrapping another (urllib's URLError) names both."""
    reason = getattr(exc, "reason", None)
    inner = reason if isinstance(reason, BaseException) else None
    if isinstance(exc, TimeoutError) or isinstance(inner, TimeoutError):
        return "timeout (timed out)"
    if inner is not None:
        return f"{type(exc).__name__}: {type(inner).__name__}"
    return type(exc).__name__


@dataclass
class SweepResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # rate limited: back to pending until Retry-After, no attempt spent
    released: int = 0  # handed back unsent (shutdown, lease nearly gone)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def summary(self, now: datetime) -> str:
        line = (
            f"run-due at {now.isoformat()}: claimed {self.claimed}, sent {self.sent}, "
            f"retried {self.retried}, failed {self.failed}"
        )
        if self.deferred or self.released:
            line += f" (deferred {self.deferred}, released {self.released})"
        return line


class Delivery:
    """Delivering one row and recording its outcome; ``Dispatcher`` is one, and sets these."""

    db: Database
    clients: Clients
    registry: Registry
    owner: str
    max_attempts: int
    result: SweepResult

    def _deliver(self, item: DueWork, now: datetime) -> None:
        kind = self.registry.get(item.kind)
        if kind is None:
            self._fail(item, None, PermanentFailure("unknown_kind", f"deliver {item.kind!r}"))
            return
        job = Job(item=item, kind=kind, db=self.db, clients=self.clients, now=now)
        token = current_team.set(item.team_id)
        try:
            sent = kind.handler(job)
        except RateLimited as limited:
            self._defer(item, limited, now)
            return
        except NotInstalled:
            self._pause(item)
            return
        except PermanentFailure as failure:
            self._fail(item, job, failure)
            return
        except OutcomeUnknown as unknown:  # it may have posted: look before posting again
            cause = unknown.__cause__ or unknown
            error = f"{UNKNOWN} {error_code(cause) if not str(unknown) else unknown}"
            log.warning(
                "work item %s (%s, team %s) may have posted: %s",
                item.id,
                item.kind,
                item.team_id,
                error,
            )
            self._retry(item, job, error)
            return
        except NotFound as gone:  # its subject was deleted: nothing left to deliver
            self._fail(item, None, PermanentFailure("subject_gone", str(gone)))
            return
        except SlackApiError as exc:
            error = slack_error(exc)
            if error == TOKEN_EXPIRED:
                self._refresh_then_retry(item, job)
            elif error in AUTH_ERRORS and not self.clients.installed(item.team_id):
                self._pause(item)  # it uninstalled while this row was in flight
            elif error in PERMANENT_ERRORS:
                self._fail(item, job, PermanentFailure(error, ""))
            else:
                self._retry(item, job, f"slack:{error}")
            return
        except Exception as exc:  # noqa: BLE001 - timeouts, connection errors, bugs: retry
            error = error_code(exc)
            log.warning(
                "work item %s (%s, team %s) failed: %s", item.id, item.kind, item.team_id, error
            )
            # The full text may quote what people typed: only at DEBUG.
            log.debug("work item %s failed", item.id, exc_info=exc)
            self._retry(item, job, error)
            return
        finally:
            current_team.reset(token)
        # What the handler recorded about its message and "done" commit together: a crash
        # can repeat at most the message in flight, and loses nothing that followed it.
        with self._unit() as session:
            for write in job.after_send:
                write(session)
            due_work.complete(
                session,
                item=item,
                owner=self.owner,
                rerun_at=utcnow() + kind.rerun_after,
                payload=job.kept_payload,
            )
        self.result.add(sent=int(bool(sent)))
        metrics.delivered(item.kind, "sent" if sent else "done")

    @contextmanager
    def _unit(self) -> Iterator[Session]:
        with self.db.session() as session:
            yield session

    def _defer(self, item: DueWork, limited: RateLimited, now: datetime) -> None:
        # From the sweep's "now" when it is ahead of the clock (run-due --now in the future):
        # the row then waits for a later sweep instead of spinning in this one.
        until = max(now, utcnow()) + timedelta(seconds=limited.retry_after)
        with self._unit() as session:
            due_work.defer(
                session,
                item=item,
                owner=self.owner,
                until=until,
                error=keep_marker(item, str(limited)),
            )
        self.result.add(deferred=1)
        metrics.delivered(item.kind, "deferred")

    def _retry(self, item: DueWork, job: Job, error: str) -> None:
        if item.attempts >= self.max_attempts:
            self._fail(
                item,
                job,
                PermanentFailure(f"gave up after {item.attempts} attempts: {error}"[:200]),
            )
            return
        with self._unit() as session:
            due_work.retry_later(
                session,
                item=item,
                owner=self.owner,
                now=max(job.now, utcnow()),
                error=keep_marker(item, error),
            )
        self.result.add(retried=1)
        metrics.delivered(item.kind, "retried")

    def _fail(self, item: DueWork, job: Job | None, failure: PermanentFailure) -> None:
        """Record the failure on the row, and let the kind tell a human in the same
        transaction (by scheduling a notice, never by calling Slack here)."""
        log.warning(
            "work item %s (%s, team %s) failed permanently: %s",
            item.id,
            item.kind,
            item.team_id,
            failure.error,
        )
        try:
            with self._unit() as session:
                failed = due_work.fail_permanently(
                    session, item=item, owner=self.owner, error=failure.error
                )
                if failed and job is not None and job.kind.on_failure is not None:
                    job.kind.on_failure(session, job, failure)
        except Exception:  # noqa: BLE001 - telling failed: still record the failure
            log.exception("work item %s: telling about its failure failed", item.id)
            with self._unit() as session:
                due_work.fail_permanently(session, item=item, owner=self.owner, error=failure.error)
        self.result.add(failed=1)
        metrics.delivered(item.kind, "failed")

    def _pause(self, item: DueWork) -> None:
        """Its workspace has left: the row waits for a reinstall, its attempt refunded."""
        with self._unit() as session:
            paused = installations.pause(
                session, item_id=item.id or 0, owner=self.owner, team_id=item.team_id
            )
        if paused:
            log.info(
                "work item %s (%s, team %s) paused: not installed",
                item.id,
                item.kind,
                item.team_id,
            )
        # installed again meanwhile: the row went back to pending instead
        metrics.delivered(item.kind, "paused" if paused else "released")

    def _refresh_then_retry(self, item: DueWork, job: Job) -> None:
        """Token rotation (issue 24): Slack said the row's token has expired. Refresh it (or
        find it refreshed by another process) and hand the row back at once, its attempt
        refunded; a refresh refused for good has paused the workspace, and the row with it."""
        try:
            outcome = self.clients.refresh(
                item.team_id, scheduled_kinds=self.registry.scheduled(), expired=True
            )
        except Exception as exc:  # noqa: BLE001 - Slack or the database failed: try later
            self._retry(item, job, f"slack:{TOKEN_EXPIRED} ({error_code(exc)})")
            return
        if outcome in (Refreshed.REFRESHED, Refreshed.FRESH):
            self._release([item])
        elif outcome == Refreshed.REFUSED or not self.clients.installed(item.team_id):
            self._pause(item)
        else:  # no refresh token: not ours to renew
            self._retry(item, job, f"slack:{TOKEN_EXPIRED}")

    def _release(self, items: list[DueWork]) -> None:
        if not items:
            return
        with self._unit() as session:
            n = due_work.release(session, ids=[i.id for i in items if i.id], owner=self.owner)
        self.result.add(released=n)
        for item in items:
            metrics.delivered(item.kind, "released")
