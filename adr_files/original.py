"""An imported file, as read, beside the house style (issue 22): what the writer keeps of it.

A record imported since its file's text is kept carries it (``AdrRecord.original``) with the
baseline: the sha256 of the house-style file written for it right after the import.
``write.write_file`` gives the text back while the house style still hashes to the baseline;
otherwise ``write.write_record`` writes the house style with what this module reads from the
file: its front-matter keys in order (unknown ones too), its link lines' text and its
trailing whitespace. Pure: no database, no Slack.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from adr_files.records import AdrRecord, Original
from adr_files.structure import front_matter
from adr_files.values import _plain


def digest(text: str) -> str:
    """The sha256 of a file's text, as ``Original.baseline`` keeps it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def format_family(source_format: str) -> str:
    """The format a file read as ``source_format`` (nygard, madr2, madr3, madr4) is written in."""
    return "nygard" if source_format == "nygard" else "madr"


def kept(record: AdrRecord, fmt: str) -> Original | None:
    """The record's file as read, when it is written in that file's format."""
    if record.original is None or format_family(record.format) != fmt:
        return None
    return record.original


def trailing(text: str) -> str:
    """The whitespace a file ends with (at least the one newline every file written ends
    with)."""
    end = text[len(text.rstrip()) :]
    return end if "\n" in end else end + "\n"


_OURS = ("status", "date", "decision-makers", "consulted", "informed", "tags", "review-date")


def file_front_matter(text: str) -> dict[str, object]:
    """The front matter of a file as read ({} when it has none, or it is not a mapping)."""
    data = front_matter(text)
    return {str(key): value for key, value in data.items()} if data else {}


def foreign_keys(
    record: AdrRecord, extra: list[tuple[str, str]]
) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """For a record written in its MADR file's format: the file's front-matter keys the bot
    has no field for (``parent``, ``nav_order``), with their values, and the record's other
    extra sections. The parser keeps such a key as an extra section (heading: the key), so
    the section is the truth: the file's value while the section still says it, the
    section's text once it changed (a redaction), and no key once the section is gone."""
    extra = list(extra)
    original = kept(record, "madr")
    if original is None:
        return {}, extra
    foreign: dict[str, object] = {}
    for key, value in file_front_matter(original.text).items():
        if key in _OURS:
            continue
        at = next((i for i, (heading, _body) in enumerate(extra) if heading == key), None)
        if at is not None:
            body = extra.pop(at)[1]
            foreign[key] = value if _plain(value) == body else body
    return foreign, extra


def in_file_order(
    ours: dict[str, object], file: Mapping[str, object], foreign: Mapping[str, object]
) -> dict[str, object]:
    """The file's keys in its order: our values for ours (a key we no longer write is
    dropped), ``foreign`` for the keys the bot has no field for; then our keys the file
    lacked."""
    merged: dict[str, object] = {}
    for key in file:
        if key in ours:
            merged[key] = ours[key]
        elif key in foreign:
            merged[key] = foreign[key]
    merged.update((key, value) for key, value in ours.items() if key not in merged)
    return merged


_MARKDOWN_LINK = re.compile(r"\[([^\[\]\n]+)\]\(([^()\s]+)\)")


def link_labels(record: AdrRecord) -> dict[str, str]:
    """target file name -> the text an imported file's links to it show (``9. Help
    scripts``, as adr-tools writes the target's heading), in whichever format it is written."""
    original = record.original
    if original is None:
        return {}
    labels: dict[str, str] = {}
    for label, target in _MARKDOWN_LINK.findall(original.text):
        labels.setdefault(target.rsplit("/", 1)[-1], label)
    return labels
