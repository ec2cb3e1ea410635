"""The `/adr digest` modal: build it from a channel's subscription (or the defaults), and read
it back into a ``DigestConfig`` or inline errors. Pure: no Slack calls, no database."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import Field

from bot.core.blocks import context, input_block, modal, options, plain, text_input
from bot.core.clock import slack_date
from bot.core.dates import valid_timezone
from bot.core.forms import Values, checked_values, select_value, text_value, time_value
from bot.core.ids import Callback, DigestField
from bot.core.metadata import ModalMeta
from bot.core.payloads import SlackPayload
from bot.core.render import escape
from storage.digest_subscriptions import ALL_SECTIONS, DigestConfig
from storage.models import DigestScope, DigestSubscription

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SECTION_LABELS = {
    "decisions": "Decisions recorded",
    "reviews": "Reviews: due, overdue, outcomes",
    "estimates": "Estimates revealed, actuals",
    "parking": "Parking lot",
    "health": "Health line",
}
SCOPE_LABELS: dict[str, str] = {
    DigestScope.CHANNEL: "What happened in this channel",
    DigestScope.WORKSPACE: "Every public channel of the workspace",
}
QUIET_LABELS = {"skip": "Skip it", "line": "Post one line saying so"}
ON_OFF = {"on": "On", "off": "Off"}
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _radio(labels: dict[str, str], initial: str) -> SlackPayload:
    choices = options(labels)
    return {
        "type": "radio_buttons",
        "options": choices,
        "initial_option": next(o for o in choices if o["value"] == initial),
    }


def when_text(sub: DigestSubscription | DigestConfig) -> str:
    return f"{WEEKDAYS[sub.weekday]}s at {sub.hour:02d}:{sub.minute:02d} ({sub.timezone})"


def next_text(due: datetime, tz: str) -> str:
    """When the next digest comes, in every reader's own zone (the fallback in ``tz``)."""
    return slack_date(due, tz)


def status_text(sub: DigestSubscription | None, channel_id: str) -> str:
    """Who set the channel's digest up, and whether it is on, off or paused."""
    if sub is None:
        return f"<#{channel_id}> has no weekly digest yet."
    since = f"{sub.configured_at:%Y-%m-%d}"
    who = f"Set up by <@{sub.configured_by}> on {since}."
    if sub.paused_reason:
        return (
            f"The digest for <#{channel_id}> is *paused*: I could not post there "
            f"(`{escape(sub.paused_reason)}`). Invite me to the channel, then save this form "
            f"(or run `/adr digest on`) to resume it. {who}"
        )
    if not sub.enabled:
        return f"The digest for <#{channel_id}> is *off*. {who}"
    return f"The digest for <#{channel_id}> is *on*: {when_text(sub)}. {who}"


def build_digest_modal(
    *, channel_id: str, sub: DigestSubscription | None, default_tz: str | None
) -> SlackPayload:
    config = (
        DigestConfig.of(sub)
        if sub is not None
        else DigestConfig(
            timezone=default_tz if default_tz and valid_timezone(default_tz) else "UTC"
        )
    )
    weekday_options = [{"text": plain(day), "value": str(i)} for i, day in enumerate(WEEKDAYS)]
    section_options = options(SECTION_LABELS)
    blocks = [
        context(status_text(sub, channel_id)),
        input_block(
            DigestField.ENABLED, "Weekly digest", _radio(ON_OFF, "on" if config.enabled else "off")
        ),
        input_block(
            DigestField.WEEKDAY,
            "Day",
            {
                "type": "static_select",
                "options": weekday_options,
                "initial_option": weekday_options[config.weekday],
            },
        ),
        input_block(
            DigestField.TIME,
            "Time",
            {"type": "timepicker", "initial_time": f"{config.hour:02d}:{config.minute:02d}"},
        ),
        input_block(
            DigestField.TIMEZONE,
            "Time zone",
            text_input(config.timezone, max_length=64, placeholder="Europe/Berlin"),
            hint="A time zone name such as Europe/Berlin or America/New_York. "
            "The digest follows its clock changes.",
        ),
        input_block(
            DigestField.SECTIONS,
            "Include",
            {
                "type": "checkboxes",
                "options": section_options,
                "initial_options": [o for o in section_options if o["value"] in config.sections],
            },
        ),
        input_block(
            DigestField.QUIET,
            "A week when nothing happened",
            _radio(QUIET_LABELS, "line" if config.quiet_line else "skip"),
        ),
        input_block(
            DigestField.SCOPE,
            "Covers",
            _radio(SCOPE_LABELS, config.scope),
            hint="The workspace-wide digest shows public channels only, and can't be posted "
            "in a channel shared with another organisation.",
        ),
    ]
    return modal(
        callback_id=Callback.DIGEST_FORM,
        title="Weekly digest",
        submit="Save",
        blocks=blocks,
        metadata=DigestMeta(channel=channel_id).encode(),
    )


