"""The WSGI application served by gunicorn: POST /slack/events, GET /healthz, GET /metrics."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_plus

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot import metrics
from storage.db import Database, schema_is_current

log = logging.getLogger(__name__)
StartResponse = Callable[..., Any]


def create_wsgi_app(
    app: App, db: Database
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    slack = SlackRequestHandler(app)

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events":
            if method != "POST":
                return _json(start_response, "405 Method Not Allowed", {"error": "POST only"})
            started = time.perf_counter()
            kind = _request_kind(environ)
            try:
                return slack(environ, start_response)
            finally:
                metrics.acked(kind, time.perf_counter() - started)
        if path == "/healthz" and method in ("GET", "HEAD"):
            return _health(start_response, db)
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


def _request_kind(environ: dict[str, Any]) -> str:
    """command, block_actions, view_submission, shortcut, ..., event: the label of the ack
    latency metric. Reads the body once and puts it back for Bolt."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return "unknown"
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
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


def _health(start_response: StartResponse, db: Database) -> Iterable[bytes]:
    try:
        current = schema_is_current(db.engine)
    except Exception as exc:  # noqa: BLE001 - health reports the failure instead of raising
        log.warning("health check: database unusable: %s", exc)
        return _json(
            start_response,
            "503 Service Unavailable",
            {"status": "error", "database": "unreachable"},
        )
    if not current:
        return _json(
            start_response,
            "503 Service Unavailable",
            {"status": "error", "database": "not migrated"},
        )
    return _json(start_response, "200 OK", {"status": "ok", "database": db.dialect})


def _json(start_response: StartResponse, status: str, body: dict[str, Any]) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]
