"""The scheduled purge (`workspace.purge`, bot/features/workspace/work.py) delivered by the real
engine on SQLite and Postgres: after the retention window a workspace that left loses every
row, one small batch per delivery, without a Slack call; one that installed again, or that
never left, keeps everything."""

from __future__ import annotations

from datetime import timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.app import work_registry
from bot.engine.dispatcher import run_due
from bot.engine.registry import NotInstalled
from bot.features.workspace import work
from storage import due_work, installations
from storage.db import Database
from storage.models import DueWork, utcnow
from storage.purge import PurgeWork
from tests.support.workspace_data import CIPHER, counts, seed_workspace

A, B = "TLEFT", "TSTAYED"
RETENTION = timedelta(days=30)


class NoSlack:
    """Clients for the engine that record who asked: the purge must never ask."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, team_id: str) -> WebClient:
        self.asked.append(team_id)
        raise NotInstalled(team_id)

    def installed(self, team_id: str) -> bool:
        return False


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(work, "PURGE_BATCH", 7)


def uninstall(db: Database, team_id: str, now):  # noqa: ANN001, ANN201
    with db.session() as session:
        return installations.uninstall(
            session,
            team_id=team_id,
            retention=RETENTION,
            scheduled_kinds=work_registry().scheduled(),
            now=now,
        )


def purge_rows(db: Database, team_id: str) -> list[DueWork]:
    with db.read() as session:
        return list(
            session.scalars(
                select(DueWork).where(DueWork.team_id == team_id, DueWork.kind == PurgeWork.PURGE)
            )
        )


def test_after_the_window_every_row_goes_in_small_batches_without_slack(db, small_batches):
    seed_workspace(db, A, word="kubernetes")
    seed_workspace(db, B, word="terraform")
    before_b = counts(db, B)
    total = sum(counts(db, A).values())
    left_at = utcnow()
    assert uninstall(db, A, left_at) is not None
    slack = NoSlack()

    early = run_due(db, slack, work_registry(), now=left_at + timedelta(days=29))
    assert early.claimed == 0 and counts(db, A)["decisions"] == 9  # not due yet

    result = run_due(db, slack, work_registry(), now=left_at + RETENTION + timedelta(hours=1))

    assert slack.asked == []
    assert set(counts(db, A).values()) == {0}  # the purge rows themselves included
    assert counts(db, B) == before_b
    # One batch of 7 per delivery: a big workspace is never one long transaction.
    assert result.claimed >= total // 7 and result.failed == 0, (result, total)


def test_a_workspace_that_came_back_is_not_purged(db, small_batches):
    seed_workspace(db, A, word="kubernetes")
    left_at = utcnow()
    uninstall(db, A, left_at)
    with db.session() as session:  # a purge row claimed as the workspace reinstalls
        installations.save(
            session,
            cipher=CIPHER,
            team_id=A,
            enterprise_id=None,
            team_name="back",
            app_id="A0APP",
            bot_id="B0BOT",
            bot_user_id="U0BOT",
            bot_token="xoxb-back",
            bot_scopes=["commands"],
            installer_user_id="U0INSTALLER",
        )
        due_work.schedule(
            session,
            team_id=A,
            kind=PurgeWork.PURGE,
            subject_id=0,
            key="purge:raced",
            due_at=left_at + RETENTION,
        )
    before = counts(db, A)

    run_due(db, NoSlack(), work_registry(), now=left_at + RETENTION + timedelta(hours=1))

    assert counts(db, A) == before
    assert {r.key: r.state for r in purge_rows(db, A)}["purge:raced"] == "done"


def test_a_purge_row_of_a_workspace_that_never_left_deletes_nothing(db, small_batches):
    seed_workspace(db, B, word="terraform")
    before = counts(db, B)
    with db.session() as session:
        due_work.schedule(
            session, team_id=B, kind=PurgeWork.PURGE, subject_id=0, key="purge:odd", due_at=utcnow()
        )

    run_due(db, NoSlack(), work_registry(), now=utcnow() + timedelta(minutes=1))

    assert counts(db, B) == {**before, "due_work": before["due_work"] + 1}
