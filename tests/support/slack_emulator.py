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
(``tests/support/socket_emulator.py``, on ``websockets``) started on first use, and by TLS,
whose certificate ``tests/support/tls.py`` makes with ``cryptography``.  Every request is
recorded as a :class:`Call` (including requests answered with an injected fault), so tests
can count attempts.  Slack itself is never contacted.

Connections (issue 28): ``SlackEmulator(tls=True)`` serves HTTPS with a self-signed
certificate made for the run (:attr:`SlackEmulator.ca_file`; trust it in the test client
only, :meth:`SlackEmulator.client_context`, or ``SSL_CERT_FILE`` in a child process).
Connections are kept alive (HTTP/1.1) and counted (:attr:`SlackEmulator.connections_opened`:
over TLS, one handshake each); :meth:`SlackEmulator.drop_connections` closes them as a server
ending idle keep-alives does, ``keepalive_requests`` closes each after that many answers (as
nginx's setting of that name), and ``fail(method, hang_up=True)`` closes the connection
without answering.

Many workspaces: :meth:`SlackEmulator.next_install` plus a GET of
:attr:`SlackEmulator.authorize_url` and ``oauth.v2.access`` install the app as Slack's OAuth
does, handing out a token per workspace; a call that names another workspace's channel or
user with it is refused and kept (:meth:`SlackEmulator.cross_workspace_calls`).  Tokens the
emulator did not issue (the single-workspace test token) are accepted for everything.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import socket
import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from tests.support.tls import certificate

if TYPE_CHECKING:
    from tests.support.socket_emulator import SocketModeEmulator

__all__ = ["Call", "SlackEmulator", "Workspace"]

# Form-encoded fields whose values slack_sdk sends as JSON strings.
_JSON_FORM_FIELDS = ("blocks", "view", "attachments", "metadata")

_TS_BASE_US = 1_700_000_000 * 1_000_000

_VIEW_METHODS = frozenset({"views.open", "views.push", "views.update", "views.publish"})

# Requests that carry no bot token: their own key, or the app's client credentials.
_NOT_TOKEN_AUTHED = frozenset({"response_url", "upload_url", "oauth.v2.access"})

AUTHORIZE_METHOD = "oauth.v2.authorize"  # the name the authorize page's requests are kept under
DEFAULT_TOKEN_LIFETIME = 43200  # seconds: a rotating token lives 12 hours, as in Slack


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
        response: The answer given (for the authorize page: ``status`` and ``location``).
        team: The workspace of ``token`` if the emulator issued it, else None.
        crossed: The other workspace whose channel or user the call named with ``token``
            (a call refused and kept by :meth:`SlackEmulator.cross_workspace_calls`), else None.
        client_credentials: ``(client_id, client_secret)`` from an HTTP Basic
            ``Authorization`` header (how slack_sdk sends them to ``oauth.v2.access``).
    """

    method: str
    args: dict[str, Any]
    token: str | None
    at: float
    key: str | None = None
    response: dict[str, Any] | None = None
    team: str | None = None
    crossed: str | None = None
    client_credentials: tuple[str, str] | None = None


@dataclass(frozen=True)
class Workspace:
    """A workspace the emulator hosts: what ``auth.test`` and ``oauth.v2.access`` report."""

    team_id: str
    name: str
    bot_user_id: str
    bot_id: str
    enterprise_id: str | None = None


@dataclass(frozen=True)
class _Token:
    team_id: str
    kind: Literal["bot", "user"]
    user_id: str  # the bot user, or the person a user token acts for


@dataclass(frozen=True)
class _Install:
    """What the person approving on the authorize page does (``next_install``)."""

    team_id: str
    user_id: str
    cancel: bool
    scopes: tuple[str, ...] | None
    org: bool = False  # an org-wide install of the enterprise ``team_id``


@dataclass(frozen=True)
class _Grant:
    """An authorization code handed out by the authorize page, until ``oauth.v2.access``."""

    team_id: str
    user_id: str
    scopes: str
    user_scopes: str
    redirect_uri: str | None
    org: bool = False  # an org-wide install of the enterprise ``team_id``


@dataclass
class _Fault:
    status: int
    error: str | None
    retry_after: int | None
    delay: float
    remaining: int
    performed: bool = False  # the call takes effect (a post is made) before the fault's answer
    hang_up: bool = False  # the connection is closed instead of an answer


@dataclass
class _Channel:
    is_private: bool = False
    is_member: bool = True
    exists: bool = True
    is_archived: bool = False
    name: str | None = None
    members: list[str] | None = None
    is_ext_shared: bool = False  # shared with another organisation (Slack Connect)
    team_id: str | None = None  # the workspace it belongs to (None: any)


@dataclass
class _User:
    tz: str | None = None
    deleted: bool = False
    is_admin: bool = False
    is_owner: bool = False
    is_restricted: bool = False
    is_ultra_restricted: bool = False
    # their own workspace: another organisation (a Slack Connect outsider), or a hosted one
    team_id: str | None = None


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
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        if self.tls is not None:
            # The handshake happens in the connection's own thread (``_Handler.setup``), not in
            # the accept loop, so one slow client never holds up the others.
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, address

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
        self._served = 0
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()  # a client that does not trust us fails here
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
        self._served += 1
        limit = self.server.emulator.keepalive_requests
        if limit is not None and self._served >= limit:
            self.close_connection = True  # this answer says "Connection: close"
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._send(400, {"ok": False, "error": "invalid_request"})
            return
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/oauth/v2/authorize":
            status, text, headers = self.server.emulator._authorize(parts.query)
            data = text.encode("utf-8")
            self._send_bytes(status, data, "text/html; charset=utf-8", headers)
            return
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
        except _HangUp:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        except Exception as exc:  # pragma: no cover - emulator bug: report it, don't hang
            status, payload, headers = 500, {"ok": False, "error": f"emulator_bug: {exc!r}"}, {}
        self._send(status, payload, headers)

    def _send(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        self._send_bytes(status, data, "application/json; charset=utf-8", headers)

    def _send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True


class _HangUp(Exception):
    """A ``hang_up`` fault: close the connection instead of answering."""


def _parse_args(query: str, body: bytes, content_type: str) -> tuple[dict[str, Any], str | None]:
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
            if not isinstance(part, Message):
                continue
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str) or not name:
                continue
            decoded_part = part.get_payload(decode=True)
            payload = decoded_part if isinstance(decoded_part, bytes) else b""
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


_CHANNEL_ARGS = ("channel", "channel_id")
_USER_ARGS = ("user", "user_id", "users")


def _named_ids(args: dict[str, Any]) -> Iterator[tuple[str, Literal["channel", "user"], str]]:
    """(arg, kind, id) of every channel and user a call names: a ``U…``/``W…`` id given as a
    channel is a user; a ``D…`` DM is itself and its person ``U…`` (``conversations.open``'s
    convention); ``users`` is a comma-separated string or a list."""
    for arg in _CHANNEL_ARGS:
        value = args.get(arg)
        if not isinstance(value, str) or not value:
            continue
        if value[0] in ("U", "W"):
            yield arg, "user", value
        else:
            yield arg, "channel", value
            if value[0] == "D":
                yield arg, "user", "U" + value[1:]
    for arg in _USER_ARGS:
        value = args.get(arg)
        ids = value.split(",") if isinstance(value, str) else value
        if isinstance(ids, list):
            for user_id in ids:
                if str(user_id).strip():
                    yield arg, "user", str(user_id).strip()


def _basic_credentials(authorization: str) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` of an HTTP Basic ``Authorization`` header, or None."""
    if authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def _scope_list(value: str) -> list[str]:
    """Scopes given comma- or space-separated (Slack's authorize URL takes both)."""
    return [s for s in value.replace(" ", ",").split(",") if s]


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


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
        tls: Serve HTTPS with a self-signed certificate (:attr:`ca_file`) instead of HTTP.
        team_id: Team id reported by ``auth.test``.
        bot_user_id: Bot user id reported by ``auth.test``.
        default_tz: Time zone reported by ``users.info`` for users without one configured.

    Attributes:
        latency: Seconds every request sleeps before being answered (default 0.0).
        keepalive_requests: Close each connection after answering this many requests on it
            ("Connection: close" on the last answer); None (the default) keeps them open.
        connections_opened: Connections accepted so far (over TLS: handshakes).
        url: Base URL for ``WebClient(base_url=...)`` / ``SLACK_API_URL``, with a trailing
            slash, e.g. ``"http://127.0.0.1:54321/api/"``.  Set by :meth:`start`.
        authorize_url: Slack's authorize page, emulated (``SLACK_AUTHORIZE_URL``), e.g.
            ``"http://127.0.0.1:54321/oauth/v2/authorize"``.  Set by :meth:`start`.
        app_id: The app id ``oauth.v2.access`` reports.
        oauth_client: ``(client_id, client_secret)`` that ``oauth.v2.access`` and the authorize
            page accept; None (the default) accepts any.
        oauth_redirect_uri: Where the authorize page sends the person back when its query has
            no ``redirect_uri`` (the app's configured Redirect URL, in Slack).
        revoked_error: The error a revoked token gets (default ``"invalid_auth"``).

    Workspaces and tokens.  A token the emulator issued (``oauth.v2.access``,
    :meth:`issue_token`) belongs to one workspace; every other token belongs to none and is
    accepted for everything, as before there were workspaces.  A revoked token
    (:meth:`revoke`, :meth:`uninstall`, ``auth.revoke``) gets ``revoked_error`` on every method.

    The one rule for crossing workspaces: a call made with a token of workspace A that names a
    channel (arg ``channel`` or ``channel_id``) or a user (``user``, ``user_id``, ``users``; a
    ``U…``/``W…`` id passed as ``channel``; the ``U…`` of a ``D…`` DM id, as
    ``conversations.open`` makes them) configured (:meth:`set_channel`, :meth:`set_user`) with
    the ``team_id`` of another *hosted* workspace B (:meth:`add_workspace`, :meth:`next_install`)
    is answered ``channel_not_found`` (channel args) or ``user_not_found`` (user args) and kept
    in :meth:`cross_workspace_calls`.  Unconfigured channels and users, and those of a
    workspace the emulator does not host (a Slack Connect outsider's organisation), are
    accepted for every token.  ``conversations.list`` and ``users.list`` leave out what
    belongs to another hosted workspace.

    Token rotation (``token_rotation = True``, as ``token_rotation_enabled`` in a manifest):
    ``oauth.v2.access`` answers an install with ``refresh_token`` (``xoxe-1-…``) and
    ``expires_in`` (``token_lifetime``, 12 hours by default); a token past its expiry (or
    :meth:`expire`) gets ``token_expired``; ``grant_type=refresh_token`` (client credentials
    as for a code) issues a new token and refresh token, and the refresh token used dies
    (``invalid_refresh_token`` the second time; :meth:`refreshes` keeps the calls).
    """

    def __init__(
        self,
        *,
        tls: bool = False,
        team_id: str = "T0001",
        bot_user_id: str = "UBOT",
        default_tz: str = "UTC",
    ) -> None:
        self.tls = tls
        self.keepalive_requests: int | None = None
        self.connections_opened = 0
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
        self.authorize_url: str = ""
        self.app_id = "A0DECISION"
        self.oauth_client: tuple[str, str] | None = None
        self.oauth_redirect_uri: str | None = None
        self.revoked_error = "invalid_auth"
        self._workspaces: dict[str, Workspace] = {}
        self._tokens: dict[str, _Token] = {}
        self._revoked: set[str] = set()
        self._installs: deque[_Install] = deque()  # next_install, consumed by the authorize page
        self._grants: dict[str, _Grant] = {}  # by authorization code, until exchanged
        # Org-wide installs (issue 24): enterprises installed org-wide, and workspaces of
        # theirs the app was taken from (``revoke_team_access``).
        self._orgs: set[str] = set()
        self._org_revoked: set[str] = set()
        # Token rotation (issue 24): off by default, as in Slack.
        self.token_rotation = False
        self.token_lifetime = DEFAULT_TOKEN_LIFETIME
        self._expires: dict[str, float] = {}  # token -> time.time() it expires at
        # live refresh token -> (its workspace, the scopes granted)
        self._refresh_tokens: dict[str, tuple[str, str]] = {}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SlackEmulator:
        """Bind ``127.0.0.1`` on a free port and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.emulator = self
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificate())
            server.tls = context
        port = server.server_address[1]
        self._base = f"{'https' if self.tls else 'http'}://127.0.0.1:{port}/"
        self.url = self._base + "api/"
        self.authorize_url = self._base + "oauth/v2/authorize"
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
        self.drop_connections()
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
                self.connections_opened += 1
            else:
                self._conns.discard(conn)

    @property
    def ca_file(self) -> str:
        """The PEM file of the certificate a ``tls`` emulator serves (to trust it)."""
        return certificate()[0]

    def client_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts this emulator's certificate, and nothing else."""
        return ssl.create_default_context(cafile=self.ca_file)

    def open_connections(self) -> int:
        """Client connections open right now."""
        with self._conns_lock:
            return len(self._conns)

    def drop_connections(self) -> int:
        """Close every open client connection, as a server ending idle keep-alives does (the
        client sees the close before its next request on it); returns how many."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return len(conns)

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
        """Forget recorded calls, queued faults, channel/user configuration, workspaces, tokens,
        planned installs and the OAuth settings.

        ``latency`` is kept, and ts / view-id counters keep increasing (values stay unique).
        ``connections_opened`` counts from zero again (open connections stay open), and
        ``keepalive_requests`` is back to None.
        """
        with self._lock:
            self.connections_opened = 0
            self.keepalive_requests = None
            self._calls.clear()
            self._faults.clear()
            self._channels.clear()
            self._users.clear()
            self._uploads.clear()
            self._shared_files.clear()
            self._messages.clear()
            self._modals.clear()
            self.chat_write_public = False
            self._workspaces.clear()
            self._tokens.clear()
            self._revoked.clear()
            self._installs.clear()
            self._grants.clear()
            self._orgs.clear()
            self._org_revoked.clear()
            self.oauth_client = None
            self.oauth_redirect_uri = None
            self.revoked_error = "invalid_auth"
            self.token_rotation = False
            self.token_lifetime = DEFAULT_TOKEN_LIFETIME
            self._expires.clear()
            self._refresh_tokens.clear()

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
        team_id: str | None = None,
    ) -> None:
        """Configure a channel (unconfigured channels exist, are public and the bot is a member).

        Affects ``chat.postMessage`` (``channel_not_found`` / ``is_archived`` /
        ``not_in_channel``), ``conversations.info`` and ``conversations.members``; a channel
        with a ``name`` is also listed by ``conversations.list``.  ``team_id``: the workspace
        it belongs to (see the class docstring for the calls refused because of it).
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
                team_id=team_id,
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
        emulator's default_tz; ``team_id``: the person's own workspace, reported only if
        given: a hosted workspace's tokens alone see them, see the class docstring)."""
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
        hang_up: bool = False,
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

        * ``hang_up``: after the delay, the connection is closed without an answer (the
          client reads nothing: ``RemoteDisconnected``).

        ``error`` overrides the default error code of the non-200 cases.  Faulted calls are
        still recorded.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults.setdefault(method, deque()).append(
                _Fault(status, error, retry_after, delay, times, performed, hang_up)
            )

    # ------------------------------------------------------------------ workspaces and OAuth

    def add_workspace(
        self,
        team_id: str,
        *,
        name: str | None = None,
        bot_user_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> Workspace:
        """Host a workspace (again: its details are replaced, its tokens kept).  Defaults:
        name ``"Workspace <team_id>"``, bot user ``"U<team_id[1:]>BOT"``, bot ``"B<team_id[1:]>"``."""
        workspace = Workspace(
            team_id=team_id,
            name=name or f"Workspace {team_id}",
            bot_user_id=bot_user_id or f"U{team_id[1:]}BOT",
            bot_id=f"B{team_id[1:]}",
            enterprise_id=enterprise_id,
        )
        with self._lock:
            self._workspaces[team_id] = workspace
        return workspace

    def workspace(self, team_id: str) -> Workspace | None:
        """The hosted workspace ``team_id``, or None."""
        with self._lock:
            return self._workspaces.get(team_id)

    def issue_token(self, team_id: str) -> str:
        """A new bot token of ``team_id`` (hosted from now on, if it was not), as if installed:
        for tests that store an installation without going through OAuth."""
        with self._lock:
            workspace = self._workspaces.get(team_id) or self.add_workspace(team_id)
            return self._issue(workspace, "bot", workspace.bot_user_id)

    def token_team(self, token: str) -> str | None:
        """The workspace of a token the emulator issued (revoked or not), else None."""
        with self._lock:
            known = self._tokens.get(token)
            return known.team_id if known is not None else None

    def revoke(self, token: str) -> None:
        """From now on ``token`` (issued by the emulator or not) gets ``revoked_error``."""
        with self._lock:
            self._revoked.add(token)

    def uninstall(self, team_id: str) -> None:
        """The app is removed from ``team_id``: its tokens are revoked and codes not yet
        exchanged die.  (The test sends the ``app_uninstalled`` event itself.)"""
        with self._lock:
            self._revoked.update(t for t, known in self._tokens.items() if known.team_id == team_id)
            for code in [c for c, g in self._grants.items() if g.team_id == team_id]:
                del self._grants[code]
            for dead in [r for r, (team, _) in self._refresh_tokens.items() if team == team_id]:
                del self._refresh_tokens[dead]

    def next_install(
        self,
        team_id: str,
        *,
        user_id: str = "UINSTALLER",
        cancel: bool = False,
        scopes: list[str] | None = None,
        org: bool = False,
    ) -> None:
        """What the next person on the authorize page does (queued: one per page load): approve
        for ``team_id`` (hosted from now on) as ``user_id`` the scopes asked for (or ``scopes``),
        or, with ``cancel``, click Cancel.  ``org``: ``team_id`` is an enterprise, installed
        org-wide (see :meth:`org_install_rules`)."""
        with self._lock:
            if org:
                self._orgs.add(team_id)
                if team_id not in self._workspaces:
                    self.add_workspace(team_id, name=f"Org {team_id}", enterprise_id=team_id)
            elif team_id not in self._workspaces:
                self.add_workspace(team_id)
            approved = tuple(scopes) if scopes is not None else None
            self._installs.append(_Install(team_id, user_id, cancel, approved, org))

    def cross_workspace_calls(self) -> list[Call]:
        """Calls refused because their token's workspace is not the one of the channel or user
        they named (``Call.team`` and ``Call.crossed``), in order."""
        with self._lock:
            return [c for c in self._calls if c.crossed is not None]

    def calls_by_team(self) -> dict[str | None, list[Call]]:
        """Recorded calls by the workspace of their token (None: a token not issued here, or
        none), each list in arrival order."""
        by_team: dict[str | None, list[Call]] = {}
        with self._lock:
            for call in self._calls:
                by_team.setdefault(call.team, []).append(call)
        return by_team

    # ------------------------------------------------------------------ request handling

    def _handle(
        self, method: str, key: str | None, query: str, body: bytes, headers: Any
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        payload: dict[str, Any] | None = None
        try:
            status, payload, extra = self._answer(method, key, query, body, headers)
        finally:
            with self._cond:
                call = self._answering.pop(threading.get_ident(), None)
                if call is not None:
                    call.response = payload
        return status, payload, extra

    def _answer(
        self, method: str, key: str | None, query: str, body: bytes, headers: Any
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
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
            known = self._tokens.get(token) if token else None
            refusal, crossed = self._refusal(method, token, known, args)
            call = Call(
                method=method,
                args=args,
                token=token,
                at=arrived,
                key=key,
                team=known.team_id if known is not None else None,
                crossed=crossed,
                client_credentials=_basic_credentials(auth),
            )
            self._calls.append(call)
            self._answering[threading.get_ident()] = call
            fault = None
            # a refused call leaves the faults queued for the calls Slack would answer
            queue = self._faults.get(method) if refusal is None else None
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                    if not queue:
                        del self._faults[method]
            self._cond.notify_all()

        done: dict[str, Any] | None = None
        if fault is not None and fault.performed and parse_error is None:
            done = self._respond(method, args)  # it happens now, whatever the answer
        sleep_for = self.latency + (fault.delay if fault else 0.0)
        if sleep_for > 0:
            time.sleep(sleep_for)
        if refusal is not None:
            return 200, refusal, {}

        if fault is not None:
            if fault.hang_up:
                raise _HangUp
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

    def _refusal(
        self, method: str, token: str | None, known: _Token | None, args: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, str | None]:
        """(Slack's refusal or None, the other workspace a refused call named or None): a
        revoked token, or an issued one naming another hosted workspace's channel or user
        (the rule in the class docstring).  Called with the lock held."""
        if token is None or method in _NOT_TOKEN_AUTHED:
            return None, None
        if token in self._revoked:
            return {"ok": False, "error": self.revoked_error}, None
        if self._expires.get(token, float("inf")) <= time.time():
            return {"ok": False, "error": "token_expired"}, None
        if known is None:
            return None, None
        for arg, kind, named in _named_ids(args):
            conf = self._channels.get(named) if kind == "channel" else self._users.get(named)
            owner = conf.team_id if conf is not None else None
            if (
                owner is not None
                and not self._serves(known.team_id, owner)
                and owner in self._workspaces
            ):
                error = "user_not_found" if arg in _USER_ARGS else "channel_not_found"
                return {"ok": False, "error": error}, owner
        return None, None

    def _issue(self, workspace: Workspace, kind: Literal["bot", "user"], user_id: str) -> str:
        prefix = "xoxb" if kind == "bot" else "xoxp"
        token = f"{prefix}-{workspace.team_id}-{secrets.token_hex(12)}"
        with self._lock:
            self._tokens[token] = _Token(workspace.team_id, kind, user_id)
        return token

    def _caller(self) -> tuple[str | None, _Token | None]:
        """The token of the call being answered on this thread, and what the emulator knows
        of it (None: not issued here)."""
        with self._lock:
            call = self._answering.get(threading.get_ident())
            token = call.token if call is not None else None
            return token, self._tokens.get(token) if token else None

    def _visible(self, owner: str | None) -> bool:
        """Whether the caller's token may see what belongs to ``owner`` (the class rule)."""
        _, known = self._caller()
        if known is None or owner is None or owner == known.team_id:
            return True
        if known.team_id in self._orgs:  # an org token lists one workspace: the one asked for
            return owner == self._asked_team() and self._serves(known.team_id, owner)
        return owner not in self._workspaces

    def _bot_identity(self) -> tuple[str, str]:
        """(bot user id, bot id) of the caller's workspace, or the emulator's own."""
        _, known = self._caller()
        workspace = self._workspaces.get(known.team_id) if known is not None else None
        if workspace is None:
            return self.bot_user_id, "B0001"
        return workspace.bot_user_id, workspace.bot_id

    def _respond(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = _METHODS.get(method)
        if handler is None:
            if method in _VIEW_METHODS:
                return self._views(method, args)
            return {"ok": True}
        return handler(self, args)

    # --- individual methods

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        _, known = self._caller()
        workspace = self._workspaces.get(known.team_id) if known is not None else None
        if known is None or workspace is None:
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
        answer: dict[str, Any] = {
            "ok": True,
            "url": f"https://{workspace.team_id.lower()}.emulated.slack.com/",
            "team": workspace.name,
            "user": "bot" if known.kind == "bot" else known.user_id.lower(),
            "team_id": workspace.team_id,
            "user_id": known.user_id,
        }
        if known.kind == "bot":
            answer["bot_id"] = workspace.bot_id
        if workspace.enterprise_id:
            answer["enterprise_id"] = workspace.enterprise_id
        answer["is_enterprise_install"] = known.team_id in self._orgs
        return answer

    def _auth_revoke(self, args: dict[str, Any]) -> dict[str, Any]:
        """Revoke the calling token (``test=1``: only say it would be), as Slack does."""
        token, _ = self._caller()
        if token is None:
            return {"ok": False, "error": "not_authed"}
        if str(args.get("test") or "").lower() in ("1", "true"):
            return {"ok": True, "revoked": False}
        self.revoke(token)
        return {"ok": True, "revoked": True}

    def _oauth_v2_access(self, args: dict[str, Any]) -> dict[str, Any]:
        """Exchange an authorize page's code for the workspace's new bot token: single use,
        client credentials from HTTP Basic auth or the form, ``redirect_uri`` as sent to the
        authorize page (if one was), and Slack's errors for each."""
        with self._lock:
            call = self._answering.get(threading.get_ident())
        credentials = call.client_credentials if call is not None else None
        client_id, secret = credentials or (
            str(args.get("client_id") or ""),
            str(args.get("client_secret") or ""),
        )
        if self.oauth_client is not None:
            if client_id != self.oauth_client[0]:
                return {"ok": False, "error": "invalid_client_id"}
            if secret != self.oauth_client[1]:
                return {"ok": False, "error": "bad_client_secret"}
        if args.get("grant_type") == "refresh_token":
            return self._refresh_grant(str(args.get("refresh_token") or ""))
        code = str(args.get("code") or "")
        with self._lock:
            grant = self._grants.get(code)
            if grant is None:
                return {"ok": False, "error": "invalid_code"}
            if grant.redirect_uri is not None and args.get("redirect_uri") != grant.redirect_uri:
                return {"ok": False, "error": "bad_redirect_uri"}
            del self._grants[code]
            if grant.org:
                return self._org_access(grant)
            workspace = self._workspaces.get(grant.team_id) or self.add_workspace(grant.team_id)
            bot_token = self._issue(workspace, "bot", workspace.bot_user_id)
            user_token = (
                self._issue(workspace, "user", grant.user_id) if grant.user_scopes else None
            )
        authed_user: dict[str, Any] = {"id": grant.user_id}
        if user_token is not None:
            authed_user.update(scope=grant.user_scopes, access_token=user_token, token_type="user")
        enterprise = (
            {"id": workspace.enterprise_id, "name": f"Enterprise {workspace.enterprise_id}"}
            if workspace.enterprise_id
            else None
        )
        return {
            "ok": True,
            "access_token": bot_token,
            "token_type": "bot",
            "scope": grant.scopes,
            "bot_user_id": workspace.bot_user_id,
            "app_id": self.app_id,
            "team": {"id": workspace.team_id, "name": workspace.name},
            "enterprise": enterprise,
            "is_enterprise_install": False,
            "authed_user": authed_user,
            **self._rotation(workspace.team_id, bot_token, grant.scopes),
        }

    # --- token rotation (issue 24)

    def _rotation(self, team_id: str, token: str, scope: str) -> dict[str, Any]:
        """With ``token_rotation``: ``token`` expires ``token_lifetime`` s from now, and a new
        one-use refresh token of ``team_id`` comes with it (the fields Slack adds)."""
        if not self.token_rotation:
            return {}
        refresh_token = f"xoxe-1-{team_id}-{secrets.token_hex(16)}"
        with self._lock:
            self._expires[token] = time.time() + self.token_lifetime
            self._refresh_tokens[refresh_token] = (team_id, scope)
        return {"refresh_token": refresh_token, "expires_in": self.token_lifetime}

    def _refresh_grant(self, refresh_token: str) -> dict[str, Any]:
        """``grant_type=refresh_token``: a new token and a new refresh token; the one used dies
        (a second use is ``invalid_refresh_token``).  The old access token lives on until its
        own expiry, as in Slack."""
        with self._lock:
            known = self._refresh_tokens.pop(refresh_token, None)
            if known is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            team_id, scope = known
            workspace = self._workspaces.get(team_id) or self.add_workspace(team_id)
            bot_token = self._issue(workspace, "bot", workspace.bot_user_id)
            rotation = self._rotation(team_id, bot_token, scope)
        return {
            "ok": True,
            "access_token": bot_token,
            "token_type": "bot",
            "scope": scope,
            "bot_user_id": workspace.bot_user_id,
            "app_id": self.app_id,
            "team": {"id": workspace.team_id, "name": workspace.name},
            "enterprise": None,
            "is_enterprise_install": False,
            **rotation,
        }

    def expire(self, token: str) -> None:
        """From now on ``token`` gets ``token_expired`` (its 12 hours are over)."""
        with self._lock:
            self._expires[token] = time.time() - 1

    def expires_at(self, token: str) -> float | None:
        """When ``token`` expires (``time.time()``), or None: it does not."""
        with self._lock:
            return self._expires.get(token)

    def refreshes(self) -> list[Call]:
        """The ``oauth.v2.access`` calls that asked for a refresh, answered or refused."""
        return [
            c for c in self.calls("oauth.v2.access") if c.args.get("grant_type") == "refresh_token"
        ]

    def refresh_tokens(self, team_id: str) -> list[str]:
        """The live (unused) refresh tokens of ``team_id``."""
        with self._lock:
            return [r for r, (team, _) in self._refresh_tokens.items() if team == team_id]

    # --- org-wide installs (issue 24)

    def org_install_rules(self) -> None:
        """Org-wide installs (Enterprise Grid): ``next_install(enterprise_id, org=True)``
        makes ``oauth.v2.access`` answer as Slack does for one (``team: null``,
        ``enterprise: {id, name}``, ``is_enterprise_install: true``).  Its token serves every
        hosted workspace whose ``enterprise_id`` is the org (:meth:`add_workspace`), but
        those taken away by :meth:`revoke_team_access`: their channels and users
        (``set_channel``/``set_user`` with their ``team_id``) are accepted, others' refused by
        the one rule of the class docstring.  ``users.list`` and ``conversations.list`` with
        an org token need ``team_id`` (``missing_argument`` without it,
        ``team_access_not_granted`` for a workspace it does not serve) and list only that
        workspace's (and unconfigured) users and channels."""

    def revoke_team_access(self, team_id: str) -> None:
        """The org admin takes the app away from the workspace ``team_id`` (the test sends
        ``team_access_revoked`` itself): the org token no longer serves it."""
        with self._lock:
            self._org_revoked.add(team_id)

    def grant_team_access(self, team_id: str) -> None:
        """The org admin adds the app to ``team_id`` again (after ``revoke_team_access``)."""
        with self._lock:
            self._org_revoked.discard(team_id)

    def _serves(self, token_team: str, owner: str) -> bool:
        """Whether a token of ``token_team`` (a workspace, or an org) acts in ``owner``."""
        if owner == token_team:
            return True
        workspace = self._workspaces.get(owner)
        return (
            token_team in self._orgs
            and workspace is not None
            and workspace.enterprise_id == token_team
            and owner not in self._org_revoked
        )

    def _asked_team(self) -> str | None:
        with self._lock:
            call = self._answering.get(threading.get_ident())
        team = call.args.get("team_id") if call is not None else None
        return str(team) if team else None

    def _org_list_problem(self) -> dict[str, Any] | None:
        """Slack's refusal of a workspace list asked with an org token: no ``team_id``, or
        one the org install does not serve."""
        _, known = self._caller()
        if known is None or known.team_id not in self._orgs:
            return None
        team = self._asked_team()
        if team is None:
            return {"ok": False, "error": "missing_argument"}
        with self._lock:
            if not self._serves(known.team_id, team):
                return {"ok": False, "error": "team_access_not_granted"}
        return None

    def _org_access(self, grant: _Grant) -> dict[str, Any]:
        """``oauth.v2.access`` for an org-wide install: the org's token, and no team."""
        with self._lock:
            org = self._workspaces.get(grant.team_id) or self.add_workspace(
                grant.team_id, enterprise_id=grant.team_id
            )
            bot_token = self._issue(org, "bot", org.bot_user_id)
        return {
            "ok": True,
            "access_token": bot_token,
            "token_type": "bot",
            "scope": grant.scopes,
            "bot_user_id": org.bot_user_id,
            "app_id": self.app_id,
            "team": None,
            "enterprise": {"id": org.team_id, "name": org.name},
            "is_enterprise_install": True,
            "authed_user": {"id": grant.user_id},
            **self._rotation(org.team_id, bot_token, grant.scopes),
        }

    def _authorize(self, query: str) -> tuple[int, str, dict[str, str]]:
        """Slack's authorize page, with the person's choice made beforehand
        (:meth:`next_install`): a 302 back to ``redirect_uri`` with a new ``code`` (or
        ``error=access_denied`` on Cancel) and the ``state``.  Kept as a call to
        ``oauth.v2.authorize`` with the query as its args."""
        args = dict(parse_qsl(query, keep_blank_values=True))
        state = {"state": args["state"]} if "state" in args else {}
        redirect = args.get("redirect_uri") or self.oauth_redirect_uri
        with self._cond:
            call = Call(method=AUTHORIZE_METHOD, args=args, token=None, at=time.monotonic())
            self._calls.append(call)
            self._cond.notify_all()
            install = None
            if self.oauth_client is not None and args.get("client_id") != self.oauth_client[0]:
                problem = "invalid_client_id"
            elif not redirect:
                problem = "no redirect_uri, and no oauth_redirect_uri set"
            elif not self._installs:
                problem = "nobody is installing: call next_install() first"
            else:
                problem, install = "", self._installs.popleft()
            if install is None:
                call.response = {"status": 400, "error": problem}
                return 400, f"<!doctype html><title>Error</title><p>{problem}</p>", {}
            if install.cancel:
                location = _with_query(str(redirect), {"error": "access_denied", **state})
            else:
                code = f"{len(self._calls)}.{secrets.token_hex(16)}"
                scopes = install.scopes or tuple(_scope_list(args.get("scope", "")))
                self._grants[code] = _Grant(
                    team_id=install.team_id,
                    user_id=install.user_id,
                    scopes=",".join(scopes),
                    user_scopes=",".join(_scope_list(args.get("user_scope", ""))),
                    redirect_uri=args.get("redirect_uri") or None,
                    org=install.org,
                )
                location = _with_query(str(redirect), {"code": code, **state})
            call.response = {"status": 302, "location": location}
        return 302, "", {"Location": location}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        call = self._answering.get(threading.get_ident())
        token = call.token if call is not None else None
        if not token:
            return {"ok": False, "error": "not_authed"}
        if not token.startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": self.socket_mode.connection_url()}

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
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
        bot_user_id, bot_id = self._bot_identity()
        message: dict[str, Any] = {
            "type": "message",
            "user": bot_user_id,
            "bot_id": bot_id,
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

    def _readable(self, channel_id: str) -> dict[str, Any] | None:
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
        self, args: dict[str, Any], messages: list[dict[str, Any]], *, newest_first: bool = True
    ) -> dict[str, Any]:
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

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
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

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
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

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "channel": args.get("channel"),
            "ts": args.get("ts"),
            "text": args.get("text", ""),
            "message": {"text": args.get("text", ""), "blocks": args.get("blocks", [])},
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        ts = str(args.get("message_ts") or args.get("ts") or "")
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://emulated.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }

    def _views(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """Views are kept by id. ``views.update`` of a known view with a ``hash`` that is not
        its current one answers ``hash_conflict``, as Slack does; what the person entered is
        kept as Slack keeps it (``_kept_entries``)."""
        view = args.get("view")
        if not isinstance(view, dict):
            view = {}
        invalid = self._image_problem(view.get("blocks"))
        if invalid:
            return {"ok": False, "error": "invalid_blocks", "errors": [invalid]}
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

    def _image_problem(self, blocks: Any) -> str | None:
        """What Slack would reject in a view's image blocks: alt text is required, and the
        image is either an ``image_url`` or a ``slack_file`` (by ``id`` or ``url``, not both),
        a PNG, JPEG or GIF the app uploaded (a completed ``files.uploadV2``)."""
        if not isinstance(blocks, list):
            return None
        with self._lock:
            uploaded = {f["id"]: f["filename"] for f in self._shared_files}
        for i, block in enumerate(blocks):
            if not isinstance(block, dict) or block.get("type") != "image":
                continue
            if not block.get("alt_text"):
                return f"block {i}: an image needs alt_text"
            url, file = block.get("image_url"), block.get("slack_file")
            if bool(url) == bool(file):
                return f"block {i}: an image needs exactly one of image_url and slack_file"
            if file is None:
                continue
            if not isinstance(file, dict) or bool(file.get("id")) == bool(file.get("url")):
                return f"block {i}: slack_file needs exactly one of id and url"
            if file.get("id"):
                name = uploaded.get(str(file["id"]))
                if name is None:
                    return f"block {i}: no such file {file['id']}"
                if not str(name).lower().endswith((".png", ".jpg", ".jpeg", ".gif")):
                    return f"block {i}: {name} is not a png, jpg or gif"
        return None

    def _channel_object(self, channel_id: str, conf: _Channel) -> dict[str, Any]:
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

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = str(args.get("channel") or "")
        conf = self._channel(channel_id)
        if not channel_id or not conf.exists:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": self._channel_object(channel_id, conf)}

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """The configured channels with a ``name`` (``set_channel``), by id, ``limit`` per page,
        with a cursor. As Slack: ``types`` (default ``public_channel``; ``private_channel``
        lists only private channels the bot is a member of), ``exclude_archived``."""
        if (problem := self._org_list_problem()) is not None:
            return problem
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
                if not self._visible(conf.team_id):
                    continue
                channels.append((channel_id, conf))
        page = channels[start : start + limit]
        more = start + limit < len(channels)
        return {
            "ok": True,
            "channels": [self._channel_object(cid, conf) for cid, conf in page],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {"ok": True, "channel": {"id": str(args["channel"])}}
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) == 1:
            return {"ok": True, "channel": {"id": "D" + users[0][1:]}}
        return {"ok": True, "channel": {"id": "G" + "".join(u[1:] for u in sorted(users))}}

    def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = str(args.get("channel") or "")
        conf = self._channel(channel_id)
        if not channel_id or not conf.exists:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "members": list(conf.members or []),
            "response_metadata": {"next_cursor": ""},
        }

    def _user_object(self, user_id: str, conf: _User) -> dict[str, Any]:
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

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user") or "")
        if not user_id:
            return {"ok": False, "error": "user_not_found"}
        with self._lock:
            conf = self._users.get(user_id) or _User()
        return {"ok": True, "user": self._user_object(user_id, conf)}

    def _users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """The configured users (``set_user``), ``limit`` per page, with a cursor."""
        if (problem := self._org_list_problem()) is not None:
            return problem
        with self._lock:
            users = sorted((u, c) for u, c in self._users.items() if self._visible(c.team_id))
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

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
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

    def _receive_upload(
        self, file_id: str, body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None:
                return 404, {"ok": False, "error": "file_not_found"}, {}
            upload["data"] = body
        return 200, {"ok": True, "size": len(body)}, {}

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
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


_METHODS: dict[str, Callable[[SlackEmulator, dict[str, Any]], dict[str, Any]]] = {
    "apps.connections.open": SlackEmulator._apps_connections_open,
    "auth.revoke": SlackEmulator._auth_revoke,
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
    "oauth.v2.access": SlackEmulator._oauth_v2_access,
    "users.info": SlackEmulator._users_info,
    "users.list": SlackEmulator._users_list,
}
