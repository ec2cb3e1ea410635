"""Parse the text after ``/adr`` into a command (pure; never raises on user text)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from storage.models import DecisionStatus

_NUMBER = re.compile(r"^(?:adr-?|#)?(\d{1,9})$", re.IGNORECASE)
NUMBERED = ("show", "accept", "reject", "deprecate", "supersede", "edit", "review", "remind")


@dataclass(frozen=True)
class AdrCommand:
    name: str  # new | help | list | search | show | accept | ... | unknown | invalid
    number: int | None = None
    text: str = ""  # title for new, query for search, note for lifecycle changes
    status: DecisionStatus | None = None
    tag: str | None = None
    override: bool = False
    error: str = ""  # for name == "invalid": a sentence for the user


def parse_number(raw: str) -> int | None:
    match = _NUMBER.match(raw.strip())
    return int(match.group(1)) if match else None


def parse_adr(text: str) -> AdrCommand:
    text = (text or "").replace("\x00", "").strip()  # NUL: unstorable in Postgres, untypeable
    if not text:
        return AdrCommand("new")
    head, _, rest = text.partition(" ")
    verb = head.lower()
    rest = rest.strip()
    if verb == "new":
        return AdrCommand("new", text=rest)
    if verb in ("help", "?"):
        return AdrCommand("help")
    if verb == "settings":
        return AdrCommand("settings", text=rest)
    if verb == "search":
        if not rest:
            return AdrCommand("invalid", error="Tell me what to look for: `/adr search <words>`.")
        return AdrCommand("search", text=rest)
    if verb == "list":
        status: DecisionStatus | None = None
        tag: str | None = None
        for word in rest.split():
            low = word.lower()
            if low.startswith("#") and len(low) > 1:
                tag = low[1:]
            elif low in DecisionStatus._value2member_map_:
                status = DecisionStatus(low)
            else:
                statuses = ", ".join(s.value for s in DecisionStatus)
                return AdrCommand(
                    "invalid",
                    error=f"`/adr list` takes a status ({statuses}) and/or a #tag.",
                )
        return AdrCommand("list", status=status, tag=tag)
    if verb in NUMBERED:
        num_raw, _, note = rest.partition(" ")
        number = parse_number(num_raw) if num_raw else None
        if number is None:
            return AdrCommand(
                "invalid", error=f"Which decision? For example `/adr {verb} 7` for ADR-7."
            )
        note = note.strip()
        if verb == "remind" and not note:
            return AdrCommand(
                "invalid",
                error=f"When? For example `/adr remind {number} 2w` or a date like 2027-01-15.",
            )
        override = False
        if verb == "accept" and note.startswith("--override"):
            override = True
            note = note[len("--override") :].strip()
        return AdrCommand(verb, number=number, text=note, override=override)
    return AdrCommand("unknown", text=text)
