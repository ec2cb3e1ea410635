"""Global middleware: the database handle, workspace scoping, and event de-duplication."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse

from storage.db import Database
from storage.decisions import mark_event_processed

log = logging.getLogger(__name__)


def register(app: App, db: Database) -> None:
    @app.middleware
    def provide_db_and_team(
        context: BoltContext, body: dict[str, Any], next: Callable[[], None]
    ) -> BoltResponse | None:
        # Handlers ask for `db` and `team` by name (Bolt injects context keys). `team` is the
        # only workspace key storage is ever queried with: a request can see only its own rows.
        team = context.team_id or context.enterprise_id
        if not team:
            log.warning("request without team or enterprise id ignored: type=%s", body.get("type"))
            return BoltResponse(status=200, body="")
        context["db"] = db
        context["team"] = team
        next()
        return None

    @app.middleware
    def drop_event_retries(
        context: BoltContext, body: dict[str, Any], next: Callable[[], None]
    ) -> BoltResponse | None:
        # Slack re-sends an event (X-Slack-Retry-Num) when our ack was slow or lost; handle each
        # event_id once, whichever process receives the retry.
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            with db.session() as session:
                first = mark_event_processed(session, team_id=context["team"], event_id=event_id)
            if not first:
                log.info("duplicate event %s ignored", event_id)
                return BoltResponse(status=200, body="")
        next()
        return None
