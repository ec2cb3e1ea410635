"""Every way of making a decision or a parked item ends with a confirmation naming its number,
to the person who made it: where they asked (the command's response_url, carried by the form)
while Slack still takes answers there, else by DM. Over signed HTTP, SQLite and Postgres."""

from __future__ import annotations

import json
from typing import Any

from bot.core.ids import Field, ParkField
from tests.support.adr import Adr


def _answers(emulator: Any, key_prefix: str = "cmd") -> list[str]:
    return [
        c.args.get("text", "")
        for c in emulator.calls("response_url")
        if c.key.startswith(key_prefix)
    ]


def _dms(emulator: Any, user: str) -> list[str]:
    return [c.args["text"] for c in emulator.calls("chat.postMessage") if c.args["channel"] == user]


def _open_park_form(adr: Adr) -> dict[str, Any]:
    before = adr.slack.views_opened()
    assert adr.slack.command("", command="/parkinglot").status == 200
    return adr.slack.opened_view(after=before)


def _aged(view: dict[str, Any], minutes: int) -> dict[str, Any]:
    """The view as Slack sends it back ``minutes`` after the command: its metadata says when."""
    meta = json.loads(view["private_metadata"])
    meta["asked_at"] -= minutes * 60
    return {**view, "private_metadata": json.dumps(meta)}


def test_the_park_form_confirms_the_new_item_where_the_command_was_typed(adr: Adr, emulator):
    view = _open_park_form(adr)
    reply = adr.slack.submit(view, {ParkField.REQUEST: "Can we also export CSV?"})
    assert reply.status == 200 and reply.text == ""
    [answer] = emulator.wait_for("response_url", where=lambda c: "P-1" in c.args.get("text", ""))
    text = answer.args["text"]
    assert text.startswith("Parked as *P-1*")
    assert "Anyone in <#CGENERAL> can triage it with `/parkinglot show P-1`" in text
    assert answer.args["response_type"] == "ephemeral"
    assert _dms(emulator, "UALICE") == []


def test_a_park_form_submitted_after_the_response_url_expired_confirms_by_dm(adr: Adr, emulator):
    view = _aged(_open_park_form(adr), minutes=40)
    assert adr.slack.submit(view, {ParkField.REQUEST: "Dark mode"}).text == ""
    [dm] = emulator.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "UALICE")
    assert dm.args["text"].startswith("Parked as *P-1*")
    assert not [t for t in _answers(emulator) if "P-1" in t]


def test_a_refused_response_url_falls_back_to_a_dm(adr: Adr, emulator):
    view = _open_park_form(adr)
    emulator.fail("response_url", status=404, times=1)
    assert adr.slack.submit(view, {ParkField.REQUEST: "Dark mode"}).text == ""
    [dm] = emulator.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "UALICE")
    assert dm.args["text"].startswith("Parked as *P-1*")


def test_a_new_decision_is_confirmed_to_its_author_with_its_number(adr: Adr, emulator):
    view = adr.open_form("new Use Postgres", channel="CTEAM")
    fields = {Field.DECISION: "We use Postgres.", Field.CHANNEL: "CPLATFORM"}
    assert adr.slack.submit(view, fields).text == ""
    [answer] = emulator.wait_for("response_url", where=lambda c: "ADR-1" in c.args.get("text", ""))
    assert answer.args["text"] == "Posted *ADR-1* “Use Postgres” in <#CPLATFORM>."
    # past 30 minutes, the same by DM
    late = _aged(adr.open_form("new Use Kafka"), minutes=31)
    assert adr.slack.submit(late, {Field.DECISION: "Kafka."}).text == ""
    [dm] = emulator.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "UALICE")
    assert dm.args["text"] == "Posted *ADR-2* “Use Kafka” in <#CGENERAL>."
