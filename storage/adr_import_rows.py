"""One imported file's rows (``storage.adr_import``): its decision, people, stances, review
and scored forecasts, checked against the app's values and limits first (``_Refused`` says why
a file cannot be imported), inserted with statements built once.

Decision health (issue 25): the file's door is the decision's; its scored forecasts become
forecasts of nobody (``user_id`` None, source ``import``, state ``scored``, with their outcome
and Brier score, tied to the file's review round when it has one). A decision imported as
accepted was accepted when it was recorded (``accepted_at`` is its date, as for a decision
recorded as accepted in Slack); one imported rejected, superseded or deprecated ended then
(``closed_at``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time

from sqlalchemy import exc as sa_exc
from sqlalchemy import insert
from sqlmodel import Session

from adr_files.records import ReviewRecord
from storage.adr_export import ROLES
from storage.adr_import_plan import _Planned
from storage.adr_people import PeopleIndex
from storage.forecasts import OUTCOME_VALUE, brier
from storage.models import (
    DecisionStatus,
    DissentAnswer,
    Door,
    Forecast,
    ForecastSource,
    ForecastState,
    Outcome,
    ReviewState,
    Role,
    StanceKind,
)
from storage.tables import ASKS, DECISIONS, EVENTS, LINKS, MEMBERS, REVIEWS, STANCES, table_of

TITLE_MAX = 200
IMPORTED_ROUND = 1  # the review round a file's Review section becomes
PATH_MAX = 500
TAGS_MAX = 600


# Built once: an import runs them thousands of times (parameters only, no new statements).
_ADD_DECISION = insert(DECISIONS).returning(DECISIONS.c.id)
_ADD_REVIEW = insert(REVIEWS).returning(REVIEWS.c.id)
_ADD_EVENT = insert(EVENTS)
_ADD_MEMBERS = insert(MEMBERS)
_ADD_STANCES = insert(STANCES)
_ADD_ASKS = insert(ASKS)
_ADD_LINK = insert(LINKS)
_ADD_FORECASTS = insert(table_of(Forecast))
_CLOSED = (DecisionStatus.REJECTED, DecisionStatus.SUPERSEDED, DecisionStatus.DEPRECATED)


class _Refused(Exception):
    """This file cannot be imported; the message says why, for the operator."""


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


_TAG_BAD = re.compile(r"[^a-z0-9_.-]+")


def _tag(raw: str) -> str:
    """A tag as `/adr`'s form keeps it: lower case, no ``#``, letters, digits, ``- _ .``."""
    tag = _TAG_BAD.sub("-", raw.strip().lower().lstrip("#")).strip("-_.")
    return tag[:30].rstrip("-_.")


def _refuse_unless(value: str | None, allowed: Iterable[str], what: str) -> None:
    if value is not None and value not in set(allowed):
        raise _Refused(f"{what} {value!r} is not one of {', '.join(sorted(allowed))}")


def _integrity_reason(exc: sa_exc.IntegrityError) -> str:
    text = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
    for needle, reason in (
        ("review_asks", "the review asks the same person twice in the same role"),
        ("stances", "the same person has two stances"),
        ("decision_members", "the same person is named twice in one role"),
        ("source", "this file was imported meanwhile (run the import again)"),
        ("number", "its number was taken meanwhile (run the import again)"),
    ):
        if needle in text:
            return reason
    return f"the database refused it ({type(exc.orig).__name__ if exc.orig else 'IntegrityError'})"


