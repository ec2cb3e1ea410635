"""Redaction: take a field's text (a pasted secret, a wrong name) out of a decision everywhere
it is kept, in one transaction.

`/adr redact N <field>` replaces the field's text in the record *and* every value of that
field in its history (``edited`` events keep old and new values; ``stance`` events keep a
person's concern, what would change their mind and their block reason, and the stance they
replaced) with ``redacted by <@actor> on YYYY-MM-DD``. The redaction itself is a history event
saying who, when and which field, never the old text. In the same transaction: the channel
message's refresh and one rewrite per DM the bot can still edit (informed DMs and review
questions whose ts it kept), as outbox rows. The search index follows the record: SQLite's
FTS5 table through its UPDATE trigger, Postgres' generated ``search_vector`` by itself.

Who may: the author, the deciders, workspace admins, and for a stance the person whose stance
it is. Tags cannot hold a sentence: redacting them clears them (the history says so).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlmodel import Session, col

from storage.decision_work import (
    DecisionWork,
    schedule_redact_dm,
    schedule_refresh,
    schedule_search_purge,
)
from storage.decisions import events, get_decision, is_changer, record_event
from storage.errors import NotAllowed, NotFound
from storage.models import (
    Decision,
    DecisionEvent,
    DueWork,
    JsonObject,
    Review,
    ReviewAsk,
    WorkState,
    utcnow,
)
from storage.people import is_workspace_admin
from storage.reviews import DISSENTER, ReviewWork
from storage.stances import current_stance
from storage.visibility import Viewer

# What people type -> the decision's column.
FIELDS: dict[str, str] = {
    "title": "title",
    "context": "context",
    "options": "options",
    "decision": "decision",
    "consequences": "consequences",
    "success": "success_criteria",
    "tags": "tags",
    # an imported ADR file's other sections (each body; headings stay) and the names in it
    # that matched no Slack user; neither is ever in an edit's history
    "sections": "extra_sections",
    "names": "named_people",
}
STANCE = "stance"  # a person's stance texts: concern, what would change their mind, reason
STANCE_TEXTS = ("concern", "change_my_mind", "reason")
FIELD_LIST = (
    "title, context, options, decision, consequences, success, tags, sections, names, "
    "or stance @person"
)
REDACTED_EVENT = "redacted"

_MARKER = re.compile(r"^redacted by <@([UW][A-Z0-9]{1,31})> on (\d{4}-\d{2}-\d{2})$")


def marker(actor_id: str, day: date) -> str:
    """The text that replaces what was redacted."""
    return f"redacted by <@{actor_id}> on {day.isoformat()}"


def parse_marker(text: str) -> tuple[str, str] | None:
    """(actor id, YYYY-MM-DD) if ``text`` is exactly a redaction marker."""
    found = _MARKER.match(text or "")
    return (found.group(1), found.group(2)) if found else None


@dataclass(frozen=True)
class Redacted:
    """What a redaction did: on which decision, which field (and whose stance), how many
    history events and DMs it rewrote."""

    decision: Decision
    field: str
    person: str | None
    events: int
    dms: int


def may_redact(
    session: Session, *, decision: Decision, actor_id: str, person: str | None = None
) -> bool:
    """The author, the deciders, a workspace admin; for a stance, also its own person."""
    if person is not None and person == actor_id:
        return True
    if is_changer(session, decision, actor_id):
        return True
    return is_workspace_admin(session, team_id=decision.team_id, user_id=actor_id)


def redact(
    session: Session,
    *,
    team_id: str,
    number: int,
    actor_id: str,
    field: str,
    today: date,
    person: str | None = None,
    viewer: Viewer | None = None,
) -> Redacted:
    """Redact ``field`` (a key of FIELDS, or STANCE with ``person``) of ADR-number.

    Raises NotFound (no such decision, or one the actor may neither see nor redact; no
    stance of that person) or NotAllowed."""
    decision = get_decision(session, team_id=team_id, number=number, for_update=True)
    if not may_redact(session, decision=decision, actor_id=actor_id, person=person):
        if viewer is not None:
            get_decision(session, team_id=team_id, number=number, viewer=viewer)  # NotFound
        if field == STANCE:
            raise NotAllowed(
                f"Only the author, the deciders of {decision.ref}, workspace admins and "
                "the person themselves can redact a stance."
            )
        raise NotAllowed(
            f"Only the author, the deciders of {decision.ref} and workspace admins can redact it."
        )
    text = marker(actor_id, today)
    with _zeroing_freed_bytes(session):
        if field == STANCE:
            if person is None:
                raise NotFound("Whose stance? For example `/adr redact 7 stance @ana`.")
            changed = _redact_stance(session, decision, person, text)
        else:
            changed = _redact_field(session, decision, FIELDS[field], text)
    decision.updated_at = utcnow()  # the message's fingerprint changes: the refresh re-renders
    session.add(decision)
    detail: JsonObject = {"field": field}
    if person is not None:
        detail["person"] = person
    record_event(session, decision=decision, actor_id=actor_id, kind=REDACTED_EVENT, details=detail)
    schedule_refresh(session, decision=decision)
    schedule_search_purge(session, decision=decision)
    dms = _rewrite_dms(session, decision)
    session.flush()
    return Redacted(decision=decision, field=field, person=person, events=changed, dms=dms)


@contextmanager
def _zeroing_freed_bytes(session: Session) -> Iterator[None]:
    """On SQLite, the bytes freed by what runs inside are overwritten with zeros (old text
    would otherwise stay in the file's free space until reused; many builds do this by
    default). The connection's own setting is restored afterwards: it goes back to the pool."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    conn = session.connection()
    before = int(conn.exec_driver_sql("PRAGMA secure_delete").scalar() or 0)
    conn.exec_driver_sql("PRAGMA secure_delete=1")
    try:
        yield
        session.flush()  # the ORM writes its changes while it is on
    finally:
        conn.exec_driver_sql(f"PRAGMA secure_delete={before}")


