"""Helpers for the pure `/estimate` tests: rounds, tasks and estimates to build views from, and
Block Kit checks."""

from __future__ import annotations

import json
import re
from typing import Any

from storage.models import (
    ConePhase,
    Estimate,
    EstimateRound,
    EstimateTask,
    EstimateUnit,
    Familiarity,
)
from tests.support.blocks import text_objects

# -- helpers -----------------------------------------------------------------------------------


def strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    if isinstance(node, list | tuple):
        return [s for v in node for s in strings(v)]
    return []


def all_text(node: Any) -> str:
    return "\n".join(strings(node))


def check_blocks(blocks: list[dict[str, Any]], *, max_blocks: int) -> None:
    assert 0 < len(blocks) <= max_blocks
    for block in blocks:
        if block["type"] == "header":
            assert 0 < len(block["text"]["text"]) <= 150
        if block["type"] == "actions":
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75 and len(element["value"]) <= 2000
        if block["type"] == "input":
            assert len(block["block_id"]) <= 255 and len(block["label"]["text"]) <= 2000
            element = block["element"]
            if "initial_value" in element:
                assert len(element["initial_value"]) <= element["max_length"] <= 3000
    for obj in text_objects(blocks):
        assert obj["text"], "Slack rejects empty text objects"
        assert len(obj["text"]) <= 3000
        if obj["type"] == "mrkdwn":
            unquoted = re.sub(r"(?m)^> ", "", obj["text"])  # a quote's marker is not markup
            assert unquoted.count("<") == unquoted.count(">"), obj["text"][-80:]
            assert not re.search(r"&#?[A-Za-z0-9]*…$", obj["text"])


def no_pings(node: Any) -> None:
    """No mrkdwn (or fallback text) holds a ping a user typed."""
    texts = (
        [node]
        if isinstance(node, str)
        else [o["text"] for o in text_objects(node) if o["type"] == "mrkdwn"]
    )
    for text in texts:
        assert "<!channel>" not in text and "<!here>" not in text and "<@UEVIL>" not in text


def make_round(**kw: Any) -> EstimateRound:
    fields: dict[str, Any] = {
        "id": 1,
        "team_id": "T1",
        "number": 3,
        "topic": "Checkout redesign",
        "facilitator_id": "UFAC",
        "channel_id": "C1",
        "unit": EstimateUnit.DAYS,
        "phase": ConePhase.INITIAL,
    }
    fields.update(kw)
    return EstimateRound(**fields)


def make_tasks(names: list[str]) -> list[EstimateTask]:
    return [
        EstimateTask(team_id="T1", round_id=1, position=i, name=name)
        for i, name in enumerate(names)
    ]


def make_estimate(user: str, ranges: list[list[float]], **kw: Any) -> Estimate:
    fields: dict[str, Any] = {
        "team_id": "T1",
        "round_id": 1,
        "user_id": user,
        "ranges": json.dumps(ranges),
        "confidence": 80,
        "familiarity": Familiarity.SIMILAR,
        "assumptions": "",
    }
    fields.update(kw)
    return Estimate(**fields)
