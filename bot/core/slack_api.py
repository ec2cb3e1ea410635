"""The Slack Web API seen from features: timeouts, error classification, channel privacy,
DMs. The clients themselves are built by the process (``bot.runtime.clients``)."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.payloads import Blocks
from storage.channels import ChannelFacts

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 2.5  # seconds: a trigger_id lives 3 s
DISPATCH_TIMEOUT = 10


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
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
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


def conversation_facts(client: WebClient, channel_id: str) -> ChannelFacts | None:
    """What conversations.info says about a channel; None if Slack cannot say (then callers
    treat it as private: the safe side). A DM is private without asking."""
    if channel_id.startswith("D"):
        return ChannelFacts(private=True, shared=False, archived=False)
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as exc:
        log.info(
            "conversations.info %s failed: %s; treating as private", channel_id, slack_error(exc)
        )
        return None
    return ChannelFacts.from_info(info)


def dm(client: WebClient, user_id: str, text: str, blocks: Blocks | None = None) -> bool:
    """Send a DM from the app; False (and a log line) if Slack refuses."""
    try:
        client.chat_postMessage(channel=user_id, text=text, blocks=blocks, unfurl_links=False)
        return True
    except SlackApiError as exc:
        log.warning("DM to %s failed: %s", user_id, slack_error(exc))
        return False
