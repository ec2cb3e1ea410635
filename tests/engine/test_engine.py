"""The delivery engine on its own (bot/engine), on SQLite and a real Postgres server: kinds
registered by a test, not by a feature; Slack is the loopback emulator."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.engine.dispatcher import Dispatcher, run_due
from bot.engine.ratelimit import RateLimits, scope_of
from bot.engine.registry import Job, Registry, WorkKind
from bot.runtime.clients import build_dispatch_client
from bot.runtime.config import Settings
from storage import due_work
from storage.db import Database
from storage.models import DueWork
from storage.notices import schedule_notice

NOW = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def client_for(emulator):  # noqa: ANN001, ANN201
    return build_dispatch_client(Settings(slack_bot_token="xoxb-test", slack_api_url=emulator.url))


def post(job: Job) -> bool:
    job.client.chat_postMessage(channel=job.payload["channel"], text=job.payload["text"])
    return True


def add(db: Database, key: str, *, kind: str = "test.post", lane: str | None = None, **payload):  # noqa: ANN003, ANN201
    with db.session() as s:
        due_work.schedule(
            s,
            team_id="T1",
            kind=kind,
            subject_id=1,
            key=key,
            due_at=NOW,
            payload={"channel": "CGENERAL", "text": key, **payload},
            lane=lane,
        )


def states(db: Database) -> dict[str, tuple[str, int, str | None]]:
    with db.read() as s:
        return {
            r.key: (r.state, r.attempts, r.last_error)
            for r in s.exec(select(DueWork).order_by(DueWork.id)).all()
        }


def registry_with(*kinds: WorkKind) -> Registry:
    registry = Registry()
    registry.register(*kinds)
    return registry


def test_a_slack_error_not_known_to_be_permanent_is_given_up_after_the_attempts_cap(db, emulator):
    emulator.fail("chat.postMessage", error="invalid_blocks", times=100)
    told: list[str] = []

    def on_failure(session, job, failure):  # noqa: ANN001, ANN202
        told.append(failure.error)
        schedule_notice(session, team_id="T1", user_id="UALICE", text="it failed")

    registry = registry_with(WorkKind("test.post", post, on_failure=on_failure))
    add(db, "a")
    client = client_for(emulator)
    now = datetime.now(UTC)  # retries back off from the clock (or a sweep's later now)
    for attempt in range(1, 4):
        result = Dispatcher(db, client, registry, max_attempts=3).run_until_idle(now)
        assert result.claimed >= 1, attempt
        now += timedelta(hours=2)  # past any backoff
    state, attempts, error = states(db)["a"]
    assert (state, attempts) == ("failed", 3)
    assert "gave up after 3 attempts" in error and "invalid_blocks" in error
    assert len(told) == 1  # the kind's failure hook ran once, in the failing transaction
    assert [r for r in states(db) if r.startswith("notice:")]  # ... and scheduled a notice
    assert len(emulator.calls("chat.postMessage")) == 3


def test_a_permanent_error_fails_at_once_and_an_unknown_kind_never_crashes_a_sweep(db, emulator):
    registry = registry_with(WorkKind("test.post", post))
    emulator.fail("chat.postMessage", error="channel_not_found")
    add(db, "gone")
    add(db, "mystery", kind="nobody.registered.this")
    add(db, "fine")
    result = run_due(db, client_for(emulator), registry, now=NOW, concurrency=1)
    got = states(db)
    assert got["gone"][:1] == ("failed",) and got["gone"][2] == "channel_not_found"
    assert got["mystery"][0] == "failed" and got["mystery"][2] == "unknown_kind"
    assert got["fine"][0] == "done"
    assert (result.sent, result.failed) == (1, 2)


def test_rate_limits_are_per_workspace_and_method_and_per_channel_for_posts():
    clock = [0.0]
    limits = RateLimits(clock=lambda: clock[0])
    post_c1 = scope_of("T1", "chat.postMessage", {"channel": "C1"})
    limits.hit(post_c1, 10)
    limits.hit(scope_of("T1", "chat.update", {"channel": "C1"}), 5)
    assert limits.remaining(post_c1) == 10
    assert limits.remaining(scope_of("T1", "chat.postMessage", {"channel": "C2"})) == 0
    assert limits.remaining(scope_of("T2", "chat.postMessage", {"channel": "C1"})) == 0
    assert limits.remaining(scope_of("T1", "chat.update", {"channel": "C9"})) == 5
    clock[0] = 10.5
    assert limits.remaining(post_c1) == 0


def test_a_429_defers_that_row_and_the_rest_keeps_flowing(db, emulator):
    registry = registry_with(WorkKind("test.post", post))
    emulator.fail("chat.postMessage", status=429, retry_after=30)  # the first post, in CGENERAL
    add(db, "general-1", lane="c:CGENERAL")
    add(db, "general-2", lane="c:CGENERAL", channel="CGENERAL")
    add(db, "other", channel="COTHER")
    emulator.set_channel("COTHER")
    result = run_due(db, client_for(emulator), registry, now=NOW, concurrency=1)
    got = states(db)
    # one refused call; the same channel waits (no second call), another channel goes on
    assert got["general-1"][:2] == ("pending", 0) and got["general-2"][:2] == ("pending", 0)
    assert got["other"][0] == "done"
    assert (result.sent, result.deferred) == (1, 2)
    assert len(emulator.calls("chat.postMessage")) == 2


def test_stop_finishes_what_is_in_flight_and_hands_the_rest_back_at_once(db, emulator):
    entered, release = threading.Event(), threading.Event()

    def slow(job: Job) -> bool:
        if job.payload["text"] == "first":
            entered.set()
            assert release.wait(timeout=20)
        return post(job)

    registry = registry_with(WorkKind("test.post", slow))
    for key in ("first", "second", "third"):
        add(db, key, lane="c:CGENERAL")
    dispatcher = Dispatcher(db, client_for(emulator), registry, concurrency=1, idle_wait=0.1)
    dispatcher.start()
    assert entered.wait(timeout=10)
    stopper = threading.Thread(target=dispatcher.stop, kwargs={"grace": 10})
    stopper.start()
    # the unstarted rows went back at once, while "first" is still in flight
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while states(db)["second"][0] != "pending":
        assert datetime.now(UTC) < deadline
    assert states(db)["third"][:2] == ("pending", 0)
    assert states(db)["first"][0] == "claimed"
    release.set()
    stopper.join(timeout=20)
    assert states(db)["first"][0] == "done"
    assert [c.args["text"] for c in emulator.calls("chat.postMessage")] == ["first"]
    # another process takes the rest right away, no lease to wait for
    result = run_due(db, client_for(emulator), registry, now=NOW)
    assert result.sent == 2


def test_registering_a_kind_twice_is_refused():
    registry = registry_with(WorkKind("test.post", post))
    with pytest.raises(ValueError, match="twice"):
        registry.register(WorkKind("test.post", post))


def test_every_feature_kind_is_registered():
    from bot.app import work_registry
    from storage.decision_work import DecisionWork
    from storage.notices import NoticeWork
    from storage.reviews import ReviewWork

    registry = work_registry()
    for kind in [*DecisionWork, *ReviewWork, *NoticeWork]:
        assert kind in registry, kind


def test_the_engine_imports_no_feature():
    import ast
    from pathlib import Path

    engine = Path(__file__).resolve().parents[2] / "bot" / "engine"
    features = (
        "bot.features",
        "bot.app",
        "bot.runtime",
        "storage.decision",  # decisions, decision_status, decision_work, ...
        "storage.review",  # reviews, review_answers, review_lists, review_settings
        "storage.estimate",
        "storage.parking",
        "storage.digest",
    )
    for path in engine.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = [
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        ] + [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
        assert not [m for m in imported if m.startswith(features)], (path.name, imported)


def test_a_workspace_with_a_backlog_in_the_pool_does_not_hold_up_another(db, emulator):
    """Team T1's 20 rows are claimed and queued for the one thread; team T2's row, claimed
    after them, starts at its workspace's turn (after at most one more of T1's), not after
    all of T1's."""
    entered, release = threading.Event(), threading.Event()
    order: list[str] = []

    def record(job: Job) -> bool:
        if job.payload["text"] == "a00":
            entered.set()
            assert release.wait(timeout=20)
        order.append(job.payload["text"])
        return False

    registry = registry_with(WorkKind("test.record", record))
    for n in range(20):
        add(db, f"a{n:02d}", kind="test.record", lane=f"c:A{n}")
    dispatcher = Dispatcher(db, client_for(emulator), registry, concurrency=1, capacity=50)
    dispatcher.start()
    try:
        assert entered.wait(timeout=10)  # T1's rows are claimed; the thread is busy with a00
        with db.session() as s:
            due_work.schedule(
                s,
                team_id="T2",
                kind="test.record",
                subject_id=1,
                key="b00",
                due_at=NOW,
                payload={"text": "b00"},
                lane="c:B0",
            )
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while states(db)["b00"][0] != "claimed":  # claimed behind T1's queued rows
            assert datetime.now(UTC) < deadline
        release.set()
        assert dispatcher.wait_idle(timeout=20)
    finally:
        release.set()
        dispatcher.stop(grace=5)
    assert order.index("b00") <= 2, order  # first-come order would make it the 21st
    assert sorted(order) == [*(f"a{n:02d}" for n in range(20)), "b00"]
