"""Posting a channel message from the outbox once, even when Slack's answer is lost.

A post whose outcome is unknown — the client timed out, the connection was reset after the
request went out, Slack answered 5xx — may have been posted. The dispatcher's client never
retries a post by itself (``bot.runtime.clients.NEVER_RETRIED``); the row is retried by the
engine with its ``last_error`` marked ``unknown:``, and before posting again ``post_once``
looks for the earlier post and adopts its ``ts``:

- every post carries Slack message ``metadata`` naming the outbox row's key (ids only, never
  text): ``{"event_type": "decisionbot_outbox", "event_payload": {"key": <due_work.key>}}``;
- after an unknown outcome (or a lease that expired mid-delivery: a process died), it reads
  ``conversations.history`` (``conversations.replies`` for a thread post) with
  ``include_all_metadata``, from just before the row's first attempt could have posted, at
  most ``HISTORY_LIMIT`` messages — the limit Slack gives apps outside the Marketplace, whose
  reads are also limited to one a minute; reads happen only after unknown outcomes;
- where the bot cannot read the channel (``UNREADABLE``: a public channel it posts to
  through ``chat:write.public`` without being a member, a missing scope) it **posts anyway**
  and accepts a rare double: the alternatives (joining every public channel it posts to, a
  visible side effect people did not ask for, or a new scope) cost more than a duplicate
  after a lost answer, which is rare. Each read is counted in
  ``decisionbot_post_reconciliations_total{result=found|not_found|unreadable}``.

A read that fails otherwise (a 5xx, a timeout) raises: the row is retried later, still
marked, and nothing is posted in doubt. A 429 defers the row as any rate limit does.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from slack_sdk.errors import SlackApiError

from bot.core import metrics
from bot.core.payloads import Blocks, SlackPayload
from bot.core.slack_api import slack_error
from bot.engine.ratelimit import RateLimited
from bot.engine.registry import Job
from storage.models import DueWork

log = logging.getLogger(__name__)

METADATA_EVENT = "decisionbot_outbox"
UNKNOWN = "unknown:"  # last_error prefix: an earlier attempt of this row may have posted
HISTORY_LIMIT = 15
CLOCK_SKEW = timedelta(minutes=1)  # our clock against Slack's, for `oldest`
# History answers meaning "the bot cannot read here": post anyway (see the module doc).
UNREADABLE = frozenset({"not_in_channel", "missing_scope", "channel_not_found"})


class OutcomeUnknown(Exception):
    """The post may or may not have happened; the engine retries the row marked
    ``unknown:``. Its message is Slack's error (a 5xx), else ``__cause__`` says what went
    wrong (a timeout, a reset)."""


def metadata_for(item: DueWork) -> SlackPayload:
    """The message metadata of an outbox post: the row's key, nothing a person typed."""
    return {"event_type": METADATA_EVENT, "event_payload": {"key": item.key}}


def outcome_unknown(item: DueWork) -> bool:
    """Whether an earlier attempt of this row may have posted: it was marked unknown, or its
    lease expired without the row being finished (attempted before, and no error recorded)."""
    error = item.last_error or ""
    return error.startswith(UNKNOWN) or (item.attempts > 1 and not error)


def keep_marker(item: DueWork, error: str) -> str:
    """The ``last_error`` to record for a failed attempt: still marked unknown if an earlier
    attempt may have posted (a rate-limited or failed read must not lose that)."""
    if outcome_unknown(item) and not error.startswith(UNKNOWN):
        return (UNKNOWN + " " + error)[:200]
    return error


def _slack_ts(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return f"{at.timestamp():.6f}"


def _is_ours(message: SlackPayload, key: str) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return metadata.get("event_type") == METADATA_EVENT and payload.get("key") == key


def find_post(
    job: Job, *, channel: str, thread_ts: str | None = None, since: datetime | None = None
) -> str | None:
    """The ts of this row's earlier post in ``channel`` (or the thread), if the bot can read
    it there and finds it; None otherwise (counted by result)."""
    item = job.item
    oldest = _slack_ts((since or item.created_at) - CLOCK_SKEW)
    args: SlackPayload = {
        "channel": channel,
        "oldest": oldest,
        "limit": HISTORY_LIMIT,
        "include_all_metadata": True,
    }
    try:
        if thread_ts:
            resp = job.client.conversations_replies(ts=thread_ts, **args)
        else:
            resp = job.client.conversations_history(**args)
    except SlackApiError as exc:
        error = slack_error(exc)
        if error not in UNREADABLE:
            raise  # retried later, still marked: nothing is posted in doubt
        log.warning(
            "work item %s (%s): cannot read %s to look for its post (%s); posting anyway",
            item.id,
            item.kind,
            channel,
            error,
        )
        metrics.reconciled("unreadable")
        return None
    for message in resp.get("messages") or []:
        if _is_ours(message, item.key) and message.get("ts"):
            log.info("work item %s (%s): found its earlier post", item.id, item.kind)
            metrics.reconciled("found")
            return str(message["ts"])
    metrics.reconciled("not_found")
    return None


def post_once(
    job: Job,
    *,
    channel: str,
    text: str,
    blocks: Blocks | None = None,
    thread_ts: str | None = None,
    since: datetime | None = None,
    **extra: object,
) -> dict[str, str]:
    """Post the row's message (with its metadata) unless an earlier attempt already did;
    returns ``{"channel", "ts"}`` of the message either way.

    ``since``: the earliest the row could have posted (default: when the row was created).
    Raises ``OutcomeUnknown`` when Slack's answer is lost (timeout, connection error, 5xx),
    ``SlackApiError`` when Slack refused (nothing posted), ``RateLimited`` on a 429."""
    if outcome_unknown(job.item):
        found = find_post(job, channel=channel, thread_ts=thread_ts, since=since)
        if found is not None:
            return {"channel": channel, "ts": found}
    args: SlackPayload = {"unfurl_links": False, **extra}
    if blocks is not None:
        args["blocks"] = blocks
    if thread_ts:
        args["thread_ts"] = thread_ts
    try:
        resp = job.client.chat_postMessage(
            channel=channel, text=text, metadata=metadata_for(job.item), **args
        )
    except RateLimited:
        raise  # refused before sending, or a 429: nothing was posted
    except SlackApiError as exc:
        status = getattr(exc.response, "status_code", 200)
        if isinstance(status, int) and status >= 500:
            raise OutcomeUnknown(f"slack:{slack_error(exc)}") from exc
        raise  # Slack answered and refused: nothing was posted
    except Exception as exc:  # noqa: BLE001 - timeouts, resets: the post may have gone out
        raise OutcomeUnknown() from exc  # the engine records the cause's error code
    return {"channel": str(resp["channel"]), "ts": str(resp["ts"])}
