"""ADR files in and out (issue 11): `storage/adr_import.py` and `storage/adr_export.py` against
SQLite and a real Postgres (``db``), and `decisionbot import` / `export` as an operator runs
them, against the Slack emulator. Nothing is mocked; records are built by hand where the
parser is not the subject.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from adr_files.records import (
    AdrRecord,
    AskRecord,
    LinkRef,
    PersonRef,
    ReviewRecord,
    StanceRecord,
)
from storage import decisions as repo
from storage import reviews
from storage.adr_export import export_files, export_records, export_to_dir
from storage.adr_import import import_records
from storage.adr_people import PeopleIndex
from storage.db import Database, statements_sent
from storage.decisions import DecisionDraft, Viewer
from storage.models import (
    Counter,
    Decision,
    DecisionEvent,
    DecisionLink,
    DecisionMember,
    DecisionStatus,
    DissentAnswer,
    DueWork,
    LinkKind,
    Outcome,
    Review,
    ReviewAsk,
    SlackUser,
    Stance,
    StanceKind,
)
from tests.harness import BOT_TOKEN
from tests.slack_emulator import SlackEmulator

TEAM, OTHER = "TADRA", "TADRB"
CHANNEL = "CADRS"
ANA, BOB, CARL, DANA = "U0ANA", "U0BOB", "U0CARL", "U0DANA"
FIXTURES = Path(__file__).parent / "data" / "adr_files"


@dataclass
class Source:
    """A parsed file as ``read_tree`` gives it."""

    path: str
    sha256: str
    record: AdrRecord


@dataclass
class Problem:
    path: str
    reason: str


def source(path: str, record: AdrRecord, salt: str = "") -> Source:
    return Source(path, hashlib.sha256(f"{record!r}{salt}".encode()).hexdigest(), record)


def adr(number: int | None, title: str, **kw: Any) -> AdrRecord:
    kw.setdefault("decision", f"We do {title.lower()}.")
    kw.setdefault("date", date(2021, 3, number or 1))
    kw.setdefault("status", "accepted")
    return AdrRecord(title=title, number=number, **kw)


def run_import(
    db: Database,
    files: list[Source],
    *,
    team: str = TEAM,
    people: PeopleIndex | None = None,
    dry_run: bool = False,
    private: bool = False,
    **kw: Any,
) -> Any:
    with db.session() as s:
        return import_records(
            s,
            team_id=team,
            channel_id=CHANNEL,
            channel_private=private,
            files=files,
            people=people or PeopleIndex(),
            actor_id="UBOT",
            dry_run=dry_run,
            **kw,
        )


def by_number(db: Database, team: str = TEAM) -> dict[int, Decision]:
    with db.read() as s:
        rows = s.execute(select(Decision).where(Decision.team_id == team)).scalars()
        return {d.number: d for d in rows}


def counts(db: Database) -> dict[str, int]:
    tables = (Decision, DecisionMember, Stance, Review, ReviewAsk, DecisionLink, DecisionEvent)
    with db.read() as s:
        out = {
            m.__tablename__: s.execute(select(func.count()).select_from(m)).scalar_one()
            for m in tables
        }  # type: ignore[attr-defined]
        out["due_work"] = s.execute(select(func.count()).select_from(DueWork)).scalar_one()
        out["counter"] = s.execute(select(func.coalesce(func.sum(Counter.value), 0))).scalar_one()
    return out


def create_in_slack(db: Database, title: str, *, team: str = TEAM, **kw: Any) -> Decision:
    """A decision made with `/adr` (the real allocation of ADR-n)."""
    values: dict[str, Any] = {"title": title, "decision": f"{title}.", "channel_id": CHANNEL}
    values.update(kw)
    with db.session() as s:
        return repo.create_decision(
            s, team_id=team, author_id=ANA, draft=DecisionDraft(**values), channel_private=False
        )


def snapshot(db: Database, team: str) -> dict[int, dict[str, Any]]:
    """Everything a decision holds that a file carries, keyed by number, with other decisions
    named by number (ids differ between workspaces)."""
    with db.read() as s:
        decisions = list(s.execute(select(Decision).where(Decision.team_id == team)).scalars())
        number = {d.id: d.number for d in decisions}
        out: dict[int, dict[str, Any]] = {}
        for d in decisions:
            members = s.execute(
                select(DecisionMember.role, DecisionMember.user_id)
                .where(DecisionMember.decision_id == d.id)
                .order_by(DecisionMember.id)
            ).all()
            stances = s.execute(
                select(
                    Stance.user_id,
                    Stance.kind,
                    Stance.concern,
                    Stance.change_my_mind,
                    Stance.committed,
                    Stance.reason,
                ).where(Stance.decision_id == d.id)
            ).all()
            answered = (
                s.execute(
                    select(Review)
                    .where(Review.decision_id == d.id, Review.outcome.is_not(None))
                    .order_by(Review.round.desc())
                )
                .scalars()
                .first()
            )
            asks = []
            if answered is not None:
                asks = s.execute(
                    select(
                        ReviewAsk.user_id,
                        ReviewAsk.role,
                        ReviewAsk.outcome,
                        ReviewAsk.what_happened,
                        ReviewAsk.evidence,
                        ReviewAsk.learned,
                        ReviewAsk.concern,
                        ReviewAsk.dissent_answer,
                    ).where(ReviewAsk.review_id == answered.id)
                ).all()
            links = s.execute(
                select(DecisionLink.other_id, DecisionLink.kind).where(
                    DecisionLink.decision_id == d.id
                )
            ).all()
            out[d.number] = {
                "title": d.title,
                "text": (d.context, d.options, d.decision, d.consequences, d.success_criteria),
                "status": d.status,
                "date": d.created_at.date(),
                "tags": d.tags,
                "review_date": d.review_date,
                "extra": json.loads(d.extra_sections),
                "named": json.loads(d.named_people),
                "members": sorted(tuple(m) for m in members),
                "stances": sorted(tuple(x) for x in stances),
                "outcome": (answered.outcome, answered.state, answered.outcome_by)
                if answered
                else None,
                "asks": sorted(tuple(a) for a in asks),
                "supersedes": number.get(d.supersedes_id),  # type: ignore[arg-type]
                "superseded_by": number.get(d.superseded_by_id),  # type: ignore[arg-type]
                "links": sorted((number[o], k) for o, k in links),
            }
    return out


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


# -- people ----------------------------------------------------------------------------------


USERS = [
    {
        "id": ANA,
        "name": "ana",
        "profile": {"email": "Ana@Example.com", "display_name": "ana.l", "real_name": "Ana Lima"},
    },
    {"id": BOB, "name": "bob", "real_name": "Bob Builder", "profile": {"real_name": "Bob Builder"}},
    {"id": CARL, "name": "carl", "profile": {"display_name": "Sam", "real_name": "Carl Jones"}},
    {"id": DANA, "name": "dana", "profile": {"display_name": "Sam", "real_name": "Dana Ray"}},
    {
        "id": "U0GONE",
        "deleted": True,
        "profile": {"real_name": "Gone Person", "email": "gone@example.com"},
    },
]


def test_people_index_matches_by_email_name_or_id_and_never_guesses():
    index = PeopleIndex(USERS)
    match = lambda text: index.match(PersonRef.parse(text))  # noqa: E731
    assert match("ana@example.com") == ANA
    assert match("Ana Lima <ANA@example.com>") == ANA
    assert match("ana lima") == ANA and match("@ana.l") == ANA
    assert match("Bob  Builder") == BOB
    assert match("Carl Jones") == CARL
    assert match("Sam") is None  # two people are called Sam
    assert match("Nobody Known") is None
    assert match("Gone Person") is None and match("gone@example.com") is None
    assert match("Whoever (@U0GONE)") == "U0GONE"  # a known id, even of someone who left
    assert match("Zed (@U0ZED)") is None  # an id this workspace does not have
    assert match("Bob Builder (@U0OTHERORG)") == BOB  # ...falls back to the name
    assert PeopleIndex().match(PersonRef.parse("Zed (@U0ZED)")) == "U0ZED"  # no list: trusted
    assert PeopleIndex().match(PersonRef.parse("Ana Lima")) is None


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


# -- round trips -----------------------------------------------------------------------------


def seed_workspace(db: Database, team: str) -> None:
    """Decisions made in Slack: stances of every kind, a review answered by an owner with a
    dissenter's answer, a supersede, an amend, tags, a review date, names in the cache."""
    with db.session() as s:
        s.add(SlackUser(team_id=team, user_id=ANA, name="Ana Lima"))
        s.add(SlackUser(team_id=team, user_id=BOB, name="Bob Builder"))
    base = create_in_slack(
        db,
        "Use Postgres",
        team=team,
        context="We need a store.",
        consequences="Ops learn Postgres.",
        success_criteria="p95 < 50 ms",
        tags=["db", "infra"],
        deciders=[ANA, BOB],
        consulted=[CARL],
        informed=[DANA],
        review_date=date(2022, 1, 10),
    )
    with db.session() as s:
        repo.set_stance(s, team_id=team, number=base.number, user_id=BOB, kind=StanceKind.AGREE)
        repo.set_stance(
            s,
            team_id=team,
            number=base.number,
            user_id=CARL,
            kind=StanceKind.DISAGREE_AND_COMMIT,
            concern="ops cost",
            change_my_mind="a managed offer",
        )
        repo.set_stance(
            s, team_id=team, number=base.number, user_id=DANA, kind=StanceKind.BLOCK, reason="legal"
        )
        decision = repo.get_decision(s, team_id=team, number=base.number)
        due = datetime(2022, 1, 10, 10, tzinfo=UTC)
        review = reviews.schedule_review(
            s, decision=decision, due_at=due, timezone="UTC", actor_id=ANA
        )
        reviews.open_review(
            s, team_id=team, review_id=review.id, now=due, nudge_at=due + timedelta(days=3)
        )
        reviews.record_outcome(
            s,
            team_id=team,
            review_id=review.id,
            user_id=BOB,
            outcome=Outcome.PARTLY,
            what_happened="slow migrations",
            evidence="dashboards",
            learned="plan for it",
        )
        reviews.record_dissent(
            s, team_id=team, review_id=review.id, user_id=CARL, answer=DissentAnswer.YES
        )
    with db.session() as s:
        repo.create_decision(
            s,
            team_id=team,
            author_id=ANA,
            draft=DecisionDraft(
                title="Use managed Postgres", decision="RDS.", channel_id=CHANNEL, deciders=[ANA]
            ),
            channel_private=False,
            supersedes_number=base.number,
        )
    amend = create_in_slack(db, "Tune autovacuum", team=team, deciders=[BOB])
    with db.session() as s:
        s.add(
            DecisionLink(team_id=team, decision_id=amend.id, other_id=base.id, kind=LinkKind.AMENDS)
        )
        d = s.execute(select(Decision).where(Decision.id == amend.id)).scalar_one()
        d.named_people = json.dumps({"consulted": ["External Auditor"]})
        d.extra_sections = json.dumps([["Links", "- https://example.com"]])


