"""The workspace's outbox work: filling the user cache (one ``users.list`` read per workspace,
``users.info`` for someone unknown) and forgetting old event ids."""

from __future__ import annotations

import logging

from sqlmodel import Session

from bot.engine.registry import Job, Registry, WorkKind
from storage import events, people
from storage.events import EventWork
from storage.people import PeopleWork

log = logging.getLogger(__name__)

PAGE = 200  # users.list page size (Slack's recommendation)


def handle_sync(job: Job) -> bool:
    """Page through users.list and store everyone (one transaction per page, so a long list
    is not one long transaction; a retry re-reads from the start, harmlessly)."""
    cursor: str | None = None
    while True:
        resp = job.client.users_list(limit=PAGE, cursor=cursor)  # None is left out
        members = resp.get("members") or []
        with job.db.session() as session:
            people.upsert_users(session, team_id=job.item.team_id, users=members)
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return False


def handle_lookup(job: Job) -> bool:
    user = str(job.payload.get("user") or "")
    if not user:
        return False
    info = job.client.users_info(user=user)["user"]

    def remember(session: Session) -> None:
        people.upsert_users(session, team_id=job.item.team_id, users=[info])

    job.after_send.append(remember)
    return False


def handle_prune(job: Job) -> bool:
    """Forget old event ids; the next day's pruning is scheduled with this row's "done"."""
    with job.db.session() as session:
        pruned = events.prune(session, now=job.now)
    log.info("pruned %d event ids older than 7 days", pruned)

    def schedule_next(session: Session) -> None:
        events.schedule_prune(session, now=job.now)

    job.after_send.append(schedule_next)
    return False


def register_work(registry: Registry) -> None:
    registry.register(
        WorkKind(PeopleWork.SYNC, handle_sync),
        WorkKind(PeopleWork.LOOKUP, handle_lookup),
        WorkKind(EventWork.PRUNE, handle_prune),
    )
