"""The decision form's "Post in" check (issue 20): can I post in the channel it names?

Once the form is open, and again whenever "Post in" changes (its input block dispatches
``block_actions``), one ``conversations.info`` says whether I can post there, and a warning
under the select says so: "invite me first: `/invite @Decision Bot`". Always after an ack
(opening a form acks first; Submit still calls no Slack method before its ack), and never at
the form's expense: a check that fails leaves the form as it is, and the update changes
nothing but the warning, so Slack keeps everything the person typed or picked.
"""

from __future__ import annotations

import logging
from enum import Enum

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.payloads import ActionPayload, BlockActionsBody, ViewPayload
from bot.core.slack_api import slack_error
from bot.features.decisions.forms import (
    post_in_warning,
    shown_post_in_warning,
    with_post_in_warning,
)

log = logging.getLogger(__name__)


class Reach(Enum):
    """What ``conversations.info`` says about me and a channel."""

    POSTABLE = "postable"  # a member; a public channel (chat:write.public); a DM Slack shows me
    NOT_IN = "not_in"  # a private channel I am not in
    HIDDEN = "hidden"  # channel_not_found: a private channel or a DM I can't see
    UNKNOWN = "unknown"  # Slack did not say (an error, a timeout): say nothing


def reach(client: WebClient, channel_id: str) -> Reach:
    """Whether I can post in ``channel_id``, by one ``conversations.info`` (the request
    client: one attempt, 2.5 s)."""
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as exc:
        code = slack_error(exc)
        if code == "channel_not_found":
            return Reach.HIDDEN
        log.info("conversations.info %s for Post in: %s", channel_id, code)
        return Reach.UNKNOWN
    except Exception as exc:  # noqa: BLE001 - a timeout or a dropped connection: say nothing
        log.info("conversations.info %s for Post in: %s", channel_id, type(exc).__name__)
        return Reach.UNKNOWN
    # A public channel needs no invitation: chat:write.public posts there.
    if info.get("is_member") is False and info.get("is_private"):
        return Reach.NOT_IN
    return Reach.POSTABLE


def warning_for(channel_id: str, found: Reach) -> str | None:
    """The warning under "Post in" for what :func:`reach` found, or None: nothing to say."""
    if found in (Reach.NOT_IN, Reach.HIDDEN):
        return post_in_warning(channel_id, seen=found is Reach.NOT_IN)
    return None


def check_post_in(client: WebClient, *, view: ViewPayload, channel_id: str | None) -> None:
    """Show, change or take away the warning under "Post in" of the open decision form
    ``view`` (Slack's copy of it, with its id and hash) for ``channel_id``.

    A ``views.update`` is sent only when the warning changes, with the view's hash: if the
    form changed meanwhile (``hash_conflict``: a newer check already answered), this one
    stops. Never raises: the form must work whether or not the check could be made.
    """
    view_id = view.get("id")
    if not view_id:
        return
    warning: str | None = None
    if channel_id:
        found = reach(client, channel_id)
        if found is Reach.UNKNOWN:
            return
        warning = warning_for(channel_id, found)
    if warning == shown_post_in_warning(view):
        return
    try:
        client.views_update(
            view_id=view_id, hash=view.get("hash"), view=with_post_in_warning(view, warning)
        )
    except SlackApiError as exc:
        log.info("views.update %s for Post in: %s", view_id, slack_error(exc))
    except Exception as exc:  # noqa: BLE001 - the form stays as it was
        log.info("views.update %s for Post in: %s", view_id, type(exc).__name__)


def handle_post_in_changed(
    ack: Ack, body: BlockActionsBody, action: ActionPayload, client: WebClient
) -> None:
    """The "Post in" select changed on an open decision form: ack, then check the pick."""
    ack()
    channel = action.get("selected_conversation")
    check_post_in(
        client,
        view=body.get("view") or {},
        channel_id=channel if isinstance(channel, str) else None,
    )
