"""Slack calls over kept-alive connections (issue 28): one bounded pool per process.

slack_sdk's ``WebClient`` and ``WebhookClient`` send each call with ``urllib.request.urlopen``,
which asks for ``Connection: close``: every call to Slack paid a new TCP connection and a
TLS handshake. ``PooledWebClient`` and ``PooledWebhookClient`` send the same requests over
a urllib3 pool instead, kept alive and shared by every client of the process (every
workspace, the request path and the dispatcher, file uploads too). Everything else is
slack_sdk's own: building the request, its retry handlers, parsing, ``SlackApiError``.

slack_sdk has no public transport hook, so the subclasses override the private methods that
open the connection, and nothing else:

- ``BaseClient._perform_urllib_http_request_internal(url, req)`` (every Web API call);
- ``BaseClient._upload_file(...)`` (``files_upload_v2``'s upload of the file's bytes);
- ``WebhookClient._perform_http_request_internal(url, req)`` (``response_url`` answers,
  Bolt's ``respond`` included).

Each answers as urllib did: a non-2xx answer raises ``urllib.error.HTTPError`` (so slack_sdk
turns a 429 into a ``SlackApiError`` with ``Retry-After``, and its retry handlers see what
they saw), and failures raise the exceptions urllib raised for them (``error_types`` below),
so ``bot.engine.delivery.error_code`` and the retry handlers classify them as before.
``tests/core/test_transport.py`` pins this against the stock clients, fault by fault, and
``pyproject.toml`` bounds slack_sdk's version to the ones checked.

Nothing is retried here: urllib3 runs with ``retries=False``. A pooled connection the server
has closed is noticed before it is used (urllib3 checks it on checkout) and replaced. A
connection that dies under a request fails that request, as a fresh connection would, and
what happens next is the caller's rule, as before (``bot.runtime.clients``).
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from email.message import Message
from http.client import HTTPException, HTTPMessage
from io import BytesIO
from typing import Any, Final
from urllib.error import HTTPError, URLError
from urllib.request import Request

import urllib3
from slack_sdk import WebClient
from slack_sdk.errors import SlackRequestError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.web.file_upload_v2_result import FileUploadV2Result
from slack_sdk.webhook import WebhookClient, WebhookResponse
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    EmptyPoolError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import SSLError as Urllib3SSLError

from bot.core import metrics

log = logging.getLogger(__name__)

# Connections to one host (slack.com) open at once, per process; a call finding all of them
# busy waits for one, up to its own timeout. The dispatcher's calls in flight plus the
# request threads' (``bot.app``'s listener pool) fit: nobody waits unless both are full.
DEFAULT_PER_HOST: Final = 48
HOSTS: Final = 8  # slack.com, files.slack.com (uploads), hooks.slack.com (response_url)


class _Counted:
    """A urllib3 connection that counts the connections it opens (metrics and benchmarks)."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]  # mixed into urllib3's connection classes below
        metrics.slack_connection_opened()


class _HTTPConnection(_Counted, HTTPConnection):
    pass


