"""The one error handler: domain errors become a friendly sentence; anything else is logged
with the ids needed to find it, and the user gets a short apology — never a 500 or silence."""

from __future__ import annotations

import inspect
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from slack_bolt import Ack, App, BoltContext, BoltResponse
from slack_sdk import WebClient

from bot.core.log_context import request_context
from bot.core.payloads import SlackPayload
from bot.core.slack_api import REQUEST_TIMEOUT
from bot.core.transport import PooledWebhookClient
from storage.errors import DecisionBotError

log = logging.getLogger("bot.core.errors")


def register(app: App) -> None:
    app.error(handle_error)


# What the wrapper needs from Bolt to report an error, whatever the listener asks for.
_NEEDED = ("ack", "body", "context", "client", "logger")

P = ParamSpec("P")
R = TypeVar("R")
# Bolt's listener arguments by name (ack, body, client, context, say, ...): each of its own type.
BoltArguments = dict[str, Any]


def guarded(listener: Callable[P, R]) -> Callable[P, R | None]:
    """Wrap a listener so an error raised *after* it acked is handled here.

    Bolt (1.30) answers an exception raised after ack() by resetting the ack it already
    recorded; if the request thread had not sent it yet, Slack gets nothing for 3 s (a 404 and
    "dispatch_failed"). Errors before the ack still go to Bolt, whose error handler (below)
    then answers in the HTTP response itself.

    Bolt injects arguments by name: the wrapper declares the listener's own parameters (any
    of Bolt's: ``say``, ``payload``, ``message``, ...) plus the few it needs itself, and
    passes the listener exactly what it asked for. Typed as the listener itself (returning
    None when it raised after its ack and the error was handled here).
    """
    wanted = list(inspect.signature(listener).parameters)
    names = list(dict.fromkeys([*wanted, *_NEEDED]))

    call: Callable[..., R] = listener  # called with the arguments it named, by name

    def run(*args: P.args, **kwargs: P.kwargs) -> R | None:
        # Bolt passes every argument by name: those of __signature__ below, the listener's
        # and the wrapper's own.
        given: BoltArguments = kwargs
        ack: Ack | None = given["ack"]
        body: SlackPayload = given["body"]
        context: BoltContext = given["context"]
        # Whatever the listener logs carries the request's ids (bot.runtime.logs).
        with request_context(**request_fields(body, context)):
            try:
                return call(*args, **{name: given[name] for name in wanted})
            except Exception as error:
                if ack is None or ack.response is None:
                    raise
                handle_error(error, body, None, context, given["client"], given["logger"])
                return None

    # What Bolt reads to know which arguments to pass (functions keep it in their __dict__).
    run.__dict__["__signature__"] = inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    )
    run.__name__ = run.__qualname__ = listener.__name__
    run.__doc__ = listener.__doc__
    return run


def user_message(error: Exception) -> tuple[str, str | None]:
    """(text for the user, reference id if it was unexpected)."""
    if isinstance(error, DecisionBotError):
        return str(error), None
    ref = uuid.uuid4().hex[:8]
    return (
        f"Sorry, something went wrong on my side (ref `{ref}`). Please try again in a moment; "
        "if it keeps happening, give the ref to whoever runs Decision Bot.",
        ref,
    )


def request_fields(body: SlackPayload, context: BoltContext) -> dict[str, str | None]:
    """The ids that say which request a log line belongs to (never anything typed)."""
    return {
        "team": context.team_id or context.enterprise_id,
        "user": context.user_id,
        "kind": body.get("type") or ("slash_command" if body.get("command") else None),
        "callback": body.get("command")
        or (body.get("view") or {}).get("callback_id")
        or body.get("callback_id"),
        "action": ",".join(a.get("action_id", "") for a in body.get("actions") or []) or None,
    }


def handle_error(
    error: Exception,
    body: SlackPayload,
    response: BoltResponse | None,
    context: BoltContext,
    client: WebClient,
    logger: logging.Logger,
) -> None:
    text, ref = user_message(error)
    if ref:
        fields = request_fields(body, context)
        with request_context(**fields, ref=ref):
            log.error(
                "unhandled error ref=%s team=%s user=%s type=%s command=%s callback=%s action=%s",
                ref,
                fields["team"],
                fields["user"],
                fields["kind"],
                body.get("command"),
                (body.get("view") or {}).get("callback_id") or body.get("callback_id"),
                fields["action"] or "",
                exc_info=error,
            )
    if response is not None:
        # Not acked yet: answer Slack ourselves instead of Bolt's default 500.
        response.status = 200
        response.headers = {"content-type": ["application/json;charset=utf-8"]}
        if body.get("command"):
            response.body = json.dumps({"response_type": "ephemeral", "text": text})
            return
        field = _first_input(body) if body.get("type") == "view_submission" else None
        if field is not None:
            # A modal that could not be saved stays open, with what the person typed and a
            # sentence on its first field saying why; Submit works again once the cause is gone.
            if ref:
                text = (
                    f"I couldn't save this just now (ref {ref}). What you typed is still here: "
                    "press Submit again in a moment."
                )
            response.body = json.dumps({"response_action": "errors", "errors": {field: text[:300]}})
            return
        response.body = ""
        # Hand Bolt this empty answer as the ack before telling the person through
        # response_url: the runner waiting on the ack sends it now, so Slack is never called
        # before the request is acked.
        if context.ack is not None:
            context.ack.response = response
    _tell_user(body, context, client, text)


def _first_input(body: SlackPayload) -> str | None:
    for block in (body.get("view") or {}).get("blocks") or []:
        if block.get("type") == "input" and block.get("block_id"):
            return str(block["block_id"])
    return None


def _tell_user(body: SlackPayload, context: BoltContext, client: WebClient, text: str) -> None:
    try:
        response_url = body.get("response_url")
        if response_url:
            # One attempt, a short timeout: a request thread never waits long on Slack.
            webhook = PooledWebhookClient(
                response_url,
                timeout=REQUEST_TIMEOUT,
                retry_handlers=[],
            )
            webhook.send(text=text, response_type="ephemeral", replace_original=False)
            return
        user = context.user_id
        channel = context.channel_id
        if user and channel and not channel.startswith("D"):
            client.chat_postEphemeral(channel=channel, user=user, text=text)
        elif user:
            client.chat_postMessage(channel=user, text=text)
    except Exception:  # noqa: BLE001 - the error is already logged; don't mask it
        log.warning("could not deliver an error message to user %s", context.user_id, exc_info=True)
