"""The process's Slack Web API clients, one per rule, all sending over the process's one
pool of kept-alive connections (``bot.core.transport``):

- ``build_client`` is for the request path (Bolt's ``client``): only ``views.open/push/update``
  and the ephemeral answer happen there, within Slack's 3 s. One attempt, a short timeout, and
  it never sleeps on ``Retry-After``.
- ``build_dispatch_client`` is for the dispatcher: retries connection errors and 5xx a couple
  of times — except for calls that post (``NEVER_RETRIED``: a message, a file share), whose
  outcome is unknown after a timeout, a reset or a 5xx (Slack may have posted). Those are
  the engine's to decide (``bot.engine.posting``: look for the post, then post again). A 429
  is not slept on but raised as ``RateLimited``, so the dispatcher defers that row and keeps
  other work flowing (``bot.engine.ratelimit``).
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryHandler, RetryState
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.core import metrics, transport
from bot.core.slack_api import DISPATCH_TIMEOUT, REQUEST_TIMEOUT
from bot.core.transport import PooledWebClient
from bot.engine.ratelimit import DispatchClient, RateLimits
from bot.engine.registry import Clients, NotInstalled, OneClient
from bot.runtime.config import Settings

if TYPE_CHECKING:
    from bot.runtime.installs import TokenCache
    from storage.db import Database
    from storage.token_refresh import Refreshed

# Calls that post something: slack_sdk's handlers would repost them after an unknown outcome
# without the dispatcher knowing. Every other method keeps its retries.
NEVER_RETRIED = frozenset(
    {
        "chat.postMessage",
        "chat.scheduleMessage",
        "chat.meMessage",
        "files.upload",
        "files.completeUploadExternal",
    }
)


def api_method(url: str) -> str:
    """The Web API method a request URL calls (``https://slack.com/api/chat.postMessage``)."""
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


class _NoRepost(RetryHandler):
    """Mixin for slack_sdk retry handlers (put first among the bases): never retry a call in
    ``NEVER_RETRIED``; otherwise the handler it is mixed into decides."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if api_method(request.url) in NEVER_RETRIED:
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


class ConnectionErrorRetries(_NoRepost, ConnectionErrorRetryHandler):
    """Connection errors are retried, except for posts (the message may have gone out)."""


class ServerErrorRetries(_NoRepost, ServerErrorRetryHandler):
    """500/503 are retried, except for posts (Slack may have posted and still answered 5xx)."""


def dispatch_retry_handlers() -> list[RetryHandler]:
    return [ConnectionErrorRetries(max_retry_count=2), ServerErrorRetries(max_retry_count=2)]


# Threads that may call Slack on a request path at once (``bot.app``'s listener pool).
LISTENER_THREADS = 32


def size_pool(settings: Settings) -> None:
    """Connections per Slack host for this process: the dispatcher's calls in flight plus the
    request threads', so neither waits for a connection while the other is busy."""
    transport.configure(per_host=settings.dispatch_concurrency + LISTENER_THREADS)


def build_client(settings: Settings, token: str | None = None) -> WebClient:
    """The request path's client: one attempt, short timeout, never a Retry-After sleep. Over
    the process's pool of kept-alive connections, as every client here."""
    size_pool(settings)
    return PooledWebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=REQUEST_TIMEOUT,
        retry_handlers=[],
    )


def build_dispatch_client(
    settings: Settings, limits: RateLimits | None = None, token: str | None = None
) -> WebClient:
    """The dispatcher's client: slack_sdk's retry handlers for connection errors and 5xx,
    never for a post (``NEVER_RETRIED``); 429 answers become ``RateLimited`` and are honoured per (workspace, method) and per
    channel for posts by the dispatcher, not slept on."""
    if limits is None:
        limits = RateLimits()
        limits.on_limited = metrics.rate_limited
    return DispatchClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=DISPATCH_TIMEOUT,
        retry_handlers=dispatch_retry_handlers(),
        limits=limits,
    )


class TeamClients:
    """Distributed mode: the dispatcher's client for a workspace, with that workspace's token
    (from ``TokenCache``), one per (workspace, installation version), sharing one set of
    Retry-After windows. A workspace without an installation raises ``NotInstalled``."""

    def __init__(self, settings: Settings, cache: TokenCache) -> None:
        self.settings = settings
        self.cache = cache
        self.limits = RateLimits()
        self.limits.on_limited = metrics.rate_limited
        self._lock = threading.Lock()
        self._clients: dict[str, tuple[int, WebClient]] = {}

    def __call__(self, team_id: str) -> WebClient:
        bot = self.cache.get(team_id)
        if bot is None:
            raise NotInstalled(team_id)
        with self._lock:
            known = self._clients.get(team_id)
            if known is not None and known[0] == bot.version and known[1].token == bot.bot_token:
                return known[1]
        client = build_dispatch_client(self.settings, self.limits, token=bot.bot_token)
        if bot.team_id != team_id:
            # An org-wide install's token (issue 24): Slack needs the workspace on calls
            # like users.list and conversations.list; slack_sdk sends this on every call.
            client.default_params["team_id"] = team_id
        with self._lock:
            self._clients[team_id] = (bot.version, client)
        return client

    def installed(self, team_id: str) -> bool:
        self.cache.forget(team_id)
        return self.cache.get(team_id) is not None

    # -- token rotation (issue 24) --------------------------------------------------------

    def refresh(
        self, team_id: str, *, scheduled_kinds: Collection[str], expired: bool = False
    ) -> Refreshed:
        """Refresh ``team_id``'s token if it still needs it (under the installation row's
        lock: one refresh however many processes ask). ``expired``: Slack refused the token
        this process holds, which is then refreshed even if its stored expiry is not near
        (unless another process has refreshed it meanwhile). Either way the next client for
        the workspace is built from the installation read afresh."""
        from bot.runtime.token_refresh import refresh_team

        with self._lock:
            known = self._clients.get(team_id)
        # The installation's own key: an org-wide install's is its enterprise id.
        bot = self.cache.get(team_id)
        try:
            return refresh_team(
                self.cache.db,
                self.cache.cipher,
                self.settings,
                bot.team_id if bot is not None else team_id,
                scheduled_kinds=scheduled_kinds,
                stale_version=known[0] if expired and known is not None else None,
            )
        finally:
            self.cache.forget(team_id)
            if bot is not None and bot.team_id != team_id:
                self.cache.forget(bot.team_id)  # the org's own entry, too
            with self._lock:
                self._clients.pop(team_id, None)


def dispatch_clients(settings: Settings, db: Database) -> Clients:
    """What the dispatcher calls Slack with: a client per workspace in distributed mode, the
    one bot token's client otherwise."""
    size_pool(settings)
    if settings.distributed:
        from bot.runtime.installs import TokenCache, cipher_of

        return TeamClients(settings, TokenCache(db, cipher_of(settings)))
    return OneClient(build_dispatch_client(settings))
