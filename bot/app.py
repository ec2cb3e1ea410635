"""create_app(settings, db) -> slack_bolt.App. No module-level App; routing only."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot import errors, middleware
from bot.config import Settings
from bot.listeners import decisions, home, reviews, stances, upcoming
from storage.db import Database


def build_client(settings: Settings, token: str | None = None) -> WebClient:
    """The Web API client with slack_sdk's retry handlers for 429, 5xx and connection errors."""
    return WebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def create_app(
    settings: Settings, db: Database, *, client: WebClient | None = None, socket_mode: bool = False
) -> App:
    """The Bolt app. Over HTTP every request's signature is verified; Socket Mode has none."""
    client = client or build_client(settings)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret,
        request_verification_enabled=not socket_mode,
        # The bot token is checked on the first request, not at import/start-up.
        token_verification_enabled=False,
        # Bolt's default pool is 5 threads; a listener finishing Slack calls after its ack
        # holds one, and the next requests' acks would queue behind it.
        listener_executor=ThreadPoolExecutor(max_workers=32, thread_name_prefix="listener"),
        logger=logging.getLogger("bot.app"),
    )
    errors.register(app)
    middleware.register(app, db)
    decisions.register(app)
    stances.register(app)
    reviews.register(app)
    home.register(app)
    upcoming.register(app)
    return app
