"""The bot's own sections of a decision record file, Stances and Review, read back (pure):
lists of ``- Label: value`` items with ``  - Field: text`` fields, as ``write.py`` writes them
(the syntax is documented there). A body in any other syntax reads as None, and the section is
kept as text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from adr_files.records import AskRecord, PersonRef, ReviewRecord, StanceRecord
from adr_files.structure import _key
from adr_files.values import _date
from adr_files.vocabulary import (
    ASK_FIELDS,
    ASK_ROLES,
    DISSENT_LABELS,
    OLD_STANCE_LABELS,
    OUTCOME_LABELS,
    STANCE_FIELDS,
    STANCE_LABELS,
)

_ITEM = re.compile(r"^- ([^:]+):(?: (.*))?$")
_FIELD = re.compile(r"^  - ([^:]+):(?: (.*))?$")


@dataclass
class _Item:
    label: str
    value: str
    fields: dict[str, list[str]] = field(default_factory=dict)

    def text(self, name: str) -> str:
        return "\n".join(self.fields[name]).strip()


def _items(body: str) -> list[_Item] | None:
    """``- Label: value`` items with ``  - Field: text`` fields whose further lines are
    indented four spaces; None when the body is anything else."""
    items: list[_Item] = []
    lines: list[str] | None = None  # the field being read
    for line in body.split("\n"):
        item, field_line = _ITEM.match(line), _FIELD.match(line)
        if item:
            items.append(_Item(_key(item.group(1)), (item.group(2) or "").strip()))
            lines = None
        elif field_line and items:
            lines = [field_line.group(2) or ""]
            items[-1].fields[_key(field_line.group(1))] = lines
        elif lines is not None and (line.startswith("    ") or not line.strip()):
            lines.append(line[4:])
        elif line.strip():
            return None
    return items


def _choice(text: str, labels: dict[str, str]) -> str | None:
    """A stored value from its label or the value itself; other text is kept as written."""
    if not text:
        return None
    by_label = {label.lower(): value for value, label in labels.items()} | {v: v for v in labels}
    return by_label.get(text.lower(), text)


def parse_stances(body: str) -> list[StanceRecord] | None:
    """A Stances section written by ``write.py``; None when the body is not in that syntax."""
    kinds = {_key(label): kind for kind, label in STANCE_LABELS.items()}
    kinds |= {_key(label): kind for label, kind in OLD_STANCE_LABELS.items()}
    texts = {_key(label): attribute for attribute, label in STANCE_FIELDS.items()}
    items = _items(body)
    stances: list[StanceRecord] = []
    for item in items or []:
        kind = kinds.get(item.label)
        if kind is None or not item.value:
            return None
        stance = StanceRecord(kind, PersonRef.parse(item.value))
        stance.committed = kind == "disagree_and_commit"
        for name in item.fields:
            if name == "committed" and item.text(name).lower() in ("yes", "no"):
                stance.committed = item.text(name).lower() == "yes"
            elif name in texts:
                setattr(stance, texts[name], item.text(name))
            else:
                return None
        stances.append(stance)
    return stances if items is not None else None


def parse_review(body: str) -> ReviewRecord | None:
    """A Review section written by ``write.py``; None when the body is not in that syntax."""
    items = _items(body)
    review = ReviewRecord()
    for item in items or []:
        if item.label in ASK_ROLES:
            ask = _ask(item)
            if ask is None:
                return None
            review.asks.append(ask)
        elif item.fields:
            return None
        elif item.label == "due" and _date(item.value) is not None:
            review.due = _date(item.value)
        elif item.label == "outcome":
            review.outcome = _choice(item.value, OUTCOME_LABELS)
        else:
            return None
    return review if items is not None else None


def _ask(item: _Item) -> AskRecord | None:
    texts = {_key(label): attribute for attribute, label in ASK_FIELDS.items()}
    if not item.value:
        return None
    ask = AskRecord(person=PersonRef.parse(item.value), role=item.label)
    for name in item.fields:
        if name == "outcome":
            ask.outcome = _choice(item.text(name), OUTCOME_LABELS)
        elif name == "concern came true":
            ask.dissent_answer = _choice(item.text(name), DISSENT_LABELS)
        elif name in texts:
            setattr(ask, texts[name], item.text(name))
        else:
            return None
    return ask


__all__ = ["parse_review", "parse_stances"]
