"""One thing made per slash command: a command that creates something remembers Slack's
``trigger_id`` (unique to one invocation) in the transaction that creates it, so the same
signed request sent again — Slack's signature stays valid for 5 minutes, and anyone holding a
copy can replay it — makes nothing twice, and each copy is answered about what the first made.
A person who runs the command again gets a new trigger id: a second thing.

The model is ``storage.submissions`` (one record per Submit, by view id): ``made_before`` is
called first in the creating transaction; if that transaction rolls back, the trigger id is
forgotten with it. Concurrent copies serialise on the key: the second waits for the first to
commit, then finds its number. `/adr export` needs no row here: its outbox row's key is the
trigger id (``storage.export_work``), and outbox rows are kept.

Trigger ids are kept a day, far longer than a replay can be accepted (Bolt refuses a request
signed more than 5 minutes ago), and pruned by the commands themselves: a first run deletes a
bounded batch of expired ids (at most once a minute per process), so no scheduled work is
needed and the table holds about a day of commands.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from storage.models import CommandInvocation, utcnow

KEEP = timedelta(days=1)
PRUNE_BATCH = 200  # bounds the extra work one command does in its request
_MAX_ID = 128


class Creates(StrEnum):
    """What a command invocation made (the row's ``kind``)."""

    PARKED_ITEM = "parking.item"
    ESTIMATE_ROUND = "estimates.round"


def made_before(
    session: Session, *, team_id: str, trigger_id: str, kind: Creates, now: datetime | None = None
) -> int | None:
    """The number of what an earlier copy of this invocation made (a replay); None the first
    time, when the trigger id is remembered and the caller makes the thing, then calls
    ``record_made`` in the same transaction.

    A request without a trigger id (Slack always sends one) cannot be recognised: None."""
    if not trigger_id:
        return None
    now = now or utcnow()
    key = trigger_id[:_MAX_ID]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # RETURNING, not rowcount: psycopg reports -1 for this INSERT (see storage/events.py).
    first = session.execute(
        insert(CommandInvocation)
        .values(team_id=team_id, trigger_id=key, kind=str(kind), number=0, created_at=now)
        .on_conflict_do_nothing()
        .returning(col(CommandInvocation.trigger_id))
    ).first()
    if first is not None:
        _prune_now_and_then(session, now=now)
        return None
    return session.scalars(
        select(col(CommandInvocation.number)).where(
            col(CommandInvocation.team_id) == team_id, col(CommandInvocation.trigger_id) == key
        )
    ).one()


def record_made(session: Session, *, team_id: str, trigger_id: str, number: int) -> None:
    """What this invocation made (its number), for the copies that follow."""
    if not trigger_id:
        return
    session.execute(
        update(CommandInvocation)
        .where(
            col(CommandInvocation.team_id) == team_id,
            col(CommandInvocation.trigger_id) == trigger_id[:_MAX_ID],
        )
        .values(number=number)
    )


# A process prunes at most once per PRUNE_EVERY (by the commands' clock), not on every command:
# a DELETE per command was a tenth of a command's statements, and one batch a minute per
# process forgets far more ids than a day of any team's commands.
PRUNE_EVERY = timedelta(minutes=1)
_last_prune: datetime | None = None


def _prune_now_and_then(session: Session, *, now: datetime) -> None:
    global _last_prune  # noqa: PLW0603 - one timestamp per process, races harmless
    if _last_prune is not None and abs(now - _last_prune) < PRUNE_EVERY:
        return
    _last_prune = now
    prune(session, now=now)


def prune(session: Session, *, now: datetime, limit: int = PRUNE_BATCH) -> int:
    """Forget up to ``limit`` trigger ids older than a day, in every workspace (ids and
    numbers only; nobody's data is read). How many were forgotten."""
    expired = (
        select(col(CommandInvocation.team_id), col(CommandInvocation.trigger_id))
        .where(col(CommandInvocation.created_at) < now - KEEP)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Commands pruning at once skip each other's rows instead of waiting on them (SQLite
        # writers hold the database's write lock from BEGIN: they never meet).
        expired = expired.with_for_update(skip_locked=True)
    result = session.exec(
        delete(CommandInvocation).where(
            tuple_(col(CommandInvocation.team_id), col(CommandInvocation.trigger_id)).in_(expired)
        )
    )
    return int(result.rowcount or 0)