def _insert_decision(
    session: Session,
    item: _Planned,
    *,
    team_id: str,
    enterprise_id: str | None,
    channel_id: str,
    channel_private: bool,
    people: PeopleIndex,
    actor_id: str,
    now: datetime,
    notes: list[tuple[str, str]],
) -> int:
    """One file's decision, people, stances, review and history event; its id."""
    record, path = item.record, item.path
    title = record.title.strip()
    if not title:
        raise _Refused("it has no title")
    if len(title) > TITLE_MAX:
        raise _Refused(
            f"its title has {len(title)} characters; at most {TITLE_MAX} fit: shorten it"
        )
    if len(path) > PATH_MAX:
        raise _Refused(f"its path is longer than {PATH_MAX} characters")
    _refuse_unless(record.status, set(DecisionStatus), "status")
    for stance in record.stances:
        _refuse_unless(stance.kind, set(StanceKind), "stance")
    if record.review is not None:
        _refuse_unless(record.review.outcome, set(Outcome), "review outcome")
        for ask in record.review.asks:
            _refuse_unless(ask.outcome, set(Outcome), "review outcome")
            _refuse_unless(ask.dissent_answer, set(DissentAnswer), "dissent answer")
            _refuse_unless(ask.role, {"owner", "dissenter"}, "review role")
    _refuse_unless(record.door, set(Door), "door")
    for forecast in record.forecasts:
        _refuse_unless(forecast.outcome, set(Outcome), "forecast outcome")
        if not 1 <= forecast.probability <= 99:
            raise _Refused(f"a forecast of {forecast.probability}% is not between 1 and 99%")

    tags: list[str] = []
    for raw in record.tags:
        tag = _tag(raw)
        if tag != raw:
            notes.append((path, f"tag {raw!r} kept as {tag!r}" if tag else f"tag {raw!r} left out"))
        if tag and tag not in tags:
            tags.append(tag)
    tag_text = f" {' '.join(tags)} " if tags else ""
    if len(tag_text) > TAGS_MAX:
        raise _Refused(f"its tags take more than {TAGS_MAX} characters")

    members: list[tuple[str, str]] = []  # (role, user)
    named: dict[str, list[str]] = {}
    for role, attr in ROLES:
        for ref in getattr(record, attr):
            user = people.match(ref)
            if user is None:
                if ref.text.strip() and ref.text not in named.get(role, []):
                    named.setdefault(str(role), []).append(ref.text.strip())
            elif (str(role), user) not in members:
                members.append((str(role), user))
    if named and len(people):
        listed = ", ".join(n for names in named.values() for n in names)
        notes.append((path, f"kept as text (no Slack user matches): {listed}"))
    deciders = [u for r, u in members if r == Role.DECIDER]
    author = deciders[0] if deciders else actor_id
    created = _midnight(record.date) if record.date else now

    conn = session.connection()
    values = {
        "team_id": team_id,
        "enterprise_id": enterprise_id,
        "number": item.number,
        "title": title,
        "context": record.context,
        "options": record.options,
        "decision": record.decision,
        "consequences": record.consequences,
        "success_criteria": record.success_criteria,
        "status": record.status,
        "tags": tag_text,
        "review_date": record.review_date,
        "channel_id": channel_id,
        "channel_private": channel_private,
        "author_id": author,
        "source_path": path,
        "source_hash": item.sha256,
        "source_text": item.text or None,
        "source_format": (record.format or None) if item.text else None,
        "extra_sections": json.dumps([[h, b] for h, b in record.extra], ensure_ascii=False),
        "named_people": json.dumps(named, ensure_ascii=False) if named else "{}",
        "door": record.door,
        "accepted_at": created if record.status == DecisionStatus.ACCEPTED else None,
        "closed_at": created if record.status in _CLOSED else None,
        "created_at": created,
        "updated_at": created,
    }
    decision_id = int(conn.execute(_ADD_DECISION, values).scalar_one())
    if members:
        conn.execute(
            _ADD_MEMBERS,
            [
                {"team_id": team_id, "decision_id": decision_id, "user_id": u, "role": r}
                for r, u in members
            ],
        )
    stance_rows = []
    for stance in record.stances:
        user = people.match(stance.person)
        if user is None:
            notes.append(
                (path, f"stance of {stance.person.text!r} left out: no Slack user matches")
            )
            continue
        stance_rows.append(
            {
                "team_id": team_id,
                "decision_id": decision_id,
                "user_id": user,
                "kind": stance.kind,
                "concern": stance.concern,
                "change_my_mind": stance.change_my_mind,
                "committed": bool(
                    stance.committed or stance.kind == StanceKind.DISAGREE_AND_COMMIT
                ),
                "reason": stance.reason,
                "created_at": created,
                "updated_at": created,
            }
        )
    if stance_rows:
        conn.execute(_ADD_STANCES, stance_rows)
    review: tuple[int, datetime] | None = None
    if record.review is not None:
        review = _insert_review(
            session, record.review, team_id, decision_id, created, people, path, notes
        )
    if record.forecasts:
        review_id, scored_at = review if review is not None else (None, created)
        conn.execute(
            _ADD_FORECASTS,
            [
                {
                    "team_id": team_id,
                    "decision_id": decision_id,
                    "user_id": None,
                    "probability": forecast.probability,
                    "source": ForecastSource.IMPORT.value,
                    "state": ForecastState.SCORED.value,
                    "outcome": OUTCOME_VALUE[Outcome(forecast.outcome)],
                    "brier": brier(forecast.probability, OUTCOME_VALUE[Outcome(forecast.outcome)]),
                    "review_id": review_id,
                    "scored_at": scored_at,
                    "created_at": created,
                    "updated_at": created,
                }
                for forecast in record.forecasts
            ],
        )
    return decision_id


def _insert_review(
    session: Session,
    review: ReviewRecord,
    team_id: str,
    decision_id: int,
    created: datetime,
    people: PeopleIndex,
    path: str,
    notes: list[tuple[str, str]],
) -> tuple[int, datetime]:
    """The file's review as a finished round: its id, and when it was answered (or due)."""
    due = _midnight(review.due) if review.due else created
    asks = []
    outcome_by = None
    for ask in review.asks:
        user = people.match(ask.person)
        if user is None:
            notes.append(
                (path, f"review answer of {ask.person.text!r} left out: no Slack user matches")
            )
            continue
        answered = ask.outcome is not None or ask.dissent_answer is not None
        if ask.outcome is not None and outcome_by is None:
            outcome_by = user
        asks.append(
            {
                "team_id": team_id,
                "user_id": user,
                "role": ask.role,
                "concern": ask.concern,
                "outcome": ask.outcome,
                "what_happened": ask.what_happened,
                "evidence": ask.evidence,
                "learned": ask.learned,
                "dissent_answer": ask.dissent_answer,
                "answered_at": due if answered else None,
            }
        )
    values = {
        "team_id": team_id,
        "decision_id": decision_id,
        "round": IMPORTED_ROUND,
        "due_at": due,
        "timezone": "UTC",
        "state": str(ReviewState.ANSWERED if review.outcome else ReviewState.UNANSWERED),
        "nudges_sent": 0,
        "outcome": review.outcome,
        "outcome_by": outcome_by if review.outcome else None,
        "outcome_at": due if review.outcome else None,
        "created_at": due,
    }
    conn = session.connection()
    review_id = int(conn.execute(_ADD_REVIEW, values).scalar_one())
    if asks:
        conn.execute(_ADD_ASKS, [{**a, "review_id": review_id} for a in asks])
    return review_id, due
