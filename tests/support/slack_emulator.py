"""Loopback emulator of the Slack Web API for end-to-end tests and benchmarks.

Point the real ``slack_sdk.WebClient`` at it::

    with SlackEmulator() as emu:
        client = WebClient(token="xoxb-test", base_url=emu.url)
        client.chat_postMessage(channel="C1", text="hi")
        [call] = emu.wait_for("chat.postMessage")

Channel posts are kept per channel, with their message ``metadata``, and read back by
``conversations.history`` / ``conversations.replies`` (:meth:`SlackEmulator.messages`).
Message ts are wall-clock based (unique, increasing), as Slack's are, so ``oldest`` works.
Modals are kept by view id (:meth:`SlackEmulator.view`): ``views.update`` refuses a stale
``hash`` (``hash_conflict``) and keeps what the person entered (:meth:`SlackEmulator.enter`)
in every input whose block and action ids the new view keeps, as Slack does.

Only the standard library is used, except by Socket Mode: ``apps.connections.open`` (with an
``xapp-`` token) hands out URLs of :attr:`SlackEmulator.socket_mode`, a WebSocket server
(``tests/support/socket_emulator.py``, on ``websockets``) started on first use.  Every request is
recorded as a :class:`Call` (including requests answered with an injected fault), so tests
can count attempts.  Slack itself is never contacted.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

if TYPE_CHECKING:
    from tests.support.socket_emulator import SocketModeEmulator

__all__ = ["Call", "SlackEmulator"]

# Form-encoded fields whose values slack_sdk sends as JSON strings.
_JSON_FORM_FIELDS = ("blocks", "view", "attachments", "metadata")

_TS_BASE_US = 1_700_000_000 * 1_000_000

_VIEW_METHODS = frozenset({"views.open", "views.push", "views.update", "views.publish"})


@dataclass
class Call:
    """One request received by the emulator.

    Attributes:
        method: Web API method name (e.g. ``"chat.postMessage"``), or ``"response_url"``
            for a POST to :meth:`SlackEmulator.response_url`.
        args: Merged query-string args and form fields / JSON body.  JSON-string values of
            the form fields ``blocks``, ``view``, ``attachments`` and ``metadata`` are
            decoded to objects.
        token: Bearer token from the ``Authorization`` header, else the ``token`` arg.
        at: ``time.monotonic()`` when the request arrived.
        key: The response-url key when ``method == "response_url"``.
    """

    method: str
    args: dict
    token: str | None
    at: float
    key: str | None = None
    response: dict | None = None


@dataclass
class _Fault:
    status: int
    error: str | None
    retry_after: int | None
    delay: float
    remaining: int
    performed: bool = False  # the call takes effect (a post is made) before the fault's answer


@dataclass
class _Channel:
    is_private: bool = False
    is_member: bool = True
    exists: bool = True
    is_archived: bool = False
    name: str | None = None
    members: list[str] | None = None
    is_ext_shared: bool = False  # shared with another organisation (Slack Connect)


@dataclass
class _User:
    tz: str | None = None
    deleted: bool = False
    is_admin: bool = False
    is_owner: bool = False
    is_restricted: bool = False
    is_ultra_restricted: bool = False
    team_id: str | None = None  # another organisation: a Slack Connect outsider


@dataclass
class _View:
    view: dict[str, Any]  # as last sent (views.open, views.push, views.update)
    hash: str
    # state.values: what the person entered (``enter``), {block_id: {action_id: entry}}
    values: dict[str, dict[str, Any]]


def _kept_entries(old: _View, view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What Slack keeps of the person's entries across views.update: an input block's entry
    survives when the new view has an input block with the same block_id whose element has
    the same action_id (Slack's "Preserving input entry"); every other entry is dropped."""
    kept: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks") or []:
        if not isinstance(block, dict) or block.get("type") != "input":
            continue
        element = block.get("element")
        action_id = element.get("action_id") if isinstance(element, dict) else None
        entry = old.values.get(str(block.get("block_id")), {})
        if action_id in entry:
            kept[str(block["block_id"])] = {action_id: entry[action_id]}
    return kept


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    emulator: SlackEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Quiet: clients hanging up (e.g. after a provoked timeout) are expected.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections are dropped eventually
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def setup(self) -> None:
        super().setup()
        self.server.emulator._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.emulator._track(self.connection, add=False)

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until blank line
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._send(400, {"ok": False, "error": "invalid_request"})
            return
        parts = urlsplit(self.path)
        path = parts.path
        if path.startswith("/api/") and len(path) > len("/api/"):
            method, key = unquote(path[len("/api/") :]), None
        elif path.startswith("/response/") and len(path) > len("/response/"):
            method, key = "response_url", unquote(path[len("/response/") :])
        elif path.startswith("/upload/") and len(path) > len("/upload/"):
            method, key = "upload_url", unquote(path[len("/upload/") :])
        else:
            self._send(404, {"ok": False, "error": "unknown_method"})
            return
        try:
            status, payload, headers = self.server.emulator._handle(
                method, key, parts.query, body, self.headers
            )
        except Exception as exc:  # pragma: no cover - emulator bug: report it, don't hang
            status, payload, headers = 500, {"ok": False, "error": f"emulator_bug: {exc!r}"}, {}
        self._send(status, payload, headers)

    def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True


