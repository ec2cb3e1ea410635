"""ADR files in (issue 11): `storage/adr_import.py` against SQLite and a real Postgres (``db``):
numbers kept or renumbered, supersede and amend chains, re-imports, dry runs, failures, reviews
and people; hostile folders (issue 18). Nothing is mocked; records
are built by hand where the parser is not the subject.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adr_files.records import AskRecord, LinkRef, PersonRef, ReviewRecord, StanceRecord
from storage.adr_export import export_records
from storage.adr_people import PeopleIndex
from storage.db import Database
from storage.models import DecisionEvent, DecisionStatus, DueWork, LinkKind, Review, ReviewAsk
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
    DANA,
    TEAM,
    USERS,
    Source,
    adr,
    by_number,
    counts,
    create_in_slack,
    run_import,
    snapshot,
    source,
)


@dataclass
class Problem:
    path: str
    reason: str


# -- numbering -------------------------------------------------------------------------------


def test_a_free_number_is_kept_a_taken_one_renumbered_and_the_counter_moves_past(db: Database):
    create_in_slack(db, "Made in Slack one")  # ADR-1
    create_in_slack(db, "Made in Slack two")  # ADR-2
    files = [
        source("0002-taken.md", adr(2, "Taken number")),
        source("0005-free.md", adr(5, "Free number")),
        source("0007-also-free.md", adr(7, "Also free")),
        source("notes/no-number.md", adr(None, "No number")),
    ]
    report = run_import(db, files)

    assert report.problems == []
    created = {path: ref for path, ref, _ in report.created}
    assert created == {
        "0005-free.md": "ADR-5",
        "0007-also-free.md": "ADR-7",
        "0002-taken.md": "ADR-8",  # after everything the workspace and the import use
        "notes/no-number.md": "ADR-9",
    }
    assert sorted(report.renumbered) == [("0002-taken.md", 2, 8), ("notes/no-number.md", None, 9)]
    text = "\n".join(report.lines())
    assert "created ADR-8 from 0002-taken.md (file number 2 was taken; renumbered 2 -> 8)" in text
    assert "created ADR-5 from 0005-free.md\n" in text
    decisions = by_number(db)
    assert decisions[2].title == "Made in Slack two" and decisions[8].title == "Taken number"
    assert decisions[5].created_at == datetime(2021, 3, 5, tzinfo=UTC)
    # the next /adr (the real allocation) never collides with an imported number
    assert create_in_slack(db, "Next in Slack").number == 10
    # nor does the next import, whose number 3 is still free
    report = run_import(db, [source("0003-three.md", adr(3, "Three"))])
    assert [ref for _p, ref, _o in report.created] == ["ADR-3"]
    assert create_in_slack(db, "After that").number == 11


def test_two_files_with_one_number_keep_it_once(db: Database):
    report = run_import(
        db, [source("a/0004-one.md", adr(4, "One")), source("b/0004-two.md", adr(4, "Two"))]
    )
    assert sorted(ref for _p, ref, _o in report.created) == ["ADR-4", "ADR-5"]
    assert report.renumbered == [("b/0004-two.md", 4, 5)]


# -- links -----------------------------------------------------------------------------------


def chain() -> list[Source]:
    """1 superseded by 2 superseded by 3; 4 amends 3; 5 relates to 4; 6 supersedes 5 (said
    only by 6); a link to a file that is not there."""
    return [
        source(
            "0001-first.md",
            adr(
                1,
                "First",
                status="superseded",
                links=[LinkRef("superseded_by", "0002-second.md", 2)],
            ),
        ),
        source(
            "0002-second.md",
            adr(
                2,
                "Second",
                status="superseded",
                links=[
                    LinkRef("supersedes", "0001-first.md", 1),
                    LinkRef("superseded_by", "0003-third.md", 3),
                ],
            ),
        ),
        source(
            "0003-third.md",
            adr(
                3,
                "Third",
                links=[
                    LinkRef("supersedes", "./0002-second.md", 2),
                    LinkRef("amended_by", "0004-fourth.md", 4),
                ],
            ),
        ),
        source("0004-fourth.md", adr(4, "Fourth", links=[LinkRef("amends", "0003-third.md", 3)])),
        source(
            "0005-fifth.md",
            adr(
                5,
                "Fifth",
                links=[LinkRef("relates", "", 4), LinkRef("relates", "0099-missing.md", 99)],
            ),
        ),
        source(
            "sub/0006-sixth.md", adr(6, "Sixth", links=[LinkRef("supersedes", "../0005-fifth.md")])
        ),
    ]


def test_supersede_and_amend_chains_are_linked_both_ways(db: Database):
    create_in_slack(db, "Occupies three")
    create_in_slack(db, "Occupies two")
    create_in_slack(db, "Occupies one")  # files 1-3 are renumbered; links follow the files
    report = run_import(db, chain())
    assert report.problems == []
    new = {path: int(ref.split("-")[1]) for path, ref, _ in report.created}
    first, second, third = new["0001-first.md"], new["0002-second.md"], new["0003-third.md"]
    fourth, fifth, sixth = new["0004-fourth.md"], new["0005-fifth.md"], new["sub/0006-sixth.md"]
    assert (fourth, fifth, sixth) == (4, 5, 6) and first > 6
    snap = snapshot(db, TEAM)
    assert snap[first]["superseded_by"] == second and snap[first]["supersedes"] is None
    assert (snap[second]["supersedes"], snap[second]["superseded_by"]) == (first, third)
    assert snap[third]["supersedes"] == second and snap[third]["superseded_by"] is None
    assert snap[fourth]["links"] == [(third, LinkKind.AMENDS)]  # said on both sides, kept once
    assert snap[fifth]["links"] == [(fourth, LinkKind.RELATES)]
    assert snap[sixth]["supersedes"] == fifth and snap[fifth]["superseded_by"] == sixth
    assert snap[fifth]["status"] == "accepted"  # the file's own status stands
    assert report.warnings == [
        ("0005-fifth.md", "relates to 0099-missing.md: no such record; left out")
    ]

    with db.read() as s:
        records = {r.number: r for r in export_records(s, team_id=TEAM)}
    links = {n: [(link.kind, link.number) for link in r.links] for n, r in records.items()}
    assert links[second] == [("supersedes", first), ("superseded_by", third)]
    assert links[third] == [("supersedes", second), ("amended_by", fourth)]
    assert links[fourth] == [("amends", third)]
    assert links[fifth] == [("superseded_by", sixth), ("relates", fourth)]
    assert ("relates", fifth) not in links[fourth]  # relates-to stays on the file that said it


def test_a_later_import_supersedes_a_decision_imported_before(db: Database):
    run_import(db, [source("0001-old.md", adr(1, "Old way"))])
    report = run_import(
        db,
        [
            source("0001-old.md", adr(1, "Old way")),
            source(
                "0002-new.md", adr(2, "New way", links=[LinkRef("supersedes", "0001-old.md", 1)])
            ),
        ],
    )
    assert report.unchanged == ["0001-old.md"] and len(report.created) == 1
    decisions = by_number(db)
    assert decisions[1].status == DecisionStatus.SUPERSEDED
    assert decisions[1].superseded_by_id == decisions[2].id
    assert decisions[2].supersedes_id == decisions[1].id
    with db.read() as s:
        kinds = s.execute(
            select(DecisionEvent.kind).where(DecisionEvent.decision_id == decisions[1].id)
        ).scalars()
        assert list(kinds) == ["imported", "superseded"]


# -- re-import, changes, dry run, failures ----------------------------------------------------


def test_importing_again_creates_nothing_and_a_changed_file_is_reported_not_overwritten(
    db: Database,
):
    files = chain()
    run_import(db, files)
    before = counts(db)
    report = run_import(db, files)
    assert report.created == [] and sorted(report.unchanged) == sorted(f.path for f in files)
    assert counts(db) == before

    edited = replace(files[2].record, title="Third, edited in the repository")
    files[2] = source(files[2].path, edited)
    report = run_import(db, files)
    assert report.created == [] and report.changed == ["0003-third.md"]
    assert "changed, not overwritten: 0003-third.md" in "\n".join(report.lines())
    assert counts(db) == before
    assert by_number(db)[3].title == "Third"


def test_the_same_text_under_another_path_is_not_imported_twice(db: Database):
    record = adr(1, "Use Postgres")
    run_import(db, [source("0001-use-postgres.md", record)])
    report = run_import(db, [source("docs/adr/0001-use-postgres.md", record)])
    assert report.created == [] and report.unchanged == ["docs/adr/0001-use-postgres.md"]
    assert "the same text as ADR-1 (imported from 0001-use-postgres.md)" in report.warnings[0][1]


def test_a_dry_run_writes_nothing_and_reports_what_a_real_run_does(db: Database):
    create_in_slack(db, "Occupies one")
    before = counts(db)
    dry = run_import(db, chain(), dry_run=True, post=True)
    assert counts(db) == before
    assert dry.lines()[0] == "Dry run: nothing was written."
    real = run_import(db, chain(), post=True)
    assert dry.created == real.created and dry.renumbered == real.renumbered
    assert dry.warnings == real.warnings
    assert [line.replace("would create", "created") for line in dry.lines()[1:]] == real.lines()


def test_a_malformed_file_is_reported_and_the_others_are_imported(db: Database):
    files = [
        source("0001-fine.md", adr(1, "Fine")),
        source("0002-bad-status.md", adr(2, "Bad status", status="maybe")),
        source("0003-no-title.md", adr(3, " ")),
        source("0004-long-title.md", adr(4, "x" * 201)),
        source("0005-fine.md", adr(5, "Also fine")),
    ]
    report = run_import(
        db, files, problems=[Problem("notes/todo.md", "not a decision record: no title")]
    )
    assert [p for p, _r, _o in report.created] == ["0001-fine.md", "0005-fine.md"]
    reasons = dict(report.problems)
    assert reasons["notes/todo.md"] == "not a decision record: no title"
    assert "status 'maybe' is not one of" in reasons["0002-bad-status.md"]
    assert reasons["0003-no-title.md"] == "it has no title"
    assert "at most 200 fit" in reasons["0004-long-title.md"]
    assert not report.ok
    assert sorted(by_number(db)) == [1, 5]


@pytest.mark.timeout(120)  # before: the alias bomb alone took over 120 s of CPU
def test_a_hostile_folder_reports_each_file_left_out_and_imports_the_others(
    db: Database, tmp_path: Path
):
    from adr_files.parse import read_tree

    files, problems = read_tree(hostile_folder(tmp_path))
    report = run_import(db, files, problems=problems)
    assert [path for path, _ref, _number in report.created] == ["0001-fine.md", "0005-linked.md"]
    assert report.problems == [
        ("0002-bomb.md", f"{BOMB_REASON} (line 3)"),
        ("0003-huge.md", HUGE_REASON),
    ]
    assert report.warnings == [("0004-secret.md", LINK_OUT), ("elsewhere", FOLDER_LINK_OUT)]
    lines = report.lines()
    assert f"problem: 0002-bomb.md: {BOMB_REASON} (line 3)" in lines
    assert f"problem: 0003-huge.md: {HUGE_REASON}" in lines
    assert f"warning: 0004-secret.md: {LINK_OUT}" in lines
    assert f"warning: elsewhere: {FOLDER_LINK_OUT}" in lines
    assert {n: d.title for n, d in by_number(db).items()} == {1: "Fine", 5: "Linked"}


def test_a_file_failing_mid_import_leaves_nothing_of_itself(db: Database):
    """The same person's stance twice passes every check and fails in the database, after
    the decision, its people and its links were written: its savepoint takes all of it back,
    including the supersede it wrote into an earlier file's decision, the amend an earlier file
    waited for, its outbox row — and the counter does not move past its number."""
    people = [PersonRef.parse(f"Ana (@{ANA})"), PersonRef.parse(f"Bob (@{BOB})")]
    broken = adr(
        12,
        "Broken",
        deciders=people,
        links=[LinkRef("supersedes", "0001-base.md", 1), LinkRef("relates", "0002-other.md", 2)],
        stances=[StanceRecord("agree", people[0]), StanceRecord("block", people[0], reason="x")],
    )
    files = [
        source("0001-base.md", adr(1, "Base")),
        source("0002-other.md", adr(2, "Other")),
        source("0010-after.md", adr(10, "After", links=[LinkRef("amends", "0012-broken.md", 12)])),
        source("0012-broken.md", broken),
    ]
    before = counts(db)
    report = run_import(db, files, post=True)
    assert report.problems == [("0012-broken.md", "the same person has two stances")]
    assert [p for p, _r, _o in report.created] == ["0001-base.md", "0002-other.md", "0010-after.md"]
    assert ("0010-after.md", "amends 0012-broken.md, which was not imported; left out") in (
        report.warnings
    )
    after = counts(db)
    assert after["decisions"] - before["decisions"] == 3
    assert after["decision_members"] == before["decision_members"]
    assert after["stances"] == before["stances"] and after["decision_links"] == 0
    assert after["decision_events"] - before["decision_events"] == 3
    assert after["due_work"] - before["due_work"] == 3  # one post per created decision
    decisions = by_number(db)
    assert sorted(decisions) == [1, 2, 10] and decisions[1].superseded_by_id is None
    assert create_in_slack(db, "Next").number == 11  # 12 was never used


def test_an_imported_review_is_a_finished_round(db: Database):
    owner, dissenter = PersonRef.parse(f"Ana (@{ANA})"), PersonRef.parse(f"Bob (@{BOB})")
    answered = ReviewRecord(
        due=date(2022, 5, 2),
        outcome="didnt_work",
        asks=[
            AskRecord(owner, "owner", outcome="didnt_work", what_happened="outage", learned="test"),
            AskRecord(dissenter, "dissenter", concern="load", dissent_answer="yes"),
        ],
    )
    files = [
        source("0001-answered.md", adr(1, "Answered", deciders=[owner], review=answered)),
        source("0002-silent.md", adr(2, "Silent", review=ReviewRecord(due=date(2022, 6, 1)))),
        source("0003-odd.md", adr(3, "Odd", review=ReviewRecord(outcome="great"))),
    ]
    report = run_import(db, files)
    assert report.problems == [
        ("0003-odd.md", "review outcome 'great' is not one of didnt_work, partly, worked")
    ]
    with db.read() as s:
        rows = {
            r.decision_id: r
            for r in s.execute(select(Review).where(Review.team_id == TEAM)).scalars()
        }
        asks = list(s.execute(select(ReviewAsk).order_by(ReviewAsk.id)).scalars())
    decisions = by_number(db)
    first, second = rows[decisions[1].id], rows[decisions[2].id]
    assert (first.state, first.outcome, first.outcome_by) == ("answered", "didnt_work", ANA)
    assert first.due_at == datetime(2022, 5, 2, tzinfo=UTC)
    assert (second.state, second.outcome) == ("unanswered", None)
    assert [(a.user_id, a.role, a.outcome, a.dissent_answer) for a in asks] == [
        (ANA, "owner", "didnt_work", None),
        (BOB, "dissenter", None, "yes"),
    ]
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(DueWork)).scalar_one() == 0


def test_people_are_matched_to_members_and_the_others_kept_as_text(db: Database):
    record = adr(
        1,
        "People",
        deciders=[
            PersonRef.parse("ana@example.com"),
            PersonRef.parse("Bob Builder"),
            PersonRef.parse("Nobody Known"),
        ],
        consulted=[PersonRef.parse(f"Carl (@{CARL})"), PersonRef.parse("Sam")],
        informed=[PersonRef.parse("Dana Ray"), PersonRef.parse("Dana Ray")],
        stances=[
            StanceRecord("agree", PersonRef.parse("Bob Builder")),
            StanceRecord("disagree_and_commit", PersonRef.parse("Nobody Known"), concern="cost"),
        ],
    )
    report = run_import(db, [source("0001-people.md", record)], people=PeopleIndex(USERS))
    snap = snapshot(db, TEAM)[1]
    assert snap["members"] == sorted(
        [("decider", ANA), ("decider", BOB), ("consulted", CARL), ("informed", DANA)]
    )
    assert snap["named"] == {"decider": ["Nobody Known"], "consulted": ["Sam"]}
    assert snap["stances"] == [(BOB, "agree", "", "", False, "")]
    assert by_number(db)[1].author_id == ANA  # the first decider who is a Slack user
    assert ("0001-people.md", "kept as text (no Slack user matches): Nobody Known, Sam") in (
        report.warnings
    )
    assert ("0001-people.md", "stance of 'Nobody Known' left out: no Slack user matches") in (
        report.warnings
    )
    with db.read() as s:
        record_out = next(export_records(s, team_id=TEAM))
    assert [(p.text, p.user_id) for p in record_out.deciders] == [
        (ANA, ANA),  # no name cached for them: the id stands in
        (BOB, BOB),
        ("Nobody Known", None),
    ]
