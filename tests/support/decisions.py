"""Decisions made through the real storage functions for the storage tests: a draft, a created
decision, counts, events, reads and searches in a workspace, and threads started at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from storage import decisions as repo
from storage.db import Database
from storage.decisions import DecisionDraft
from storage.models import Decision, DecisionEvent
from storage.search import search_decisions
from storage.visibility import Viewer

TEAM = "TAAA"
OTHER_TEAM = "TBBB"
AUTHOR = "UAUTHOR"
DECIDER = "UDECIDER"
OUTSIDER = "UOUTSIDER"


def draft(**kw: Any) -> DecisionDraft:
    values: dict[str, Any] = {
        "title": "Use Postgres",
        "decision": "We store events in Postgres.",
        "channel_id": "CGENERAL",
    }
    values.update(kw)
    return DecisionDraft(**values)


def create(
    db: Database,
    *,
    team: str = TEAM,
    author: str = AUTHOR,
    private: bool = False,
    **kw: Any,
) -> Decision:
    with db.session() as s:
        return repo.create_decision(
            s, team_id=team, author_id=author, draft=draft(**kw), channel_private=private
        )


def count(db: Database, model: type, **where: Any) -> int:
    with db.read() as s:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return int(s.execute(stmt).scalar_one())


def events_of(db: Database, number: int, team: str = TEAM) -> list[DecisionEvent]:
    with db.read() as s:
        d = repo.get_decision(s, team_id=team, number=number)
        return repo.events(s, decision=d)


def get(db: Database, number: int, team: str = TEAM) -> Decision:
    with db.read() as s:
        return repo.get_decision(s, team_id=team, number=number)


def run_threads(n: int, target: Callable[[int], None]) -> list[BaseException]:
    """Start n threads at once (behind a barrier); return the exceptions they raised."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def body(i: int) -> None:
        barrier.wait()
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    return errors


# -- search ----------------------------------------------------------------------------------


def search(s: Any, query: str, viewer: Viewer, team: str = TEAM) -> list[Decision]:
    return search_decisions(s, team_id=team, viewer=viewer, query=query)
