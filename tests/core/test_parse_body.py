"""How the app reads a form body (bot/app.py ``_parse_body``): an interactivity body is its
``payload`` field's JSON; any other form body is its fields, whatever its text says."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from bot.app import _parse_body

FORM = "application/x-www-form-urlencoded"


def test_an_interactivity_body_is_its_payload() -> None:
    payload = {"type": "view_submission", "view": {"id": "V1", "title": "a=b&payload=c"}}
    body = urlencode({"payload": json.dumps(payload)})
    assert _parse_body(body, FORM) == payload


def test_a_command_whose_text_says_payload_is_a_command() -> None:
    for text in ("search payload", "payload=1", "x&payload=y"):
        body = urlencode({"command": "/adr", "text": text, "team_id": "T1"})
        assert _parse_body(body, FORM) == {"command": "/adr", "text": text, "team_id": "T1"}


def test_a_json_body_is_json() -> None:
    assert _parse_body('{"type": "event_callback"}', "application/json") == {
        "type": "event_callback"
    }
