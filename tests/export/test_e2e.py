"""ADR files in Slack, end to end over signed HTTP on SQLite and Postgres: `/adr export` (and
the button on `/adr show`) shares the log or one decision as ADR files in the asker's DM,
within what that person may see from where they asked; imported decisions are listed,
searched, shown (names that matched nobody as text, the file's other sections) and can be
given a review date like any other."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from adr_files.parse import parse_text, read_tree
from bot.core.ids import Action, Field
from storage.adr_import import import_records
from storage.adr_import_report import ImportReport
from storage.adr_people import PeopleIndex
from storage.db import Database
from tests.support.adr import Adr, all_text, ephemeral
from tests.support.delivery import settle
from tests.support.harness import SlackDriver
from tests.support.slack_emulator import SlackEmulator

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "adr_files"


def shared(emulator: SlackEmulator, count: int = 1) -> list[dict]:
    emulator.wait_for("files.completeUploadExternal", count=count)
    return emulator.uploaded_files()


def import_fixtures(db: Database, folder: str = "madr4") -> ImportReport:
    """The MADR 4 fixture folder imported into TAAA's #general (no Slack: names as text)."""
    files, problems = read_tree(FIXTURES / folder)
    assert files and not problems
    with db.session() as session:
        return import_records(
            session,
            team_id="TAAA",
            channel_id="CGENERAL",
            channel_private=False,
            files=files,
            people=PeopleIndex(),
            actor_id="UALICE",
            dry_run=False,
        )


