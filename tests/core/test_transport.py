"""The pooled transport (``bot.core.transport``, issue 28) against the emulator over TLS.

Two kinds of test: the pool itself (connections reused, bounded, replaced when the server
drops them, a forked child's own), and slack_sdk's behaviour pinned: the same fault sent
through the stock client (urllib, a connection per call) and through the pooled one must end
the same way, the same exception type, status, headers and ``error_code``. If a slack_sdk
upgrade changes the private methods the pooled clients override, these fail.
"""

from __future__ import annotations

import inspect
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.error import URLError

import pytest
import slack_sdk
from prometheus_client import REGISTRY
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.webhook import WebhookClient

from bot.core import transport
from bot.core.transport import PooledWebClient, PooledWebhookClient, SlackPool
from bot.engine.delivery import error_code
from bot.runtime.clients import dispatch_retry_handlers
from tests.support.slack_emulator import SlackEmulator

TOKEN = "xoxb-transport"


@pytest.fixture
def tls(tls_emulator: SlackEmulator) -> Iterator[SlackEmulator]:
    yield tls_emulator
    tls_emulator.reset_faults()


@pytest.fixture
def pool(tls: SlackEmulator) -> Iterator[SlackPool]:
    pool = SlackPool(ssl_context=tls.client_context())
    yield pool
    pool.clear()


def pooled(
    emu: SlackEmulator,
    pool: SlackPool,
    *,
    timeout: float = 5,
    retry_handlers: list[RetryHandler] | None = None,
) -> PooledWebClient:
    return PooledWebClient(
        token=TOKEN,
        base_url=emu.url,
        timeout=timeout,
        retry_handlers=[] if retry_handlers is None else retry_handlers,
        pool=pool,
    )


def stock(
    emu: SlackEmulator, *, timeout: float = 5, retry_handlers: list[RetryHandler] | None = None
) -> WebClient:
    return WebClient(
        token=TOKEN,
        base_url=emu.url,
        timeout=timeout,  # type: ignore[arg-type]  # slack_sdk says int; urllib takes float s
        ssl=emu.client_context(),
        retry_handlers=[] if retry_handlers is None else retry_handlers,
    )


def opened_by(emu: SlackEmulator, calls: Callable[[], Any]) -> int:
    """Connections (TLS handshakes) the emulator accepted while ``calls`` ran."""
    before = emu.connections_opened
    calls()
    return emu.connections_opened - before


# -- the pool -------------------------------------------------------------------------------


def test_many_calls_share_a_few_kept_alive_connections(tls: SlackEmulator, pool: SlackPool) -> None:
    client = pooled(tls, pool)

    def forty_calls_from_four_threads() -> None:
        def ten() -> None:
            for i in range(10):
                assert client.chat_postMessage(channel="CPOOL", text=f"hi {i}")["ok"]

        threads = [threading.Thread(target=ten) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    counted = REGISTRY.get_sample_value("decisionbot_slack_connections_opened_total") or 0.0
    opened = opened_by(tls, forty_calls_from_four_threads)
    assert 1 <= opened <= 4
    assert len(tls.messages("CPOOL")) == 40
    # What /metrics says the process opened: the connections the server accepted.
    now = REGISTRY.get_sample_value("decisionbot_slack_connections_opened_total") or 0.0
    assert now - counted == opened
    # The stock client: one connection, one handshake, per call.
    plain = stock(tls)
    assert opened_by(tls, lambda: [plain.auth_test() for _ in range(5)]) == 5


def test_a_connection_the_server_dropped_is_replaced_and_the_call_succeeds(
    tls: SlackEmulator, pool: SlackPool
) -> None:
    client = pooled(tls, pool)
    client.chat_postMessage(channel="CDROP", text="one")
    assert tls.drop_connections() == 1
    time.sleep(0.05)  # the close reaches the client, as a server's idle close does
    # No retry handler: the call succeeds on its first attempt, on a new connection.
    assert opened_by(tls, lambda: client.chat_postMessage(channel="CDROP", text="two")) == 1
    assert [m["text"] for m in tls.messages("CDROP")] == ["one", "two"]
    assert len(tls.calls("chat.postMessage")) == 2  # nothing sent twice


def test_a_server_closing_after_each_few_answers_costs_no_call(
    tls: SlackEmulator, pool: SlackPool
) -> None:
    tls.keepalive_requests = 3  # "Connection: close" on every third answer (nginx's setting)
    client = pooled(tls, pool)
    opened = opened_by(tls, lambda: [client.auth_test() for _ in range(9)])
    assert opened == 3
    assert len(tls.calls("auth.test")) == 9


def test_the_pool_is_bounded_per_host_and_a_caller_waits_for_a_free_connection(
    tls: SlackEmulator,
) -> None:
    tls.latency = 0.2
    small = SlackPool(per_host=2, ssl_context=tls.client_context())
    client = pooled(tls, small)
    most = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal most
        while not stop.is_set():
            most = max(most, tls.open_connections())
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=client.auth_test) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    small.clear()
    assert len(tls.calls("auth.test")) == 6
    assert most == 2