def _parse_args(query: str, body: bytes, content_type: str) -> tuple[dict, str | None]:
    """Return (args, error) for a request; error is a Slack error code or None."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    ctype = content_type.split(";", 1)[0].strip().lower()
    if not body:
        pass
    elif ctype == "application/json":
        try:
            decoded = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return args, "invalid_json"
        if not isinstance(decoded, dict):
            return args, "invalid_json"
        args.update(decoded)
    elif ctype == "multipart/form-data":
        message = BytesParser().parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        for part in message.get_payload() if message.is_multipart() else []:
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is None:
                args[name] = _decode_form_field(name, payload.decode("utf-8", "replace"))
            else:
                args[name] = payload
    else:  # application/x-www-form-urlencoded (or unspecified)
        for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            args[name] = value
    for name in _JSON_FORM_FIELDS:
        if isinstance(args.get(name), str):
            args[name] = _decode_form_field(name, args[name])
    return args, None


def _decode_form_field(name: str, value: str) -> Any:
    if name in _JSON_FORM_FIELDS and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _tz_offset(tz: str) -> int:
    try:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        offset = datetime.now(ZoneInfo(tz)).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0
    except Exception:
        return 0


def _block_kit_problem(blocks: Any) -> str | None:
    """What Slack would reject in a message's blocks (the limits our builders must keep):
    more than 50 blocks, a section or context text over 3000 characters, a header over 150."""
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return "blocks is not JSON"
    if not blocks:
        return None
    if len(blocks) > 50:
        return f"{len(blocks)} blocks (at most 50)"
    for i, block in enumerate(blocks):
        text = (block.get("text") or {}).get("text", "")
        limit = 150 if block.get("type") == "header" else 3000
        if len(text) > limit:
            return f"block {i}: text of {len(text)} characters (at most {limit})"
        for element in block.get("elements") or []:
            if len(str(element.get("text") or "")) > 3000:
                return f"block {i}: an element's text over 3000 characters"
    return None


class SlackEmulator:
    """In-process fake of the Slack Web API on ``127.0.0.1``.

    Args:
        team_id: Team id reported by ``auth.test``.
        bot_user_id: Bot user id reported by ``auth.test``.
        default_tz: Time zone reported by ``users.info`` for users without one configured.

    Attributes:
        latency: Seconds every request sleeps before being answered (default 0.0).
        url: Base URL for ``WebClient(base_url=...)`` / ``SLACK_API_URL``, with a trailing
            slash, e.g. ``"http://127.0.0.1:54321/api/"``.  Set by :meth:`start`.
    """

    def __init__(
        self, *, team_id: str = "T0001", bot_user_id: str = "UBOT", default_tz: str = "UTC"
    ) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.default_tz = default_tz
        self.latency: float = 0.0
        self.url: str = ""
        self._base: str = ""
        self._lock = threading.RLock()  # re-entrant: wait_for predicates may call calls()
        self._cond = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._answering: dict[int, Call] = {}  # by thread: the call being answered
        self._faults: dict[str, deque[_Fault]] = {}
        self._channels: dict[str, _Channel] = {}
        self._users: dict[str, _User] = {}
        self._ts_counter = 0
        self._last_ts_us = 0
        # Messages posted, by channel (a DM's "D..." id), in order: for conversations.history
        self._messages: dict[str, list[dict[str, Any]]] = {}
        # The bot's chat:write.public scope: it may post in public channels it is not in
        self.chat_write_public = False
        self._view_counter = 0
        self._modals: dict[str, _View] = {}  # by view id: for hash checks and entries kept
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._socket_mode: SocketModeEmulator | None = None
        self._file_counter = 0
        self._uploads: dict[str, dict[str, Any]] = {}  # file id -> filename, length, data
        self._shared_files: list[dict[str, Any]] = []  # completed uploads, in order

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SlackEmulator:
        """Bind ``127.0.0.1`` on a free port and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.emulator = self
        port = server.server_address[1]
        self._base = f"http://127.0.0.1:{port}/"
        self.url = self._base + "api/"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"slack-emulator-{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and any open client connections."""
        server, self._server = self._server, None
        if server is None:
            return
        socket_mode, self._socket_mode = self._socket_mode, None
        if socket_mode is not None:
            socket_mode.stop()
        server.shutdown()
        server.server_close()
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    # ------------------------------------------------------------------ public API

    @property
    def socket_mode(self) -> SocketModeEmulator:
        """The Socket Mode endpoint ``apps.connections.open`` points at (started on first use)."""
        with self._lock:
            if self._socket_mode is None:
                from tests.support.socket_emulator import SocketModeEmulator

                self._socket_mode = SocketModeEmulator().start()
            return self._socket_mode

    def response_url(self, key: str = "r") -> str:
        """URL usable as an interaction ``response_url``.

        POSTs to it are recorded as ``Call(method="response_url", key=key, args=<json body>)``
        and answered ``{"ok": true}``.  Faults can be injected with ``fail("response_url")``.
        """
        if not self._base:
            raise RuntimeError("SlackEmulator.start() has not been called")
        return f"{self._base}response/{key}"

    def calls(self, method: str | None = None) -> list[Call]:
        """Snapshot of recorded calls (optionally only those to ``method``), in arrival order."""
        with self._lock:
            if method is None:
                return list(self._calls)
            return [c for c in self._calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 20.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until at least ``count`` calls to ``method`` (matching ``where``) were recorded.

        Returns all matching calls.  Raises ``AssertionError`` listing the methods seen so far
        if ``timeout`` seconds pass first.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    c for c in self._calls if c.method == method and (where is None or where(c))
                ]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = Counter(c.method for c in self._calls)
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {count} x {method!r}"
                        f"{' (filtered)' if where is not None else ''}; "
                        f"got {len(found)}; methods seen: {dict(seen) or 'none'}"
                    )
                self._cond.wait(remaining)

    def reset(self) -> None:
        """Forget recorded calls, queued faults and channel/user configuration.

        ``latency`` is kept, and ts / view-id counters keep increasing (values stay unique).
        """
        with self._lock:
            self._calls.clear()
            self._faults.clear()
            self._channels.clear()
            self._users.clear()
            self._uploads.clear()
            self._shared_files.clear()
            self._messages.clear()
            self._modals.clear()
            self.chat_write_public = False

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages posted in ``channel`` (thread replies included), oldest first, each with
        its ``metadata`` if it was posted with some."""
        with self._lock:
            return [dict(m) for m in self._messages.get(channel, [])]

    def uploaded_files(self) -> list[dict[str, Any]]:
        """Files shared by ``files.completeUploadExternal``, in order: ``id``, ``title``,
        ``filename``, ``channel_id``, ``thread_ts``, ``initial_comment``, ``alt_txt``, ``data`` (the
        bytes POSTed to the upload URL) and ``size``."""
        with self._lock:
            return [dict(f) for f in self._shared_files]

    def reset_faults(self, method: str | None = None) -> None:
        """Drop the faults still queued (for ``method``, or all): Slack is healthy again."""
        with self._lock:
            if method is None:
                self._faults.clear()
            else:
                self._faults.pop(method, None)

    def set_channel(
        self,
        channel_id: str,
        *,
        is_private: bool = False,
        is_member: bool = True,
        exists: bool = True,
        is_archived: bool = False,
        name: str | None = None,
        members: list[str] | None = None,
        is_ext_shared: bool = False,
    ) -> None:
        """Configure a channel (unconfigured channels exist, are public and the bot is a member).

        Affects ``chat.postMessage`` (``channel_not_found`` / ``is_archived`` /
        ``not_in_channel``), ``conversations.info`` and ``conversations.members``; a channel
        with a ``name`` is also listed by ``conversations.list``.
        """
        with self._lock:
            self._channels[channel_id] = _Channel(
                is_private=is_private,
                is_member=is_member,
                exists=exists,
                is_archived=is_archived,
                name=name,
                members=list(members) if members is not None else None,
                is_ext_shared=is_ext_shared,
            )

    def view(self, view_id: str) -> dict[str, Any]:
        """The modal ``view_id`` as the person sees it now: the view last sent for it
        (``views.open``, ``views.push``, ``views.update``) with its ``id``, ``hash`` and
        ``state.values`` (what was entered with :meth:`enter` and kept across updates)."""
        with self._lock:
            known = self._modals[view_id]
            return {
                **json.loads(json.dumps(known.view)),
                "id": view_id,
                "hash": known.hash,
                "state": {"values": json.loads(json.dumps(known.values))},
            }

    def enter(self, view_id: str, block_id: str, action_id: str, entry: dict[str, Any]) -> None:
        """The person types or picks in an input of the open modal ``view_id`` without
        submitting: ``entry`` (e.g. ``{"type": "plain_text_input", "value": "..."}``) becomes
        ``state.values[block_id][action_id]``. Typing does not change the view's hash."""
        with self._lock:
            self._modals[view_id].values[block_id] = {action_id: dict(entry)}

    def set_user(
        self,
        user_id: str,
        *,
        tz: str | None = None,
        deleted: bool = False,
        is_admin: bool = False,
        is_owner: bool = False,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        team_id: str | None = None,
    ) -> None:
        """Configure a user for ``users.info`` and ``users.list`` (``tz`` defaults to the
        emulator's default_tz; ``team_id``: the person's own organisation, reported only if
        given)."""
        with self._lock:
            self._users[user_id] = _User(
                tz=tz,
                deleted=deleted,
                is_admin=is_admin,
                is_owner=is_owner,
                is_restricted=is_restricted,
                is_ultra_restricted=is_ultra_restricted,
                team_id=team_id,
            )

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        times: int = 1,
        performed: bool = False,
    ) -> None:
        """Queue a fault for the next ``times`` calls to ``method`` (faults are consumed FIFO).

        * ``status=429``: HTTP 429, ``Retry-After: retry_after`` (default 1),
          body ``{"ok": false, "error": "ratelimited"}``.
        * ``status>=500``: that HTTP status, body ``{"ok": false, "error": "internal_error"}``.
        * other non-200 status: that HTTP status,
          body ``{"ok": false, "error": "invalid_request"}``.
        * ``status=200, error="x"``: HTTP 200 ``{"ok": false, "error": "x"}``.
        * ``delay``: sleep that long before answering; with no status/error the normal
          response follows the delay.
        * ``performed``: the call takes effect at once (the message is posted and kept,
          before the delay), and only then is the fault's answer given: Slack answering
          after the client's timeout (``delay``), or posting and still answering 500
          (``status=500``).

        ``error`` overrides the default error code of the non-200 cases.  Faulted calls are
        still recorded.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults.setdefault(method, deque()).append(
                _Fault(status, error, retry_after, delay, times, performed)
            )

    # ------------------------------------------------------------------ request handling

    def _handle(
        self, method: str, key: str | None, query: str, body: bytes, headers: Any
    ) -> tuple[int, dict, dict[str, str]]:
        status, payload, extra = self._answer(method, key, query, body, headers)
        with self._cond:
            call = self._answering.pop(threading.get_ident(), None)
            if call is not None:
                call.response = payload
        return status, payload, extra

    def _answer(
        self, method: str, key: str | None, query: str, body: bytes, headers: Any
    ) -> tuple[int, dict, dict[str, str]]:
        arrived = time.monotonic()
        if method == "upload_url":  # raw file bytes, not form fields
            args, parse_error = {"file_id": key, "size": len(body)}, None
        else:
            args, parse_error = _parse_args(query, body, headers.get("Content-Type", ""))
        token = None
        auth = headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            token = auth[7:].strip() or None
        if token is None and isinstance(args.get("token"), str):
            token = args["token"]
        with self._cond:
            call = Call(method=method, args=args, token=token, at=arrived, key=key)
            self._calls.append(call)
            self._answering[threading.get_ident()] = call
            fault = None
            queue = self._faults.get(method)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                    if not queue:
                        del self._faults[method]
            self._cond.notify_all()

        done: dict | None = None
        if fault is not None and fault.performed and parse_error is None:
            done = self._respond(method, args)  # it happens now, whatever the answer
        sleep_for = self.latency + (fault.delay if fault else 0.0)
        if sleep_for > 0:
            time.sleep(sleep_for)

        if fault is not None:
            if fault.status == 429:
                retry_after = 1 if fault.retry_after is None else fault.retry_after
                return (
                    429,
                    {"ok": False, "error": fault.error or "ratelimited"},
                    {"Retry-After": str(retry_after)},
                )
            if fault.status >= 500:
                return fault.status, {"ok": False, "error": fault.error or "internal_error"}, {}
            if fault.status != 200:
                return fault.status, {"ok": False, "error": fault.error or "invalid_request"}, {}
            if fault.error is not None:
                return 200, {"ok": False, "error": fault.error}, {}
        if done is not None:
            return 200, done, {}

        if parse_error is not None:
            return 200, {"ok": False, "error": parse_error}, {}
        if method == "response_url":
            return 200, {"ok": True}, {}
        if method == "upload_url":
            return self._receive_upload(str(key), body)
        return 200, self._respond(method, args), {}

    def _next_ts(self) -> str:
        """Unique and increasing, on the wall clock (as Slack's: ``oldest`` can be a time)."""
        with self._lock:
            self._ts_counter += 1
            total = max(int(time.time() * 1_000_000), _TS_BASE_US, self._last_ts_us + 1)
            self._last_ts_us = total
        return f"{total // 1_000_000}.{total % 1_000_000:06d}"

    def _next_view_id(self) -> int:
        with self._lock:
            self._view_counter += 1
            return self._view_counter

    def _channel(self, channel_id: str) -> _Channel:
        with self._lock:
            return self._channels.get(channel_id) or _Channel()

    def _respond(self, method: str, args: dict) -> dict:
        handler = _METHODS.get(method)
        if handler is None:
            if method in _VIEW_METHODS:
                return self._views(method, args)
            return {"ok": True}
        return handler(self, args)

    # --- individual methods

    def _auth_test(self, args: dict) -> dict:
        return {
            "ok": True,
            "url": "https://emulated.slack.com/",
            "team": "Emulated",
            "user": "bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": "B0001",
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, args: dict) -> dict:
        call = self._answering.get(threading.get_ident())
        token = call.token if call is not None else None
        if not token:
            return {"ok": False, "error": "not_authed"}
        if not token.startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": self.socket_mode.connection_url()}

    def _chat_post_message(self, args: dict) -> dict:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel[0] in ("U", "D"):
            if channel[0] == "U":
                channel = "D" + channel[1:]
        else:
            conf = self._channel(channel)
            if not conf.exists:
                return {"ok": False, "error": "channel_not_found"}
            if conf.is_archived:
                return {"ok": False, "error": "is_archived"}
            if not conf.is_member and (conf.is_private or not self.chat_write_public):
                return {"ok": False, "error": "not_in_channel"}
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            return {"ok": False, "error": "no_text"}
        invalid = _block_kit_problem(args.get("blocks"))
        if invalid:
            return {"ok": False, "error": "invalid_blocks", "errors": [invalid]}
        if len(str(args.get("text") or "")) > 40000:
            return {"ok": False, "error": "msg_too_long"}
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": "B0001",
            "text": args.get("text", ""),
            "blocks": args.get("blocks", []),
            "ts": ts,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        metadata = args.get("metadata")
        kept = dict(message)
        if isinstance(metadata, dict):
            kept["metadata"] = metadata
        with self._lock:
            self._messages.setdefault(channel, []).append(kept)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _readable(self, channel_id: str) -> dict | None:
        """Slack's refusal to read ``channel_id``'s history (the bot must be in it), or None."""
        if not channel_id:
            return {"ok": False, "error": "channel_not_found"}
        if channel_id[0] == "D":
            return None
        conf = self._channel(channel_id)
        if not conf.exists:
            return {"ok": False, "error": "channel_not_found"}
        if not conf.is_member:
            return {
                "ok": False,
                "error": "channel_not_found" if conf.is_private else "not_in_channel",
            }
        return None

    def _read(
        self, args: dict, messages: list[dict[str, Any]], *, newest_first: bool = True
    ) -> dict:
        """Messages between ``oldest`` and ``latest`` (exclusive unless ``inclusive``), at
        most ``limit``, newest first (history) or oldest first (a thread's replies); metadata
        only with ``include_all_metadata``."""
        flag = str(args.get("include_all_metadata") or "").lower() in ("1", "true")
        inclusive = str(args.get("inclusive") or "").lower() in ("1", "true")
        try:
            oldest = float(args.get("oldest") or 0)
            latest = float(args.get("latest") or 0) or float("inf")
            limit = max(1, min(int(args.get("limit") or 100), 999))
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}

        def within(m: dict[str, Any]) -> bool:
            ts = float(m["ts"])
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        found = sorted((m for m in messages if within(m)), key=lambda m: float(m["ts"]))
        page = (list(reversed(found)) if newest_first else found)[:limit]
        shown = [m if flag else {k: v for k, v in m.items() if k != "metadata"} for m in page]
        return {"ok": True, "messages": shown, "has_more": len(found) > limit}

    def _conversations_history(self, args: dict) -> dict:
        channel_id = str(args.get("channel") or "")
        refused = self._readable(channel_id)
        if refused is not None:
            return refused
        with self._lock:
            top = [
                dict(m)
                for m in self._messages.get(channel_id, [])
                if m.get("thread_ts") in (None, m["ts"])
            ]
        return self._read(args, top)

    def _conversations_replies(self, args: dict) -> dict:
        channel_id = str(args.get("channel") or "")
        refused = self._readable(channel_id)
        if refused is not None:
            return refused
        parent = str(args.get("ts") or "")
        if not parent:
            return {"ok": False, "error": "thread_not_found"}
        with self._lock:
            thread = [
                dict(m)
                for m in self._messages.get(channel_id, [])
                if m["ts"] == parent or m.get("thread_ts") == parent
            ]
        return self._read(args, thread, newest_first=False)

    def _chat_update(self, args: dict) -> dict:
        return {
            "ok": True,
            "channel": args.get("channel"),
            "ts": args.get("ts"),
            "text": args.get("text", ""),
            "message": {"text": args.get("text", ""), "blocks": args.get("blocks", [])},
        }

    def _chat_post_ephemeral(self, args: dict) -> dict:
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_get_permalink(self, args: dict) -> dict:
        channel = args.get("channel")
        ts = str(args.get("message_ts") or args.get("ts") or "")
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://emulated.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }

    def _views(self, method: str, args: dict) -> dict:
        """Views are kept by id. ``views.update`` of a known view with a ``hash`` that is not
        its current one answers ``hash_conflict``, as Slack does; what the person entered is
        kept as Slack keeps it (``_kept_entries``)."""
        view = args.get("view")
        if not isinstance(view, dict):
            view = {}
        n = self._next_view_id()
        view_id = f"V{n}"
        values: dict[str, dict[str, Any]] = {}
        with self._lock:
            if method == "views.update" and args.get("view_id"):
                view_id = str(args["view_id"])  # Slack keeps the id of an updated view
                known = self._modals.get(view_id)
                if known is not None:
                    if args.get("hash") and str(args["hash"]) != known.hash:
                        return {"ok": False, "error": "hash_conflict"}
                    values = _kept_entries(known, view)
            if method != "views.publish":
                self._modals[view_id] = _View(view=view, hash=f"h{n}", values=values)
        return {
            "ok": True,
            "view": {
                **view,
                "id": view_id,
                "hash": f"h{n}",
                "state": {"values": json.loads(json.dumps(values))},
            },
        }

    def _channel_object(self, channel_id: str, conf: _Channel) -> dict:
        return {
            "id": channel_id,
            "name": conf.name or channel_id.lower(),
            "is_private": conf.is_private,
            "is_im": channel_id.startswith("D"),
            "is_mpim": False,
            "is_member": conf.is_member,
            "is_archived": conf.is_archived,
            "is_ext_shared": conf.is_ext_shared,
            "is_shared": conf.is_ext_shared,
        }

    def _conversations_info(self, args: dict) -> dict:
        channel_id = str(args.get("channel") or "")
        conf = self._channel(channel_id)
        if not channel_id or not conf.exists:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": self._channel_object(channel_id, conf)}

    def _conversations_list(self, args: dict) -> dict:
        """The configured channels with a ``name`` (``set_channel``), by id, ``limit`` per page,
        with a cursor. As Slack: ``types`` (default ``public_channel``; ``private_channel``
        lists only private channels the bot is a member of), ``exclude_archived``."""
        types = {t.strip() for t in str(args.get("types") or "public_channel").split(",")}
        if not types or not types <= {"public_channel", "private_channel", "mpim", "im"}:
            return {"ok": False, "error": "invalid_types"}
        exclude_archived = str(args.get("exclude_archived")).lower() in ("1", "true")
        try:
            limit = max(1, min(int(args.get("limit") or 100), 1000))
            start = int(args.get("cursor") or 0)
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        channels: list[tuple[str, _Channel]] = []
        with self._lock:
            for channel_id, conf in sorted(self._channels.items()):
                kind = "private_channel" if conf.is_private else "public_channel"
                if conf.name is None or not conf.exists or kind not in types:
                    continue
                if conf.is_private and not conf.is_member:
                    continue  # Slack lists a private channel only to its members
                if exclude_archived and conf.is_archived:
                    continue
                channels.append((channel_id, conf))
        page = channels[start : start + limit]
        more = start + limit < len(channels)
        return {
            "ok": True,
            "channels": [self._channel_object(cid, conf) for cid, conf in page],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _conversations_open(self, args: dict) -> dict:
        if args.get("channel"):
            return {"ok": True, "channel": {"id": str(args["channel"])}}
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) == 1:
            return {"ok": True, "channel": {"id": "D" + users[0][1:]}}
        return {"ok": True, "channel": {"id": "G" + "".join(u[1:] for u in sorted(users))}}

    def _conversations_members(self, args: dict) -> dict:
        channel_id = str(args.get("channel") or "")
        conf = self._channel(channel_id)
        if not channel_id or not conf.exists:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "members": list(conf.members or []),
            "response_metadata": {"next_cursor": ""},
        }

    def _user_object(self, user_id: str, conf: _User) -> dict:
        tz = conf.tz or self.default_tz
        name = user_id.lower()
        real_name = f"User {user_id}"
        user = {
            "id": user_id,
            "name": name,
            "real_name": real_name,
            "tz": tz,
            "tz_offset": _tz_offset(tz),
            "deleted": conf.deleted,
            "is_bot": False,
            "is_admin": conf.is_admin,
            "is_owner": conf.is_owner,
            "is_restricted": conf.is_restricted,
            "is_ultra_restricted": conf.is_ultra_restricted,
            "profile": {"real_name": real_name, "display_name": name},
        }
        # Slack always says which organisation a person belongs to; the emulator serves every
        # test workspace with one token, so it says so only for people configured with one
        # (a Slack Connect outsider, or a member of a given workspace).
        if conf.team_id:
            user["team_id"] = conf.team_id
        return user

    def _users_info(self, args: dict) -> dict:
        user_id = str(args.get("user") or "")
        if not user_id:
            return {"ok": False, "error": "user_not_found"}
        with self._lock:
            conf = self._users.get(user_id) or _User()
        return {"ok": True, "user": self._user_object(user_id, conf)}

    def _users_list(self, args: dict) -> dict:
        """The configured users (``set_user``), ``limit`` per page, with a cursor."""
        with self._lock:
            users = sorted(self._users.items())
        try:
            limit = max(1, min(int(args.get("limit") or 100), 1000))
            start = int(args.get("cursor") or 0)
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        page = users[start : start + limit]
        more = start + limit < len(users)
        return {
            "ok": True,
            "members": [self._user_object(uid, conf) for uid, conf in page],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    # --- files.uploadV2: getUploadURLExternal, a POST of the bytes, completeUploadExternal

    def _files_get_upload_url_external(self, args: dict) -> dict:
        filename = str(args.get("filename") or "")
        try:
            length = int(args.get("length") or 0)
        except (TypeError, ValueError):
            length = 0
        if not filename or length <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            self._file_counter += 1
            file_id = f"F{self._file_counter:08d}"
            self._uploads[file_id] = {
                "filename": filename,
                "length": length,
                "data": None,
                "alt_txt": args.get("alt_txt") or None,
            }
        return {"ok": True, "upload_url": f"{self._base}upload/{file_id}", "file_id": file_id}

    def _receive_upload(self, file_id: str, body: bytes) -> tuple[int, dict, dict[str, str]]:
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None:
                return 404, {"ok": False, "error": "file_not_found"}, {}
            upload["data"] = body
        return 200, {"ok": True, "size": len(body)}, {}

    def _files_complete_upload_external(self, args: dict) -> dict:
        raw = args.get("files")
        try:
            files = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return {"ok": False, "error": "invalid_json"}
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = str(args.get("channel_id") or "")
        if channel and channel[0] not in ("U", "D"):
            conf = self._channel(channel)
            if not conf.exists:
                return {"ok": False, "error": "channel_not_found"}
            if conf.is_archived:
                return {"ok": False, "error": "is_archived"}
            if not conf.is_member:
                return {"ok": False, "error": "not_in_channel"}
        shared: list[dict[str, Any]] = []
        with self._lock:
            for f in files:
                upload = self._uploads.get(str((f or {}).get("id")))
                if upload is None or upload["data"] is None:
                    return {"ok": False, "error": "file_not_found"}
            for f in files:
                file_id = str(f["id"])
                upload = self._uploads.pop(file_id)
                entry = {
                    "id": file_id,
                    "title": f.get("title") or upload["filename"],
                    "filename": upload["filename"],
                    "channel_id": channel or None,
                    "thread_ts": args.get("thread_ts") or None,
                    "initial_comment": args.get("initial_comment") or None,
                    "alt_txt": f.get("alt_txt") or upload.get("alt_txt"),
                    "data": upload["data"],
                    "size": len(upload["data"]),
                }
                self._shared_files.append(entry)
                shared.append(entry)
        return {
            "ok": True,
            "files": [
                {
                    "id": e["id"],
                    "name": e["filename"],
                    "title": e["title"],
                    "size": e["size"],
                    "channels": [e["channel_id"]] if e["channel_id"] else [],
                }
                for e in shared
            ],
        }


_METHODS: dict[str, Callable[[SlackEmulator, dict], dict]] = {
    "apps.connections.open": SlackEmulator._apps_connections_open,
    "auth.test": SlackEmulator._auth_test,
    "chat.postMessage": SlackEmulator._chat_post_message,
    "chat.update": SlackEmulator._chat_update,
    "chat.postEphemeral": SlackEmulator._chat_post_ephemeral,
    "chat.getPermalink": SlackEmulator._chat_get_permalink,
    "conversations.history": SlackEmulator._conversations_history,
    "conversations.info": SlackEmulator._conversations_info,
    "conversations.replies": SlackEmulator._conversations_replies,
    "conversations.list": SlackEmulator._conversations_list,
    "conversations.open": SlackEmulator._conversations_open,
    "conversations.members": SlackEmulator._conversations_members,
    "files.getUploadURLExternal": SlackEmulator._files_get_upload_url_external,
    "files.completeUploadExternal": SlackEmulator._files_complete_upload_external,
    "users.info": SlackEmulator._users_info,
    "users.list": SlackEmulator._users_list,
}
