"""Slack's Retry-After, honoured by the dispatcher and never slept on.

``DispatchClient`` is a pooled WebClient (``bot.core.transport``) that knows which workspace
it is calling for (the ``current_team`` context variable, set by the dispatcher around each
delivery). Before a call it checks whether that (workspace, method) — or, for posts, that
channel — is in a Retry-After window; if so, or if Slack answers 429, it raises
``RateLimited`` at once. The dispatcher then puts the row back until the window ends, without
spending an attempt, and its thread moves on to other work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.web import SlackResponse

from bot.core.payloads import SlackPayload
from bot.core.transport import PooledWebClient

current_team: ContextVar[str | None] = ContextVar("decisionbot_current_team", default=None)

# Methods Slack limits per channel (about one message a second), not per workspace.
PER_CHANNEL = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage"})
DEFAULT_RETRY_AFTER = 1.0
MAX_RETRY_AFTER = 3600.0

Scope = tuple[str, ...]


class RateLimited(Exception):
    """Slack asked us to wait ``retry_after`` seconds before calling ``scope`` again."""

    def __init__(self, retry_after: float, scope: Scope) -> None:
        super().__init__(f"rate limited for {retry_after:.1f}s on {'/'.join(scope)}")
        self.retry_after = retry_after
        self.scope = scope


def scope_of(team: str, method: str, args: Mapping[str, object]) -> Scope:
    if method in PER_CHANNEL and args.get("channel"):
        return (team, method, str(args["channel"]))
    return (team, method)


class RateLimits:
    """Retry-After windows by scope, shared by a process's dispatcher threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[Scope, float] = {}
        self._lock = threading.Lock()
        self.on_limited: Callable[[str], None] | None = None  # metrics hook: method

    def remaining(self, scope: Scope) -> float:
        with self._lock:
            until = self._until.get(scope)
            if until is None:
                return 0.0
            left = until - self._clock()
            if left <= 0:
                del self._until[scope]
                return 0.0
            return left

    def hit(self, scope: Scope, retry_after: float) -> None:
        with self._lock:
            until = self._clock() + retry_after
            self._until[scope] = max(until, self._until.get(scope, 0.0))
        if self.on_limited is not None:
            self.on_limited(scope[1])


def retry_after_of(exc: SlackApiError) -> float:
    try:
        raw = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
        value = float(raw) if raw is not None else DEFAULT_RETRY_AFTER
    except (AttributeError, TypeError, ValueError):
        value = DEFAULT_RETRY_AFTER
    return min(max(value, 0.0), MAX_RETRY_AFTER)


class DispatchClient(PooledWebClient):
    def __init__(
        self,
        *,
        token: str | None,
        base_url: str,
        timeout: int,
        retry_handlers: list[RetryHandler],
        limits: RateLimits,
    ) -> None:
        super().__init__(
            token=token, base_url=base_url, timeout=timeout, retry_handlers=retry_handlers
        )
        self.limits = limits

    def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, object] | None = None,
        data: SlackPayload | None = None,
        params: SlackPayload | None = None,
        json: SlackPayload | None = None,
        headers: dict[str, str] | None = None,
        auth: dict[str, str] | None = None,
    ) -> SlackResponse:
        args = json or data or params or {}
        scope = scope_of(current_team.get() or "-", api_method, args)
        wait = self.limits.remaining(scope)
        if wait > 0:
            raise RateLimited(wait, scope)
        try:
            return super().api_call(
                api_method,
                http_verb=http_verb,
                files=files,
                data=data,
                params=params,
                json=json,
                headers=headers,
                auth=auth,
            )
        except SlackApiError as exc:
            if getattr(exc.response, "status_code", None) == 429:
                retry_after = retry_after_of(exc)
                self.limits.hit(scope, retry_after)
                raise RateLimited(retry_after, scope) from exc
            raise
