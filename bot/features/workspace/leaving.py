"""A workspace that leaves (distributed mode): ``app_uninstalled``, or ``tokens_revoked`` for
the bot's token.

Our own listener, not Bolt's built-in one (Bolt runs only the first listener that matches, so
the two could not both run): the installation's tokens are deleted at once, the workspace's
pending deliveries are cancelled (counted in /metrics), its scheduled work is paused until it
installs again, and its data is purged after ``DECISIONBOT_RETENTION_DAYS``
(``storage.installations.uninstall``). A repeated event changes nothing.

An org-wide install (Enterprise Grid) hears ``team_access_granted`` / ``team_access_revoked``
for the workspaces of its org: each is an install or an uninstall of that workspace alone
(``storage.org_installs``); the org's token and its other workspaces are untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import timedelta

from slack_bolt import App, BoltContext

from bot.core import metrics
from bot.core.errors import guarded
from bot.core.payloads import SlackPayload
from storage import installations, org_installs
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
            # An org-wide install (keyed by its enterprise id) takes its workspaces with it.
            revoked = org_installs.revoke_all(
                session, enterprise_id=team, retention=retention, scheduled_kinds=scheduled_kinds
            )
        forget(team)
        for workspace, gone in revoked.items():
            forget(workspace)
            _left(workspace, gone, "org install removed")
        if left is not None:
            _left(team, left, "uninstalled")

    def uninstalled(db: Database, team: str) -> None:
        leave(db, team)

    def revoked(event: SlackPayload, db: Database, team: str) -> None:
        tokens = event.get("tokens")
        # Only user tokens revoked: the app has none, so nothing changes.
        if isinstance(tokens, dict) and tokens.get("bot"):
            leave(db, team)

    def access(event: SlackPayload, context: BoltContext, db: Database) -> None:
        """``team_access_granted`` / ``team_access_revoked`` (an org-wide install): for each
        workspace named, what an install or an uninstall does, for that workspace alone."""
        enterprise = context.enterprise_id
        teams = event.get("team_ids")
        if not enterprise or not isinstance(teams, list):
            return
        granted = event.get("type") == "team_access_granted"
        for team in [t for t in teams if isinstance(t, str) and t]:
            with db.session() as session:
                if granted:
                    resumed = org_installs.grant(session, team_id=team, enterprise_id=enterprise)
                    gone = None
                else:
                    gone = org_installs.revoke(
                        session,
                        team_id=team,
                        enterprise_id=enterprise,
                        retention=retention,
                        scheduled_kinds=scheduled_kinds,
                    )
            forget(team)
            if granted:
                metrics.installation("installed")
                log.info("org %s granted %s (%d paused items resumed)", enterprise, team, resumed)
            elif gone is not None:
                _left(team, gone, f"access revoked by org {enterprise}")

    app.event("app_uninstalled")(guarded(uninstalled))
    app.event("tokens_revoked")(guarded(revoked))
    app.event("team_access_granted")(guarded(access))
    app.event("team_access_revoked")(guarded(access))


def _left(team: str, left: installations.Left, why: str) -> None:
    metrics.installation("uninstalled")
    metrics.uninstall_cancelled(left.cancelled)
    log.info(
        "workspace %s left (%s): %d deliveries cancelled, %d scheduled items paused, data "
        "purged after %s",
        team,
        why,
        left.cancelled,
        left.paused,
        left.purge_after.isoformat(),
    )