def as_sources(records: list[AdrRecord]) -> list[Source]:
    return [source(f"{r.number:04d}-{r.title.lower().replace(' ', '-')}.md", r) for r in records]


def test_export_then_import_into_an_empty_workspace_gives_the_same_decisions(db: Database):
    seed_workspace(db, TEAM)
    with db.session() as s:  # the people, as `decisionbot import` caches them from Slack
        s.add(SlackUser(team_id=OTHER, user_id=ANA, name="Ana Lima"))
        s.add(SlackUser(team_id=OTHER, user_id=BOB, name="Bob Builder"))
    with db.read() as s:
        records = list(export_records(s, team_id=TEAM))
    report = run_import(db, as_sources(records), team=OTHER)
    assert report.problems == [] and report.renumbered == [] and len(report.created) == 3
    original, copy = snapshot(db, TEAM), snapshot(db, OTHER)
    assert copy == original
    assert original[1]["outcome"] == (Outcome.PARTLY, "answered", BOB)
    assert len(original[1]["stances"]) == 3 and original[3]["named"]
    # and out again: the same records
    with db.read() as s:
        again = list(export_records(s, team_id=OTHER))
    assert again == records


def test_an_exported_review_is_due_on_the_day_it_was_asked_for_where_it_was_asked(db: Database):
    """09:00 on 5 January in Sydney is 22:00 on 4 January in UTC: the file says the 5th."""
    decision = create_in_slack(db, "Cache the catalogue", deciders=[ANA])
    due = datetime(2027, 1, 4, 22, tzinfo=UTC)
    with db.session() as s:
        review = reviews.schedule_review(
            s,
            decision=repo.get_decision(s, team_id=TEAM, number=decision.number),
            due_at=due,
            timezone="Australia/Sydney",
            actor_id=ANA,
        )
        reviews.open_review(
            s, team_id=TEAM, review_id=review.id, now=due, nudge_at=due + timedelta(days=3)
        )
        reviews.record_outcome(
            s, team_id=TEAM, review_id=review.id, user_id=ANA, outcome=Outcome.WORKED
        )
    with db.read() as s:
        [record] = list(export_records(s, team_id=TEAM))
    assert record.review is not None and record.review.due == date(2027, 1, 5)


