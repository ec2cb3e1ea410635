"""For the pure parking-lot tests: items (scored or not) to build modals and views from, and
the text objects of a Block Kit payload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from storage.models import ParkingItem
from storage.rules import rice

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PERMALINK = "https://acme.slack.com/archives/C0123/p1700000000123456"


def text_objects(node: Any) -> list[dict[str, Any]]:
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


def item(**fields: Any) -> ParkingItem:
    base: dict[str, Any] = {
        "id": 1,
        "team_id": "T1",
        "number": 12,
        "request": "Export the report to CSV for finance",
        "requester_id": "U0ANA",
        "parked_by": "U0BO",
        "channel_id": "C0123",
        "channel_private": False,
        "permalink": PERMALINK,
        "created_at": NOW - timedelta(days=2),
    }
    base.update(fields)
    return ParkingItem(**base)


def scored(**fields: Any) -> ParkingItem:
    values = {"reach": 500.0, "impact": 2.0, "confidence": 80, "effort": 6.7}
    values.update(fields)
    values["rice"] = rice(values["reach"], values["impact"], values["confidence"], values["effort"])
    return item(**values)
