"""Global middleware: the request's pooled Slack client, the database handle, workspace
scoping, and the event id."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import App, BoltContext, BoltResponse

from bot.core.payloads import SlackPayload
from bot.core.transport import pooled_copy
from storage.db import Database

log = logging.getLogger(__name__)


def register(app: App, db: Database) -> None:
    @app.middleware
    def pooled_client(context: BoltContext, next: Callable[[], None]) -> None:
        # Bolt builds a plain WebClient for each request (urllib: a new connection, and a TLS
        # handshake, per call) and authorization has set the request's token on it. Global
        # middleware runs after authorization: the request gets a new client of its own with
        # that token, sending over the process's pool (bot.core.transport). No client object
        # is shared between requests or workspaces; the connections are.
        context["client"] = pooled_copy(context.client)
        next()

    @app.middleware
    def provide_db_and_team(
        context: BoltContext, body: SlackPayload, next: Callable[[], None]
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
    def event_id(
        context: BoltContext, body: SlackPayload, next: Callable[[], None]
    ) -> BoltResponse | None:
        # Slack re-sends an event (X-Slack-Retry-Num) when our ack was slow or lost. Each event
        # listener handles an event_id once, whichever process receives the retry, by writing
        # its mark (storage.events.first_delivery) in the transaction of the work it does, so
        # a failed transaction leaves neither the mark nor half the work.
        if body.get("type") == "event_callback":
            context["event_id"] = str(body.get("event_id") or "")
        next()
        return None
