"""The process's Slack Web API clients, one per rule:

- ``build_client`` is for the request path (Bolt's ``client``): only ``views.open/push/update``
  and the ephemeral answer happen there, within Slack's 3 s. One attempt, a short timeout, and
  it never sleeps on ``Retry-After``.
- ``build_dispatch_client`` is for the dispatcher: retries connection errors and 5xx a couple
  of times; a 429 is not slept on but raised as ``RateLimited``, so the dispatcher defers that
  row and keeps other work flowing (``bot.engine.ratelimit``).
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.core import metrics
from bot.core.slack_api import DISPATCH_TIMEOUT, REQUEST_TIMEOUT
from bot.engine.ratelimit import DispatchClient, RateLimits
from bot.runtime.config import Settings


def build_client(settings: Settings, token: str | None = None) -> WebClient:
    """The request path's client: one attempt, short timeout, never a Retry-After sleep."""
    return WebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=REQUEST_TIMEOUT,
        retry_handlers=[],
    )


def build_dispatch_client(
    settings: Settings, limits: RateLimits | None = None, token: str | None = None
) -> WebClient:
    """The dispatcher's client: slack_sdk's retry handlers for connection errors and 5xx;
    429 answers become ``RateLimited`` and are honoured per (workspace, method) and per
    channel for posts by the dispatcher, not slept on."""
    if limits is None:
        limits = RateLimits()
        limits.on_limited = metrics.rate_limited
    return DispatchClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=DISPATCH_TIMEOUT,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
        limits=limits,
    )
