"""Reading the times people were shown (for tests/e2e/test_one_clock.py).

One clock, the reader's: an instant goes out as Slack's date formatting,
``<!date^UNIX^{date_short_pretty} {time}|fallback>``, which every reader's client shows in
their own zone, and whose fallback names its zone. Slack formats dates only in mrkdwn, so in
``plain_text`` (buttons, headers, option labels, modal titles, hints) and in a message's
top-level ``text`` when it has blocks (the notification) a time must be written with its zone
("2027-03-08 10:00 Europe/Berlin"), and there is no ``<!date…>`` to show raw.

:func:`misplaced_times` walks a message, an ephemeral answer or a view and lists every time of
day (HH:MM) shown any other way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from tests.support.slack_emulator import Call

_HH_MM = r"(?:[01]?\d|2[0-3]):[0-5]\d"
CLOCK = re.compile(rf"(?<![\d:]){_HH_MM}(?![\d:])")
ZONE = r"(?:UTC|[A-Z][A-Za-z_]+(?:/[A-Za-z_+-]+)+)"
WITH_ZONE = re.compile(rf"(?<![\d:]){_HH_MM}\s+\(?(?P<zone>{ZONE})")
DATE_TOKEN = re.compile(r"<!date\^(?P<stamp>\d+)\^(?P<format>[^|<>]*)\|(?P<fallback>[^<>]*)>")
# Keys whose strings people do not read as text (or typed themselves).
NOT_SHOWN = frozenset(
    {"private_metadata", "value", "url", "action_id", "block_id", "callback_id", "initial_value"}
)
# Emulator calls whose arguments are what someone is shown.
SHOWN_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "response_url",
        "views.open",
        "views.update",
        "views.push",
        "views.publish",
    }
)


def _plain_faults(text: str, path: str, *, utc_ok: bool) -> list[str]:
    faults = []
    if "<!date" in text:
        faults.append(f"{path}: Slack shows <!date…> raw here: {text[:200]!r}")
    named = {m.start(): m["zone"] for m in WITH_ZONE.finditer(text)}
    for clock in CLOCK.finditer(text):
        zone = named.get(clock.start())
        if zone is None:
            faults.append(f"{path}: {clock[0]} with no zone named: {text[:200]!r}")
        elif zone == "UTC" and not utc_ok:
            faults.append(f"{path}: {clock[0]} UTC outside a fallback: {text[:200]!r}")
    return faults


def _mrkdwn_faults(text: str, path: str) -> list[str]:
    faults = []
    for token in DATE_TOKEN.finditer(text):
        fallback = token["fallback"]
        if "{time}" in token["format"] and not WITH_ZONE.search(fallback):
            faults.append(f"{path}: a time whose fallback names no zone: {token[0]!r}")
    rest = DATE_TOKEN.sub("", text)
    faults += [f"{path}: {m[0]} outside <!date…>: {text[:200]!r}" for m in CLOCK.finditer(rest)]
    return faults


def _walk(obj: Any, path: str, *, utc_ok: bool) -> Iterator[str]:
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from _walk(item, f"{path}[{i}]", utc_ok=utc_ok)
        return
    if not isinstance(obj, dict):
        return
    plain = obj.get("type") == "plain_text"
    for key, value in obj.items():
        if key in NOT_SHOWN:
            continue
        if key == "text" and isinstance(value, str):
            if plain:
                yield from _plain_faults(value, f"{path}.text", utc_ok=utc_ok)
            else:
                yield from _mrkdwn_faults(value, f"{path}.text")
        else:
            yield from _walk(value, f"{path}.{key}", utc_ok=utc_ok)


def misplaced_times(payload: dict[str, Any], *, utc_ok: bool = False) -> list[str]:
    """Every time of day ``payload`` shows other than as the reader's own (see the module
    docstring). ``payload``: a message (``text`` and ``blocks``), an ephemeral answer, or a
    view. ``utc_ok``: a time written in UTC is fine in plain text (the reader is in UTC)."""
    faults: list[str] = []
    text = payload.get("text")
    if isinstance(text, str):
        if payload.get("blocks"):  # the notification: plain text
            faults += _plain_faults(text, "$.text", utc_ok=utc_ok)
        else:  # the message itself: mrkdwn
            faults += _mrkdwn_faults(text, "$.text")
    rest = {k: v for k, v in payload.items() if k != "text"}
    faults += _walk(rest, "$", utc_ok=utc_ok)
    return faults


def shown_payloads(calls: Iterable[Call]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what, payload) for every message, ephemeral answer and view among ``calls``."""
    for call in calls:
        if call.method not in SHOWN_METHODS:
            continue
        payload = call.args.get("view") if call.method.startswith("views.") else call.args
        if isinstance(payload, dict):
            who = call.args.get("user_id") or call.args.get("user") or call.args.get("channel")
            yield f"{call.method} to {who or call.key}", payload


def time_tokens(payload: dict[str, Any]) -> list[re.Match[str]]:
    """The ``<!date…{time}…>`` tokens in ``payload`` (so a test can tell it saw some)."""
    found: list[re.Match[str]] = []

    def visit(obj: Any) -> None:
        if isinstance(obj, str):
            found.extend(m for m in DATE_TOKEN.finditer(obj) if "{time}" in m["format"])
        elif isinstance(obj, dict):
            for key, value in obj.items():
                if key not in NOT_SHOWN:
                    visit(value)
        elif isinstance(obj, list):
            for value in obj:
                visit(value)

    visit(payload)
    return found
