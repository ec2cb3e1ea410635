"""Values in a decision record file (pure): numbers from file names and link targets, front
matter and metadata values as text, dates, people, tags, and links (``LinkRef``: a Markdown
link, ``ADR-0013`` or ``13``, as a line ``Superseded by …`` or a Links section of such lines)."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import PurePosixPath

import yaml

from adr_files.records import LinkRef, PersonRef
from adr_files.vocabulary import LINK_LABELS

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


# a file name that starts with a date (log4brains, dated folders) carries no record number
_DATE_PREFIX = re.compile(r"^(?:19|20)\d{2}(?:-\d{2}-\d{2}|\d{4})(?!\d)")
_LEADING_NUMBER = re.compile(r"^(?:ADR[-_ ]?)?(\d{1,9})(?!\d)", re.I)
_ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:$|[T ])")
_LINK_LINE = re.compile(
    r"^(?:[-*+]\s+)?(supersedes|superseded\s+by|amends|amended\s+by|relates\s+to|related\s+to)"
    r"\s*:?\s+(.+?)\s*$",
    re.I,
)
_LINK_KINDS = {label.lower(): kind for kind, label in LINK_LABELS.items()} | {
    "related to": "relates"
}
_MD_LINK = re.compile(r"^\[([^\]]*)\]\(\s*<?([^()<>\s]+)>?\s*\)$")
_BARE_REF = re.compile(r"^(?:ADR[-_ ]?)?(\d{1,9})$", re.I)


def file_number(name: str) -> int | None:
    """The record number a file name gives (``0012-use-kafka.md`` -> 12); None without one or
    when it starts with a date (``2024-03-01-….md``)."""
    return _leading_number(PurePosixPath(name).name)


def _leading_number(text: str) -> int | None:
    text = text.strip()
    if _DATE_PREFIX.match(text):
        return None
    match = _LEADING_NUMBER.match(text)
    return int(match.group(1)) if match else None


def _plain(value: object) -> str:
    """A front matter or metadata value as text (HTML comments from templates removed)."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(_plain(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return yaml.safe_dump(value, default_flow_style=True, sort_keys=False).strip()
    return _COMMENT.sub("", str(value)).strip()


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _ISO_DATE.match(_plain(value))
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def _people(value: object) -> list[PersonRef]:
    """People from a YAML list or a comma-separated string."""
    items = value if isinstance(value, list) else _plain(value).split(",")
    return [PersonRef.parse(_plain(item)) for item in items if _plain(item)]


def _tags(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [tag for item in items for tag in re.split(r"[,\s]+", _plain(item)) if tag]


def _link_ref(kind: str, ref: str) -> LinkRef | None:
    """``[13. Use Kafka](0013-use-kafka.md)``, ``ADR-0013`` or ``13`` as a link of ``kind``."""
    ref = ref.strip()
    markdown = _MD_LINK.match(ref)
    if markdown:
        text, target = markdown.groups()
        number = _leading_number(PurePosixPath(target).name)
        return LinkRef(kind, target, number if number is not None else _leading_number(text))
    bare = _BARE_REF.match(ref)
    return LinkRef(kind, "", int(bare.group(1))) if bare else None


def _link_line(line: str) -> LinkRef | None:
    match = _LINK_LINE.match(line.strip())
    if not match:
        return None
    return _link_ref(_LINK_KINDS[" ".join(match.group(1).lower().split())], match.group(2))


def _link_list(body: str) -> list[LinkRef] | None:
    """The links of a section made only of link lines, else None."""
    links = [_link_line(line) for line in body.split("\n") if line.strip()]
    return None if None in links else [link for link in links if link is not None]


__all__ = ["file_number"]