def unzip(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def test_export_shares_the_log_as_a_zip_in_the_askers_dm_without_private_decisions(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
):
    emulator.set_channel("CSECRET", is_private=True)
    public = adr.new("Use Postgres for events", decision="We use Postgres.")
    adr.new("Acquire Initech", channel="CSECRET", user="UBOB")
    answer = ephemeral(slack.command("export", channel="CGENERAL"))
    assert "in our DM" in answer
    settle(slack)
    [upload] = shared(emulator)
    assert upload["channel_id"] == "DALICE"  # the asker's DM: files can't be ephemeral
    assert upload["filename"].endswith(".zip")
    files = unzip(upload["data"])
    assert sorted(files) == ["decisions/0001-use-postgres-for-events.md", "decisions/README.md"]
    record = parse_text(files["decisions/0001-use-postgres-for-events.md"], file_name="0001.md")
    assert (record.number, record.title, record.decision) == (
        public,
        "Use Postgres for events",
        "We use Postgres.",
    )
    assert "Acquire Initech" not in "".join(files.values())
    assert "Use Postgres for events" in files["decisions/README.md"]


def test_one_decision_as_a_file_from_the_command_and_the_show_button(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
):
    emulator.set_channel("CSECRET", is_private=True)
    number = adr.new("Adopt trunk-based development")
    secret = adr.new("Acquire Initech", channel="CSECRET", user="UBOB")
    ephemeral(slack.command(f"export {number} nygard"))
    settle(slack)
    [upload] = shared(emulator)
    text = upload["data"].decode()
    assert upload["filename"] == f"{number:04d}-adopt-trunk-based-development.md"
    assert text.startswith(f"# {number}. Adopt trunk-based development")  # adr-tools layout

    # a private channel's decision, asked for from elsewhere: a sentence, no file
    ephemeral(slack.command(f"export {secret}", channel="CGENERAL"))
    settle(slack)
    assert len(emulator.uploaded_files()) == 1
    dms = [c for c in emulator.calls("chat.postMessage") if c.args["channel"] == "DALICE"]
    assert f"can't export ADR-{secret}" in all_text(dms[-1].args)

    shown = slack.command(f"show {number}")
    assert Action.EXPORT in shown.text
    reply = slack.click(Action.EXPORT, str(number), channel="CGENERAL")
    assert reply.status == 200
    settle(slack)
    [_, from_button] = shared(emulator, count=2)
    assert from_button["filename"] == f"{number:04d}-adopt-trunk-based-development.md"
    again = parse_text(from_button["data"].decode(), file_name=from_button["filename"])
    assert (again.number, again.title) == (number, "Adopt trunk-based development")


def test_imported_decisions_are_listed_searched_shown_and_can_get_a_review_date(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    assert import_fixtures(db).created
    [row] = adr.rows(
        "SELECT number, title, named_people FROM decisions WHERE team_id = 'TAAA' "
        "AND named_people <> '{}' ORDER BY number LIMIT 1"
    )
    listed = ephemeral(slack.command("list"))
    assert row["title"][:30] in listed
    word = row["title"].split()[-1]
    assert row["title"][:30] in ephemeral(slack.command(f"search {word}"))
    shown = adr.show(row["number"])
    assert "Imported from" in shown
    name = next(iter(json.loads(row["named_people"]).values()))[0]
    assert name in shown  # a decision maker who matched nobody, shown as text

    # its first decision maker who is a Slack user is its author (else `import --owner`)
    [author] = adr.rows("SELECT author_id FROM decisions WHERE number = :n", n=row["number"])
    view = adr.open_form(f"edit {row['number']}", user=author["author_id"])
    reply = slack.submit(view, {Field.REVIEW_DATE: "2027-06-01"}, user=author["author_id"])
    assert reply.status == 200 and reply.text == "", reply.text
    settle(slack)  # the review is planned by outbox work
    assert str(adr.decision(row["number"])["review_date"]).startswith("2027-06-01")
    [review] = adr.rows(
        "SELECT r.state FROM reviews r JOIN decisions d ON d.id = r.decision_id "
        "WHERE d.number = :n AND d.team_id = 'TAAA'",
        n=row["number"],
    )
    assert review["state"] == "scheduled"


def test_an_imported_files_other_sections_and_names_can_be_redacted(
    adr: Adr, slack: SlackDriver, db: Database
):
    import_fixtures(db)
    [row] = adr.rows(
        "SELECT number, author_id, extra_sections, named_people FROM decisions "
        "WHERE team_id = 'TAAA' AND extra_sections <> '[]' AND named_people <> '{}' "
        "ORDER BY number LIMIT 1"
    )
    heading, body = json.loads(row["extra_sections"])[0]
    name = next(iter(json.loads(row["named_people"]).values()))[0]
    assert body[:20] in all_text(adr.show(row["number"])) or len(body) > 2900
    author = row["author_id"]
    for field in ("sections", "names"):
        answer = ephemeral(slack.command(f"redact {row['number']} {field}", user=author))
        assert "Redacted" in answer or "redacted" in answer, answer
    after = adr.decision(row["number"])
    assert body not in after["extra_sections"] and heading in after["extra_sections"]
    assert name not in after["named_people"]
    shown = adr.show(row["number"])
    assert name not in shown and "redacted by" in shown


def test_imported_files_come_back_byte_for_byte_and_a_change_in_slack_changes_only_its_file(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    """Issue 22 through Slack: a MADR 4 folder imported, `/adr export` in the asker's DM gives
    the same files under the same names; after `/adr deprecate 3` in Slack only ADR-3's file
    (and the index) differ."""
    folder = FIXTURES / "lossless" / "madr4"
    source = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.md"))}
    report = import_fixtures(db, "lossless/madr4")
    assert len(report.created) == len(source)
    emulator.set_user("UALICE", is_admin=True)  # imported deciders are names: an admin acts

    assert "in our DM" in ephemeral(slack.command("export", channel="CGENERAL"))
    settle(slack)
    [first] = shared(emulator)
    before = {n.removeprefix("decisions/"): t for n, t in unzip(first["data"]).items()}
    del before["README.md"]
    assert before == source  # names and bytes

    answer = ephemeral(slack.command("deprecate 3 sampling moved to the collector"))
    assert "deprecated" in answer
    assert "in our DM" in ephemeral(slack.command("export", channel="CGENERAL"))
    settle(slack)
    second = shared(emulator, count=2)[-1]
    after = {n.removeprefix("decisions/"): t for n, t in unzip(second["data"]).items()}
    del after["README.md"]
    changed = sorted(name for name in source if after[name] != source[name])
    assert changed == ["0003-use-tail-based-sampling.md"]
    assert after.keys() == source.keys()
    assert "status: deprecated" in after["0003-use-tail-based-sampling.md"]
    assert "parent: Decisions" in after["0003-use-tail-based-sampling.md"]  # foreign keys kept
