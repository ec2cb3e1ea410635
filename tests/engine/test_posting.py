"""Posts whose outcome is unknown (issue 18, finding 3), below the app: the dispatcher's
client never reposts by itself, and ``post_once`` looks for an earlier post (its metadata
names the outbox row's key) before posting again, in a channel or a thread."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.error import URLError

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.engine.posting import METADATA_EVENT, OutcomeUnknown, post_once
from bot.engine.registry import Job, OneClient, WorkKind
from bot.runtime.clients import build_dispatch_client, dispatch_retry_handlers
from bot.runtime.config import Settings
from storage.models import DueWork, utcnow
from tests.support.slack_emulator import SlackEmulator


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


def client_for(emu: SlackEmulator) -> Any:
    settings = Settings(
        database_url="sqlite://",
        slack_bot_token="xoxb-test",
        slack_signing_secret="s",
        slack_api_url=emu.url,
    )
    client = build_dispatch_client(settings)
    client.timeout = 1  # the emulator's late answers come after it
    return client


def request(method: str) -> HttpRequest:
    return HttpRequest(method="POST", url=f"https://slack.com/api/{method}", headers={})


# -- the retry handlers ----------------------------------------------------------------------


def test_slack_sdks_own_handlers_would_repost_which_is_why_ours_differ() -> None:
    """Pins slack_sdk's behaviour: its handlers retry any method, a post included."""
    state = RetryState()
    reset = URLError(ConnectionResetError(104, "Connection reset by peer"))
    failed = HttpResponse(status_code=500, headers={})
    assert ConnectionErrorRetryHandler(max_retry_count=2).can_retry(
        state=state, request=request("chat.postMessage"), error=reset
    )
    assert ServerErrorRetryHandler(max_retry_count=2).can_retry(
        state=state, request=request("chat.postMessage"), response=failed
    )
    connection, server = dispatch_retry_handlers()
    for method in ("chat.postMessage", "files.completeUploadExternal"):
        assert not connection.can_retry(state=state, request=request(method), error=reset)
        assert not server.can_retry(state=state, request=request(method), response=failed)
    for method in ("conversations.info", "chat.update", "users.info"):
        assert connection.can_retry(state=state, request=request(method), error=reset)
        assert server.can_retry(state=state, request=request(method), response=failed)


def test_the_dispatch_client_never_reposts_but_retries_other_methods(emu: SlackEmulator) -> None:
    client = client_for(emu)
    emu.fail("chat.postMessage", status=500, performed=True)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C1", text="once")
    assert len(emu.calls("chat.postMessage")) == 1 and len(emu.messages("C1")) == 1

    emu.fail("files.completeUploadExternal", status=503)
    with pytest.raises(SlackApiError):
        client.files_upload_v2(channel="C1", content="x", filename="x.txt")
    assert len(emu.calls("files.completeUploadExternal")) == 1

    emu.fail("conversations.info", status=500, times=2)
    assert client.conversations_info(channel="C1")["ok"]
    assert len(emu.calls("conversations.info")) == 3


# -- post_once -------------------------------------------------------------------------------


def job_for(client: Any, *, attempts: int = 1, last_error: str | None = None) -> Job:
    now = utcnow()
    item = DueWork(
        id=7,
        team_id="T1",
        kind="test.post",
        subject_id=1,
        key="test:1:post",
        due_at=now,
        attempts=attempts,
        last_error=last_error,
        created_at=now - timedelta(seconds=5),
        updated_at=now,
    )
    kind = WorkKind(name="test.post", handler=lambda job: True)
    return Job(item=item, kind=kind, db=None, clients=OneClient(client), now=now)  # type: ignore[arg-type]


def test_a_lost_answer_in_a_thread_is_found_by_its_replies(emu: SlackEmulator) -> None:
    client = client_for(emu)
    parent = client.chat_postMessage(channel="C1", text="parent")["ts"]
    client.chat_postMessage(channel="C1", thread_ts=parent, text="someone else's reply")
    emu.fail("chat.postMessage", delay=3.0, performed=True)
    with pytest.raises(OutcomeUnknown):
        post_once(job_for(client), channel="C1", thread_ts=parent, text="the round")
    [mine] = [m for m in emu.messages("C1") if m.get("metadata")]
    assert mine["metadata"] == {
        "event_type": METADATA_EVENT,
        "event_payload": {"key": "test:1:post"},
    }

    retry = job_for(client, attempts=2, last_error="unknown: timeout (timed out)")
    assert post_once(retry, channel="C1", thread_ts=parent, text="the round") == {
        "channel": "C1",
        "ts": mine["ts"],
    }
    [read] = emu.calls("conversations.replies")
    assert read.args["ts"] == parent and emu.calls("conversations.history") == []
    assert len([m for m in emu.messages("C1") if m.get("text") == "the round"]) == 1


def test_a_lease_that_expired_mid_post_is_looked_for_too(emu: SlackEmulator) -> None:
    client = client_for(emu)
    first = post_once(job_for(client), channel="C2", text="digest")
    # the process died before recording it: claimed again, no error recorded
    again = post_once(job_for(client, attempts=2), channel="C2", text="digest")
    assert again == first and len(emu.messages("C2")) == 1


def test_not_found_posts_and_a_failed_read_posts_nothing(emu: SlackEmulator) -> None:
    client = client_for(emu)
    unknown = "unknown: slack:internal_error"
    # the earlier attempt did not post after all: posted now
    posted = post_once(job_for(client, attempts=2, last_error=unknown), channel="C3", text="a")
    assert [m["ts"] for m in emu.messages("C3")] == [posted["ts"]]
    # the read itself fails (5xx, retried by the client, then given up): nothing is posted
    emu.fail("conversations.history", status=500, times=3)
    with pytest.raises(SlackApiError):
        post_once(job_for(client, attempts=3, last_error=unknown), channel="C4", text="b")
    assert (
        emu.messages("C4") == []
        and emu.calls(
            "chat.postMessage",
        )
        != []
    )
