"""create_app(settings, db) -> slack_bolt.App. No module-level App; routing only."""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import parse_qsl

import slack_bolt.context.respond.respond as bolt_respond
from slack_bolt import App
from slack_bolt.middleware.authorization.single_team_authorization import (
    SingleTeamAuthorization,
)
from slack_bolt.request import request as bolt_request
from slack_bolt.request.internals import parse_body as _bolt_parse_body
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core import errors
from bot.core.adr_command import AdrCommand, parse_adr
from bot.core.commands import SlashCommand
from bot.core.payloads import SlackPayload
from bot.core.slack_api import slack_error
from bot.core.transport import PooledWebhookClient
from bot.engine import notices
from bot.engine.registry import Registry
from bot.features import (
    decisions,
    digest,
    estimates,
    export,
    forecasts,
    health,
    home,
    parking,
    preferences,
    redaction,
    reviews,
    stances,
    workspace,
)
from bot.runtime import middleware
from bot.runtime.clients import LISTENER_THREADS, build_client
from bot.runtime.config import Settings
from bot.runtime.logs import protect_secret_loggers
from storage.db import Database

log = logging.getLogger(__name__)

NOT_INSTALLED = (
    "Decision Bot isn't installed in this workspace, so nothing was saved. "
    "A workspace admin can add it again with *Add to Slack*."
)


# A form body's ``payload`` field (Slack's interactivity bodies are ``payload=<JSON>``); a
# value's "=" is always percent-encoded, so the word in a command's text never matches.
_PAYLOAD_FIELD = re.compile(r"(?:^|&)payload=")


def _parse_body(body: str, content_type: str | None) -> SlackPayload:
    """Bolt's ``parse_body`` with one fix: it treats any form body containing the word
    "payload" as an interactivity payload, so `/adr search payload` (or `/adr new Payload
    limits`) parsed to {} and was dropped without an answer. Only a ``payload`` *field* is
    one. The body is decoded once: a Submit's body holds the whole form, and decoding it
    twice was the largest single cost of a Submit's request in the profile (issue 27)."""
    if body and not (content_type == "application/json" or body.startswith("{")):
        if not _PAYLOAD_FIELD.search(body):
            return dict(parse_qsl(body, keep_blank_values=True))
    return _bolt_parse_body(body, content_type)


# BoltRequest calls the parse_body its module imported: replace that name, in that module.
vars(bolt_request)["parse_body"] = _parse_body
# Bolt's respond() makes a WebhookClient per answer, by the name its module imported: the
# pooled one, so answers through a response_url reuse kept-alive connections too (issue 28).
vars(bolt_respond)["WebhookClient"] = PooledWebhookClient


def create_app(
    settings: Settings, db: Database, *, client: WebClient | None = None, socket_mode: bool = False
) -> App:
    """The Bolt app. Over HTTP every request's signature is verified; Socket Mode has none."""
    protect_secret_loggers()  # slack_sdk logs whole bodies at DEBUG: never a token
    client = client or build_client(settings)
    distributed: dict[str, object] = {}
    cache = None
    if settings.distributed:
        # "Add to Slack": each request's token comes from its workspace's installation in
        # the database (cached), never from an auth.test before the ack.
        from bot.runtime.installs import (
            StoredAuthorize,
            TokenCache,
            cipher_of,
            oauth_flow,
            org_workspace,
        )

        cache = TokenCache(db, cipher_of(settings))
        distributed = {
            # An org-wide install's events: their workspace, before authorize (issue 24).
            "before_authorize": org_workspace,
            "authorize": StoredAuthorize(cache),
            "oauth_flow": oauth_flow(settings, db, cache, client),
            # A request from a workspace without an installation (it removed the app).
            "user_facing_authorize_error_message": NOT_INSTALLED,
        }
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret,
        request_verification_enabled=not socket_mode,
        # Not Bolt's own start-up check, which raises when Slack is unreachable: `identify`
        # below asks once and, if Slack cannot answer, leaves it to the first request.
        token_verification_enabled=False,
        # Listeners do no Slack work after their ack (it is outbox work), but Bolt still runs
        # each one in a thread of this pool until it returns.
        listener_executor=ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="listener"
        ),
        logger=logging.getLogger("bot.app"),
        **distributed,  # type: ignore[arg-type]  # authorize and oauth_flow, typed where built
    )
    errors.register(app)
    middleware.register(app, db)
    for feature in LISTENERS:
        feature.register(app)
    app.command("/adr")(errors.guarded(adr_command().handle))
    parking.register_message_watch(app)  # after every message listener with a subtype
    if cache is not None:
        workspace.register_leaving(
            app,
            retention=timedelta(days=settings.retention_days),
            scheduled_kinds=work_registry().scheduled(),
            forget=cache.forget,
        )
    else:
        identify(app, client)
    return app


def identify(app: App, client: WebClient) -> bool:
    """Ask Slack who the bot is (auth.test) once, at start-up, so that no request ever waits
    on it before its ack: Bolt's single-workspace authorization would otherwise call it on
    each process's first request. If Slack cannot answer now, that first request asks."""
    try:
        result = client.auth_test()
    except SlackApiError as exc:
        log.warning(
            "auth.test failed at start-up (%s); the first request will ask", slack_error(exc)
        )
        return False
    except Exception as exc:  # noqa: BLE001 - start anyway: Slack may be back by the first request
        log.warning(
            "auth.test failed at start-up (%s); the first request will ask", type(exc).__name__
        )
        return False
    for step in app._middleware_list:  # no public setter; the attribute Bolt reads
        if isinstance(step, SingleTeamAuthorization):
            step.auth_test_result = result
            return True
    return False


def adr_command() -> SlashCommand[AdrCommand]:
    """`/adr`'s table: each feature adds its verbs."""
    adr = SlashCommand("/adr", parse=parse_adr, help=decisions.adr_help)
    for feature in VERBS:
        feature.register_verbs(adr)
    return adr


def work_registry() -> Registry:
    """Every feature's work kinds, collected for the engine (which imports no feature)."""
    registry = Registry()
    notices.register_work(registry)
    for feature in WORK:
        feature.register_work(registry)
    return registry


# The order Bolt tries listeners in (the scope-creep watch is added after all of them).
LISTENERS = (
    decisions,
    stances,
    forecasts,
    reviews,
    home,
    workspace,
    estimates,
    parking,
    digest,
    export,
)
# The features that add verbs to `/adr`.
VERBS = (decisions, reviews, workspace, digest, redaction, preferences, export, health)
WORK = (decisions, reviews, workspace, home, estimates, parking, digest, export, health)