def test_a_private_channels_decisions_are_absent_from_an_export_asked_for_elsewhere(db: Database):
    public = create_in_slack(db, "Public one")
    with db.session() as s:
        secret = repo.create_decision(
            s,
            team_id=TEAM,
            author_id=BOB,
            draft=DecisionDraft(title="Secret reorg", decision="x", channel_id="CPRIVATE"),
            channel_private=True,
        )
        s.add(DecisionLink(team_id=TEAM, decision_id=public.id, other_id=secret.id, kind="relates"))
    elsewhere = Viewer(user_id=CARL, channel_id=CHANNEL)
    with db.read() as s:
        seen = list(export_records(s, team_id=TEAM, visible_to=elsewhere))
        inside = list(export_records(s, team_id=TEAM, visible_to=Viewer(CARL, "CPRIVATE")))
        everything = list(export_records(s, team_id=TEAM))
    assert [r.title for r in seen] == ["Public one"]
    assert seen[0].links == []  # not even a link naming it
    assert [r.title for r in inside] == ["Public one", "Secret reorg"]
    assert [r.title for r in everything] == ["Public one", "Secret reorg"]
    assert everything[0].links == [LinkRef(kind="relates", number=secret.number)]


def test_export_reads_in_pages_with_a_few_queries_per_page(db: Database):
    for n in range(12):
        create_in_slack(db, f"Decision {n}", deciders=[ANA, BOB])
    with db.read() as s, statements_sent(db.engine) as statements:
        records = list(export_records(s, team_id=TEAM, page=5))
    assert [r.number for r in records] == list(range(1, 13))
    assert len(statements) <= 4 * 8  # 3 pages + the empty one, at most 8 statements each


