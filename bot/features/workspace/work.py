"""The workspace's outbox work: filling the user cache (one ``users.list`` read per workspace,
``users.info`` for someone unknown), forgetting old event ids, and purging the data of a
workspace that left once its retention window has passed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from bot.engine.registry import Job, Registry, WorkKind
from storage import due_work, events, installations, people, purge, token_refresh
from storage.events import EventWork
from storage.models import Installation
from storage.people import PeopleWork
from storage.purge import PurgeWork
from storage.tables import table_of
from storage.token_refresh import Refreshed

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


PURGE_BATCH = purge.BATCH  # rows per delivery: one short transaction each


def handle_purge(job: Job) -> bool:
    """One batch of a departed workspace's rows, then the next batch as a new row due at once,
    until nothing is left (its installation goes last, and with it every purge row, this one
    included). A workspace that installed again meanwhile is left alone.

    The batch and the row of the next one commit together: a crash in between leaves this row
    to be delivered again (a batch more, the next row already there), never data without a
    purge to come. The rows of one workspace share a lane, so a dispatcher runs them one
    after another. Never touches ``job.client``: the workspace has no token any more.
    """
    team_id = job.item.team_id
    with job.db.session() as session:
        if not installations.purge_due(session, team_id=team_id, now=job.now):
            log.info("purge of team %s skipped: it is installed, or not due yet", team_id)
            return False
        deleted = purge.purge_batch(session, team_id=team_id, batch=PURGE_BATCH)
        if _installation_left(session, team_id):
            due_work.schedule(
                session,
                team_id=team_id,
                kind=PurgeWork.PURGE,
                subject_id=0,
                key=f"purge:{team_id}:after:{job.item.id}",  # unique: this row's id
                due_at=job.now,
                lane=f"purge:{team_id}",
            )
    log.info("purged %d rows of team %s", deleted, team_id)
    return False


def _installation_left(session: Session, team_id: str) -> bool:
    # A Core read: the ORM's identity map may still hold the row purge_batch deleted.
    table = table_of(Installation)
    return (
        session.execute(select(table.c.team_id).where(table.c.team_id == team_id)).first()
        is not None
    )


def refresh_handler(registry: Registry) -> Callable[[Job], bool]:
    """Token rotation (issue 24): the ``installation.refresh`` row, due 3 hours before a
    token expires, refreshes it (``TeamClients.refresh``: under the installation row's lock,
    only if it still needs it). Never touches ``job.client``; single-workspace mode's one
    token never expires, and has nothing to refresh."""

    def handle_refresh(job: Job) -> bool:
        team_id = job.item.team_id
        outcome = job.clients.refresh(team_id, scheduled_kinds=registry.scheduled())
        if outcome == Refreshed.FRESH:  # claimed early: the next refresh must still come

            def keep(session: Session) -> None:
                token_refresh.keep_planned(
                    session,
                    team_id=team_id,
                    not_before=job.now + timedelta(minutes=1),
                    after=job.item.id or 0,
                )

            job.after_send.append(keep)
        return False

    return handle_refresh


def register_work(registry: Registry) -> None:
    registry.register(
        # Not ``scheduled``: a workspace that leaves has no token to refresh.
        WorkKind(installations.REFRESH_KIND, refresh_handler(registry)),
        WorkKind(PeopleWork.SYNC, handle_sync, scheduled=True),
        WorkKind(PeopleWork.LOOKUP, handle_lookup),
        WorkKind(EventWork.PRUNE, handle_prune, scheduled=True),
        # Not ``scheduled``: an uninstall must not pause the purge it plans.
        WorkKind(PurgeWork.PURGE, handle_purge),
    )
