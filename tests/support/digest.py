"""Rows for the weekly digest tests, made by the real storage functions (decisions, stances,
reviews, estimate rounds, parking items; ``move`` shifts a row in time with a plain UPDATE), the
week they fall in, and what ``gather`` and the views make of them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from bot.core.render import channel_link
from bot.features.digest.views import digest_blocks
from storage import decisions as decisions_repo
from storage import estimates as estimates_repo
from storage import parking as parking_repo
from storage.db import Database
from storage.decisions import DecisionDraft
from storage.digest import Coverage, DigestData, gather
from storage.estimates import RoundDraft
from storage.models import (
    Counter,
    Decision,
    DecisionStatus,
    DigestSection,
    EstimateRound,
    ParkingItem,
    Review,
    ReviewAsk,
    Stance,
    utcnow,
)
from storage.numbers import next_number
from storage.visibility import Viewer

TEAM, OTHER_TEAM = "T1", "T2"
PUBLIC, PRIVATE, OTHER = "CPUB", "CPRIV", "COTHER"
AUTHOR, FACILITATOR, CONFIGURER = "UAUTHOR", "UFAC", "U0CONF"
END = utcnow().replace(microsecond=0) + timedelta(hours=1)
START = END - timedelta(days=7)
TODAY = END.date()
WORKSPACE = Coverage(TEAM, None)
EVERYTHING = tuple(DigestSection)


# -- making rows -----------------------------------------------------------------------------


def decision(
    db: Database,
    *,
    channel: str = PUBLIC,
    private: bool = False,
    title: str = "Use Postgres",
    team: str = TEAM,
    status: DecisionStatus = DecisionStatus.PROPOSED,
    created: datetime | None = None,
    supersedes: int | None = None,
) -> Decision:
    with db.session() as s:
        d = decisions_repo.create_decision(
            s,
            team_id=team,
            author_id=AUTHOR,
            draft=DecisionDraft(
                title=title, decision="We do it.", channel_id=channel, status=status
            ),
            channel_private=private,
            supersedes_number=supersedes,
        )
    if created is not None:
        move(db, Decision, d.id, created_at=created)
    return d


def move(db: Database, model: Any, row_id: int | None, **values: Any) -> None:
    """Put a row somewhere else in time (or state) than the storage function left it."""
    with db.session() as s:
        s.execute(update(model).where(model.id == row_id).values(**values))


def gathered(
    db: Database, coverage: Coverage = WORKSPACE, sections: Any = EVERYTHING
) -> DigestData:
    with db.read() as s:
        return gather(s, coverage=coverage, start=START, end=END, sections=sections, today=TODAY)


def blocks_of(data: DigestData, *, late: bool = False, quiet_line: bool = False) -> Any:
    return digest_blocks(
        data,
        title="Weekly digest",
        coverage_label=channel_link(PUBLIC),
        window_label="last week",
        late=late,
        configured_by=CONFIGURER,
        quiet_line=quiet_line,
    )


def text_of(blocks: list[dict[str, Any]]) -> str:
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(out)


# -- estimates -------------------------------------------------------------------------------


def _round(
    db: Database,
    *,
    topic: str,
    channel: str = PUBLIC,
    private: bool = False,
    p50: float | None = 5.0,
    p90: float = 8.0,
    actual: float | None = None,
    revealed_at: datetime | None = None,
    actual_at: datetime | None = None,
    unit: str = "days",
) -> EstimateRound:
    with db.session() as s:
        rnd = estimates_repo.create_round(
            s,
            team_id=TEAM,
            facilitator_id=FACILITATOR,
            draft=RoundDraft(
                topic=topic, unit=unit, phase="design", channel_id=channel, tasks=[], invitees=[]
            ),
            viewer=Viewer(user_id=FACILITATOR, channel_id=channel),
        )
        estimates_repo.set_post_result(s, rnd=rnd, message_ts="1.1", error=None, private=private)
        estimates_repo.submit_estimate(
            s,
            rnd=rnd,
            user_id=FACILITATOR,
            ranges=[(3.0, 5.0, 9.0)],
            confidence=80,
            familiarity="similar",
            assumptions="",
        )
        estimates_repo.reveal(s, rnd=rnd, actor_id=FACILITATOR, why="facilitator")
        if p50 is not None:
            estimates_repo.set_result(
                s,
                rnd=rnd,
                result={"p50": p50, "p90": p90, "likely": p50, "low": p50 / 2, "worst": p90 * 1.2},
            )
        if actual is not None:
            estimates_repo.record_actual(s, rnd=rnd, actor_id=FACILITATOR, value=actual)
        s.flush()
    values: dict[str, Any] = {}
    if revealed_at is not None:
        values["revealed_at"] = revealed_at
    if actual_at is not None:
        values["actual_at"] = actual_at
    if values:
        move(db, EstimateRound, rnd.id, **values)
    return rnd


# -- the parking lot -------------------------------------------------------------------------


def _item(
    db: Database, request: str, *, channel: str = PUBLIC, private: bool = False
) -> ParkingItem:
    with db.session() as s:
        item = parking_repo.create_item(
            s,
            team_id=TEAM,
            parked_by=AUTHOR,
            request=request,
            requester_id="UREQ",
            why="",
            channel_id=channel,
            thread_ts=None,
            scores=parking_repo.Scores(),
            decision_number=None,
            round_number=None,
            viewer=Viewer(user_id=AUTHOR, channel_id=channel),
        )
        parking_repo.set_post_result(s, item=item, private=private)
    return item


def _act(db: Database, item: ParkingItem, **kw: Any) -> None:
    with db.session() as s:
        current = parking_repo.get_item_by_id(s, team_id=TEAM, item_id=item.id)  # type: ignore[arg-type]
        if "reach" in kw:
            parking_repo.score(s, item=current, actor_id=AUTHOR, scores=parking_repo.Scores(**kw))
        elif "today" in kw:
            parking_repo.resurface(s, item=current, today=kw["today"])
        else:
            parking_repo.transition(s, item=current, actor_id=AUTHOR, **kw)


# -- many decisions at once, in bulk SQL -----------------------------------------------------------


def _bulk_decisions(db: Database, count: int, channel: str) -> None:
    """``count`` decisions in the week with stances, reviews and dissent (bulk inserts)."""
    now = utcnow()
    with db.session() as s:
        first = next_number(s, team_id=TEAM, kind="adr")
        rows = [
            {
                "team_id": TEAM,
                "number": first + n,
                "title": f"Decision {n} <!channel>",
                "decision": "x",
                "status": "proposed",
                "tags": "",
                "channel_id": channel,
                "channel_private": False,
                "author_id": AUTHOR,
                "created_at": now - timedelta(minutes=n),
                "updated_at": now,
            }
            for n in range(count)
        ]
        s.execute(Decision.__table__.insert(), rows)  # type: ignore[attr-defined]
        s.execute(
            update(Counter)
            .where(Counter.team_id == TEAM, Counter.kind == "adr")
            .values(value=first + count)
        )
    with db.session() as s:
        ids = list(
            s.execute(
                select(Decision.id).where(Decision.team_id == TEAM, Decision.channel_id == channel)
            ).scalars()
        )
        s.execute(
            Stance.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "team_id": TEAM,
                    "decision_id": i,
                    "user_id": u,
                    "kind": k,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in ids
                for u, k in (("U2", "agree"), ("U3", "disagree_and_commit"))
            ],
        )
        s.execute(
            Review.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "team_id": TEAM,
                    "decision_id": i,
                    "round": 1,
                    "due_at": now - timedelta(days=2),
                    "timezone": "UTC",
                    "state": "answered",
                    "outcome": "worked",
                    "outcome_at": now - timedelta(days=1),
                    "created_at": now,
                    "nudges_sent": 0,
                }
                for i in ids
            ],
        )
        review_ids = list(
            s.execute(select(Review.id).where(Review.decision_id.in_(ids))).scalars()  # type: ignore[union-attr]
        )
        s.execute(
            ReviewAsk.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "team_id": TEAM,
                    "review_id": r,
                    "user_id": "U3",
                    "role": "dissenter",
                    "dissent_answer": "yes",
                    "answered_at": now - timedelta(days=1),
                }
                for r in review_ids
            ],
        )
