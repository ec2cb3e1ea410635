"""Small Block Kit helpers that enforce Slack's limits, so content is cut visibly, not rejected."""

from __future__ import annotations

from bot.core.ids import Action
from bot.core.payloads import Blocks, SlackPayload
from bot.core.render import SECTION_LIMIT, truncate, truncate_mrkdwn

PLAIN_LIMIT = 150  # header text, button text is 75
VIEW_TITLE_LIMIT = 24
METADATA_LIMIT = 3000
MESSAGE_BLOCKS = 50
MODAL_BLOCKS = 100
VIEW_BLOCKS = 100


def plain(text: str, limit: int = 3000) -> SlackPayload:
    return {"type": "plain_text", "text": truncate(text or " ", limit), "emoji": True}


def mrkdwn(text: str) -> SlackPayload:
    return {"type": "mrkdwn", "text": truncate_mrkdwn(text or " ", 3000)}


def header(text: str) -> SlackPayload:
    return {"type": "header", "text": plain(text, PLAIN_LIMIT)}


def section(text: str, **extra: object) -> SlackPayload:
    return {"type": "section", "text": mrkdwn(text), **extra}


def context(text: str) -> SlackPayload:
    return {"type": "context", "elements": [mrkdwn(text)]}


def options(labels: dict[str, str]) -> list[SlackPayload]:
    """Static-select, radio or checkbox options from ``{value: label}``."""
    return [{"text": plain(label), "value": str(value)} for value, label in labels.items()]


def button(text: str, action_id: str, value: str, style: str | None = None) -> SlackPayload:
    b: SlackPayload = {
        "type": "button",
        "text": plain(text, 75),
        "action_id": action_id,
        "value": value[:2000],
    }
    if style:
        b["style"] = style
    return b


def input_block(
    block_id: str,
    label: str,
    element: SlackPayload,
    *,
    optional: bool = False,
    hint: str | None = None,
) -> SlackPayload:
    block: SlackPayload = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": {"action_id": Action.VALUE, **element},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def text_input(
    initial: str = "", *, multiline: bool = False, max_length: int = 3000, placeholder: str = ""
) -> SlackPayload:
    element: SlackPayload = {
        "type": "plain_text_input",
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = initial[:max_length]
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    return element


def modal(
    *,
    callback_id: str,
    title: str,
    submit: str | None,
    blocks: Blocks,
    metadata: str = "",
) -> SlackPayload:
    """A modal; ``submit=None`` makes it read-only (one Close button)."""
    if len(metadata) > METADATA_LIMIT:
        raise ValueError("private_metadata over Slack's 3000-character limit")
    view: SlackPayload = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, VIEW_TITLE_LIMIT),
        "close": plain("Cancel" if submit else "Close", VIEW_TITLE_LIMIT),
        "private_metadata": metadata,
        "blocks": blocks[:VIEW_BLOCKS],
    }
    if submit:
        view["submit"] = plain(submit, VIEW_TITLE_LIMIT)
    return view


def ephemeral(text: str, blocks: Blocks | None = None) -> SlackPayload:
    """An answer only the person who acted sees (an ack body or a response_url message)."""
    body: SlackPayload = {"response_type": "ephemeral", "text": text}
    if blocks:
        body["blocks"] = blocks
    return body


def packed_sections(heading: str, lines: list[str]) -> Blocks:
    """``heading`` and ``lines`` (rendered mrkdwn) packed into as few sections as fit."""
    blocks: Blocks = []
    current = heading
    for line in lines:
        line = truncate_mrkdwn(line, SECTION_LIMIT - len(heading) - 1)
        if current and len(current) + 1 + len(line) > SECTION_LIMIT:
            blocks.append(section(current))
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        blocks.append(section(current))
    return blocks
