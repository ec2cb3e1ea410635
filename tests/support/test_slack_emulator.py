"""Tests for the Slack Web API emulator, driven by the real slack_sdk WebClient."""

from __future__ import annotations

import http.client
import json
import time
import types
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from tests.support.slack_emulator import SlackEmulator

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}]


@pytest.fixture(scope="module")
def _server() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emu:
        yield emu


@pytest.fixture
def emu(_server: SlackEmulator) -> SlackEmulator:
    _server.reset()
    _server.latency = 0.0
    return _server


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token="xoxb-test", base_url=emu.url, timeout=20)


def _post_json(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_url_shape(emu: SlackEmulator) -> None:
    assert emu.url.startswith("http://127.0.0.1:")
    assert emu.url.endswith("/api/")
    assert emu.response_url("abc") == emu.url[: -len("api/")] + "response/abc"


def test_auth_test(client: WebClient, emu: SlackEmulator) -> None:
    resp = client.auth_test()
    assert resp["ok"] is True
    assert resp["team_id"] == "T0001"
    assert resp["user_id"] == "UBOT"
    assert resp["bot_id"] == "B0001"
    assert emu.calls("auth.test")[0].token == "xoxb-test"


def test_post_message_records_call_with_blocks_and_token(
    client: WebClient, emu: SlackEmulator
) -> None:
    resp = client.chat_postMessage(channel="C1", text="hi", blocks=BLOCKS, thread_ts="1.2")
    assert resp["ok"] is True
    assert resp["channel"] == "C1"
    assert resp["message"]["blocks"] == BLOCKS
    assert resp["message"]["thread_ts"] == "1.2"
    assert resp["message"]["ts"] == resp["ts"]

    [call] = emu.calls("chat.postMessage")
    assert call.token == "xoxb-test"
    assert call.args["channel"] == "C1"
    assert call.args["text"] == "hi"
    assert call.args["blocks"] == BLOCKS
    assert call.key is None
    assert call.at <= time.monotonic()


def test_form_encoded_blocks_are_decoded(client: WebClient, emu: SlackEmulator) -> None:
    # api_call with params= sends application/x-www-form-urlencoded.
    client.api_call(
        "chat.postMessage",
        params={"channel": "C1", "text": "x", "blocks": json.dumps(BLOCKS)},
    )
    [call] = emu.calls("chat.postMessage")
    assert call.args["blocks"] == BLOCKS


def test_query_string_args_and_token_arg(emu: SlackEmulator) -> None:
    status, body = _post_json(emu.url + "users.info?user=U9&token=xoxb-q", {})
    assert status == 200 and body["user"]["id"] == "U9"
    [call] = emu.calls("users.info")
    assert call.token == "xoxb-q"


def test_ts_unique_and_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(20)]
    stamps.append(client.chat_postEphemeral(channel="C1", user="U1", text="e")["message_ts"])
    assert len(set(stamps)) == len(stamps)
    assert [float(s) for s in stamps] == sorted(float(s) for s in stamps)
    assert all(len(s.split(".")[1]) == 6 for s in stamps)


def test_not_in_channel(client: WebClient, emu: SlackEmulator) -> None:
    emu.set_channel("C2", is_member=False)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C2", text="hi")
    assert exc.value.response["error"] == "not_in_channel"
    assert len(emu.calls("chat.postMessage")) == 1


def test_channel_not_found_and_archived(client: WebClient, emu: SlackEmulator) -> None:
    emu.set_channel("C3", exists=False)
    emu.set_channel("C4", is_archived=True)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C3", text="hi")
    assert exc.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C4", text="hi")
    assert exc.value.response["error"] == "is_archived"
    with pytest.raises(SlackApiError) as exc:
        client.conversations_info(channel="C3")
    assert exc.value.response["error"] == "channel_not_found"


def test_dm_channels(client: WebClient, emu: SlackEmulator) -> None:
    emu.set_channel("D5", exists=False)  # DM ids are always ok for chat.postMessage
    assert client.chat_postMessage(channel="U123", text="hi")["channel"] == "D123"
    assert client.chat_postMessage(channel="D5", text="hi")["channel"] == "D5"
    assert client.conversations_open(users="U123")["channel"]["id"] == "D123"


