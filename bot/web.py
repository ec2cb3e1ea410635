"""The WSGI application served by gunicorn: POST /slack/events and GET /healthz."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

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
            return slack(environ, start_response)
        if path == "/healthz" and method in ("GET", "HEAD"):
            return _health(start_response, db)
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return wsgi


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