def test_waiting_longer_than_the_timeout_for_a_connection_is_a_timeout(
    tls: SlackEmulator,
) -> None:
    tls.latency = 1.0
    one = SlackPool(per_host=1, ssl_context=tls.client_context())
    busy = threading.Thread(target=pooled(tls, one).auth_test)
    busy.start()
    time.sleep(0.2)
    with pytest.raises(URLError) as raised:
        pooled(tls, one, timeout=0.3).auth_test()
    busy.join()
    one.clear()
    assert error_code(raised.value) == "timeout (timed out)"
    assert len(tls.calls("auth.test")) == 1  # the waiting call never reached Slack


def test_a_forked_child_uses_a_pool_of_its_own(tls: SlackEmulator) -> None:
    previous = transport.install(SlackPool(ssl_context=tls.client_context()))
    try:
        parent = transport.shared_pool()
        pid = os.fork()
        if pid == 0:  # the child: exit 0 only if it made a new pool
            os._exit(0 if transport.shared_pool() is not parent else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert transport.shared_pool() is parent
    finally:
        transport.install(previous)


def test_configure_resizes_the_shared_pool() -> None:
    previous = transport.install(None)
    try:
        transport.configure(per_host=20)
        assert transport.shared_pool().per_host == 20
        first = transport.shared_pool()
        transport.configure(per_host=20)
        assert transport.shared_pool() is first  # same size: the same pool, connections kept
        transport.configure(per_host=30)
        assert transport.shared_pool().per_host == 30
    finally:
        transport.configure(per_host=transport.DEFAULT_PER_HOST)
        transport.install(previous)


def test_untrusted_certificate_is_refused_as_urllib_refuses_it(tls: SlackEmulator) -> None:
    trusting_nobody = SlackPool()  # the system's trust store: not the emulator's certificate
    with pytest.raises(URLError) as pooled_error:
        pooled(tls, trusting_nobody).auth_test()
    with pytest.raises(URLError) as stock_error:
        WebClient(token=TOKEN, base_url=tls.url, retry_handlers=[]).auth_test()
    assert error_code(pooled_error.value) == error_code(stock_error.value)
    assert "SSLCertVerificationError" in error_code(pooled_error.value)
    assert tls.calls("auth.test") == []


# -- slack_sdk's behaviour, pinned: stock and pooled end the same way ------------------------


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """How a call ended, in the terms callers act on."""
    try:
        result = call()
    except SlackApiError as exc:
        response = exc.response
        return "SlackApiError", (
            response.status_code,
            response.get("error"),
            response.headers.get("Retry-After"),
            response.headers.get("retry-after"),
        )
    except Exception as exc:  # noqa: BLE001 - the exception type is what is compared
        return type(exc).__name__, error_code(exc)
    return "ok", result.get("ok")


FAULTS: dict[str, Callable[[SlackEmulator], None]] = {
    "ok": lambda emu: None,
    "429": lambda emu: emu.fail("conversations.info", status=429, retry_after=7),
    "500": lambda emu: emu.fail("conversations.info", status=500),
    "503": lambda emu: emu.fail("conversations.info", status=503),
    "400": lambda emu: emu.fail("conversations.info", status=400),
    "ok false": lambda emu: emu.fail("conversations.info", error="channel_not_found"),
    "read timeout": lambda emu: emu.fail("conversations.info", delay=0.6),
    "hang up": lambda emu: emu.fail("conversations.info", hang_up=True),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_ends_as_it_did_with_the_stock_client(
    fault: str, tls: SlackEmulator, pool: SlackPool
) -> None:
    FAULTS[fault](tls)
    before = outcome(lambda: stock(tls, timeout=0.3).conversations_info(channel="C1"))
    tls.reset_faults()
    FAULTS[fault](tls)
    after = outcome(lambda: pooled(tls, pool, timeout=0.3).conversations_info(channel="C1"))
    assert after == before
    if fault == "429":
        assert after == ("SlackApiError", (429, "ratelimited", "7", "7"))
    if fault == "read timeout":
        assert after == ("TimeoutError", "timeout (timed out)")
    if fault == "hang up":
        assert after == ("RemoteDisconnected", "RemoteDisconnected")


def test_a_refused_connection_ends_as_it_did_with_the_stock_client(pool: SlackPool) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nobody listens there
    url = f"https://127.0.0.1:{port}/api/"
    stock_client = WebClient(token=TOKEN, base_url=url, retry_handlers=[])
    pooled_client = PooledWebClient(token=TOKEN, base_url=url, retry_handlers=[], pool=pool)
    before = outcome(stock_client.auth_test)
    after = outcome(pooled_client.auth_test)
    assert after == before == ("URLError", "URLError: ConnectionRefusedError")


@pytest.mark.parametrize("method", ["conversations.info", "chat.postMessage"])
def test_the_dispatchers_retries_see_what_they_saw(
    method: str, tls: SlackEmulator, pool: SlackPool
) -> None:
    """A connection lost under a call: retried for a read, never for a post (the engine
    decides), as with urllib."""
    results = {}
    for name, client in (
        ("stock", stock(tls, retry_handlers=dispatch_retry_handlers())),
        ("pooled", pooled(tls, pool, retry_handlers=dispatch_retry_handlers())),
    ):
        tls.reset()
        tls.fail(method, hang_up=True)
        ended = outcome(lambda c=client: c.api_call(method, params={"channel": "C1", "text": "x"}))
        results[name] = (ended, len(tls.calls(method)))
    assert results["pooled"] == results["stock"]
    if method == "chat.postMessage":
        assert results["pooled"] == (("RemoteDisconnected", "RemoteDisconnected"), 1)
    else:
        assert results["pooled"] == (("ok", True), 2)


def test_file_uploads_go_over_the_pool_and_fail_as_before(
    tls: SlackEmulator, pool: SlackPool
) -> None:
    client = pooled(tls, pool)
    client.auth_test()
    opened = opened_by(
        tls, lambda: client.files_upload_v2(channel="CUP", content=b"a,b\n1,2\n", filename="x.csv")
    )
    assert opened == 0  # the upload URL is the same host: the kept connection
    [shared] = tls.uploaded_files()
    assert shared["data"] == b"a,b\n1,2\n"

    def upload(c: WebClient) -> Any:
        return c.files_upload_v2(channel="CUP", content=b"x", filename="y.csv")

    tls.fail("upload_url", status=500)
    before = outcome(lambda: upload(stock(tls)))
    tls.fail("upload_url", status=500)
    after = outcome(lambda: upload(client))
    assert after == before == ("HTTPError", "HTTPError")


@pytest.mark.parametrize("status", [200, 404, 500])
def test_response_url_answers_as_before(status: int, tls: SlackEmulator, pool: SlackPool) -> None:
    if status != 200:
        tls.fail("response_url", status=status)
    url = tls.response_url("k1")
    stock_answer = WebhookClient(url, ssl=tls.client_context(), retry_handlers=[]).send(text="a")
    if status != 200:
        tls.fail("response_url", status=status)
    answer = PooledWebhookClient(url, retry_handlers=[], pool=pool).send(text="a")
    assert (answer.status_code, answer.body) == (stock_answer.status_code, stock_answer.body)
    assert answer.status_code == status
    assert [c.args.get("text") for c in tls.calls("response_url")] == ["a", "a"]


def test_the_slack_sdk_methods_overridden_are_the_ones_it_calls() -> None:
    """The private methods the pooled clients replace: their names and parameters in the
    slack_sdk versions pyproject.toml allows. A rename would silently bypass the pool."""
    from slack_sdk.web.base_client import BaseClient
    from slack_sdk.webhook.client import WebhookClient as Webhook

    assert list(inspect.signature(BaseClient._perform_urllib_http_request_internal).parameters) == [
        "self",
        "url",
        "req",
    ]
    assert list(inspect.signature(BaseClient._upload_file).parameters) == [
        "self",
        "url",
        "data",
        "logger",
        "timeout",
        "proxy",
        "ssl",
    ]
    assert list(inspect.signature(Webhook._perform_http_request_internal).parameters) == [
        "self",
        "url",
        "req",
    ]
    # The callers: slack_sdk still sends through them.
    assert "self._perform_urllib_http_request_internal(url, req)" in inspect.getsource(
        BaseClient._perform_urllib_http_request
    )
    assert "self._upload_file(" in inspect.getsource(WebClient.files_upload_v2)
    assert "self._perform_http_request_internal(url, req)" in inspect.getsource(
        Webhook._perform_http_request
    )
    major, minor = (int(p) for p in slack_sdk.version.__version__.split(".")[:2])
    assert (major, minor) < (3, 49), "check the overrides above, then raise pyproject's bound"
