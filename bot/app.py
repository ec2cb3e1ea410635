"""create_app(settings, db) -> slack_bolt.App. No module-level App; routing only."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient

from bot import errors, middleware
from bot.config import Settings
from bot.listeners import decisions, home, reviews, stances, upcoming
from bot.slack_api import build_client
from storage.db import Database


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
        # Listeners do no Slack work after their ack (it is outbox work), but Bolt still runs
        # each one in a thread of this pool until it returns.
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