def test_rate_limit_retry(
    client: WebClient, emu: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RateLimitErrorRetryHandler sleeps Retry-After + random(); record instead of sleeping.
    slept: list[float] = []
    monkeypatch.setattr(builtin_handlers, "time", types.SimpleNamespace(sleep=slept.append))
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    emu.fail("chat.postMessage", status=429, retry_after=1)

    resp = client.chat_postMessage(channel="C1", text="hi")
    assert resp["ok"] is True
    assert len(emu.calls("chat.postMessage")) == 2
    assert len(slept) == 1 and 1 <= slept[0] < 2  # honoured Retry-After: 1


def test_rate_limit_without_retry_handler(client: WebClient, emu: SlackEmulator) -> None:
    emu.fail("chat.postMessage", status=429)
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C1", text="hi")
    assert exc.value.response.status_code == 429
    assert exc.value.response["error"] == "ratelimited"
    assert exc.value.response.headers["Retry-After"] == "1"


def test_server_error_retry(client: WebClient, emu: SlackEmulator) -> None:
    client.retry_handlers.append(
        ServerErrorRetryHandler(
            max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
        )
    )
    emu.fail("chat.postMessage", status=500)
    resp = client.chat_postMessage(channel="C1", text="hi")
    assert resp["ok"] is True
    assert len(emu.calls("chat.postMessage")) == 2


def test_server_error_body(emu: SlackEmulator) -> None:
    emu.fail("auth.test", status=503)
    assert _post_json(emu.url + "auth.test", {}) == (
        503,
        {"ok": False, "error": "internal_error"},
    )


def test_fail_error_times_fifo(client: WebClient, emu: SlackEmulator) -> None:
    emu.fail("chat.update", error="message_not_found", times=2)
    emu.fail("chat.update", error="cant_update_message")
    errors = []
    for _ in range(4):
        try:
            client.chat_update(channel="C1", ts="1.1", text="t")
            errors.append("ok")
        except SlackApiError as exc:
            errors.append(exc.response["error"])
    assert errors == ["message_not_found", "message_not_found", "cant_update_message", "ok"]
    assert len(emu.calls("chat.update")) == 4


def test_fail_delay_provokes_timeout(emu: SlackEmulator) -> None:
    emu.fail("auth.test", delay=0.5)
    # slack_sdk hands the timeout to urllib, which takes a float; its hint says int
    fast = WebClient(token="xoxb-test", base_url=emu.url, timeout=0.1)  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        fast.auth_test()
    # recorded once the emulator read it (a stalled machine may read it after the timeout)
    assert len(emu.wait_for("auth.test")) == 1
    # the fault is consumed: the next call is answered normally (by a client that waits
    # long enough for a slow machine: the point is the answer, not its speed)
    patient = WebClient(token="xoxb-test", base_url=emu.url, timeout=10)
    assert patient.auth_test()["ok"] is True


def test_delay_only_still_answers(client: WebClient, emu: SlackEmulator) -> None:
    emu.fail("auth.test", delay=0.05)
    start = time.monotonic()
    assert client.auth_test()["ok"] is True
    assert time.monotonic() - start >= 0.05


def test_views_open_echoes_id(client: WebClient, emu: SlackEmulator) -> None:
    view = {"type": "modal", "callback_id": "cb", "title": {"type": "plain_text", "text": "T"}}
    resp = client.views_open(trigger_id="trig", view=view)
    assert resp["view"]["id"].startswith("V")
    assert resp["view"]["callback_id"] == "cb"
    assert resp["view"]["state"] == {"values": {}}
    [call] = emu.calls("views.open")
    assert call.args["view"] == view
    resp2 = client.views_push(trigger_id="trig", view=view)
    assert resp2["view"]["id"] != resp["view"]["id"]


def test_views_update_checks_the_hash_and_keeps_entries_as_slack_does(
    client: WebClient, emu: SlackEmulator
) -> None:
    def field(block_id: str, action_id: str = "value") -> dict[str, Any]:
        element = {"type": "plain_text_input", "action_id": action_id}
        return {"type": "input", "block_id": block_id, "label": {}, "element": element}

    view = {"type": "modal", "blocks": [field("a"), field("b"), field("c")]}
    opened = client.views_open(trigger_id="t", view=view)["view"]
    vid = opened["id"]
    for block_id in ("a", "b", "c"):
        emu.enter(vid, block_id, "value", {"type": "plain_text_input", "value": block_id * 3})
    assert emu.view(vid)["hash"] == opened["hash"]  # typing does not change the hash
    # same block and action id: kept; another action id, or a block gone: dropped
    changed = {"type": "modal", "blocks": [field("a"), field("b", "other"), field("d")]}
    updated = client.views_update(view_id=vid, hash=opened["hash"], view=changed)["view"]
    assert updated["id"] == vid and updated["hash"] != opened["hash"]
    assert updated["state"]["values"] == {
        "a": {"value": {"type": "plain_text_input", "value": "aaa"}}
    }
    assert emu.view(vid)["state"] == updated["state"]
    assert emu.view(vid)["blocks"] == changed["blocks"]
    # an update made from the older copy is refused; without a hash it is not checked
    with pytest.raises(SlackApiError) as refused:
        client.views_update(view_id=vid, hash=opened["hash"], view=view)
    assert refused.value.response["error"] == "hash_conflict"
    assert client.views_update(view_id=vid, view=view)["ok"]
    # a view the emulator never opened is updated as before
    assert client.views_update(view_id="VELSEWHERE", hash="h0", view=view)["ok"]


def test_views_form_encoded_view_decoded(client: WebClient, emu: SlackEmulator) -> None:
    view = {"type": "home", "blocks": []}
    resp = client.api_call("views.publish", params={"user_id": "U1", "view": json.dumps(view)})
    assert resp["view"]["type"] == "home"
    assert emu.calls("views.publish")[0].args["view"] == view


def test_other_methods(client: WebClient, emu: SlackEmulator) -> None:
    emu.set_channel("C7", is_private=True, name="secret", members=["U1", "U2"])
    emu.set_user("U1", tz="Europe/Berlin")
    emu.set_user("U2", deleted=True)

    info = client.conversations_info(channel="C7")["channel"]
    assert info["name"] == "secret" and info["is_private"] and not info["is_im"]
    assert client.conversations_info(channel="C8")["channel"]["name"] == "c8"
    assert client.conversations_members(channel="C7")["members"] == ["U1", "U2"]
    assert client.conversations_members(channel="C8")["members"] == []
    assert client.users_info(user="U1")["user"]["tz"] == "Europe/Berlin"
    u2 = client.users_info(user="U2")["user"]
    assert u2["deleted"] is True and u2["tz"] == "UTC"
    link = client.chat_getPermalink(channel="C7", message_ts="1700000000.000123")
    assert link["permalink"] == "https://emulated.slack.com/archives/C7/p1700000000000123"
    assert client.api_call("reactions.add", params={"name": "x"})["ok"] is True


def test_conversations_list_pages_the_named_channels_the_bot_can_see(
    client: WebClient, emu: SlackEmulator
) -> None:
    emu.set_channel("C1", name="general")
    emu.set_channel("C2", name="design", is_member=False)  # public: listed all the same
    emu.set_channel("C3", name="secret", is_private=True)
    emu.set_channel("C4", name="hidden", is_private=True, is_member=False)  # not listed
    emu.set_channel("C5", name="old", is_archived=True)
    emu.set_channel("C6", is_private=True)  # no name: not listed
    emu.set_channel("C7", name="gone", exists=False)

    def names(**kw: Any) -> list[list[str]]:
        pages, cursor = [], None
        while True:
            page = client.conversations_list(cursor=cursor, **kw)
            pages.append([c["name"] for c in page["channels"]])
            cursor = page["response_metadata"]["next_cursor"]
            if not cursor:
                return pages

    assert names() == [["general", "design", "old"]]  # public channels by default
    both = "public_channel,private_channel"
    assert names(types=both, limit=2) == [["general", "design"], ["secret", "old"]]
    assert names(types=both, exclude_archived=True) == [["general", "design", "secret"]]
    assert names(types="private_channel") == [["secret"]]
    [secret] = client.conversations_list(types="private_channel")["channels"]
    assert secret == client.conversations_info(channel="C3")["channel"]
    assert secret["is_private"] and secret["is_member"] and not secret["is_archived"]
    with pytest.raises(SlackApiError) as bad:
        client.conversations_list(types="public_channel,shared_channel")
    assert bad.value.response["error"] == "invalid_types"


def test_response_url_recorded(emu: SlackEmulator) -> None:
    status, body = _post_json(emu.response_url("k1"), {"text": "done", "replace_original": True})
    assert (status, body) == (200, {"ok": True})
    [call] = emu.wait_for("response_url", where=lambda c: c.key == "k1")
    assert call.method == "response_url"
    assert call.args == {"text": "done", "replace_original": True}


def test_unknown_path_404(emu: SlackEmulator) -> None:
    status, body = _post_json(emu.url.replace("/api/", "/nope"), {})
    assert status == 404 and body["ok"] is False
    assert emu.calls() == []


def test_wait_for_times_out(client: WebClient, emu: SlackEmulator) -> None:
    client.auth_test()
    with pytest.raises(AssertionError, match="auth.test"):
        emu.wait_for("chat.postMessage", timeout=0.05)


def test_keep_alive_connection(emu: SlackEmulator) -> None:
    port = int(emu.url.split(":")[2].split("/")[0])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        for i in range(3):
            body = f"channel=C1&text={i}"
            conn.request(
                "POST",
                "/api/chat.postMessage",
                body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.getheader("Content-Type") == "application/json; charset=utf-8"
            assert json.loads(resp.read())["ok"] is True
    finally:
        conn.close()
    assert [c.args["text"] for c in emu.calls("chat.postMessage")] == ["0", "1", "2"]


def test_reset_clears_state(client: WebClient, emu: SlackEmulator) -> None:
    emu.set_channel("C9", is_member=False)
    emu.fail("auth.test", error="invalid_auth")
    client.chat_postMessage(channel="C1", text="x")
    emu.reset()
    assert emu.calls() == []
    assert client.auth_test()["ok"] is True
    assert client.chat_postMessage(channel="C9", text="x")["ok"] is True


def test_start_stop_standalone() -> None:
    emu = SlackEmulator(team_id="T9", bot_user_id="U9BOT").start()
    try:
        assert WebClient(base_url=emu.url).auth_test()["user_id"] == "U9BOT"
    finally:
        emu.stop()
    emu.stop()  # idempotent


# -- Socket Mode (tests/support/socket_emulator.py), driven by a plain WebSocket client -------


def _socket_url(emu: SlackEmulator) -> str:
    return str(WebClient(base_url=emu.url).apps_connections_open(app_token="xapp-1-test")["url"])


def test_apps_connections_open_wants_an_app_token_and_hands_out_one_use_urls(
    client: WebClient, emu: SlackEmulator
) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with pytest.raises(SlackApiError) as refused:
        client.apps_connections_open(app_token="xoxb-not-an-app-token")
    assert refused.value.response["error"] == "not_allowed_token_type"
    url = _socket_url(emu)
    assert url.startswith("ws://127.0.0.1:") and "ticket=" in url
    with connect(url) as ws:
        hello = json.loads(ws.recv(timeout=20))
        assert hello["type"] == "hello" and hello["connection_info"]["app_id"] == "A0001"
    with pytest.raises(InvalidStatus):  # a ticket is good for one connection
        connect(url).close()


def test_socket_mode_envelopes_acks_and_redelivery_of_what_was_not_acked(
    emu: SlackEmulator,
) -> None:
    from websockets.sync.client import connect

    sockets = emu.socket_mode
    n = sockets.connections + 1  # the number of the connection opened next
    with connect(_socket_url(emu)) as ws:
        assert json.loads(ws.recv(timeout=20))["type"] == "hello"
        command = sockets.send("slash_commands", {"command": "/adr", "text": "help"})
        wire = json.loads(ws.recv(timeout=20))
        assert wire == {
            "envelope_id": command.envelope_id,
            "type": "slash_commands",
            "payload": {"command": "/adr", "text": "help"},
            "accepts_response_payload": True,
        }
        ws.send(json.dumps({"envelope_id": command.envelope_id, "payload": {"text": "hi"}}))
        ack = sockets.wait_ack(command, timeout=20)
        assert ack.payload == {"text": "hi"} and ack.connection == n

        # an ack that never arrives: the envelope is delivered again on the next connection
        event = sockets.send("events_api", {"event_id": "Ev1"}, lose_ack=True)
        first = json.loads(ws.recv(timeout=20))
        assert (first["retry_attempt"], first["accepts_response_payload"]) == (0, False)
        ws.send(json.dumps({"envelope_id": event.envelope_id}))  # the emulator drops it
        sockets.wait_closed(n, timeout=20)
    with connect(_socket_url(emu)) as ws:
        assert json.loads(ws.recv(timeout=20))["type"] == "hello"
        again = json.loads(ws.recv(timeout=20))
        assert (again["envelope_id"], again["retry_attempt"]) == (event.envelope_id, 1)
        assert again["retry_reason"] == "timeout"
        ws.send(json.dumps({"envelope_id": event.envelope_id}))
        assert sockets.wait_ack(event, timeout=20).payload is None
        ws.send(json.dumps({"envelope_id": event.envelope_id}))  # a second ack: unexpected
        assert sockets.disconnect() == n + 1
        assert json.loads(ws.recv(timeout=20)) == {
            "type": "disconnect",
            "reason": "refresh_requested",
            "debug_info": {"host": "emulator"},
        }
    assert command.deliveries == [n] and event.deliveries == [n, n + 1]
    assert sockets.unexpected[-1:] == [{"envelope_id": event.envelope_id}]


# -- files.uploadV2 ------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def test_files_upload_v2_with_the_real_client(emu: SlackEmulator, client: WebClient) -> None:
    resp = client.files_upload_v2(
        channel="C1",
        thread_ts="1700000000.000001",
        content=PNG,
        filename="E-3.png",
        title="E-3 estimates",
        initial_comment="The spread",
    )
    assert resp["ok"] and resp["file"]["title"] == "E-3 estimates"
    [shared] = emu.uploaded_files()
    assert shared["data"] == PNG and shared["size"] == len(PNG)
    assert (shared["channel_id"], shared["thread_ts"], shared["initial_comment"]) == (
        "C1",
        "1700000000.000001",
        "The spread",
    )
    assert (shared["filename"], shared["id"]) == ("E-3.png", resp["file"]["id"])
    [ask] = emu.calls("files.getUploadURLExternal")
    assert ask.args["filename"] == "E-3.png" and int(ask.args["length"]) == len(PNG)
    [upload] = emu.calls("upload_url")
    assert upload.args == {"file_id": shared["id"], "size": len(PNG)}
    [done] = emu.calls("files.completeUploadExternal")
    assert done.args["channel_id"] == "C1"


def test_files_upload_v2_needs_the_bot_in_the_channel(
    emu: SlackEmulator, client: WebClient
) -> None:
    emu.set_channel("C2", is_member=False)
    with pytest.raises(SlackApiError) as err:
        client.files_upload_v2(channel="C2", content=PNG, filename="chart.png")
    assert err.value.response["error"] == "not_in_channel"
    assert emu.uploaded_files() == []


def test_upload_url_faults_and_unknown_files(emu: SlackEmulator, client: WebClient) -> None:
    emu.fail("upload_url", status=500)
    # slack_sdk POSTs the bytes with urllib: a failed upload surfaces as urllib's HTTPError
    with pytest.raises((SlackRequestError, urllib.error.HTTPError)):
        client.files_upload_v2(channel="C1", content=PNG, filename="chart.png")
    assert emu.calls("files.completeUploadExternal") == []
    with pytest.raises(SlackApiError) as err:
        client.files_completeUploadExternal(files=[{"id": "F404"}], channel_id="C1")
    assert err.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError):
        client.files_getUploadURLExternal(filename="", length=0)
    emu.reset()
    assert emu.uploaded_files() == []


# -- many workspaces: tokens, the one crossing rule, revocation ----------------------------------


def _installed(emu: SlackEmulator, team_id: str) -> WebClient:
    return WebClient(token=emu.issue_token(team_id), base_url=emu.url, timeout=20)


def _error(call: Callable[[], object]) -> str:
    with pytest.raises(SlackApiError) as refused:
        call()
    return str(refused.value.response["error"])


def test_an_issued_token_belongs_to_its_workspace_and_others_to_none(
    client: WebClient, emu: SlackEmulator
) -> None:
    emu.add_workspace("TAAA", name="Alpha", bot_user_id="UALPHABOT", enterprise_id="E1")
    alpha = _installed(emu, "TAAA")
    beta = _installed(emu, "TBBB")  # hosted from now on, with the default names

    assert alpha.auth_test().data == {
        "ok": True,
        "url": "https://taaa.emulated.slack.com/",
        "team": "Alpha",
        "user": "bot",
        "team_id": "TAAA",
        "user_id": "UALPHABOT",
        "bot_id": "BAAA",
        "enterprise_id": "E1",
        "is_enterprise_install": False,
    }
    about_beta = beta.auth_test()
    assert (about_beta["team_id"], about_beta["user_id"], about_beta["bot_id"]) == (
        "TBBB",
        "UBBBBOT",
        "BBBB",
    )
    assert "enterprise_id" not in about_beta
    assert client.auth_test()["team_id"] == "T0001"  # a token not issued here: as before

    assert emu.token_team(str(alpha.token)) == "TAAA"
    assert emu.token_team("xoxb-test") is None
    posted = beta.chat_postMessage(channel="C1", text="hi")["message"]
    assert (posted["user"], posted["bot_id"]) == ("UBBBBOT", "BBBB")
    by_team = emu.calls_by_team()
    assert [c.method for c in by_team["TAAA"]] == ["auth.test"]
    assert [c.method for c in by_team["TBBB"]] == ["auth.test", "chat.postMessage"]
    assert [c.token for c in by_team[None]] == ["xoxb-test"]


def test_a_token_naming_another_workspaces_channel_or_user_is_refused_and_kept(
    client: WebClient, emu: SlackEmulator
) -> None:
    alpha, beta = _installed(emu, "TAAA"), _installed(emu, "TBBB")
    emu.set_channel("CA", team_id="TAAA", name="alpha-general")
    emu.set_channel("CB", team_id="TBBB", name="beta-general")
    emu.set_user("UA", team_id="TAAA")
    emu.set_user("UB", team_id="TBBB")
    emu.set_user("UEXT", team_id="TOTHER")  # a Slack Connect outsider's organisation

    # its own workspace's, unconfigured ones and an outsider: accepted
    assert alpha.chat_postMessage(channel="CA", text="hi")["ok"]
    assert alpha.chat_postMessage(channel="CNEW", text="hi")["ok"]
    assert alpha.users_info(user="UA")["ok"] and alpha.users_info(user="UNEW")["ok"]
    assert alpha.users_info(user="UEXT")["user"]["team_id"] == "TOTHER"
    assert alpha.conversations_open(users="UA")["channel"]["id"] == "DA"
    assert emu.cross_workspace_calls() == []

    # another hosted workspace's: refused, as Slack does, and kept
    assert _error(lambda: alpha.chat_postMessage(channel="CB", text="hi")) == "channel_not_found"
    assert _error(lambda: alpha.chat_postMessage(channel="UB", text="hi")) == "channel_not_found"
    assert _error(lambda: alpha.chat_postMessage(channel="DB", text="hi")) == "channel_not_found"
    assert _error(lambda: alpha.conversations_history(channel="CB")) == "channel_not_found"
    assert _error(lambda: alpha.users_info(user="UB")) == "user_not_found"
    assert _error(lambda: alpha.conversations_open(users=["UA", "UB"])) == "user_not_found"
    assert _error(lambda: alpha.chat_postEphemeral(channel="CA", user="UB", text="x")) == (
        "user_not_found"
    )
    assert _error(lambda: alpha.views_publish(user_id="UB", view={"type": "home"})) == (
        "user_not_found"
    )
    crossed = emu.cross_workspace_calls()
    assert len(crossed) == 8
    assert {(c.team, c.crossed, c.token) for c in crossed} == {("TAAA", "TBBB", alpha.token)}
    assert emu.messages("CB") == []  # nothing was posted

    # the single-workspace token sees everything, as before; B's own token its own
    assert client.chat_postMessage(channel="CB", text="hi")["ok"]
    assert client.users_info(user="UA")["ok"]
    assert beta.chat_postMessage(channel="CB", text="hi")["ok"]
    assert len(emu.cross_workspace_calls()) == 8


def test_lists_leave_out_what_belongs_to_another_workspace(
    client: WebClient, emu: SlackEmulator
) -> None:
    alpha = _installed(emu, "TAAA")
    emu.add_workspace("TBBB")
    emu.set_channel("CA", team_id="TAAA", name="alpha")
    emu.set_channel("CB", team_id="TBBB", name="beta")
    emu.set_channel("CX", name="anyone")
    emu.set_user("UA", team_id="TAAA")
    emu.set_user("UB", team_id="TBBB")
    assert [c["id"] for c in alpha.conversations_list()["channels"]] == ["CA", "CX"]
    assert [u["id"] for u in alpha.users_list()["members"]] == ["UA"]
    assert [c["id"] for c in client.conversations_list()["channels"]] == ["CA", "CB", "CX"]
    assert [u["id"] for u in client.users_list()["members"]] == ["UA", "UB"]
    assert emu.cross_workspace_calls() == []


def test_revoked_tokens_get_invalid_auth_on_every_method(
    client: WebClient, emu: SlackEmulator
) -> None:
    alpha, beta = _installed(emu, "TAAA"), _installed(emu, "TBBB")
    second_alpha = _installed(emu, "TAAA")

    assert alpha.auth_revoke(test=True).data == {"ok": True, "revoked": False}
    assert alpha.auth_test()["ok"]
    assert alpha.auth_revoke().data == {"ok": True, "revoked": True}
    assert _error(alpha.auth_test) == "invalid_auth"
    assert _error(lambda: alpha.chat_postMessage(channel="C1", text="x")) == "invalid_auth"
    assert second_alpha.auth_test()["ok"]  # only the calling token

    emu.fail("chat.postMessage", error="ratelimited")
    emu.uninstall("TAAA")
    assert _error(lambda: second_alpha.chat_postMessage(channel="C1", text="x")) == ("invalid_auth")
    assert emu.token_team(str(second_alpha.token)) == "TAAA"  # still known, and revoked
    assert emu.calls("chat.postMessage")[-1].team == "TAAA"
    # the other workspace is untouched, and the refused call left the fault queued
    assert _error(lambda: beta.chat_postMessage(channel="C1", text="x")) == "ratelimited"
    assert beta.chat_postMessage(channel="C1", text="x")["ok"]

    emu.revoke("xoxb-test")  # any token can be revoked
    emu.revoked_error = "token_revoked"
    assert _error(client.auth_test) == "token_revoked"


# -- OAuth: the authorize page and oauth.v2.access -----------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _authorize(emu: SlackEmulator, **query: str) -> tuple[int, dict[str, str]]:
    """GET the authorize page as a browser would, without following its redirect: (status,
    the query of the Location it redirects to, with ``to`` its address)."""
    url = emu.authorize_url + "?" + urllib.parse.urlencode(query)
    try:
        with urllib.request.build_opener(_NoRedirect).open(url, timeout=20) as resp:
            return resp.status, {}
    except urllib.error.HTTPError as exc:
        location = exc.headers.get("Location")
        if location is None:
            return exc.code, {}
        to, _, back = location.partition("?")
        return exc.code, {"to": to, **dict(urllib.parse.parse_qsl(back))}


REDIRECT = "http://127.0.0.1:1/slack/oauth_redirect"


def test_an_install_through_the_authorize_page_and_oauth_v2_access(emu: SlackEmulator) -> None:
    emu.oauth_client = ("111.222", "s3cret")
    emu.add_workspace("TAAA", name="Alpha", bot_user_id="UALPHABOT")
    emu.next_install("TAAA", user_id="UPAT")
    query = {"client_id": "111.222", "scope": "commands,chat:write", "user_scope": ""}
    status, back = _authorize(emu, **query, state="st1", redirect_uri=REDIRECT)
    assert status == 302 and back["to"] == REDIRECT and back["state"] == "st1"
    [page] = emu.calls("oauth.v2.authorize")
    assert page.args == {**query, "state": "st1", "redirect_uri": REDIRECT}
    assert page.response == {"status": 302, "location": f"{REDIRECT}?code={back['code']}&state=st1"}

    app = WebClient(base_url=emu.url, timeout=20)  # sends the credentials as HTTP Basic auth
    exchange = app.oauth_v2_access(
        client_id="111.222", client_secret="s3cret", code=back["code"], redirect_uri=REDIRECT
    ).data
    assert isinstance(exchange, dict)
    token = exchange.pop("access_token")
    assert token.startswith("xoxb-TAAA-") and emu.token_team(token) == "TAAA"
    assert exchange == {
        "ok": True,
        "token_type": "bot",
        "scope": "commands,chat:write",
        "bot_user_id": "UALPHABOT",
        "app_id": "A0DECISION",
        "team": {"id": "TAAA", "name": "Alpha"},
        "enterprise": None,
        "is_enterprise_install": False,
        "authed_user": {"id": "UPAT"},
    }
    [call] = emu.calls("oauth.v2.access")
    assert call.client_credentials == ("111.222", "s3cret") and call.team is None
    assert WebClient(token=token, base_url=emu.url).auth_test()["user_id"] == "UALPHABOT"

    # a code is good once
    again = lambda: app.oauth_v2_access(  # noqa: E731
        client_id="111.222", client_secret="s3cret", code=back["code"], redirect_uri=REDIRECT
    )
    assert _error(again) == "invalid_code"


def test_oauth_v2_access_refuses_as_slack_does(emu: SlackEmulator) -> None:
    emu.oauth_client = ("111.222", "s3cret")
    emu.next_install("TAAA")
    _, back = _authorize(emu, client_id="111.222", scope="commands", redirect_uri=REDIRECT)
    app = WebClient(base_url=emu.url, timeout=20)

    def exchange(client_id: str = "111.222", secret: str = "s3cret", **kw: str) -> object:
        args = {"code": back["code"], "redirect_uri": REDIRECT, **kw}
        return app.oauth_v2_access(client_id=client_id, client_secret=secret, **args)

    assert _error(lambda: exchange(client_id="999")) == "invalid_client_id"
    assert _error(lambda: exchange(secret="wrong")) == "bad_client_secret"
    assert _error(lambda: exchange(redirect_uri="http://elsewhere/")) == "bad_redirect_uri"
    assert _error(lambda: exchange(code="nope")) == "invalid_code"
    # none of these used the code up; credentials in the form are accepted too
    form = app.api_call(
        "oauth.v2.access",
        params={
            "client_id": "111.222",
            "client_secret": "s3cret",
            "code": back["code"],
            "redirect_uri": REDIRECT,
        },
    )
    assert form["team"] == {"id": "TAAA", "name": "Workspace TAAA"}
    assert form["scope"] == "commands" and emu.token_team(form["access_token"]) == "TAAA"


def test_the_authorize_page_cancel_choices_and_defaults(emu: SlackEmulator) -> None:
    emu.oauth_redirect_uri = REDIRECT
    emu.next_install("TAAA", cancel=True)
    assert _authorize(emu, client_id="any", scope="commands", state="st") == (
        302,
        {"to": REDIRECT, "error": "access_denied", "state": "st"},
    )
    # nobody installing, or nowhere to go back to: an error page, no code
    assert _authorize(emu, client_id="any", scope="commands")[0] == 400
    emu.oauth_redirect_uri = None
    emu.next_install("TAAA")
    assert _authorize(emu, client_id="any", scope="commands")[0] == 400
    assert [c.response["status"] for c in emu.calls("oauth.v2.authorize") if c.response] == [
        302,
        400,
        400,
    ]

    # the install waits for a page load that can redirect
    emu.oauth_redirect_uri = REDIRECT
    assert "code" in _authorize(emu, client_id="any", scope="commands")[1]

    # approved scopes, user scopes and an organisation's workspace; no redirect_uri asked
    emu.add_workspace("TORG", enterprise_id="E9")
    emu.next_install("TORG", user_id="UADMIN", scopes=["commands"])
    _, back = _authorize(emu, client_id="x", scope="commands chat:write", user_scope="search:read")
    exchange = WebClient(base_url=emu.url).oauth_v2_access(
        client_id="x", client_secret="y", code=back["code"]
    )
    assert exchange["scope"] == "commands"
    assert exchange["enterprise"] == {"id": "E9", "name": "Enterprise E9"}
    user = exchange["authed_user"]
    assert (user["id"], user["scope"], user["token_type"]) == ("UADMIN", "search:read", "user")
    about = WebClient(token=user["access_token"], base_url=emu.url).auth_test()
    assert (about["team_id"], about["user_id"], "bot_id" in about) == ("TORG", "UADMIN", False)


def test_an_uninstall_kills_the_codes_not_yet_exchanged(emu: SlackEmulator) -> None:
    emu.next_install("TAAA")
    _, back = _authorize(emu, client_id="x", scope="commands", redirect_uri=REDIRECT)
    emu.uninstall("TAAA")
    exchange = lambda: WebClient(base_url=emu.url).oauth_v2_access(  # noqa: E731
        client_id="x", client_secret="y", code=back["code"], redirect_uri=REDIRECT
    )
    assert _error(exchange) == "invalid_code"


def test_bolts_oauth_flow_installs_against_the_emulator(emu: SlackEmulator, tmp_path: Path) -> None:
    from slack_bolt.oauth.oauth_flow import OAuthFlow
    from slack_bolt.oauth.oauth_settings import OAuthSettings
    from slack_sdk.oauth.installation_store import FileInstallationStore
    from slack_sdk.oauth.state_store import FileOAuthStateStore

    emu.oauth_client = ("111.222", "s3cret")
    settings = OAuthSettings(
        client_id="111.222",
        client_secret="s3cret",
        scopes=["commands", "chat:write"],
        redirect_uri=REDIRECT,
        authorization_url=emu.authorize_url,
        installation_store=FileInstallationStore(base_dir=str(tmp_path / "i")),
        state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path / "s")),
    )
    flow = OAuthFlow(client=WebClient(base_url=emu.url, timeout=20), settings=settings)
    emu.next_install("TAAA", user_id="UPAT")
    url = flow.settings.authorize_url_generator.generate(state="st9")
    assert url.startswith(emu.authorize_url + "?")
    status, back = _authorize(emu, **dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)))
    assert status == 302 and back["state"] == "st9"
    installation = flow.run_installation(back["code"])
    assert installation is not None
    assert (installation.team_id, installation.bot_id, installation.user_id) == (
        "TAAA",
        "BAAA",
        "UPAT",
    )
    assert installation.bot_scopes == ["commands", "chat:write"]
    assert emu.token_team(str(installation.bot_token)) == "TAAA"