def purge_search_index(session: Session) -> None:
    """Physically drop the terms a redaction removed from SQLite's FTS5 index. Its UPDATE
    trigger only adds delete markers: the old terms stay in older index segments (readable in
    a copy of the file) until those are merged. 'optimize' merges every segment, with freed
    pages zeroed. It takes about 1 s per 100,000 decisions holding the write lock, so it runs
    in the dispatcher (``decision.purge_search``), not before the ack. Postgres regenerates
    ``search_vector`` with the row; the old row version is removed by (auto)vacuum."""
    if session.get_bind().dialect.name != "sqlite":
        return
    with _zeroing_freed_bytes(session):
        session.connection().exec_driver_sql(
            "INSERT INTO decisions_fts(decisions_fts) VALUES('optimize')"
        )


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _save_detail(event: DecisionEvent, detail: JsonObject) -> None:
    event.detail = json.dumps(detail, default=str, ensure_ascii=False)


def _redact_field(session: Session, decision: Decision, column: str, text: str) -> int:
    """The record's value (an empty one stays empty), then every edit's old and new value."""
    current = getattr(decision, column)
    if column == "extra_sections":
        sections = json.loads(current or "[]")
        setattr(decision, column, json.dumps([[s[0], text] for s in sections], ensure_ascii=False))
        return 0
    if column == "named_people":
        setattr(decision, column, "{}")
        return 0
    if column == "tags":
        setattr(decision, column, "")
    elif not _blank(current):
        setattr(decision, column, text)
    changed = 0
    for event in events(session, decision=decision):
        detail = json.loads(event.detail or "{}")
        changes = detail.get("changes")
        if not isinstance(changes, dict) or column not in changes:
            continue
        changes[column] = [v if _blank(v) else text for v in changes[column]]
        _save_detail(event, detail)
        session.add(event)
        changed += 1
    return changed


def _redact_texts(values: JsonObject, text: str) -> bool:
    hit = False
    for name in STANCE_TEXTS:
        if not _blank(values.get(name)):
            values[name] = text
            hit = True
    return hit


