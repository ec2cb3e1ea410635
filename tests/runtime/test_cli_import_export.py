"""`decisionbot import` and `decisionbot export` (bot/runtime/import_export.py) as an operator runs them,
against SQLite and a real Postgres (``db``) and the Slack emulator: names matched to Slack users
or kept as text, the owner of unmatched records, files named by date, a hostile folder. Nothing
is mocked; records are built by hand where the parser is not the subject.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adr_files.records import AdrRecord, LinkRef, PersonRef
from storage.db import Database
from storage.models import Counter, DecisionLink, DueWork, SlackUser
from tests.support.adr_files import (
    BOMB_REASON,
    FOLDER_LINK_OUT,
    HUGE_REASON,
    LINK_OUT,
    hostile_folder,
)
from tests.support.adr_import import (
    ANA,
    BOB,
    CARL,
    OTHER,
    TEAM,
    _adr_files,
    adr,
    by_number,
    counts,
    create_in_slack,
    run_import,
    seed_workspace,
    snapshot,
)
from tests.support.harness import BOT_TOKEN
from tests.support.slack_emulator import SlackEmulator

# -- the command ------------------------------------------------------------------------------


@pytest.fixture
def slack_api() -> Iterator[SlackEmulator]:
    """A workspace of 203 channels: `#architecture` (private, the bot invited) comes on the
    second page of the CLI's `conversations.list` (200 a page)."""
    with SlackEmulator(team_id=TEAM) as emu:
        for user in (ANA, BOB, CARL):
            emu.set_user(user)
        for n in range(200):
            emu.set_channel(f"C0A{n:04d}", name=f"team-{n}")
        emu.set_channel("C0ARCH", name="architecture", is_private=True)
        emu.set_channel("C0GENERAL", name="general")
        emu.set_channel("C0RANDOM", name="random")
        yield emu


def cli(db: Database, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.runtime.cli", *args],
        env={**base, "DATABASE_URL": db.url, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(Path(__file__).resolve().parents[2]),
    )


def write_folder(root: Path, records: list[AdrRecord], fmt: str = "nygard") -> None:
    _parse, write = _adr_files()
    names = {r.number: write.file_name(r.number, r.title) for r in records}
    root.mkdir(parents=True, exist_ok=True)
    for r in records:
        (root / names[r.number]).write_text(write.write_record(r, fmt=fmt, names=names))


def cli_records() -> list[AdrRecord]:
    return [
        adr(1, "Record decisions", deciders=[PersonRef("User U0ANA"), PersonRef("Someone Else")]),
        adr(2, "Use Kafka", status="superseded", links=[LinkRef("superseded_by", number=3)]),
        adr(3, "Use Postgres queues", links=[LinkRef("supersedes", number=2)]),
    ]


@pytest.mark.timeout(180)
def test_the_import_command_with_slack(db: Database, slack_api: SlackEmulator, tmp_path: Path):
    folder = tmp_path / "doc" / "adr"
    write_folder(folder, cli_records())
    (folder / "0004-broken.md").write_text("not a decision record at all\n")
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack_api.url}
    create_in_slack(db, "Already here")  # takes ADR-1

    dry = cli(db, "import", str(folder), "--channel", "#architecture", "--dry-run", env=env)
    assert dry.returncode == 1, dry.stderr  # the broken file is a problem
    assert "Dry run: nothing was written." in dry.stdout
    assert counts(db)["decisions"] == 1

    result = cli(db, "import", str(folder), "--channel", "#architecture", "--post", env=env)
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "import into TADRA, channel C0ARCH (private):" in out
    assert "created ADR-2 from 0002-use-kafka.md" in out
    assert "(file number 1 was taken; renumbered 1 -> 4)" in out
    assert "problem: 0004-broken.md:" in out
    assert "3 posts scheduled" in out
    assert "Traceback" not in result.stderr
    decisions = by_number(db)
    assert decisions[4].title == "Record decisions" and decisions[4].channel_private
    assert decisions[4].author_id == ANA  # "User U0ANA" is their real name in Slack
    assert json.loads(decisions[4].named_people) == {"decider": ["Someone Else"]}
    assert decisions[2].superseded_by_id == decisions[3].id
    with db.read() as s:
        posts = s.execute(select(DueWork.subject_id).where(DueWork.kind == "decision.post")).all()
        cached = s.execute(select(func.count()).select_from(SlackUser)).scalar_one()
    assert len(posts) == 3 and cached == 3
    assert slack_api.calls("chat.postMessage") == []  # the worker posts them, not the import
    # per run (the dry one and this one): one users.list read, conversations.list paged
    assert len(slack_api.calls("users.list")) == 2
    assert len(slack_api.calls("conversations.list")) == 4

    delivered = cli(db, "run-due", env=env)  # what the worker does
    assert delivered.returncode == 0, delivered.stderr
    posted = slack_api.calls("chat.postMessage")
    assert [c.args["channel"] for c in posted] == ["C0ARCH"] * 3
    assert ["ADR-2" in c.args["text"] for c in posted] == [True, False, False]  # in number order

    again = cli(db, "import", str(folder), "--channel", "#architecture", env=env)
    assert "created 0 (0 renumbered), 3 unchanged" in again.stdout

    missing = cli(db, "import", str(folder), "--channel", "#nope", env=env)
    assert missing.returncode == 2 and "--channel #nope: no such channel" in missing.stderr
    wrong = cli(db, "import", str(folder), "--channel", "C0GENERAL", "--team", "TELSE", env=env)
    assert wrong.returncode == 2 and "--team TELSE is not the workspace" in wrong.stderr


