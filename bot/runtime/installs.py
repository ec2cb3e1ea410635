"""Distributed mode ("Add to Slack"): installations in our database, and the token path.

- ``TokenCache``: a process's view of the installations, one database read per workspace at
  most every ``ttl`` seconds (30): requests and deliveries never ask Slack who they are. A
  change made in this process (install, uninstall) is seen at once; an install made in
  another process at once too (a workspace without one is not cached); an uninstall made in
  another process within ``ttl`` — meanwhile Slack refuses the old token, and the delivery
  that was refused reads the installation afresh (``TeamClients.installed``).
- ``StoredAuthorize``: Bolt's authorization from that cache (Bolt's default would call
  ``auth.test`` on every request, before the ack).
- ``DbInstallationStore`` / ``DbStateStore``: Bolt's OAuth flow stores over our tables; states
  are one-time and last 10 minutes (``storage.installations``).
- ``oauth_flow``: the flow at ``/slack/install`` and ``/slack/oauth_redirect``, whose success
  and failure pages are ours (``bot.runtime.pages``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from slack_bolt import BoltContext, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_bolt.error import BoltError
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_flow import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Bot, InstallationStore
from slack_sdk.oauth.installation_store import Installation as SlackInstallation
from slack_sdk.oauth.state_store import OAuthStateStore

from bot.core import metrics
from bot.core.payloads import SlackPayload
from bot.runtime import pages
from bot.runtime.config import Settings
from storage import installations, org_installs
from storage.db import Database
from storage.installations import InstalledBot
from storage.secrets import TokenCipher

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"

# What the app asks each workspace for: manifest.yml's bot scopes (tests/test_manifest.py
# checks the two agree).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "files:write",
    "im:write",
    "channels:read",
    "groups:read",
    "im:read",
    "mpim:read",
    "users:read",
    "users:read.email",
    "channels:history",
    "groups:history",
)


def cipher_of(settings: Settings) -> TokenCipher:
    return TokenCipher(settings.encryption_keys)


class TokenCache:
    """Active installations by workspace, read from the database at most every ``ttl`` s."""

    def __init__(
        self,
        db: Database,
        cipher: TokenCipher,
        *,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._known: dict[str, tuple[InstalledBot, float]] = {}

    def get(self, team_id: str) -> InstalledBot | None:
        """The workspace's active installation (with its token), or None. Only installations
        are kept: a workspace not installed is read again each time, so one that has just
        installed (in another process) is served at once."""
        now = self._clock()
        with self._lock:
            known = self._known.get(team_id)
        if known is not None and now - known[1] < self.ttl:
            return known[0]
        with self.db.read() as session:
            # Its own installation, else its org's org-wide one (``storage.org_installs``).
            bot = org_installs.find_for_workspace(session, cipher=self.cipher, team_id=team_id)
        with self._lock:
            if bot is None:
                self._known.pop(team_id, None)
            else:
                self._known[team_id] = (bot, now)
        return bot

    def forget(self, team_id: str) -> None:
        with self._lock:
            self._known.pop(team_id, None)

    def join(self, team_id: str, enterprise_id: str) -> InstalledBot | None:
        """A request from ``team_id`` (of ``enterprise_id``), which has no installation of
        its own: the org-wide install's, if it serves the workspace, recorded the first time
        (one write per workspace: after it, ``get`` finds it)."""
        org = self.get(enterprise_id)
        if org is None or not org_installs.is_org(org):
            return None
        with self.db.session() as session:
            served = org_installs.join(session, team_id=team_id, enterprise_id=enterprise_id)
        self.forget(team_id)
        return org if served else None


# An org-wide install's events about the installation itself: they name no workspace (the
# workspaces are in ``event.team_ids``), and the installation is keyed by the enterprise id.
ORG_EVENTS = frozenset(
    {"app_uninstalled", "tokens_revoked", "team_access_granted", "team_access_revoked"}
)


def org_workspace(
    context: BoltContext, body: SlackPayload, next: Callable[[], None]
) -> BoltResponse | None:
    """Bolt's ``before_authorize``: the workspace of an org-wide install's request.

    Slack's events for an org install carry ``authorizations[0].team_id: null``, so Bolt
    finds no team id; the workspace the event happened in is the envelope's ``team_id``. It
    is set here, before ``authorize``, so the request is authorized for (and its records
    kept in) that workspace, never the enterprise id. The installation's own events
    (``ORG_EVENTS``) go on without a workspace; any other request without one is ignored."""
    if context.team_id or not context.is_enterprise_install:
        next()
        return None
    outer = body.get("team_id")
    if isinstance(outer, str) and outer and outer != context.enterprise_id:
        context["team_id"] = outer
        next()
        return None
    event = body.get("event")
    kind = event.get("type") if isinstance(event, dict) else None
    if body.get("type") == "event_callback" and kind in ORG_EVENTS:
        next()
        return None
    log.info(
        "org-wide request without a workspace ignored: type=%s event=%s enterprise=%s",
        body.get("type"),
        kind,
        context.enterprise_id,
    )
    return BoltResponse(status=200, body="")


class StoredAuthorize(Authorize):
    """Bolt's ``authorize``: the installation from the cache; None (Bolt then answers that the
    app is not installed) for a workspace without one."""

    def __init__(self, cache: TokenCache) -> None:
        # Authorize.__init__ does nothing (and is untyped): not called.
        self.cache = cache

    def __call__(
        self,
        *,
        context: BoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        if team_id:
            bot = self.cache.get(team_id)
            if bot is None and enterprise_id:
                bot = self.cache.join(team_id, enterprise_id)
        else:  # an org install's own events (``org_workspace``): the org's installation
            bot = self.cache.get(enterprise_id or "")
        if bot is None:
            return None
        return AuthorizeResult(
            enterprise_id=bot.enterprise_id,
            # The workspace of the request, never the enterprise id of an org install's.
            team_id=team_id if org_installs.is_org(bot) else bot.team_id,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            bot_token=bot.bot_token,
            bot_scopes=list(bot.bot_scopes),
            user_id=user_id,
        )


class MissingScopes(BoltError):
    """Slack granted fewer scopes than the app needs: nothing is saved."""

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = tuple(missing)


def _expiry(installation: SlackInstallation) -> datetime | None:
    """When a rotating token expires (token rotation: Slack's ``expires_in``), or None."""
    at = installation.bot_token_expires_at
    return datetime.fromtimestamp(at, UTC) if at else None


class DbInstallationStore(InstallationStore):
    """Bolt's installation store over ``storage.installations`` (bot installs only)."""

    def __init__(self, db: Database, cache: TokenCache) -> None:
        self.db = db
        self.cache = cache

    @property
    def logger(self) -> logging.Logger:
        return log

    def save(self, installation: SlackInstallation) -> None:
        # An org-wide install (Enterprise Grid) is one installation keyed by the enterprise id.
        org = bool(installation.is_enterprise_install and installation.enterprise_id)
        key = installation.enterprise_id if org else installation.team_id
        if not key or not installation.bot_token:
            raise BoltError("installation without a workspace or a bot token")
        with self.db.session() as session:
            resumed = installations.save(
                session,
                cipher=self.cache.cipher,
                team_id=key,
                enterprise_id=installation.enterprise_id,
                team_name=installation.enterprise_name if org else installation.team_name,
                app_id=installation.app_id or "",
                bot_id=installation.bot_id or "",
                bot_user_id=installation.bot_user_id or "",
                bot_token=installation.bot_token,
                bot_scopes=list(installation.bot_scopes or []),
                installer_user_id=installation.user_id,
                bot_refresh_token=installation.bot_refresh_token,
                bot_token_expires_at=_expiry(installation),
                is_enterprise_install=org,
            )
        self.cache.forget(key)
        metrics.installation("installed")
        log.info(
            "installed %sin %s (%d paused items resumed)", "org-wide " if org else "", key, resumed
        )

    def save_bot(self, bot: Bot) -> None:  # bot installs are saved whole, by ``save``
        return None

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = self.cache.get(team_id or enterprise_id or "")
        if found is None:
            return None
        return Bot(
            app_id=found.app_id,
            enterprise_id=found.enterprise_id,
            team_id=found.team_id,
            bot_token=found.bot_token,
            bot_id=found.bot_id,
            bot_user_id=found.bot_user_id,
            bot_scopes=list(found.bot_scopes),
            installed_at=time.time(),
        )

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> SlackInstallation | None:
        return None  # no user tokens: Bolt asks only for the bot (installation_store_bot_only)


class DbStateStore(OAuthStateStore):
    """One-time OAuth states in ``oauth_states``, valid 10 minutes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def logger(self) -> logging.Logger:
        return log

    def issue(self, *args: object, **kwargs: object) -> str:
        with self.db.session() as session:
            return installations.issue_state(session)

    def consume(self, state: str) -> bool:
        with self.db.session() as session:
            return installations.consume_state(session, state=state)


class Flow(OAuthFlow):
    """Bolt's OAuth flow, refusing an install that lacks a scope the app needs."""

    def store_installation(self, request: BoltRequest, installation: SlackInstallation) -> None:
        granted = set(installation.bot_scopes or [])
        missing = [s for s in BOT_SCOPES if s not in granted]
        if missing:
            raise MissingScopes(missing)
        super().store_installation(request, installation)


# Bolt's failure reasons (and Slack's ``error`` on the redirect) -> our failure page's reason.
_FAILURES = {
    "access_denied": "cancelled",
    "invalid_state": "state",
    "invalid_browser": "browser",
}


def _html(body: str, status: int = 200) -> BoltResponse:
    return BoltResponse(
        status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8"}
    )


def _success(args: SuccessArgs) -> BoltResponse:
    installation = args.installation
    if installation.is_enterprise_install and installation.enterprise_id:
        return _html(
            pages.org_success(
                enterprise_id=installation.enterprise_id,
                enterprise_name=installation.enterprise_name,
                app_id=installation.app_id or "",
            )
        )
    return _html(
        pages.success(
            team_id=installation.team_id or installation.enterprise_id or "",
            team_name=installation.team_name,
            app_id=installation.app_id or "",
        )
    )


def _failure(args: FailureArgs) -> BoltResponse:
    detail = ""
    if isinstance(args.error, MissingScopes):
        reason, detail = "scope", ", ".join(args.error.missing)
    else:
        reason = _FAILURES.get(args.reason, "error")
        detail = "" if reason != "error" else args.reason
    metrics.installation(f"failed:{reason}")
    log.info("install failed: %s %s", args.reason, detail)
    return _html(pages.failure(reason=reason, install_url=INSTALL_PATH, detail=detail), 200)


def oauth_flow(settings: Settings, db: Database, cache: TokenCache, client: WebClient) -> Flow:
    """The OAuth flow over our stores, at /slack/install and /slack/oauth_redirect."""
    oauth_settings = OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=settings.slack_redirect_uri,
        install_path=INSTALL_PATH,
        # /slack/install sends the browser straight to Slack (the App Directory's direct
        # install link); `/` is the page with the button (``landing``).
        install_page_rendering_enabled=False,
        redirect_uri_path=REDIRECT_PATH,
        callback_options=CallbackOptions(success=_success, failure=_failure),
        authorization_url=settings.slack_authorize_url,
        installation_store=DbInstallationStore(db, cache),
        installation_store_bot_only=True,
        state_store=DbStateStore(db),
        state_expiration_seconds=int(installations.STATE_LIFETIME / timedelta(seconds=1)),
    )
    return Flow(client=client, logger=log, settings=oauth_settings)


def landing(flow: OAuthFlow, retention_days: int) -> tuple[str, str]:
    """``/`` in distributed mode: (the page with a fresh state in its Add to Slack link, the
    Set-Cookie header binding that state to this browser)."""
    request = BoltRequest(body="", query={}, headers={}, mode="http")
    state = flow.issue_new_state(request)
    url = flow.build_authorize_url(state, request)
    cookie = flow.settings.state_utils.build_set_cookie_for_new_state(state)
    return pages.landing(authorize_url=url, retention_days=retention_days), cookie