class DigestMeta(ModalMeta):
    """Which channel the digest form is for."""

    channel: str = Field(min_length=1)


def parse_digest_form(
    values: Values, *, channel_shared: bool | None, guest: bool = False
) -> tuple[DigestConfig | None, dict[str, str]]:
    """The form's settings, or the errors to show beside its fields. ``channel_shared``:
    whether the channel is shared with another organisation; None when not known (yet)."""
    errors: dict[str, str] = {}
    enabled = select_value(values, DigestField.ENABLED) != "off"
    weekday_raw = select_value(values, DigestField.WEEKDAY) or ""
    weekday = int(weekday_raw) if weekday_raw.isdigit() and int(weekday_raw) < 7 else None
    if weekday is None:
        errors[DigestField.WEEKDAY] = "Pick the day the digest comes out."
    time_match = _TIME.match(time_value(values, DigestField.TIME))
    if time_match is None:
        errors[DigestField.TIME] = "Pick a time, such as 09:00."
    tz = text_value(values, DigestField.TIMEZONE)
    if not valid_timezone(tz):
        shown = escape(tz[:64]) if tz else "an empty name"
        errors[DigestField.TIMEZONE] = (
            f"I don't know the time zone “{shown}”. Use a name such as Europe/Berlin, "
            "America/New_York or UTC."
        )
    sections = tuple(s for s in ALL_SECTIONS if s in checked_values(values, DigestField.SECTIONS))
    if not sections:
        errors[DigestField.SECTIONS] = "Pick at least one thing for the digest to include."
    scope = select_value(values, DigestField.SCOPE) or DigestScope.CHANNEL
    if scope not in (DigestScope.CHANNEL, DigestScope.WORKSPACE):
        errors[DigestField.SCOPE] = "Pick what the digest covers."
    elif scope == DigestScope.WORKSPACE and guest:
        errors[DigestField.SCOPE] = (
            "Guests and people from other organisations can set up this channel's digest, "
            "not the workspace-wide one."
        )
    elif scope == DigestScope.WORKSPACE and channel_shared is None:
        errors[DigestField.SCOPE] = (
            "I couldn't check yet whether this channel is shared with another organisation, "
            "and the workspace-wide digest can only go in an internal channel. Press Save "
            "again in a moment, or pick “this channel”."
        )
    elif scope == DigestScope.WORKSPACE and channel_shared:
        errors[DigestField.SCOPE] = (
            "This channel is shared with another organisation, so the "
            "workspace-wide digest can't go here. Pick “this channel”, or set it up in an "
            "internal channel."
        )
    if errors:
        return None, errors
    assert weekday is not None and time_match is not None
    return (
        DigestConfig(
            enabled=enabled,
            scope=scope,
            weekday=weekday,
            hour=int(time_match.group(1)),
            minute=int(time_match.group(2)),
            timezone=tz,
            sections=sections,
            quiet_line=select_value(values, DigestField.QUIET) == "line",
        ),
        {},
    )