def _redact_stance(session: Session, decision: Decision, person: str, text: str) -> int:
    """A person's stance texts: their current stance, every stance event of theirs (and the
    stance each replaced), and the concern copied into review questions."""
    stance = current_stance(session, decision=decision, user_id=person)
    stance_events = [
        e for e in events(session, decision=decision) if e.kind == "stance" and e.actor_id == person
    ]
    if stance is None and not stance_events:
        raise NotFound(f"<@{person}> has no stance on {decision.ref}.")
    if stance is not None:
        for name in STANCE_TEXTS:
            if not _blank(getattr(stance, name)):
                setattr(stance, name, text)
        session.add(stance)
    changed = 0
    for event in stance_events:
        detail = json.loads(event.detail or "{}")
        hit = _redact_texts(detail, text)
        previous = detail.get("previous")
        if isinstance(previous, dict):
            hit = _redact_texts(previous, text) or hit
        if hit:
            _save_detail(event, detail)
            session.add(event)
            changed += 1
    review_ids = _review_ids(session, decision)
    if review_ids:
        for ask in session.scalars(
            select(ReviewAsk).where(
                col(ReviewAsk.team_id) == decision.team_id,
                col(ReviewAsk.review_id).in_(review_ids),
                col(ReviewAsk.user_id) == person,
                col(ReviewAsk.role) == DISSENTER,
            )
        ):
            if not _blank(ask.concern):
                ask.concern = text
                session.add(ask)
    return changed


def _review_ids(session: Session, decision: Decision) -> list[int]:
    return list(
        session.scalars(
            select(col(Review.id)).where(
                col(Review.team_id) == decision.team_id, col(Review.decision_id) == decision.id
            )
        )
    )


def _sent(session: Session, team_id: str, kind: str, subject_ids: list[int]) -> list[DueWork]:
    if not subject_ids:
        return []
    return list(
        session.scalars(
            select(DueWork)
            .where(
                col(DueWork.team_id) == team_id,
                col(DueWork.kind) == kind,
                col(DueWork.subject_id).in_(subject_ids),
                col(DueWork.state) == WorkState.DONE,
            )
            .order_by(col(DueWork.id))
        )
    )


def _rewrite_dms(session: Session, decision: Decision) -> int:
    """Schedule a rewrite of every DM about ``decision`` whose ts the bot kept: informed DMs
    and review questions (each reminder is a message of its own). Returns how many."""
    seen: set[tuple[str, str]] = set()
    for row in _sent(session, decision.team_id, DecisionWork.INFORM, [decision.id or 0]):
        p = json.loads(row.payload or "{}")
        if p.get("channel") and p.get("ts") and (p["channel"], p["ts"]) not in seen:
            seen.add((p["channel"], p["ts"]))
            schedule_redact_dm(
                session,
                decision=decision,
                user_id=str(p.get("user") or ""),
                channel_id=p["channel"],
                message_ts=p["ts"],
                permalink=str(p.get("permalink") or ""),
            )
    review_ids = _review_ids(session, decision)
    newest_nudge: dict[int, int] = {}
    for row in _sent(session, decision.team_id, ReviewWork.ASK, review_ids):
        p = json.loads(row.payload or "{}")
        ask_id, nudge = int(p.get("ask_id") or 0), int(p.get("nudge") or 0)
        newest_nudge[ask_id] = max(nudge, newest_nudge.get(ask_id, 0))
        if p.get("channel") and p.get("ts") and (p["channel"], p["ts"]) not in seen:
            seen.add((p["channel"], p["ts"]))
            asked = session.get(ReviewAsk, ask_id)
            schedule_redact_dm(
                session,
                decision=decision,
                user_id=asked.user_id if asked is not None else "",
                channel_id=p["channel"],
                message_ts=p["ts"],
                ask_id=ask_id,
                nudge=nudge,
            )
    if review_ids:
        # Questions sent before their rows kept the ts: `review_asks` has the newest one.
        for ask in session.scalars(
            select(ReviewAsk).where(
                col(ReviewAsk.team_id) == decision.team_id, col(ReviewAsk.review_id).in_(review_ids)
            )
        ):
            if ask.channel_id and ask.message_ts and (ask.channel_id, ask.message_ts) not in seen:
                seen.add((ask.channel_id, ask.message_ts))
                schedule_redact_dm(
                    session,
                    decision=decision,
                    user_id=ask.user_id,
                    channel_id=ask.channel_id,
                    message_ts=ask.message_ts,
                    ask_id=ask.id,
                    nudge=newest_nudge.get(ask.id or 0, 0),
                )
    return len(seen)
