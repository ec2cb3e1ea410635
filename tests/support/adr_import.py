"""ADR records and imports for the storage and command tests of ADR files: records built by
hand, an import run on a database, and a snapshot of what it stored."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from adr_files.records import AdrRecord
from storage import decisions as repo
from storage import review_answers, reviews
from storage.adr_import import import_records
from storage.adr_people import PeopleIndex
from storage.db import Database
from storage.decisions import DecisionDraft
from storage.models import (
    Counter,
    Decision,
    DecisionEvent,
    DecisionLink,
    DecisionMember,
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
from storage.stances import set_stance

TEAM, OTHER = "TADRA", "TADRB"
CHANNEL = "CADRS"
ANA, BOB, CARL, DANA = "U0ANA", "U0BOB", "U0CARL", "U0DANA"


@dataclass
class Source:
    """A parsed file as ``read_tree`` gives it."""

    path: str
    sha256: str
    record: AdrRecord
    text: str = ""  # records built by hand have no file text


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
        set_stance(s, team_id=team, number=base.number, user_id=BOB, kind=StanceKind.AGREE)
        set_stance(
            s,
            team_id=team,
            number=base.number,
            user_id=CARL,
            kind=StanceKind.DISAGREE_AND_COMMIT,
            concern="ops cost",
            change_my_mind="a managed offer",
        )
        set_stance(
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
        review_answers.record_outcome(
            s,
            team_id=team,
            review_id=review.id,
            user_id=BOB,
            outcome=Outcome.PARTLY,
            what_happened="slow migrations",
            evidence="dashboards",
            learned="plan for it",
        )
        review_answers.record_dissent(
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


# -- files (the parser and the writer) --------------------------------------------------------


def _adr_files() -> tuple[Any, Any]:
    from adr_files import parse, write

    return parse, write
