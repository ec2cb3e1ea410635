"""The dispatcher: claims due outbox rows with a lease and delivers them concurrently.

- Up to ``concurrency`` rows are delivered at once (a bounded thread pool); rows of one lane
  (a channel, a thread, a person's DMs) are delivered in order, one at a time. A free thread
  starts the next workspace's lane in turn, so one workspace's rows already queued never hold
  up another's (claims take workspaces in turn too: ``storage.due_work.claim``).
- It claims only what it has room for (twice the pool), so a busy process never sits on rows
  another could deliver.
- It sleeps until woken — by a commit in this process that wrote outbox rows, by Postgres
  ``NOTIFY`` (``bot.engine.wakeup``), by the ticker — or until the next row falls due.
- A row whose lease may be about to run out (a long queue behind a slow lane) is handed
  back instead of sent, so a sweeper that outlived its lease never sends what another took.
- ``stop(grace)``: stop claiming, let the rows in flight finish within ``grace``, hand the
  rest back at once (not after the lease) and return.

``run_due(now)`` is the same machinery run once, until nothing is due at ``now``: the
``decisionbot run-due`` command and tests use it.

Delivering one row (its handler, then done, retry with backoff, defer, or fail and tell) is
``bot.engine.delivery``'s; ``Dispatcher`` inherits it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk import WebClient

from bot.core.render import counted
from bot.engine.delivery import MAX_ATTEMPTS, Delivery, SweepResult
from bot.engine.registry import Clients, OneClient, Registry
from storage import due_work
from storage.db import Database
from storage.models import DueWork, utcnow

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=5)
DEFAULT_CONCURRENCY = 16
LEASE_MARGIN = 0.1  # hand a row back once 90% of its lease is gone, instead of sending it
MIN_WAIT = 0.02
WAKE_DEBOUNCE = 0.005  # seconds between a wake-up and the claim it triggers, within a burst
BURST_WINDOW = 0.05  # a wake-up this soon after the previous one is part of a burst


def worker_id() -> str:
    """host:pid:random — a host name of any length fits (lease_owner is 255 characters)."""
    return f"{socket.gethostname()[:200]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class _Entry:
    item: DueWork
    now: datetime
    deadline: float  # monotonic: don't start after this (the lease may be gone)
    started: bool = False


class Dispatcher(Delivery):
    def __init__(
        self,
        db: Database,
        client: WebClient | Clients,
        registry: Registry,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        lease: timedelta = DEFAULT_LEASE,
        max_attempts: int = MAX_ATTEMPTS,
        idle_wait: float = 30.0,
        owner: str | None = None,
        capacity: int | None = None,
    ) -> None:
        self.db = db
        # A client per workspace (distributed mode), or one for all (single workspace).
        self.clients: Clients = OneClient(client) if isinstance(client, WebClient) else client
        self.registry = registry
        self.concurrency = max(1, concurrency)
        # How many rows it holds at most (claimed, running or waiting in a lane). It claims
        # again once it holds no more than `low_water`: a batch at a time, not a row per row.
        self.capacity = max(1, capacity or 2 * self.concurrency)
        self.low_water = max(0, self.capacity - self.concurrency)
        self.lease = lease
        self.max_attempts = max_attempts
        self.idle_wait = idle_wait
        self.owner = owner or worker_id()
        self.result = SweepResult()
        self._cv = threading.Condition()
        self._woken = False
        self._woken_at = float("-inf")  # monotonic time of the last wake-up acted on
        self._stopping = False
        self._lanes: dict[str, deque[_Entry]] = {}
        # Lanes not yet started, by workspace, and the workspaces taking turns to start one:
        # a free thread starts the next workspace's lane, so one workspace's backlog queued
        # in the pool never holds up another's new row (the claim is fair the same way).
        self._ready: dict[str, deque[str]] = {}
        self._turns: deque[str] = deque()
        self._queued = 0  # claimed and not finished (running or waiting in a lane)
        self._finished = 0  # rows finished so far (run_until_idle waits for the next one)
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="dispatch")
        self._thread: threading.Thread | None = None
        self._unhook: Callable[[], None] | None = None

    # -- running ---------------------------------------------------------------------------

    def start(self) -> Dispatcher:
        """Deliver in the background until ``stop``; wake on this process's outbox commits."""
        self._unhook = self.db.on_outbox_commit(self.wake)
        self._thread = threading.Thread(target=self._loop, name="dispatcher", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        with self._cv:
            self._woken = True
            self._cv.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cv:
                if self._stopping:
                    return
                woken, self._woken = self._woken, False
            if woken and time.monotonic() - self._woken_at < BURST_WINDOW:
                # Commits come in bursts (a click per request thread): within one, a moment's
                # wait lets one claim take the burst's rows instead of one claim (and write
                # lock) per row. A commit on its own (nothing woke us just before) is
                # claimed at once: its post is not kept waiting.
                time.sleep(WAKE_DEBOUNCE)
            if woken:
                self._woken_at = time.monotonic()
            try:
                self._fill(utcnow())
                wait = self._idle_wait()
            except Exception:  # noqa: BLE001 - the database may be down: log, back off, go on
                log.exception("dispatcher: claiming due work failed; retrying in 1 s")
                wait = 1.0
            with self._cv:
                if not self._woken and not self._stopping:
                    self._cv.wait(timeout=wait)

    def _idle_wait(self) -> float:
        with self._cv:
            if self._queued > self.low_water:
                return self.idle_wait  # a finished row wakes us (room to claim again)
        with self.db.read() as session:
            next_due = due_work.next_due_at(session)
        if next_due is None:
            return self.idle_wait
        return min(self.idle_wait, max(MIN_WAIT, (next_due - utcnow()).total_seconds()))

    def run_until_idle(self, now: datetime) -> SweepResult:
        """Deliver everything due at ``now`` (and whatever that schedules for ``now``), then
        return. Rows due later and rows retried later are left for a later sweep."""
        try:
            while True:
                with self._cv:
                    finished = self._finished
                claimed = self._fill(now)
                with self._cv:
                    if not claimed and self._queued == 0:
                        return self.result
                    # Wait for a row to finish: there is room again, and it may have
                    # scheduled more work for `now`.
                    while self._finished == finished:
                        self._cv.wait(timeout=1.0)
        finally:
            self._pool.shutdown(wait=True)

    def stop(self, grace: float = 8.0) -> None:
        """Stop claiming; wait up to ``grace`` s for the rows in flight; hand the rest back."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
            unstarted = self._take_unstarted()
        self._release([e.item for e in unstarted])
        deadline = time.monotonic() + grace
        with self._cv:
            while self._queued > 0 and time.monotonic() < deadline:
                self._cv.wait(timeout=deadline - time.monotonic())
            left = self._queued
        if left:
            log.warning("dispatcher: %s still in flight after %.0f s", counted(left, "item"), grace)
        if self._unhook:
            self._unhook()
        if self._thread is not None:
            self._thread.join(timeout=max(0.0, deadline - time.monotonic()) + 1)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def wait_idle(self, timeout: float = 20.0, horizon: float = 1.0) -> bool:
        """Wait until nothing is in flight and nothing falls due within ``horizon`` seconds
        (tests: "every call the bot was going to make has been made"). False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cv:
                busy = self._queued > 0
            if not busy:
                with self.db.read() as session:
                    next_due = due_work.next_due_at(session)
                    # a batch being claimed is in no queue yet, but its rows are claimed
                    claimed = due_work.claimed_count(session, now=utcnow())
                if not claimed and (
                    next_due is None or next_due > utcnow() + timedelta(seconds=horizon)
                ):
                    with self._cv:
                        if self._queued == 0:
                            return True
                else:
                    self.wake()
            time.sleep(0.02)
        return False

    def _take_unstarted(self) -> list[_Entry]:
        """Remove every queued row not yet started (hold ``_cv``)."""
        taken: list[_Entry] = []
        for lane in list(self._lanes):
            queue = self._lanes[lane]  # changed in place: its lane runner holds it
            taken += [e for e in queue if not e.started]
            kept = [e for e in queue if e.started]
            queue.clear()
            queue.extend(kept)
            if not queue:
                del self._lanes[lane]
        self._queued -= len(taken)
        self._cv.notify_all()
        return taken

    # -- claiming --------------------------------------------------------------------------

    def _fill(self, now: datetime) -> int:
        """Claim due rows while there is room; queue them in their lanes. Returns how many."""
        total = 0
        while True:
            with self._cv:
                # Read into locals: stop() may set _stopping while we claim (read again below).
                stopping, queued = self._stopping, self._queued
                if stopping or queued > self.low_water:
                    return total
                room = self.capacity - queued
            with self.db.session() as session:
                items = due_work.claim(
                    session, now=now, owner=self.owner, limit=room, lease=self.lease
                )
            if not items:
                return total
            total += len(items)
            self.result.add(claimed=len(items))
            deadline = time.monotonic() + self.lease.total_seconds() * (1 - LEASE_MARGIN)
            with self._cv:
                stopping = self._stopping
                for item in items if not stopping else ():
                    lane = item.lane or f"#{item.id}"
                    entry = _Entry(item=item, now=now, deadline=deadline)
                    self._queued += 1
                    queue = self._lanes.get(lane)
                    if queue is None:
                        self._lanes[lane] = deque([entry])
                        self._queue_lane(item.team_id, lane)
                        self._pool.submit(self._run_next_lane)
                    else:
                        queue.append(entry)
            if stopping:  # stop() ran while we claimed: these go straight back
                self._release(items)
                return total
            if len(items) < room:
                return total

    def _queue_lane(self, team: str, lane: str) -> None:
        """A new lane of ``team`` waits for its workspace's turn (hold ``_cv``)."""
        ready = self._ready.get(team)
        if ready is None:
            self._ready[team] = deque([lane])
            self._turns.append(team)
        else:
            ready.append(lane)

    def _run_next_lane(self) -> None:
        """One pool task per lane, but which lane it starts is chosen when a thread is free:
        the next workspace in turn's oldest waiting lane, round-robin across workspaces."""
        with self._cv:
            if not self._turns:
                return
            team = self._turns.popleft()
            ready = self._ready[team]
            lane = ready.popleft()
            if ready:
                self._turns.append(team)
            else:
                del self._ready[team]
        self._run_lane(lane)

    def _run_lane(self, lane: str) -> None:
        while True:
            with self._cv:
                queue = self._lanes.get(lane)
                if not queue:
                    self._lanes.pop(lane, None)
                    return
                entry = queue[0]
                entry.started = True
            try:
                if time.monotonic() > entry.deadline:
                    self._release([entry.item])  # our lease may be gone: not ours to send
                else:
                    self._deliver(entry.item, entry.now)
            except Exception:  # noqa: BLE001 - a bookkeeping failure must not kill the lane
                log.exception("dispatcher: work item %s could not be finished", entry.item.id)
            with self._cv:
                queue.popleft()
                self._queued -= 1
                if self._queued == self.low_water:
                    self._woken = True  # the loop waits for room: there is a batch's now
                self._finished += 1
                self._cv.notify_all()
                if not queue:
                    del self._lanes[lane]
                    return


def run_due(
    db: Database,
    client: WebClient | Clients,
    registry: Registry,
    *,
    now: datetime,
    owner: str | None = None,
    lease: timedelta = DEFAULT_LEASE,
    concurrency: int = DEFAULT_CONCURRENCY,
    capacity: int | None = None,
) -> SweepResult:
    """Deliver every piece of work due at ``now`` once; return what happened."""
    dispatcher = Dispatcher(
        db, client, registry, concurrency=concurrency, lease=lease, owner=owner, capacity=capacity
    )
    return dispatcher.run_until_idle(now)