@pytest.mark.timeout(120)
def test_the_import_command_without_slack_keeps_names_as_text(db: Database, tmp_path: Path):
    folder = tmp_path / "adr"
    write_folder(folder, cli_records(), fmt="madr")
    by_name = cli(db, "import", str(folder), "--channel", "#general", "--team", TEAM)
    assert by_name.returncode == 2 and "needs SLACK_BOT_TOKEN" in by_name.stderr

    result = cli(db, "import", str(folder), "--channel", "C0GENERAL", "--team", TEAM)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning: no SLACK_BOT_TOKEN: names match nobody and are kept as text" in result.stdout
    decisions = by_number(db)
    assert sorted(decisions) == [1, 2, 3] and decisions[1].channel_private
    assert json.loads(decisions[1].named_people) == {"decider": ["User U0ANA", "Someone Else"]}


@pytest.mark.timeout(150)  # before: the alias bomb kept the command busy past `cli`'s 120 s
def test_a_hostile_folder_is_imported_without_its_bad_files(db: Database, tmp_path: Path):
    folder = hostile_folder(tmp_path)
    result = cli(db, "import", str(folder), "--channel", "C0GENERAL", "--team", TEAM)
    assert result.returncode == 1, result.stdout + result.stderr  # two files have problems
    out = result.stdout.splitlines()
    assert f"problem: 0002-bomb.md: {BOMB_REASON} (line 3)" in out
    assert f"problem: 0003-huge.md: {HUGE_REASON}" in out
    assert f"warning: 0004-secret.md: {LINK_OUT}" in out
    assert f"warning: elsewhere: {FOLDER_LINK_OUT}" in out
    assert "created 2 (0 renumbered), 0 unchanged, 0 changed (not overwritten), 2 with " in (
        result.stdout
    )
    assert {n: d.title for n, d in by_number(db).items()} == {1: "Fine", 5: "Linked"}


