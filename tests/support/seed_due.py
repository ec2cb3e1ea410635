"""Seed due "did this decision work?" DMs in bulk, for the run-due process tests and
``benchmarks/run_due.py``.

``seed_due_asks(db, n, due_at=...)`` inserts, with a handful of bulk statements, ``n``
accepted decisions, one *open* review each, one owner ``ReviewAsk`` each (every one for a
distinct user id, so each expected DM is identifiable at the emulator), and one pending
``review.ask`` due_work row each (payload ``{"ask_id": .., "nudge": 0}``, the unique key
``storage.reviews.open_review`` would give it, due at ``due_at``). Delivering them is what
``run_due`` does at a review date, minus the fan-out step.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text

from storage.db import Database
from storage.models import Counter as NumberCounter
from storage.models import Decision, DueWork, Review, ReviewAsk, WorkState
from storage.reviews import ASK, OWNER

TEAM = "TSEED"
CHANNEL = "CSEED"
CHUNK = 2_000


@dataclass
class Seeded:
    team_id: str
    users: list[str]  # one per ask, distinct: the DM to users[i] is ask i
    due_at: datetime


def user_id(i: int, prefix: str = "USEED") -> str:
    return f"{prefix}{i:06d}"


def _chunks(rows: list[dict], size: int = CHUNK) -> Iterable[list[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _insert_returning_ids(conn, table, rows: list[dict]) -> list[int]:  # noqa: ANN001
    """Bulk insert (SQLAlchemy "insertmanyvalues") and return the new ids in row order."""
    ids: list[int] = []
    for chunk in _chunks(rows):
        result = conn.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), chunk
        )
        ids += [r[0] for r in result]
    return ids


def seed_due_asks(
    db: Database,
    n: int,
    *,
    due_at: datetime,
    team_id: str = TEAM,
    user_prefix: str = "USEED",
    analyze: bool = True,
) -> Seeded:
    """Insert ``n`` due review.ask items (see the module docstring); returns their users."""
    created = due_at - timedelta(days=90)
    users = [user_id(i, user_prefix) for i in range(n)]
    decisions = Decision.__table__
    reviews = Review.__table__
    asks = ReviewAsk.__table__
    work = DueWork.__table__
    with db.engine.begin() as conn:
        start = conn.execute(
            select(func.coalesce(func.max(decisions.c.number), 0)).where(
                decisions.c.team_id == team_id
            )
        ).scalar_one()
        decision_ids = _insert_returning_ids(
            conn,
            decisions,
            [
                {
                    "team_id": team_id,
                    "number": start + i + 1,
                    "title": f"Seeded decision {i}",
                    "context": "",
                    "options": "",
                    "decision": f"We do thing {i}.\nBecause it is simpler.",
                    "consequences": "",
                    "success_criteria": "Fewer pages at night.",
                    "status": "accepted",
                    "tags": "",
                    "review_date": due_at.date(),
                    "channel_id": CHANNEL,
                    "channel_private": False,
                    "message_ts": None,
                    "author_id": users[i],
                    "created_at": created,
                    "updated_at": created,
                }
                for i in range(n)
            ],
        )
        if start == 0:
            conn.execute(
                insert(NumberCounter.__table__), [{"team_id": team_id, "kind": "adr", "value": n}]
            )
        else:
            conn.execute(
                text("UPDATE counters SET value = :v WHERE team_id = :t AND kind = 'adr'"),
                {"v": start + n, "t": team_id},
            )
        review_ids = _insert_returning_ids(
            conn,
            reviews,
            [
                {
                    "team_id": team_id,
                    "decision_id": decision_ids[i],
                    "round": 1,
                    "due_at": due_at,
                    "timezone": "UTC",
                    "state": "open",
                    "nudges_sent": 0,
                    "created_at": created,
                }
                for i in range(n)
            ],
        )
        ask_ids = _insert_returning_ids(
            conn,
            asks,
            [
                {
                    "team_id": team_id,
                    "review_id": review_ids[i],
                    "user_id": users[i],
                    "role": OWNER,
                    "concern": "",
                    "what_happened": "",
                    "evidence": "",
                    "learned": "",
                }
                for i in range(n)
            ],
        )
        for chunk in _chunks(
            [
                {
                    "team_id": team_id,
                    "kind": ASK,
                    "subject_id": review_ids[i],
                    "key": f"review:{review_ids[i]}:ask:{ask_ids[i]}:0",
                    "payload": json.dumps({"ask_id": ask_ids[i], "nudge": 0}),
                    "due_at": due_at,
                    "state": WorkState.PENDING.value,
                    "attempts": 0,
                    "created_at": created,
                    "updated_at": created,
                }
                for i in range(n)
            ]
        ):
            conn.execute(insert(work), chunk)
    if analyze:
        with db.engine.connect() as conn:
            if db.dialect == "postgresql":
                conn.execute(text("ANALYZE"))
            else:
                conn.exec_driver_sql("ANALYZE")
            conn.commit()
    return Seeded(team_id=team_id, users=users, due_at=due_at)


def work_states(db: Database) -> Counter[str]:
    """How many due_work rows are in each state (leaving out the daily pruning row that
    starting an engine makes sure of: it is not the work a test seeded)."""
    table = DueWork.__table__.c
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(table.state, func.count())
            .where(table.kind != "events.prune")
            .group_by(table.state)
        ).all()
    return Counter({state: int(count) for state, count in rows})


def tally(channels: Iterable[str], users: list[str]) -> tuple[int, int, int, Counter[str]]:
    """Compare DMs sent (the ``channel`` of each chat.postMessage) with the seeded users.

    Returns (delivered, duplicates, lost, per_user): ``delivered`` users got at least one
    DM, ``duplicates`` is the number of extra DMs beyond one per user, ``lost`` users got
    none. DMs to anyone else are not counted.
    """
    wanted = set(users)
    per_user = Counter(c for c in channels if c in wanted)
    delivered = len(per_user)
    duplicates = sum(count - 1 for count in per_user.values())
    return delivered, duplicates, len(wanted) - delivered, per_user


# -- running `decisionbot run-due` as a separate process -------------------------------------

SUMMARY = re.compile(
    r"run-due at (?P<at>\S+): claimed (?P<claimed>\d+), sent (?P<sent>\d+), "
    r"retried (?P<retried>\d+), failed (?P<failed>\d+)"
)


def decisionbot_command() -> list[str]:
    """The installed ``decisionbot`` console script next to this interpreter (not a pyenv
    shim, so the pid we get is the sweeping process itself), else ``python -m bot.runtime.cli``."""
    script = Path(sys.executable).parent / "decisionbot"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "bot.runtime.cli"]


def run_due_env(database_url: str, slack_api_url: str) -> dict[str, str]:
    """The environment of a ``decisionbot run-due`` child: ours minus any Slack/database
    settings, plus the database, a bot token and the emulator's URL."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DATABASE_URL", "DECISIONBOT_"))
    }
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    env.update(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN="xoxb-seeded-test",
        SLACK_API_URL=slack_api_url,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def parse_summary(output: str) -> dict[str, int]:
    """The counts of the ``run-due at ...: claimed N, sent N, retried N, failed N`` line."""
    found = SUMMARY.search(output)
    if found is None:
        raise AssertionError(f"no run-due summary line in {output!r}")
    return {k: int(v) for k, v in found.groupdict().items() if k != "at"}
