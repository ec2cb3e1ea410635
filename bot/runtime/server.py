"""The servers: gunicorn, embedded, for `decisionbot serve` (not Bolt's dev server); Bolt's
Socket Mode client, watched, for `decisionbot socket`."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from gunicorn.app.base import BaseApplication

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

    from slack_bolt import App

log = logging.getLogger(__name__)


class _Gunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn has no types: its base is Any
    def __init__(
        self,
        wsgi: WSGIApplication,
        options: dict[str, object],
        post_fork: Callable[[], None] | None = None,
    ) -> None:
        self._wsgi = wsgi
        self._options = options
        self._post_fork = post_fork
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIApplication:
        # Called in each worker after the fork: pooled DB connections opened in the master
        # must not be shared, so the worker drops them and opens its own.
        if self._post_fork is not None:
            self._post_fork()
        return self._wsgi


def serve(
    wsgi: WSGIApplication,
    *,
    host: str,
    port: int,
    workers: int = 2,
    threads: int = 8,
    post_fork: Callable[[], None] | None = None,
    worker_exit: Callable[[], None] | None = None,
    child_exit: Callable[[int], None] | None = None,
    graceful_timeout: int = 10,
) -> None:
    """Run until SIGTERM/SIGINT. gthread workers: Bolt acks on the request thread; Slack work
    after the ack is outbox work for the dispatcher. ``post_fork`` runs in each worker
    before it serves (drop inherited pools, start its dispatcher); ``worker_exit`` in each
    worker once it stopped serving (stop its dispatcher); ``child_exit`` in the master with
    the pid of a worker that ended."""
    hooks: dict[str, object] = {}  # gunicorn calls them with its server and worker objects
    if worker_exit is not None:
        hooks["worker_exit"] = lambda _server, _worker: worker_exit()
    if child_exit is not None:
        hooks["child_exit"] = lambda _server, worker: child_exit(worker.pid)
    _Gunicorn(
        wsgi,
        {
            **hooks,
            "bind": f"{host}:{port}",
            "workers": max(1, workers),
            "worker_class": "gthread",
            "threads": max(1, threads),
            "timeout": 30,
            "graceful_timeout": graceful_timeout,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "info",
        },
        post_fork,
    ).run()


class SocketMode:
    """Bolt's built-in Socket Mode client (``SocketModeHandler``: no extra dependency), plus a
    watchdog that reconnects at once when a connection ends without a close frame.

    The built-in client does not notice that Slack's side closed (``recv()`` keeps returning
    nothing): it spins a CPU core and reconnects only after five failed pings, about a
    minute, while Slack has nowhere to deliver; after a reset it waits for its next ping
    (10 s). The watchdog looks once a second: a peer that closed, or a session already gone,
    and it opens a new connection (a new ``apps.connections.open``), backing off from 1 s to
    a minute while that fails. Closes with a close frame and ``disconnect`` messages the
    client handles itself. Envelopes Slack sent but got no ack for are redelivered on the new
    connection; the listeners' idempotency (view id, event id) makes that harmless.
    """

    MAX_BACKOFF = 60.0

    def __init__(self, app: App, app_token: str, *, check_every: float = 1.0) -> None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        self.handler = SocketModeHandler(app, app_token)
        self._check_every = check_every
        self._stopping = threading.Event()
        self._watchdog = threading.Thread(
            target=self._watch, name="socket-mode-watchdog", daemon=True
        )

    def connect(self) -> None:
        """Open the first connection (raises if Slack refuses the token) and start watching."""
        self.handler.client.connect()  # what the handler's own connect() does
        self._watchdog.start()

    def close(self) -> None:
        self._stopping.set()
        if self._watchdog.is_alive():
            self._watchdog.join(timeout=10)
        self.handler.client.close()  # what the handler's own close() does

    def _watch(self) -> None:
        client = self.handler.client
        backoff, next_try = 0.0, 0.0
        while not self._stopping.wait(self._check_every):
            session = client.current_session
            sock = session.sock if session is not None else None
            if sock is not None and not _peer_closed(sock):
                backoff = 0.0
                continue
            if session is not None and sock is not None:
                log.warning(
                    "Socket Mode: Slack closed the connection (session %s); reconnecting",
                    session.session_id,
                )
                session.disconnect()
            if time.monotonic() < next_try:
                continue
            backoff = min(self.MAX_BACKOFF, max(1.0, backoff * 2))
            next_try = time.monotonic() + backoff
            try:
                client.connect_to_new_endpoint()
            except Exception:
                log.exception("Socket Mode: reconnecting failed; next try in %.0f s", backoff)


def _peer_closed(sock: socket.socket) -> bool:
    """Whether the peer closed its side of the TCP connection: a peek at the raw socket (under
    TLS too) returns no bytes. Nothing is consumed, so the client's reader is undisturbed."""
    try:
        raw = socket.socket(fileno=os.dup(sock.fileno()))
    except OSError:
        return False  # closed meanwhile by the client itself: nothing to do
    try:
        return raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False  # open, nothing to read
    except OSError:
        return True  # reset
    finally:
        raw.close()