# -- files (the parser and the writer) --------------------------------------------------------


def _adr_files() -> tuple[Any, Any]:
    from adr_files import parse, write

    return parse, write


def test_export_is_deterministic_and_a_changed_decision_rewrites_only_its_file(
    db: Database, tmp_path: Path
):
    _adr_files()
    seed_workspace(db, TEAM)
    out = tmp_path / "adr"
    with db.read() as s:
        first = export_to_dir(s, team_id=TEAM, root=out, fmt="madr")
    files = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(first.written) == 4 and "README.md" in files
    with db.read() as s:
        second = export_to_dir(s, team_id=TEAM, root=out, fmt="madr")
    assert second.written == [] and len(second.unchanged) == 4
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files

    with db.session() as s:
        repo.change_status(s, team_id=TEAM, number=3, actor_id=BOB, to=DecisionStatus.ACCEPTED)
    with db.read() as s:
        third = export_to_dir(s, team_id=TEAM, root=out, fmt="madr")
    assert sorted(third.written) == sorted(
        [n for n in files if n.startswith("0003-")] + ["README.md"]
    )
    with db.session() as s:
        draft = DecisionDraft(
            title="Tune autovacuum", decision="More often.", channel_id=CHANNEL, deciders=[BOB]
        )
        repo.update_decision(s, team_id=TEAM, number=3, actor_id=BOB, draft=draft)
    with db.read() as s:
        fourth = export_to_dir(s, team_id=TEAM, root=out, fmt="madr")
    assert list(fourth.written) == [n for n in files if n.startswith("0003-")]


@pytest.mark.parametrize("fmt", ["madr", "nygard"])
def test_one_decision_exports_as_the_same_file_a_whole_export_writes(db: Database, fmt: str):
    _adr_files()
    seed_workspace(db, TEAM)  # ADR-1, superseded by ADR-2, amended by ADR-3
    with db.session() as s:
        secret = repo.create_decision(
            s,
            team_id=TEAM,
            author_id=BOB,
            draft=DecisionDraft(title="Secret reorg", decision="x", channel_id="CPRIVATE"),
            channel_private=True,
        )
        s.add(
            DecisionLink(
                team_id=TEAM, decision_id=secret.id, other_id=by_number(db)[1].id, kind="amends"
            )
        )
    elsewhere = Viewer(user_id=CARL, channel_id=CHANNEL)
    for viewer in (None, elsewhere):
        with db.read() as s:
            whole = list(export_files(s, team_id=TEAM, fmt=fmt, visible_to=viewer))
            for number in (1, 2, 3, secret.number, 99):
                one = list(export_files(s, team_id=TEAM, fmt=fmt, visible_to=viewer, number=number))
                assert one == [f for f in whole if f[0].startswith(f"{number:04d}-")], number
    with db.read() as s:
        [(_name, first)] = export_files(s, team_id=TEAM, fmt=fmt, number=1)
        [(_name, first_seen_elsewhere)] = export_files(
            s, team_id=TEAM, fmt=fmt, visible_to=elsewhere, number=1
        )
        hidden = export_files(s, team_id=TEAM, fmt=fmt, visible_to=elsewhere, number=secret.number)
        assert list(hidden) == []
        assert [r.title for r in export_records(s, team_id=TEAM, number=secret.number)] == [
            "Secret reorg"
        ]
        assert not list(export_records(s, team_id=TEAM, visible_to=elsewhere, number=secret.number))
    assert "secret-reorg" in first and "secret-reorg" not in first_seen_elsewhere


