"""A modal whose private_metadata does not decode (a form opened before a deploy changed its
shape, or a forged one) stays open with "This form is out of date: open it again." on its
first field: never a 500, nothing stored. Over signed HTTP against the Slack emulator."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.ids import Field
from bot.core.metadata import STALE_FORM
from tests.support.adr import Adr

STALE = ["", "not json", '{"mode": "edit", "number": "1"}', '{"mode": "explode"}']


def _submit_with(adr: Adr, view: dict[str, Any], metadata: str, values: dict[str, Any]) -> Any:
    forged = {**view, "private_metadata": metadata}
    reply = adr.slack.submit(forged, values)
    assert reply.status == 200, reply.status
    return reply


@pytest.mark.parametrize("metadata", STALE[1:])
def test_a_decision_form_with_stale_metadata_stays_open_and_saves_nothing(
    adr: Adr, metadata: str
) -> None:
    view = adr.open_form("new Use Postgres")
    body = _submit_with(adr, view, metadata, {Field.DECISION: "We use Postgres."}).json()
    assert body["response_action"] == "errors"
    assert list(body["errors"].values()) == [STALE_FORM]
    assert adr.count("decisions") == 0
    assert adr.count("view_submissions") == 0
    assert adr.emulator.calls("chat.postMessage") == []


def test_a_park_form_with_stale_metadata_stays_open_and_saves_nothing(adr: Adr) -> None:
    before = adr.slack.views_opened()
    opened = adr.slack.command("", command="/parkinglot")
    assert opened.status == 200
    view = adr.slack.opened_view(after=before)
    for metadata in ('{"channel": 7}', "[]"):
        body = _submit_with(adr, view, metadata, {"request": "Can we also export CSV?"}).json()
        assert body["response_action"] == "errors"
        assert list(body["errors"].values()) == [STALE_FORM]
    assert adr.count("parking_items") == 0