# -- Token rotation (issue 24) ----------------------------------------------------------------


def _rotating_install(emu: SlackEmulator, team_id: str = "TAAA") -> dict[str, Any]:
    emu.next_install(team_id)
    _, back = _authorize(emu, client_id="111.222", scope="commands", redirect_uri=REDIRECT)
    answer = WebClient(base_url=emu.url, timeout=20).oauth_v2_access(
        client_id="111.222", client_secret="s3cret", code=back["code"], redirect_uri=REDIRECT
    )
    assert isinstance(answer.data, dict)
    return answer.data


def _refresh(emu: SlackEmulator, refresh_token: str, secret: str = "s3cret") -> dict[str, Any]:
    answer = WebClient(base_url=emu.url, timeout=20).oauth_v2_access(
        client_id="111.222",
        client_secret=secret,
        grant_type="refresh_token",
        refresh_token=refresh_token,
    )
    assert isinstance(answer.data, dict)
    return answer.data


def test_without_rotation_an_install_has_no_expiry(emu: SlackEmulator) -> None:
    emu.oauth_client = ("111.222", "s3cret")
    answer = _rotating_install(emu)
    assert "refresh_token" not in answer and "expires_in" not in answer
    assert emu.expires_at(answer["access_token"]) is None


def test_rotating_tokens_expire_and_each_refresh_token_works_once(emu: SlackEmulator) -> None:
    emu.oauth_client = ("111.222", "s3cret")
    emu.token_rotation = True
    before = time.time()
    installed = _rotating_install(emu)
    token, refresh_token = installed["access_token"], installed["refresh_token"]
    assert refresh_token.startswith("xoxe-1-") and installed["expires_in"] == 43200
    expires = emu.expires_at(token)
    assert expires is not None and before + 43200 <= expires <= time.time() + 43200
    assert emu.refresh_tokens("TAAA") == [refresh_token]

    # a wrong secret refuses without using the refresh token up
    assert _error(lambda: _refresh(emu, refresh_token, secret="wrong")) == "bad_client_secret"
    fresh = _refresh(emu, refresh_token)
    assert fresh["ok"] is True and fresh["token_type"] == "bot" and fresh["scope"] == "commands"
    assert fresh["team"] == {"id": "TAAA", "name": "Workspace TAAA"}
    assert fresh["access_token"] != token and emu.token_team(fresh["access_token"]) == "TAAA"
    assert fresh["refresh_token"] != refresh_token and fresh["expires_in"] == 43200
    assert emu.refresh_tokens("TAAA") == [fresh["refresh_token"]]
    # single use
    assert _error(lambda: _refresh(emu, refresh_token)) == "invalid_refresh_token"
    assert [c.response and c.response["ok"] for c in emu.refreshes()] == [False, True, False]

    # the old token works until its own expiry; then token_expired, on every method
    old = WebClient(token=token, base_url=emu.url)
    assert old.auth_test()["team_id"] == "TAAA"
    emu.expire(token)
    assert _error(old.auth_test) == "token_expired"
    assert _error(lambda: old.chat_postMessage(channel="C1", text="hi")) == "token_expired"
    new = WebClient(token=fresh["access_token"], base_url=emu.url)
    assert new.chat_postMessage(channel="C1", text="hi")["ok"] is True


def test_token_lifetime_and_an_uninstall_kill_refresh_tokens(emu: SlackEmulator) -> None:
    emu.token_rotation = True
    emu.token_lifetime = 60
    installed = _rotating_install(emu)
    assert installed["expires_in"] == 60
    emu.uninstall("TAAA")
    assert emu.refresh_tokens("TAAA") == []
    assert _error(lambda: _refresh(emu, installed["refresh_token"])) == "invalid_refresh_token"
    emu.reset()
    assert emu.token_rotation is False and emu.token_lifetime == 43200