@pytest.mark.parametrize("fmt", ["madr", "nygard"])
def test_files_round_trip_export_then_import(db: Database, tmp_path: Path, fmt: str):
    parse, _write = _adr_files()
    seed_workspace(db, TEAM)
    # What people type in a modal that is Markdown structure in a file: titles that start
    # like a number, headings and an unclosed code fence in the text
    create_in_slack(
        db,
        "2024: consolidate on AWS",
        context="# of users matters\n## not a section",
        decision="Plan:\n## Phase 1\nmigrate\n### Phase 2\n\\# kept as typed\n```py\nunclosed",
        consequences="### Risks\nsome",
    )
    create_in_slack(db, "ADR-1 follow-up: retries", decision="5. Retry three times.")
    with db.read() as s:
        export_to_dir(s, team_id=TEAM, root=tmp_path, fmt=fmt)
    files, problems = parse.read_tree(tmp_path)
    assert [p.path for p in problems] == ["README.md"]  # the index
    report = run_import(db, files, team=OTHER)
    assert report.problems == [] and report.renumbered == [] and len(report.created) == 5
    assert snapshot(db, OTHER) == snapshot(db, TEAM)
    copied = by_number(db, OTHER)
    assert copied[4].title == "2024: consolidate on AWS"
    assert copied[4].decision.endswith("### Phase 2\n\\# kept as typed\n```py\nunclosed")
    assert copied[5].title == "ADR-1 follow-up: retries"
    with db.read() as s:  # the counter stays at ADR-5, so the next /adr is ADR-6, not ADR-2025
        counter = s.execute(select(Counter.value).where(Counter.team_id == OTHER)).scalar_one()
    assert counter == 5


def fixture_files() -> list[Path]:
    if not FIXTURES.is_dir():
        return []
    return sorted(p for p in FIXTURES.rglob("*.md") if p.name.lower() != "readme.md")


def comparable(record: AdrRecord) -> dict[str, Any]:
    """A record's fields as import then export keep them: tags normalised, people as
    (text, id) with Slack users first, links by kind and number."""
    people = {
        role: sorted((p.user_id is None, p.user_id or p.text) for p in getattr(record, role))
        for role in ("deciders", "consulted", "informed")
    }
    return {
        "title": record.title,
        "number": record.number,
        "date": record.date,
        "status": record.status,
        "text": (
            record.context,
            record.options,
            record.decision,
            record.consequences,
            record.success_criteria,
        ),
        "tags": sorted({t.lower().lstrip("#") for t in record.tags}),
        "review_date": record.review_date,
        "extra": record.extra,
        "people": people,
        "links": sorted({(link.kind, link.number) for link in record.links}),
    }


REVERSE = {
    "amended_by": "amends",
    "superseded_by": "supersedes",
    "amends": "amended_by",
    "supersedes": "superseded_by",
}


def exported_links(record: AdrRecord) -> list[tuple[str, int | None]]:
    return [(link.kind, link.number) for link in record.links]


def test_import_then_export_reproduces_each_fixture_files_fields(db: Database):
    parse, _write = _adr_files()
    folders = sorted({p.parent for p in fixture_files()})
    assert len(folders) >= 6, folders  # nygard, madr2, madr3, madr4, no front matter, mixed
    for n, folder in enumerate(folders):
        team = f"TFIX{n}"
        files, _problems = parse.read_tree(folder)
        report = run_import(db, files, team=team)
        assert report.problems == [] and len(report.created) == len(files), folder.name
        kept = {p for p, ref, original in report.created if ref == f"ADR-{original}"}
        with db.read() as s:
            exported = {r.number: r for r in export_records(s, team_id=team)}
        declared = {
            (f.record.number, link.kind, link.number) for f in files for link in f.record.links
        }
        for f in files:
            if str(f.path) not in kept:
                continue
            original = comparable(f.record)
            again = comparable(exported[f.record.number])
            if f.record.date is None:
                original["date"] = again["date"]
            # Supersede and amend are written on both files (as adr-tools does): a link the
            # other file declared comes back on this one too.
            added = set(again.pop("links")) - set(original["links"])
            assert set(original.pop("links")) <= set(exported_links(exported[f.record.number]))
            for kind, other in added:
                assert (other, REVERSE[kind], f.record.number) in declared, (f.path, kind, other)
            assert again == original, f"{folder.name}/{f.path}"


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
        cwd=str(Path(__file__).parent.parent),
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
