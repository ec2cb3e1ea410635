"""Named types for the Slack payloads we read and build.

``SlackPayload`` is any JSON object Slack sends or accepts (a block, a whole view we build,
an API answer): its shape is Slack's, not ours, so it stays ``dict[str, Any]`` under a name.

The TypedDicts below describe the parts of a request that listeners actually read, and only
those keys (Slack sends many more). ``total=False`` where Slack may omit a key; a key that
Slack sends as JSON ``null`` is typed ``X | None``. Bolt hands listeners plain dicts, so these
are types only: nothing is validated at runtime, and code reading an optional key uses
``.get``. A helper takes the narrowest of these it reads (``InteractionBody`` for who clicked
and where), or ``SlackMapping`` for any request body: a TypedDict is not a
``dict[str, Any]``, so a helper typed ``dict[str, Any]`` cannot be handed one.

References: https://api.slack.com/reference/interaction-payloads,
https://api.slack.com/interactivity/slash-commands and https://api.slack.com/events
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Required, TypedDict

SlackPayload = dict[str, Any]
"""Arbitrary Slack JSON: a block, a view or message we build, an API answer's object."""

SlackMapping = Mapping[str, Any]
"""Any Slack JSON object, read only: what a helper takes when it is handed either a dict we
built or one of the payload TypedDicts below (which are Mappings, not dicts)."""

Blocks = list[SlackPayload]
"""A list of Block Kit blocks."""


# -- parts shared by several payloads ----------------------------------------------------------


class UserRef(TypedDict, total=False):
    """``body["user"]`` of an interaction: who clicked or submitted."""

    id: Required[str]
    team_id: str  # the person's own organisation (Slack Connect: may differ from ours)


class ChannelRef(TypedDict):
    """``body["channel"]``: the conversation a button was clicked in."""

    id: str


class Container(TypedDict, total=False):
    """``body["container"]``: where the clicked element lives; a message's has its channel."""

    channel_id: str


class MessageRef(TypedDict, total=False):
    """A message as a message shortcut carries it (``body["message"]``)."""

    ts: str
    thread_ts: str  # only for a reply in a thread
    text: str
    user: str  # absent for a bot's message


class SelectedOption(TypedDict):
    """An option picked in a select, radio or checkbox group (its ``text`` is not read)."""

    value: str


# -- views and their state -----------------------------------------------------------------


class ElementState(TypedDict, total=False):
    """One input element's state in ``view["state"]["values"][block_id][action_id]``. Which
    key is present depends on the element's type; unset pickers send ``null``. Read by
    ``bot.core.forms``, which checks every shape (a stale or forged form may hold any)."""

    value: str | None  # plain_text_input, number_input
    selected_option: SelectedOption | None  # static_select, radio_buttons
    selected_options: list[SelectedOption]  # checkboxes
    selected_user: str | None  # users_select
    selected_users: list[str]  # multi_users_select
    selected_conversation: str | None  # conversations_select
    selected_date: str | None  # datepicker, "YYYY-MM-DD"
    selected_time: str | None  # timepicker, "HH:MM"


StateValues = dict[str, dict[str, ElementState]]
"""``view["state"]["values"]``: block_id -> action_id -> the element's state."""


class ViewState(TypedDict, total=False):
    values: StateValues


class ViewPayload(TypedDict, total=False):
    """A view as Slack sends it back: submitted, or open with an element used in it."""

    id: str
    hash: str  # passed to views.update so a stale update is refused
    callback_id: str
    private_metadata: str  # our encoded ModalMeta (see bot.core.metadata)
    state: ViewState
    blocks: Blocks  # as we built them


# -- interactions ---------------------------------------------------------------------------


class ActionPayload(TypedDict, total=False):
    """One element of ``body["actions"]``: the button or select the person used (Bolt passes
    the first as the ``action`` argument)."""

    action_id: Required[str]
    value: str  # a button's value (absent for selects)
    selected_option: SelectedOption | None  # static_select, overflow
    selected_conversation: str | None  # conversations_select


class InteractionBody(TypedDict, total=False):
    """What every interaction body (block_actions, view_submission, shortcut) carries that we
    read. A helper that reads only these keys takes an ``InteractionBody``: each body below is
    one (a TypedDict with more keys is a subtype)."""

    type: str  # "block_actions", "view_submission", "message_action", "shortcut"
    user: Required[UserRef]
    channel: ChannelRef  # absent in modals, the Home tab and global shortcuts
    container: Container  # block_actions only
    trigger_id: str  # every interaction but view_closed
    response_url: str  # elements in messages, and message shortcuts
    api_app_id: str  # our app's id (links to the App Home: slack://app?...&id=)


class BlockActionsBody(InteractionBody, total=False):
    """The body of a ``block_actions`` request (a button, select or overflow used)."""

    actions: list[ActionPayload]
    view: ViewPayload  # only for elements in a modal or the Home tab


class ViewSubmissionBody(InteractionBody, total=False):
    """The body of a ``view_submission`` request."""

    view: Required[ViewPayload]


class ShortcutBody(InteractionBody, total=False):
    """A message shortcut (``message_action``): the message, its channel, a response_url."""

    message: MessageRef


class SlashCommandBody(TypedDict, total=False):
    """A slash command request (form fields, all strings; Bolt passes it as ``command``)."""

    command: str  # "/adr"
    text: str
    user_id: Required[str]
    channel_id: str
    trigger_id: str
    response_url: str


# -- events ---------------------------------------------------------------------------------


class MessageEvent(TypedDict, total=False):
    """A ``message`` event (or one of its subtypes)."""

    subtype: str  # absent for a person's plain message
    channel: str
    channel_type: str  # "channel", "group", "im", "mpim"
    user: str  # absent for bots' messages
    bot_id: str
    text: str
    ts: str
    thread_ts: str


class UserEvent(TypedDict, total=False):
    """``team_join`` and ``user_change``: the user object, in ``users.info``'s shape (stored
    as is by the user cache, hence a SlackPayload)."""

    user: SlackPayload


class ChannelEvent(TypedDict, total=False):
    """``channel_*`` and ``group_*`` events; ``channel`` is an id for most of them and an
    object with an id for some."""

    type: str
    channel: str | SlackPayload
    is_ext_shared: bool  # channel_unshared: still shared with another organisation


class AppHomeOpenedEvent(TypedDict, total=False):
    """``app_home_opened``: the person opened our Home (or Messages) tab."""

    user: str
    tab: str  # "home" or "messages"
