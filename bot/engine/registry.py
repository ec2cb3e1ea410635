"""Work kinds: what a feature registers so the engine can deliver its outbox rows.

A kind names its handler (deliver one row; at most one Slack message), how to load its
subject, how soon a coalesced row may run again, and whom to tell when the work fails for
good. The engine looks kinds up here and imports no feature.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Generic, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session
from typing_extensions import TypeVar

from bot.core.slack_api import PERMANENT_ERRORS, slack_error
from storage.db import Database
from storage.models import DueWork
from storage.models.base import JsonObject
from storage.token_refresh import Refreshed

# A kind's subject: what its ``load`` returns (a Decision, a (Review, Decision) pair, ...).
# A kind without ``load``, or a handler that does not read ``job.subject``, may leave it out:
# ``Job`` alone is ``Job[object]``.
S = TypeVar("S", default=object)


class PermanentFailure(Exception):
    """Retrying cannot fix this; ``error`` is Slack's error code (or the engine's own),
    ``what`` says in a few words what could not be done ("post ADR-3 in <#C1>")."""

    def __init__(self, error: str, what: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.what = what


class NotInstalled(Exception):
    """The row's workspace has no installation (it uninstalled the app): the row waits,
    paused, for a reinstall instead of being tried with no token."""


class Clients(Protocol):
    """A Web API client for a workspace: its own token, never another's."""

    def __call__(self, team_id: str) -> WebClient:
        """The client for ``team_id``; raises ``NotInstalled`` if it has no installation."""
        ...

    def installed(self, team_id: str) -> bool:
        """Whether ``team_id`` is installed now (read afresh: Slack refused its token)."""
        ...

    def refresh(
        self, team_id: str, *, scheduled_kinds: Collection[str], expired: bool = False
    ) -> Refreshed:
        """Renew ``team_id``'s token if it still needs it (token rotation), under its
        installation row's lock: one refresh however many ask. ``expired``: Slack refused
        the token this process holds."""
        ...


class OneClient:
    """Single-workspace mode: one client, one token, for every row."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def __call__(self, team_id: str) -> WebClient:
        return self.client

    def installed(self, team_id: str) -> bool:
        return True

    def refresh(
        self, team_id: str, *, scheduled_kinds: Collection[str], expired: bool = False
    ) -> Refreshed:
        return Refreshed.NOT_INSTALLED  # SLACK_BOT_TOKEN never expires: nothing to renew


def raise_if_permanent(exc: SlackApiError, what: str) -> None:
    """Turn a Slack error that retrying cannot fix into a PermanentFailure saying ``what``."""
    error = slack_error(exc)
    if error in PERMANENT_ERRORS:
        raise PermanentFailure(error, what) from exc


@dataclass
class Job(Generic[S]):
    """One claimed row being delivered, with what its handler needs.

    ``after_send``: writes the handler wants made once its message went out (follow-up rows,
    where a question landed); the engine runs them in the transaction that marks the row
    done, so a crash can repeat at most the message in flight and never loses what followed
    it (what a write returns is ignored). ``landed``: where the row's own message landed,
    kept in its payload by the UPDATE that marks it done.
    """

    item: DueWork
    kind: WorkKind[S]
    db: Database
    clients: Clients
    now: datetime
    after_send: list[Callable[[Session], object]] = field(default_factory=list)
    kept_payload: str | None = None

    def landed(self, channel_id: str, message_ts: str) -> None:
        """Keep where the row's message landed (``channel`` and ``ts`` in its payload), so a
        redaction can edit that message later: informed DMs and review questions have no
        table of their own that could hold every DM's ts (a review's reminders are new
        messages, and ``review_asks`` keeps only the newest)."""
        self.kept_payload = json.dumps({**self.payload, "channel": channel_id, "ts": message_ts})

    @cached_property
    def client(self) -> WebClient:
        """The client with the token of the row's workspace (asked for only by handlers that
        call Slack: the purge of a workspace that left has none)."""
        return self.clients(self.item.team_id)

    @cached_property
    def payload(self) -> JsonObject:
        """The row's payload: the JSON object its scheduler wrote."""
        payload: JsonObject = json.loads(self.item.payload or "{}")
        return payload

    @cached_property
    def subject(self) -> S | None:
        """The row's subject as the kind loads it (raises NotFound if it is gone); None for a
        kind without ``load``."""
        if self.kind.load is None:
            return None
        with self.db.read() as session:
            return self.kind.load(session, self.item)


Handler = Callable[[Job[S]], bool]
FailureHook = Callable[[Session, Job[S], PermanentFailure], None]


@dataclass(frozen=True)
class WorkKind(Generic[S]):
    """A kind of outbox row.

    handler: delivers one row; returns whether it sent a message. It raises SlackApiError
        (retried with backoff, or failed if Slack's error is permanent), PermanentFailure,
        or anything else (retried, failed after the attempts cap).
    load: ``(session, item) -> subject``, for ``Job.subject`` and failure notices.
    on_failure: ``(session, job, failure)`` runs in the transaction that marks the row
        failed; it schedules whatever tells a human (an outbox row of its own, never a
        Slack call).
    rerun_after: for coalesced rows, the least time between two deliveries.
    scheduled: work planned for a time (a review, a digest, a reminder) rather than the
        delivery of something just done: when its workspace uninstalls the app it is paused
        (and resumes on a reinstall) instead of cancelled.
    """

    name: str
    handler: Handler[S]
    load: Callable[[Session, DueWork], S] | None = None
    on_failure: FailureHook[S] | None = None
    rerun_after: timedelta = timedelta(0)
    scheduled: bool = False


AnyKind = WorkKind[Any]
"""A kind of any subject: the registry holds kinds of every subject, and the engine hands each
row to its own kind's handler, load and on_failure, which agree on the subject's type."""


class Registry:
    def __init__(self) -> None:
        self._kinds: dict[str, AnyKind] = {}

    def register(self, *kinds: AnyKind) -> None:
        for kind in kinds:
            if kind.name in self._kinds:
                raise ValueError(f"work kind {kind.name!r} is registered twice")
            self._kinds[kind.name] = kind

    def get(self, name: str) -> AnyKind | None:
        return self._kinds.get(name)

    def __iter__(self) -> Iterator[AnyKind]:
        return iter(self._kinds.values())

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def scheduled(self) -> frozenset[str]:
        """The kinds paused, not cancelled, when a workspace leaves."""
        return frozenset(k.name for k in self._kinds.values() if k.scheduled)
