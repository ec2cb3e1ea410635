"""Slack Web API helpers shared by listeners: classify errors, check channels, DM people."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

# Errors that retrying cannot fix: a human must act (invite the bot, unarchive, ...).
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "account_inactive",
        "cannot_dm_bot",
        "user_disabled",
        "restricted_action",
        "msg_too_long",
    }
)

# Clauses that finish "ADR-n is saved, but I couldn't post it in #channel: ..." in one sentence.
HOW_TO_FIX = {
    "not_in_channel": "I'm not in that channel, so invite me with `/invite @Decision Bot` and save `/adr edit {n}` to post it.",
    "channel_not_found": "I can't see that channel, so invite me with `/invite @Decision Bot` and save `/adr edit {n}` to post it.",
    "is_archived": "that channel is archived, so unarchive it and save `/adr edit {n}` to post it.",
}
POST_FAILED_OTHERWISE = "Slack said `{e}`, so save `/adr edit {n}` to try again."


def slack_error(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or "unknown_error")
    except Exception:  # noqa: BLE001 - a malformed response is still an error to report
        return "unknown_error"


def conversation_is_private(client: WebClient, channel_id: str) -> bool:
    """True for private channels, DMs and group DMs, and whenever we can't tell (safe side)."""
    if channel_id.startswith("D"):
        return True
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as exc:
        log.info(
            "conversations.info %s failed: %s; treating as private", channel_id, slack_error(exc)
        )
        return True
    return bool(info.get("is_private") or info.get("is_im") or info.get("is_mpim"))


def dm(client: WebClient, user_id: str, text: str, blocks: list | None = None) -> bool:
    """Send a DM from the app; False (and a log line) if Slack refuses."""
    try:
        client.chat_postMessage(channel=user_id, text=text, blocks=blocks, unfurl_links=False)
        return True
    except SlackApiError as exc:
        log.warning("DM to %s failed: %s", user_id, slack_error(exc))
        return False
