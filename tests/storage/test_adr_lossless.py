"""ADR files, losslessly (issue 22), on SQLite and a real Postgres (``db``): a folder written
in each tool's own style (adr-tools, MADR 2, 3, 4 with and without front matter) and MADR's
own decision records, imported into an empty workspace and exported in the same format, give
back the same files, byte for byte and name for name; a record then changed in Slack is the
only file that changes (and the index, when it shows the change). Through the real parser,
import and export; nothing is mocked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from adr_files import parse
from storage import decisions as repo
from storage.adr_export_files import INDEX, export_files
from storage.db import Database
from storage.decision_status import change_status
from storage.decisions import DecisionDraft
from storage.models import Decision, DecisionStatus
from tests.support.adr_files import FIXTURES
from tests.support.adr_import import CHANNEL, TEAM, by_number, run_import

# (folder under tests/data/adr_files, the format it is exported in)
FOLDERS = [
    ("lossless/nygard", "nygard"),
    ("lossless/madr2", "madr"),
    ("lossless/madr3", "madr"),
    ("lossless/madr4", "madr"),
    ("lossless/madr4-no-front-matter", "madr"),
    ("madr-own", "madr"),  # MADR's own records (MIT OR CC0-1.0, LICENSE beside them)
    # the older fixtures, written before this rule
    ("nygard", "nygard"),
    ("madr2", "madr"),
    ("madr3", "madr"),
    ("madr4", "madr"),
    ("madr-no-front-matter", "madr"),
]


def _read(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.md"))}


def _import(db: Database, folder: Path) -> None:
    files, problems = parse.read_tree(folder)
    assert problems == []
    report = run_import(db, files)
    assert report.problems == [] and len(report.created) == len(files)


def _export(db: Database, fmt: str) -> dict[str, bytes]:
    with db.read() as s:
        return {name: text.encode() for name, text in export_files(s, team_id=TEAM, fmt=fmt)}


@pytest.mark.parametrize(("folder", "fmt"), FOLDERS, ids=[f for f, _ in FOLDERS])
def test_import_then_export_in_the_same_format_gives_the_same_files(
    db: Database, folder: str, fmt: str
):
    source = _read(FIXTURES / folder)
    _import(db, FIXTURES / folder)
    exported = _export(db, fmt)
    assert INDEX in exported
    del exported[INDEX]
    assert exported == source
    # one decision alone (`/adr export N`) is the same file, under the same name
    number = min(by_number(db))
    with db.read() as s:
        [(name, text)] = export_files(s, team_id=TEAM, fmt=fmt, number=number)
    assert source[name] == text.encode()


def test_in_the_other_format_a_record_is_written_in_house_style_under_its_own_name(db: Database):
    source = _read(FIXTURES / "lossless/nygard")
    _import(db, FIXTURES / "lossless/nygard")
    exported = _export(db, "madr")
    del exported[INDEX]
    assert sorted(exported) == sorted(source)
    assert all(text.startswith(b"---\nstatus:") for text in exported.values())
    # links point at the files' own names, with the text the files gave them
    amends = exported[next(n for n in source if n.startswith("0004-"))].decode()
    target = next(n for n in source if n.startswith("0003-"))
    assert (
        f"- Amends [3. Use Kafka for order events instead of polling the orders table every minute]({target})"
        in amends
    )


@pytest.mark.parametrize("number", [3, 4])
def test_a_status_changed_in_slack_changes_only_its_file_and_the_index(db: Database, number: int):
    """ADR-3 (a long name) is linked from ADR-2 and ADR-4: their files stay as they were,
    pointing at its name."""
    folder = FIXTURES / "lossless/nygard"
    source = _read(folder)
    _import(db, folder)
    before = _export(db, "nygard")
    with db.session() as s:
        change_status(s, team_id=TEAM, number=number, actor_id="UBOT", to=DecisionStatus.DEPRECATED)
    after = _export(db, "nygard")
    assert sorted(after) == sorted(before)  # same names: the changed file keeps its own
    changed = sorted(name for name in after if after[name] != before[name])
    name = next(n for n in source if n.startswith(f"000{number}-"))
    assert changed == sorted([name, INDEX])
    text = after[name].decode()
    assert "## Status\n\nDeprecated\n" in text
    if number == 3:  # its links keep their text; the trailing blank line stays
        assert "Supersedes [2. Use PostgreSQL for Orders" in text and text.endswith("\n\n")
        return
    # its link line keeps the text adr-tools wrote: the target's heading
    assert (
        "Amends [3. Use Kafka for order events instead of polling the orders table every "
        "minute](0003-use-kafka-for-order-events-instead-of-polling-the-orders-table-every-"
        "minute.md)"
    ) in text


def test_an_edit_in_slack_keeps_the_files_name_front_matter_links_and_trailing_blank_line(
    db: Database,
):
    folder = FIXTURES / "lossless/madr4"
    source = _read(folder)
    _import(db, folder)
    before = _export(db, "madr")
    name = next(n for n in source if n.startswith("0003-"))
    with db.session() as s:
        decision = s.get(Decision, by_number(db)[3].id)
        assert decision is not None
        draft = DecisionDraft(
            title=decision.title,
            context="Head sampling drops most traces of failed requests, the ones we need.",
            options=decision.options,
            decision=decision.decision,
            consequences=decision.consequences,
            channel_id=CHANNEL,
        )
        repo.update_decision(s, team_id=TEAM, number=3, actor_id="UBOT", draft=draft)
    after = _export(db, "madr")
    assert sorted(after) == sorted(before)
    assert [n for n in after if after[n] != before[n]] == [name]  # the index shows no context
    text = after[name].decode()
    assert "the ones we need." in text
    front = text.split("---\n")[1]
    keys = [line.split(":")[0] for line in front.splitlines() if line[:1] not in (" ", "-")]
    assert keys == ["status", "date", "decision-makers", "consulted", "parent", "nav_order"]
    assert "* Supersedes [Sample traces at ten percent](0002-sample-traces-at-ten-percent.md)" in (
        text.replace("- Supersedes", "* Supersedes")
    )
    assert text.endswith("\n\n")  # the file's trailing blank line
    assert "## parent" not in text and "## nav_order" not in text  # not twice


def test_records_imported_before_their_text_was_kept_export_as_before(db: Database):
    folder = FIXTURES / "lossless/madr3"
    _import(db, folder)
    with db.session() as s:
        s.execute(update(Decision).values(source_text=None, source_baseline=None))
    exported = _export(db, "madr")
    assert "0001-use-github-actions-for-continuous-integration-of-every.md" in (exported)
    assert all(name == name.lower() for name in exported if name != INDEX)


def test_a_file_whose_name_another_decision_has_is_exported_in_house_style(
    db: Database, tmp_path: Path
):
    name = "0001-record-architecture-decisions.md"
    first = (FIXTURES / "lossless/nygard" / name).read_text()
    # the same name, in another folder (a second project's log)
    for folder, text in (("a", first), ("b/old", first.replace("2021-03-01", "2022-03-01"))):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / name).write_text(text)
    _import(db, tmp_path / "a")
    files, _problems = parse.read_tree(tmp_path / "b")
    report = run_import(db, files)
    assert report.created == [(f"old/{name}", "ADR-2", 1)]
    assert (
        f"old/{name}",
        "another decision's file has this name: exported in the bot's style",
    ) in (report.warnings)
    exported = _export(db, "nygard")
    assert exported[name] == first.encode()  # the first keeps it
    assert exported["0002-record-architecture-decisions.md"].startswith(
        b"# 2. Record architecture decisions\n\nDate: 2022-03-01\n"
    )
