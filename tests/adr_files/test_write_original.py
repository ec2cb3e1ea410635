"""An imported file written back (issue 22): as read while its record's house-style file is
the baseline kept at import, else in house style with what the file had that the record does
not say: its front-matter keys in order, its link lines' text, its trailing whitespace."""

from __future__ import annotations

from dataclasses import replace

from adr_files.original import digest, format_family
from adr_files.parse import parse_text
from adr_files.records import AdrRecord, Original
from adr_files.write import write_file, write_record

NAME = "0002-Use-Buildkite-for-CI.md"
TEXT = """---
status: accepted
date: 2023-02-06
parent: Decisions
nav_order: 2
---
# Use Buildkite for CI

## Context and Problem Statement

Hosted runners are too slow.

## Decision Outcome

Chosen option: "Buildkite", because it is fast.

## Links

* Supersedes [Use GitHub Actions for CI](0001-Use-GitHub-Actions-for-CI.md)

"""
NAMES = {1: "0001-Use-GitHub-Actions-for-CI.md", 2: NAME}


def imported() -> AdrRecord:
    """The record as an import keeps it: parsed, with its file and baseline."""
    record = parse_text(TEXT, file_name=NAME)
    record = replace(record, number=2, original=Original(text=TEXT, file_name=NAME))
    fmt = format_family(record.format)
    baseline = digest(write_record(record, fmt=fmt, names=NAMES))
    return replace(record, original=Original(text=TEXT, file_name=NAME, baseline=baseline))


def test_unchanged_it_is_written_as_read():
    assert write_file(imported(), fmt="madr", names=NAMES) == TEXT


def test_changed_it_is_house_style_keeping_the_files_keys_links_and_trailing_blank_line():
    record = replace(imported(), context="Hosted runners are too slow and too dear.")
    text = write_file(record, fmt="madr", names=NAMES)
    assert text != TEXT
    assert text.startswith(
        "---\nstatus: accepted\ndate: 2023-02-06\nparent: Decisions\nnav_order: 2\n---\n"
    )
    assert "## parent" not in text and "## nav_order" not in text
    assert "- Supersedes [Use GitHub Actions for CI](0001-Use-GitHub-Actions-for-CI.md)" in text
    assert text.endswith("\n\n") and not text.endswith("\n\n\n")
    assert parse_text(text, file_name=NAME) == record  # still reads back as the record


def test_a_redacted_foreign_key_takes_the_sections_text():
    record = imported()
    extra = [(h, "[redacted]" if h == "parent" else b) for h, b in record.extra]
    text = write_file(replace(record, extra=extra), fmt="madr", names=NAMES)
    assert "parent: '[redacted]'\n" in text and "Decisions" not in text.split("---")[1]


def test_in_the_other_format_it_is_house_style_with_its_link_text():
    text = write_file(imported(), fmt="nygard", names=NAMES)
    assert text.startswith("# 2. Use Buildkite for CI\n")
    assert "Supersedes [Use GitHub Actions for CI](0001-Use-GitHub-Actions-for-CI.md)" in text
    assert text.endswith("\n") and not text.endswith("\n\n")  # a MADR file's ending is not kept


def test_a_record_made_in_slack_is_written_as_before():
    record = replace(imported(), original=None)
    assert write_file(record, fmt="madr", names=NAMES) == write_record(
        record, fmt="madr", names=NAMES
    )
    assert "- Supersedes [ADR-0001](0001-Use-GitHub-Actions-for-CI.md)" in write_record(
        record, fmt="madr", names=NAMES
    )