class _HTTPSConnection(_Counted, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class Answer:
    """What Slack answered: status, headers and the body's bytes."""

    __slots__ = ("status", "headers", "data")

    def __init__(self, status: int, headers: HTTPMessage, data: bytes) -> None:
        self.status = status
        self.headers = headers
        self.data = data

    def text(self) -> str:
        return self.data.decode(self.headers.get_content_charset() or "utf-8")


def _message(headers: urllib3.HTTPHeaderDict) -> HTTPMessage:
    """urllib's header type (``get_content_charset``, case-insensitive ``get``), which
    slack_sdk reads from the answers and from ``HTTPError.headers``."""
    message = HTTPMessage()
    for name, value in headers.iteritems():
        message[name] = value
    return message


def error_types(error: Urllib3Error) -> Exception:
    """The exception urllib raised for the same failure (``error`` is urllib3's).

    urllib wraps what fails while connecting or sending in ``URLError`` and raises what fails
    while reading the answer as it is (``TimeoutError``, ``RemoteDisconnected``,
    ``ConnectionResetError``); slack_sdk's ``ConnectionErrorRetryHandler`` and our
    ``error_code`` are written against those."""
    if isinstance(error, NewConnectionError):  # refused, unreachable, no such host
        cause = error.__cause__
        return URLError(cause if isinstance(cause, OSError) else str(error))
    if isinstance(error, ConnectTimeoutError):
        return URLError(TimeoutError("timed out"))
    if isinstance(error, ReadTimeoutError):
        return TimeoutError("The read operation timed out")
    if isinstance(error, EmptyPoolError):  # every connection busy for the whole timeout
        return URLError(TimeoutError("timed out waiting for a free connection to Slack"))
    if isinstance(error, Urllib3SSLError):
        cause = error.args[0] if error.args else None
        return URLError(cause if isinstance(cause, OSError) else str(error))
    if isinstance(error, ProtocolError):  # the connection died under the request
        inner = error.args[1] if len(error.args) > 1 else None
        if isinstance(inner, ConnectionResetError | HTTPException):
            return inner  # read phase: RemoteDisconnected, ConnectionResetError, as urllib
        if isinstance(inner, OSError):
            return URLError(inner)  # send phase: BrokenPipeError and the like
    return URLError(str(error))


class SlackPool:
    """Kept-alive connections to Slack, bounded per host (``per_host``); thread-safe.

    ``ssl_context``: whom to trust; by default the system's (``ssl.create_default_context``,
    which honours ``SSL_CERT_FILE``). Tests pass one trusting the emulator's certificate."""

    def __init__(
        self, *, per_host: int = DEFAULT_PER_HOST, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.per_host = per_host
        self._manager = urllib3.PoolManager(
            num_pools=HOSTS,
            maxsize=per_host,
            block=True,
            retries=False,
            ssl_context=ssl_context or ssl.create_default_context(),
        )
        self._manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def send(self, url: str, body: bytes | None, headers: dict[str, str], timeout: float) -> Answer:
        """POST ``body`` to ``url``; raises ``HTTPError`` for a non-2xx answer and urllib's
        exceptions for failures (``error_types``). ``timeout`` bounds the wait for a free
        connection, the connect and each read, as urllib's did the connect and each read."""
        try:
            response = self._manager.urlopen(
                "POST",
                url,
                body=body,
                headers=headers,
                redirect=False,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                pool_timeout=timeout,
            )
        except Urllib3Error as error:
            raise error_types(error) from error
        answer = Answer(response.status, _message(response.headers), response.data)
        if not 200 <= answer.status < 300:
            raise HTTPError(
                url, answer.status, response.reason or "", answer.headers, BytesIO(answer.data)
            )
        return answer

    def clear(self) -> None:
        """Close every kept connection (the next calls open new ones)."""
        self._manager.clear()


_shared: SlackPool | None = None
_shared_lock = threading.Lock()
_shared_size = DEFAULT_PER_HOST


def configure(*, per_host: int) -> None:
    """Size the process's pool (before its first call; a later call makes a new pool)."""
    global _shared, _shared_size
    with _shared_lock:
        _shared_size = per_host
        if _shared is not None and _shared.per_host != per_host:
            _shared.clear()
            _shared = None


def shared_pool() -> SlackPool:
    """The process's pool, made on first use."""
    global _shared
    pool = _shared
    if pool is None:
        with _shared_lock:
            if _shared is None:
                _shared = SlackPool(per_host=_shared_size)
            pool = _shared
    return pool


def install(pool: SlackPool | None) -> SlackPool | None:
    """Make ``pool`` the process's pool (None: a new default one on next use); returns the
    one it replaces. For tests and benchmarks that trust a certificate of their own."""
    global _shared
    with _shared_lock:
        previous, _shared = _shared, pool
    return previous


def _forget_after_fork() -> None:
    # A forked child (gunicorn's workers, after the master loaded the app) must not write on
    # its parent's connections: it starts a pool of its own. The parent's sockets are left
    # to it (closing our copies of them would not close them for the parent, but a TLS
    # shutdown could).
    global _shared, _shared_lock
    _shared = None
    _shared_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def _headers(req: Request) -> dict[str, str]:
    # slack_sdk sets Content-Length as an int for multipart bodies; http.client takes str.
    return {name: str(value) for name, value in req.header_items()}


def _body(req: Request) -> bytes | None:
    data: Any = req.data  # slack_sdk always sends bytes (or nothing)
    return data if data is None or isinstance(data, bytes) else bytes(data)


class PooledWebClient(WebClient):
    """slack_sdk's ``WebClient``, its calls and uploads sent over ``pool`` (by default the
    process's shared pool, looked up on each call so a forked child uses its own)."""

    def __init__(
        self,
        token: str | None = None,
        base_url: str = WebClient.BASE_URL,
        timeout: float = 30,
        *,
        headers: dict[str, str] | None = None,
        team_id: str | None = None,
        logger: logging.Logger | None = None,
        retry_handlers: list[RetryHandler] | None = None,
        pool: SlackPool | None = None,
    ) -> None:
        super().__init__(
            token=token,
            base_url=base_url,
            timeout=timeout,  # type: ignore[arg-type]  # slack_sdk says int; seconds, float
            headers=headers,
            team_id=team_id,
            logger=logger,
            retry_handlers=retry_handlers,
        )
        self.pool = pool

    def _connections(self) -> SlackPool:
        return self.pool or shared_pool()

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        if self.proxy is not None:
            return super()._perform_urllib_http_request_internal(url, req)
        if not url.lower().startswith("http"):
            raise SlackRequestError(f"Invalid URL detected: {url}")
        answer = self._connections().send(url, _body(req), _headers(req), float(self.timeout))
        if answer.headers.get_content_type() == "application/gzip":  # admin.analytics.getFile
            return {"status": answer.status, "headers": answer.headers, "body": answer.data}
        return {"status": answer.status, "headers": answer.headers, "body": answer.text()}

    def _upload_file(
        self,
        *,
        url: str,
        data: bytes,
        logger: logging.Logger,
        timeout: int,
        proxy: str | None,
        ssl: ssl.SSLContext | None,
    ) -> FileUploadV2Result:
        if proxy is not None:
            return super()._upload_file(
                url=url, data=data, logger=logger, timeout=timeout, proxy=proxy, ssl=ssl
            )
        answer = self._connections().send(url, data, {}, float(timeout))
        return FileUploadV2Result(status=answer.status, body=answer.text())


class PooledWebhookClient(WebhookClient):
    """slack_sdk's ``WebhookClient`` (``response_url`` answers) over the shared pool."""

    def __init__(
        self,
        url: str,
        timeout: float = 30,
        *,
        ssl: ssl.SSLContext | None = None,
        proxy: str | None = None,
        retry_handlers: list[RetryHandler] | None = None,
        pool: SlackPool | None = None,
    ) -> None:
        # Bolt's respond() passes ``ssl`` and ``proxy`` (its app client's, None for ours).
        super().__init__(
            url,
            timeout=timeout,  # type: ignore[arg-type]  # slack_sdk says int; seconds, float
            ssl=ssl,
            proxy=proxy,
            retry_handlers=retry_handlers,
        )
        self.pool = pool

    def _perform_http_request_internal(self, url: str, req: Request) -> WebhookResponse:
        if self.proxy is not None or self.ssl is not None:  # theirs: urllib, as they asked
            response: WebhookResponse = super()._perform_http_request_internal(url, req)
            return response
        if not url.lower().startswith("http"):
            raise SlackRequestError(f"Invalid URL detected: {url}")
        pool = self.pool or shared_pool()
        answer = pool.send(url, _body(req), _headers(req), float(self.timeout))
        headers: Message = answer.headers
        return WebhookResponse(
            url=url,
            status_code=answer.status,
            body=answer.text(),
            headers=headers,  # type: ignore[arg-type]  # slack_sdk says dict; urllib gave it this
        )


def pooled_copy(client: WebClient) -> PooledWebClient:
    """A new pooled client with ``client``'s token, URL, timeout, headers, workspace and
    retry handlers: what the request path gets in place of the one Bolt built for it."""
    return PooledWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        headers=client.headers,
        team_id=client.default_params.get("team_id"),
        logger=client.logger,
        retry_handlers=list(client.retry_handlers),
    )
