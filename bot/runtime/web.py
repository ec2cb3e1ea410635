"""The WSGI application served by gunicorn: POST /slack/events, GET /healthz, GET /metrics,
and the pages a person sees: GET / (Add to Slack, or how this deployment is installed) and,
in distributed mode, Bolt's OAuth flow at GET /slack/install and /slack/oauth_redirect."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy.engine import Engine

from bot.core import metrics
from storage.db import Database, Limits, make_engine, schema_is_current

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)


# Slack's payloads are a few KB (a full modal is well under 100 KB): anything bigger is refused
# before it is read, verified or parsed.
MAX_BODY = 2 * 1024 * 1024


def create_wsgi_app(app: App, db: Database, *, retention_days: int = 30) -> WSGIApplication:
    slack = SlackRequestHandler(app)
    health = HealthCheck(db)
    flow = app.oauth_flow
    oauth_paths = (flow.install_path, flow.redirect_uri_path) if flow is not None else ()

    def front_page() -> tuple[str, list[tuple[str, str]]]:
        from bot.runtime import pages

        if flow is None:
            return pages.single_workspace(), []
        from bot.runtime.installs import landing

        page, cookie = landing(flow, retention_days)
        return page, [("Set-Cookie", cookie), ("Cache-Control", "no-store")]

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events":
            if method != "POST":
                return _json(start_response, "405 Method Not Allowed", {"error": "POST only"})
            started = time.perf_counter()
            refused = _read_body(environ)
            if refused is not None:
                return _json(start_response, *refused)
            kind = _request_kind(environ)
            try:
                return slack(environ, start_response)
            finally:
                metrics.acked(kind, time.perf_counter() - started)
        if path in oauth_paths and method == "GET":
            return slack(environ, start_response)  # Bolt's OAuth flow, our pages
        if path == "/" and method in ("GET", "HEAD"):
            page, headers = front_page()
            data = page.encode()
            start_response(
                "200 OK",
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Length", str(len(data))),
                    *headers,
                ],
            )
            return [data] if method == "GET" else [b""]
        if path == "/healthz" and method in ("GET", "HEAD"):
            return _health(start_response, health)
        if path == "/metrics" and method == "GET":
            body, content_type = metrics.render(db)
            start_response(
                "200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))]
            )
            return [body]
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return wsgi


_PAYLOAD_TYPE = re.compile(r'"type"\s*:\s*"([a-z_]+)"')
_INTERACTIVE = frozenset(
    {"block_actions", "view_submission", "view_closed", "shortcut", "message_action"}
)


def _read_body(environ: WSGIEnvironment) -> tuple[str, dict[str, str]] | None:
    """Read the request body, at most MAX_BODY bytes, and put it back for Bolt with its exact
    length; or (status, answer) refusing it. A declared length over the limit is refused
    without reading a byte; a body of unknown length (chunked) is read only up to the limit."""
    raw = environ.get("CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    if raw.strip():
        try:
            length = int(raw)
        except ValueError:
            return "400 Bad Request", {"error": "bad Content-Length"}
        if length < 0:
            return "400 Bad Request", {"error": "bad Content-Length"}
        if length > MAX_BODY:
            return _TOO_LARGE
        body = stream.read(length) if length else b""
    else:
        body = stream.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return _TOO_LARGE
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return None


_TOO_LARGE = ("413 Content Too Large", {"error": f"request body over {MAX_BODY} bytes"})


def _request_kind(environ: WSGIEnvironment) -> str:
    """command, block_actions, view_submission, shortcut, ..., event: the label of the ack
    latency metric. Reads the body (already buffered by _read_body) and puts it back."""
    body = environ["wsgi.input"].getvalue()
    head = body[:600].decode("utf-8", "replace")
    if head.startswith("{"):
        return "event"
    if "payload=" in head:
        found = _PAYLOAD_TYPE.search(unquote_plus(head.split("payload=", 1)[1]))
        kind = found.group(1) if found else ""
        return kind if kind in _INTERACTIVE else "interactive"
    if "command=" in head:
        return "command"
    return "unknown"


class HealthCheck:
    """Does the database answer, at the newest migration? Answered within ``deadline``
    seconds whatever the database does (a load balancer's probe must not hang on it).

    On Postgres it has an engine of its own — one connection, a short connect and statement
    timeout — so a request pool that is exhausted or stuck does not stall it. The check runs
    in a thread: past the deadline the answer is "timeout" and the thread ends by itself
    within the timeouts; meanwhile a new probe waits for that same check instead of piling up
    threads and connections.
    """

    CONNECT_TIMEOUT = 2  # libpq's minimum
    STATEMENT_TIMEOUT = 1.5

    def __init__(self, db: Database, *, deadline: float = 1.5) -> None:
        self.db = db
        self.deadline = deadline
        self._lock = threading.Lock()
        self._running: Future[bool] | None = None
        self._engine: Engine | None = None

    def engine(self) -> Engine:
        if self.db.dialect != "postgresql":
            return self.db.engine
        if self._engine is None:  # made lazily: in the gunicorn worker, not the master
            limits = Limits(
                connect_timeout=self.CONNECT_TIMEOUT,
                statement_timeout=self.STATEMENT_TIMEOUT,
                pool_size=1,
                max_overflow=0,
                # A probe asks whether the database answers now: its connection is pinged
                # on every checkout, however recently it was used.
                ping_idle_after=0.0,
            )
            self._engine = make_engine(self.db.url, limits=limits, pool_timeout=self.deadline)
        return self._engine

    def check(self) -> tuple[bool, dict[str, str]]:
        """(healthy, the JSON answer)."""
        with self._lock:
            if self._running is None or self._running.done():
                self._running = Future()
                threading.Thread(
                    target=self._run, args=(self._running,), name="healthz", daemon=True
                ).start()
            running = self._running
        try:
            current = running.result(timeout=self.deadline)
        except FutureTimeout:
            reason = f"timeout: no answer within {self.deadline:g} s"
            log.warning("health check: database unreachable (%s)", reason)
            return False, {"status": "error", "database": "unreachable", "error": reason}
        except Exception as exc:  # noqa: BLE001 - health reports the failure instead of raising
            reason = failure_reason(exc)
            log.warning("health check: database unreachable (%s)", reason)
            return False, {"status": "error", "database": "unreachable", "error": reason}
        if not current:
            return False, {"status": "error", "database": "not migrated"}
        return True, {"status": "ok", "database": self.db.dialect}

    def _run(self, result: Future[bool]) -> None:
        try:
            result.set_result(schema_is_current(self.engine()))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting probe
            result.set_exception(exc)


# What an operator needs from a database error, without its full text (which may quote a
# value, a host or a user name): the first known phrase, or the error's class.
_REASONS = (
    ("connection refused", "connection refused"),
    ("timeout expired", "connect timeout"),
    ("timed out", "timeout"),
    ("statement timeout", "statement timeout"),
    ("password authentication failed", "authentication failed"),
    ("no pg_hba.conf entry", "connection not allowed (pg_hba.conf)"),
    ("does not exist", "database or role does not exist"),
    ("could not translate host name", "unknown host"),
    ("name or service not known", "unknown host"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "network unreachable"),
    ("too many clients", "too many connections"),
    ("the database system is starting up", "database starting up"),
    ("the database system is shutting down", "database shutting down"),
    ("server closed the connection", "connection closed by the server"),
    ("unable to open database file", "cannot open the database file"),
    ("database is locked", "database is locked"),
    ("queuepool limit", "connection pool exhausted"),
)


def failure_reason(exc: BaseException) -> str:
    """A short, fixed description of why the database could not be used."""
    text = str(exc).lower()
    for phrase, reason in _REASONS:
        if phrase in text:
            return reason
    cause = getattr(exc, "orig", None) or exc
    return type(cause).__name__


def _health(start_response: StartResponse, health: HealthCheck) -> Iterable[bytes]:
    healthy, answer = health.check()
    status = "200 OK" if healthy else "503 Service Unavailable"
    return _json(start_response, status, answer)


def _json(start_response: StartResponse, status: str, body: dict[str, str]) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]
