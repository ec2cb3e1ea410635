"""Token rotation (issue 24), the Slack side: ``oauth.v2.access`` with
``grant_type=refresh_token`` and the app's client credentials, under the installation row's
lock (``storage.token_refresh``).

Who refreshes: the outbox row ``installation.refresh`` that ``installations.save`` schedules
3 hours before each token expires (the ticker wakes the dispatcher, the claim makes it run
once per due time, the row lock once per token), and a delivery that Slack told
``token_expired`` (``bot.engine.delivery``). Never a request: nothing calls Slack before an ack.

The call is made once, without slack_sdk's retries: a refresh token works once, so a retry
after a lost answer would be refused and end the installation. A timeout or a 5xx leaves the
row to the dispatcher's backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import timedelta

from slack_sdk.errors import SlackApiError

from bot.core import metrics
from bot.core.slack_api import DISPATCH_TIMEOUT, slack_error
from bot.core.transport import PooledWebClient
from bot.runtime.config import Settings
from storage import token_refresh
from storage.db import Database
from storage.models import utcnow
from storage.secrets import TokenCipher
from storage.token_refresh import Refreshed, RefreshRefused, TokenGrant

log = logging.getLogger(__name__)

# Slack's answers to a refresh that retrying cannot fix: the workspace must install again.
REFUSALS = frozenset(
    {
        "invalid_refresh_token",
        "invalid_client_id",
        "bad_client_secret",
        "invalid_grant_type",
        "token_revoked",
        "invalid_auth",
        "app_uninstalled",
    }
)


def slack_refresher(settings: Settings) -> Callable[[str], TokenGrant]:
    """The Slack call: a refresh token in, the new grant out (``RefreshRefused`` for good)."""
    client = PooledWebClient(
        base_url=settings.slack_api_url, timeout=DISPATCH_TIMEOUT, retry_handlers=[]
    )

    def grant(refresh_token: str) -> TokenGrant:
        try:
            answer = client.oauth_v2_access(
                client_id=settings.slack_client_id or "",
                client_secret=settings.slack_client_secret or "",
                grant_type="refresh_token",
                refresh_token=refresh_token,
            )
        except SlackApiError as exc:
            error = slack_error(exc)
            if error in REFUSALS:
                raise RefreshRefused(error) from exc
            raise
        return TokenGrant(
            bot_token=str(answer["access_token"]),
            refresh_token=str(answer["refresh_token"]),
            expires_at=utcnow() + timedelta(seconds=int(answer["expires_in"])),
        )

    return grant


def refresh_team(
    db: Database,
    cipher: TokenCipher,
    settings: Settings,
    team_id: str,
    *,
    scheduled_kinds: Collection[str],
    stale_version: int | None = None,
    refresher: Callable[[str], TokenGrant] | None = None,
) -> Refreshed:
    """Refresh ``team_id``'s token if it still needs it, in one transaction holding the
    installation row's lock (see ``storage.token_refresh.refresh``)."""
    with db.session() as session:
        outcome = token_refresh.refresh(
            session,
            cipher=cipher,
            team_id=team_id,
            refresh=refresher or slack_refresher(settings),
            retention=timedelta(days=settings.retention_days),
            scheduled_kinds=scheduled_kinds,
            stale_version=stale_version,
        )
    metrics.installation(f"token:{outcome}")
    if outcome == Refreshed.REFUSED:
        log.warning(
            "team %s: Slack refused to refresh its token; paused until it installs again",
            team_id,
        )
    elif outcome == Refreshed.REFRESHED:
        log.info("team %s: token refreshed", team_id)
    return outcome