@pytest.mark.timeout(120)
def test_owner_owns_the_records_whose_decision_makers_match_nobody(db: Database, tmp_path: Path):
    folder = tmp_path / "adr"
    write_folder(folder, cli_records(), fmt="madr")
    base = ("import", str(folder), "--channel", "C0GENERAL", "--team", TEAM)
    wrong = cli(db, *base, "--owner", "ana@example.com")
    assert wrong.returncode == 2 and "--owner takes a Slack user id" in wrong.stderr
    assert counts(db)["decisions"] == 0
    result = cli(db, *base, "--owner", "U0OWNER")
    assert result.returncode == 0, result.stdout + result.stderr
    # nobody matched without Slack: the owner may now edit them and set a review date
    assert {d.author_id for d in by_number(db).values()} == {"U0OWNER"}


@pytest.mark.timeout(120)
def test_the_export_command(db: Database, tmp_path: Path):
    _adr_files()
    seed_workspace(db, TEAM)
    out = tmp_path / "export"
    first = cli(db, "export", str(out), "--format", "nygard")  # the one workspace of the DB
    assert first.returncode == 0, first.stderr
    assert f"exported 3 decisions to {out}: 4 files written, 0 unchanged" in first.stdout
    assert sorted(p.name for p in out.iterdir())[0].startswith("0001-")
    second = cli(db, "export", str(out), "--format", "nygard", "--team", TEAM)
    assert "0 files written, 4 unchanged" in second.stdout
    back = cli(db, "import", str(out), "--channel", "C0OTHER", "--team", OTHER)
    assert back.returncode == 0, back.stdout + back.stderr  # the index is skipped, not a problem
    assert "skipped: README.md: not a decision record" in back.stdout
    assert "created 3 (0 renumbered)" in back.stdout
    assert snapshot(db, OTHER) == snapshot(db, TEAM)
    several = cli(db, "export", str(out))
    assert several.returncode == 2 and "--team is needed" in several.stderr


def test_files_named_by_date_get_the_next_numbers_and_link_by_their_names(
    db: Database, tmp_path: Path
):
    """log4brains names files by date: a date is not a record number (it would have moved
    the counter to ADR-20240301)."""
    from adr_files.parse import read_tree

    create_in_slack(db, "Made in Slack")  # ADR-1
    (tmp_path / "2024-03-01-use-kafka.md").write_text(
        "# Use Kafka\n\n## Decision\n\nKafka.\n", encoding="utf-8"
    )
    (tmp_path / "20240302-use-redis.md").write_text(
        "# Use Redis\n\n## Status\n\nAccepted\n\nAmends [Use Kafka](2024-03-01-use-kafka.md)\n\n"
        "## Decision\n\nRedis.\n",
        encoding="utf-8",
    )
    files, problems = read_tree(tmp_path)
    assert problems == [] and {f.record.number for f in files} == {None}
    report = run_import(db, files)
    assert report.problems == [] and sorted(ref for _, ref, _ in report.created) == [
        "ADR-2",
        "ADR-3",
    ]
    with db.read() as s:
        counter = s.execute(select(Counter.value).where(Counter.team_id == TEAM)).scalar_one()
        links = s.execute(select(DecisionLink.kind)).scalars().all()
    assert counter == 3 and links == ["amends"]


@pytest.mark.timeout(180)
def test_import_then_export_gives_back_the_same_files(db: Database, tmp_path: Path):
    """Issue 22, as an operator runs it: MADR's own records and an adr-tools folder come back
    byte for byte, under their own names (capitals and long names kept)."""
    from tests.support.adr_files import FIXTURES

    for folder, fmt, channel in (
        ("madr-own", "madr", "C0GENERAL"),
        ("lossless/nygard", "nygard", "C0RANDOM"),
    ):
        source = {p.name: p.read_bytes() for p in (FIXTURES / folder).glob("*.md")}
        team = f"T{channel}"
        imported = cli(db, "import", str(FIXTURES / folder), "--channel", channel, "--team", team)
        assert imported.returncode == 0, imported.stdout + imported.stderr
        out = tmp_path / folder
        exported = cli(db, "export", str(out), "--format", fmt, "--team", team)
        assert exported.returncode == 0, exported.stdout + exported.stderr
        back = {p.name: p.read_bytes() for p in out.glob("*.md") if p.name != "README.md"}
        assert back == source
