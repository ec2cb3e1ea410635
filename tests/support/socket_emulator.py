"""Slack's Socket Mode, emulated on loopback: the WebSocket side of :class:`SlackEmulator`.

``apps.connections.open`` (called with an app-level ``xapp-`` token) on the Web API emulator
answers with a one-use URL of this server, ``ws://127.0.0.1:PORT/link/?ticket=…``. On each
connection the emulator speaks Slack's envelope protocol:

* sends ``{"type": "hello", …}`` first;
* delivers envelopes ``{"envelope_id", "type", "payload", "accepts_response_payload"}`` of
  type ``slash_commands``, ``interactive`` or ``events_api`` (events also carry
  ``retry_attempt`` and ``retry_reason``), always on the newest connection;
* takes acks ``{"envelope_id", "payload"?}``; the payload of an ack is the response (an
  ephemeral message, ``response_action: errors`` …);
* ``disconnect()`` sends ``{"type": "disconnect", "reason": "refresh_requested"}``: the client
  is expected to open a new connection (a new ``apps.connections.open``) and close the old one;
* ``drop()`` closes the newest connection abruptly, without a close frame.

Like Slack, an envelope not acked when its connection ends is delivered again on the next
connection (``retry_attempt`` + 1); an acked one never is. ``send(…, lose_ack=True)`` makes
the emulator drop the connection when the ack arrives instead of taking it: the client did
all the work, Slack never heard, and the envelope comes again. ``send(…, then_drop=True)``
drops the connection right after the envelope went out, before any ack can come.

The server is ``websockets``' threaded (sync) server; every connection is handled in a thread
of its own.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

__all__ = ["Ack", "Envelope", "SocketModeEmulator"]

# Slack's own defaults: events do not take a response, commands and interactions do.
_ACCEPTS_RESPONSE = {"slash_commands": True, "interactive": True, "events_api": False}


@dataclass
class Ack:
    """An ack the emulator took for an envelope.

    Attributes:
        envelope_id: The envelope acknowledged.
        payload: The response carried by the ack (``None`` for a bare ack).
        seconds: From the (last) delivery of the envelope to the ack's arrival.
        connection: Number of the connection it arrived on (1 for the first).
    """

    envelope_id: str
    payload: dict | None
    seconds: float
    connection: int


@dataclass
class Envelope:
    """An envelope handed to :meth:`SocketModeEmulator.send`.

    Attributes:
        deliveries: Numbers of the connections it was sent on, in order (more than one: it
            was delivered again after a connection ended without its ack).
        ack: The ack taken, once there is one.
    """

    envelope_id: str
    type: str
    payload: dict
    accepts_response_payload: bool
    lose_ack: bool = False
    deliveries: list[int] = field(default_factory=list)
    ack: Ack | None = None
    _sent_at: float = 0.0
    _on: int | None = None  # the connection it awaits an ack on

    def message(self) -> dict:
        """The envelope as it goes over the wire."""
        out: dict[str, Any] = {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.type == "events_api":
            retries = max(0, len(self.deliveries) - 1)
            out["retry_attempt"] = retries
            out["retry_reason"] = "timeout" if retries else ""
        return out


@dataclass
class _Connection:
    number: int
    ws: ServerConnection
    open: bool = True
    received: list[dict] = field(default_factory=list)


class SocketModeEmulator:
    """Slack's Socket Mode endpoint on ``127.0.0.1``; see the module docstring.

    Attributes:
        app_id: Reported in ``hello``.
        unexpected: Messages from clients that were not acks of an envelope awaiting one
            (a second ack, an unknown id, text that is not JSON). Should stay empty.
    """

    def __init__(self, *, app_id: str = "A0001") -> None:
        self.app_id = app_id
        self.unexpected: list[Any] = []
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._tickets: set[str] = set()
        self._connections: list[_Connection] = []
        self._envelopes: dict[str, Envelope] = {}
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._base = ""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SocketModeEmulator:
        """Listen on a free loopback port, serving in daemon threads; returns ``self``."""
        if self._server is not None:
            return self
        server = serve(
            self._serve,
            "127.0.0.1",
            0,
            process_request=self._check_ticket,
            compression=None,
            ping_interval=None,  # the client pings; Slack's liveness is not under test
            close_timeout=2,
        )
        self._base = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/link/"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="socket-mode-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Drop every connection and stop listening."""
        server, self._server = self._server, None
        if server is None:
            return
        with self._lock:
            live = [c for c in self._connections if c.open]
        for conn in live:
            conn.ws.close_socket()
        server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # ------------------------------------------------------------------ Web API side

    def connection_url(self) -> str:
        """A fresh one-use WebSocket URL, as ``apps.connections.open`` returns it."""
        if not self._base:
            raise RuntimeError("SocketModeEmulator.start() has not been called")
        ticket = secrets.token_hex(8)
        with self._lock:
            self._tickets.add(ticket)
        return f"{self._base}?ticket={ticket}&app_id={self.app_id}"

    # ------------------------------------------------------------------ test API

    @property
    def connections(self) -> int:
        """Connections opened so far (each was greeted with ``hello``)."""
        with self._lock:
            return len(self._connections)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return sum(1 for c in self._connections if c.open)

    def wait_connected(self, count: int = 1, timeout: float = 30.0) -> None:
        """Block until ``count`` connections have been opened and the newest is open."""
        self._wait(
            lambda: len(self._connections) >= count and self._connections[-1].open,
            timeout,
            f"{count} connection(s), the newest open",
        )

    def wait_closed(self, number: int, timeout: float = 30.0) -> None:
        """Block until connection ``number`` (1 for the first) has ended."""
        self._wait(
            lambda: len(self._connections) >= number and not self._connections[number - 1].open,
            timeout,
            f"connection {number} closed",
        )

    def send(
        self,
        type: str,  # noqa: A002 - Slack's field name
        payload: dict,
        *,
        accepts_response_payload: bool | None = None,
        lose_ack: bool = False,
        then_drop: bool = False,
    ) -> Envelope:
        """Deliver an envelope on the newest open connection (or on the next one to open).

        ``lose_ack``: when the client's ack arrives, drop the connection instead of taking it,
        so the envelope is delivered again after the client reconnects.
        ``then_drop``: drop the connection it went out on at once (it needs one open now).
        """
        envelope = Envelope(
            envelope_id=secrets.token_hex(12),
            type=type,
            payload=payload,
            accepts_response_payload=(
                _ACCEPTS_RESPONSE.get(type, True)
                if accepts_response_payload is None
                else accepts_response_payload
            ),
            lose_ack=lose_ack,
        )
        with self._lock:
            self._envelopes[envelope.envelope_id] = envelope
            self._deliver_waiting()
            if then_drop:
                assert envelope._on is not None, "no open connection to drop"
                # under the lock: no ack is taken before the socket is gone
                self._connections[envelope._on - 1].ws.close_socket()
        return envelope

    def wait_ack(self, envelope: Envelope, timeout: float = 30.0) -> Ack:
        """Block until ``envelope`` is acked; returns the ack."""
        self._wait(lambda: envelope.ack is not None, timeout, f"ack of {envelope.type}")
        assert envelope.ack is not None
        return envelope.ack

    def disconnect(self, reason: str = "refresh_requested") -> int:
        """Ask the client on the newest connection to reconnect, as Slack does before it
        refreshes a connection; returns that connection's number. The emulator keeps it open:
        the client closes it once its new connection is up (acks may still arrive on it)."""
        with self._lock:
            conn = self._newest()
            assert conn is not None, "no open connection"
            self._send(
                conn,
                {"type": "disconnect", "reason": reason, "debug_info": {"host": "emulator"}},
            )
            return conn.number

    def drop(self) -> int:
        """Close the newest connection abruptly (no close frame); returns its number."""
        with self._lock:
            conn = self._newest()
            assert conn is not None, "no open connection"
        conn.ws.close_socket()
        return conn.number

    def received(self, number: int) -> list[dict]:
        """Every JSON message received on connection ``number``."""
        with self._lock:
            return list(self._connections[number - 1].received)

    # ------------------------------------------------------------------ server side

    def _check_ticket(self, ws: ServerConnection, request: Request) -> Response | None:
        ticket = (parse_qs(urlsplit(request.path).query).get("ticket") or [""])[0]
        with self._lock:
            if ticket in self._tickets:
                self._tickets.discard(ticket)  # one use, like Slack's
                return None
        return ws.respond(HTTPStatus.UNAUTHORIZED, "unknown or used ticket\n")

    def _serve(self, ws: ServerConnection) -> None:
        with self._lock:
            conn = _Connection(number=len(self._connections) + 1, ws=ws)
            self._connections.append(conn)
            self._send(
                conn,
                {
                    "type": "hello",
                    "num_connections": sum(1 for c in self._connections if c.open),
                    "debug_info": {
                        "host": "emulator",
                        "build_number": 1,
                        "approximate_connection_time": 3600,
                    },
                    "connection_info": {"app_id": self.app_id},
                },
            )
            self._deliver_waiting()
            self._cond.notify_all()
        try:
            for raw in ws:
                self._received(conn, raw)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                conn.open = False
                for envelope in self._envelopes.values():
                    if envelope.ack is None and envelope._on == conn.number:
                        envelope._on = None  # not acked here: deliver it again
                self._deliver_waiting()
                self._cond.notify_all()

    def _received(self, conn: _Connection, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        with self._lock:
            if not isinstance(message, dict):
                self.unexpected.append(raw)
                return
            conn.received.append(message)
            envelope = self._envelopes.get(str(message.get("envelope_id")))
            if envelope is None or envelope.ack is not None or envelope._on != conn.number:
                self.unexpected.append(message)
                return
            if envelope.lose_ack:
                envelope.lose_ack = False
                drop = True
            else:
                drop = False
                payload = message.get("payload")
                envelope.ack = Ack(
                    envelope_id=envelope.envelope_id,
                    payload=payload if isinstance(payload, dict) else None,
                    seconds=time.monotonic() - envelope._sent_at,
                    connection=conn.number,
                )
                self._cond.notify_all()
        if drop:
            conn.ws.close_socket()

    def _newest(self) -> _Connection | None:
        live = [c for c in self._connections if c.open]
        return live[-1] if live else None

    def _deliver_waiting(self) -> None:
        """Send every envelope waiting for a connection on the newest one (lock held)."""
        conn = self._newest()
        if conn is None:
            return
        for envelope in self._envelopes.values():
            if envelope.ack is None and envelope._on is None:
                envelope._on = conn.number
                envelope.deliveries.append(conn.number)
                envelope._sent_at = time.monotonic()
                self._send(conn, envelope.message())

    def _send(self, conn: _Connection, message: dict) -> None:
        try:
            conn.ws.send(json.dumps(message))
        except ConnectionClosed:
            pass  # its handler thread ends and hands its envelopes on

    def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {what}; "
                        f"connections: {len(self._connections)}, "
                        f"open: {sum(1 for c in self._connections if c.open)}"
                    )
                self._cond.wait(remaining)
