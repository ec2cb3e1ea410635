"""Block Kit checks for the pure view tests: every text object and block within Slack's limits,
no unescaped pings, maximal decisions and records to build views from, and the state of a
submitted modal."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from bot.core.forms import TEXT_MAX
from bot.core.ids import Action, Field
from bot.features.decisions.forms import PEOPLE_MAX, TAG_MAX, TITLE_MAX
from storage.models import Decision, DecisionStatus

HOSTILE = "<!channel> & <@U1>"


# -- a submitted modal's state ---------------------------------------------------------------------


def state(**fields: Any) -> dict[str, Any]:
    """``view.state.values`` as Slack sends it, for the given block ids."""
    kinds = {
        Field.STATUS: lambda v: {
            "type": "static_select",
            "selected_option": None if v is None else {"value": v},
        },
        Field.DECIDERS: lambda v: {"type": "multi_users_select", "selected_users": v},
        Field.CONSULTED: lambda v: {"type": "multi_users_select", "selected_users": v},
        Field.INFORMED: lambda v: {"type": "multi_users_select", "selected_users": v},
        Field.CHANNEL: lambda v: {"type": "conversations_select", "selected_conversation": v},
        Field.COMMIT: lambda v: {
            "type": "checkboxes",
            "selected_options": [{"value": x} for x in v],
        },
    }
    out: dict[str, Any] = {}
    for block, value in fields.items():
        make = kinds.get(block, lambda v: {"type": "plain_text_input", "value": v})  # type: ignore[arg-type]
        out[block] = {Action.VALUE: make(value)}
    return out


# -- view builders within Slack's limits -----------------------------------------------------

BIG = ("<!channel> & <@U1> " * 200)[:TEXT_MAX]  # maximal, and the worst case for escaping
BIG_TITLE = ("<!here> & " * 30)[:TITLE_MAX]
PEOPLE = [f"U{i:031d}" for i in range(PEOPLE_MAX)]  # 32-character ids
TAGS = " " + " ".join(f"{i:02d}" + "t" * 28 for i in range(TAG_MAX)) + " "
WHEN = datetime(2025, 6, 1, tzinfo=UTC)


def big_decision(number: int = 999_999_999, **kw: Any) -> Decision:
    values: dict[str, Any] = {
        "id": number,
        "team_id": "TAAA",
        "number": number,
        "title": BIG_TITLE,
        "context": BIG,
        "options": BIG,
        "decision": BIG,
        "consequences": BIG,
        "success_criteria": BIG,
        "status": DecisionStatus.PROPOSED,
        "tags": TAGS,
        "review_date": date(2030, 12, 31),
        "channel_id": "C" + "9" * 31,
        "channel_private": False,
        "author_id": PEOPLE[0],
        "source_permalink": "https://x.slack.com/archives/C1/p1?" + "q" * 460,
        "created_at": WHEN,
        "updated_at": WHEN,
    }
    values.update(kw)
    return Decision(**values)


def text_objects(node: Any) -> list[dict[str, Any]]:
    """Every Block Kit text object under ``node``."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
            found.append(node)
        for value in node.values():
            found += text_objects(value)
    elif isinstance(node, list):
        for value in node:
            found += text_objects(value)
    return found


def check_blocks(blocks: list[dict[str, Any]], *, max_blocks: int) -> None:
    assert 0 < len(blocks) <= max_blocks
    for block in blocks:
        if block["type"] == "header":
            assert 0 < len(block["text"]["text"]) <= 150
            assert block["text"]["type"] == "plain_text"
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= 3000
        if block["type"] == "context":
            assert 0 < len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
        if block["type"] == "actions":
            assert 0 < len(block["elements"]) <= 25
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75
                assert len(element.get("value", "")) <= 2000
        if block["type"] == "input":
            assert len(block["label"]["text"]) <= 2000
            assert len(block["block_id"]) <= 255
            element = block["element"]
            if "initial_value" in element:
                assert len(element["initial_value"]) <= element["max_length"] <= 3000
            if "initial_users" in element:
                assert len(element["initial_users"]) <= element["max_selected_items"]
            if element["type"] == "static_select":
                assert len(element["options"]) <= 100
    for obj in text_objects(blocks):
        assert obj["text"], "Slack rejects empty text objects"
        assert len(obj["text"]) <= 3000
        if obj["type"] == "mrkdwn":
            assert_whole_markup(obj["text"])


def assert_whole_markup(text: str) -> None:
    """A cut mrkdwn text ends with no half entity (``&am…``) and no half mention (``<@U0…``)."""
    assert text.count("<") == text.count(">"), text[-80:]
    assert not re.search(r"&#?[A-Za-z0-9]*…$", text), text[-80:]


def check_modal(view: dict[str, Any]) -> None:
    assert view["type"] == "modal"
    for key in ("title", "submit", "close"):
        assert 0 < len(view[key]["text"]) <= 24, key
        assert view[key]["type"] == "plain_text"
    assert len(view["private_metadata"]) <= 3000
    assert len(view["callback_id"]) <= 255
    check_blocks(view["blocks"], max_blocks=100)


def no_unescaped_pings(node: Any) -> None:
    for obj in text_objects(node):
        if obj["type"] == "mrkdwn":
            assert "<!channel>" not in obj["text"] and "<!here>" not in obj["text"]
            assert "<@U1>" not in obj["text"]
