"""A workspace that leaves (distributed mode): ``app_uninstalled``, or ``tokens_revoked`` for
the bot's token.

Our own listener, not Bolt's built-in one (Bolt runs only the first listener that matches, so
the two could not both run): the installation's tokens are deleted at once, the workspace's
pending deliveries are cancelled (counted in /metrics), its scheduled work is paused until it
installs again, and its data is purged after ``DECISIONBOT_RETENTION_DAYS``
(``storage.installations.uninstall``). A repeated event changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import timedelta

from slack_bolt import App

from bot.core import metrics
from bot.core.errors import guarded
from bot.core.payloads import SlackPayload
from storage import installations
from storage.db import Database

log = logging.getLogger(__name__)


def register_leaving(
    app: App,
    *,
    retention: timedelta,
    scheduled_kinds: Collection[str],
    forget: Callable[[str], None],
) -> None:
    def leave(db: Database, team: str) -> None:
        with db.session() as session:
            left = installations.uninstall(
                session, team_id=team, retention=retention, scheduled_kinds=scheduled_kinds
            )
        forget(team)
        if left is None:
            return
        metrics.installation("uninstalled")
        metrics.uninstall_cancelled(left.cancelled)
        log.info(
            "workspace %s left: %d deliveries cancelled, %d scheduled items paused, data "
            "purged after %s",
            team,
            left.cancelled,
            left.paused,
            left.purge_after.isoformat(),
        )

    def uninstalled(db: Database, team: str) -> None:
        leave(db, team)

    def revoked(event: SlackPayload, db: Database, team: str) -> None:
        tokens = event.get("tokens")
        # Only user tokens revoked: the app has none, so nothing changes.
        if isinstance(tokens, dict) and tokens.get("bot"):
            leave(db, team)

    app.event("app_uninstalled")(guarded(uninstalled))
    app.event("tokens_revoked")(guarded(revoked))
