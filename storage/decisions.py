"""Decision log queries and changes. Keyword-only, session first, always scoped to a team.

Every change that matters to people is recorded as a :class:`DecisionEvent` (actor, time, and
what was replaced), so a record's history can be shown and nothing typed is silently lost.
"""

from __future__ import annotations

import json
import re
from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    any_,
    bindparam,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlalchemy.sql import column
from sqlmodel import Session

from storage.errors import Conflict, InvalidInput, NotAllowed, NotFound
from storage.models import (
    Counter,
    Decision,
    DecisionEvent,
    DecisionLink,
    DecisionMember,
    DecisionStatus,
    EstimateRound,
    LinkKind,
    Review,
    Role,
    Stance,
    StanceKind,
    utcnow,
)

# Which status a lifecycle command may move a decision from.
TRANSITIONS: dict[DecisionStatus, frozenset[DecisionStatus]] = {
    DecisionStatus.ACCEPTED: frozenset({DecisionStatus.PROPOSED}),
    DecisionStatus.REJECTED: frozenset({DecisionStatus.PROPOSED}),
    DecisionStatus.DEPRECATED: frozenset({DecisionStatus.PROPOSED, DecisionStatus.ACCEPTED}),
    DecisionStatus.SUPERSEDED: frozenset({DecisionStatus.PROPOSED, DecisionStatus.ACCEPTED}),
}
EDITABLE_FIELDS = (
    "title",
    "context",
    "options",
    "decision",
    "consequences",
    "success_criteria",
    "tags",
    "review_date",
)


@dataclass
class DecisionDraft:
    """Validated input for a new decision or an edit (built by the modal parser)."""

    title: str
    decision: str
    context: str = ""
    options: str = ""
    consequences: str = ""
    success_criteria: str = ""
    status: DecisionStatus = DecisionStatus.PROPOSED
    tags: list[str] = field(default_factory=list)
    review_date: date | None = None
    deciders: list[str] = field(default_factory=list)
    consulted: list[str] = field(default_factory=list)
    informed: list[str] = field(default_factory=list)
    channel_id: str = ""


@dataclass(frozen=True)
class Viewer:
    """Who is looking, and from which channel (None: App Home or a DM with the bot).

    ``guest``: a guest, an outsider from another organisation, or someone not known yet
    (storage.people): they see a decision only from the channel it was posted in."""

    user_id: str
    channel_id: str | None = None
    guest: bool = False


@dataclass
class DecisionRecord:
    """A decision with everything `/adr show` needs, read in one unit of work."""

    decision: Decision
    members: dict[str, list[str]]
    stances: list[Stance]
    events: list[DecisionEvent]
    supersedes: Decision | None
    superseded_by: Decision | None
    # `/estimate` rounds that name this decision (`/estimate ADR-12 ...`), oldest first
    rounds: list[EstimateRound] = field(default_factory=list)
    # amend and relates-to links (from ADR files), as (label, ADR number), in number order
    links: list[tuple[str, int]] = field(default_factory=list)

    @property
    def named_people(self) -> dict[str, list[str]]:
        """People an imported file named who match no Slack user, by role (kept as text)."""
        return _json_object(self.decision.named_people)

    @property
    def extra_sections(self) -> list[tuple[str, str]]:
        """Sections of an imported file the bot has no field for, in the file's order."""
        try:
            raw = json.loads(self.decision.extra_sections or "[]")
        except ValueError:
            return []
        if not isinstance(raw, list):
            return []
        return [(str(p[0]), str(p[1])) for p in raw if isinstance(p, list) and len(p) == 2]

    @property
    def tally(self) -> Tally[str]:
        return Tally(s.kind for s in self.stances)


# -- numbers ---------------------------------------------------------------------------------


def next_number(session: Session, *, team_id: str, kind: str) -> int:
    """Allocate the next per-workspace number for ``kind`` atomically (one statement)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Counter)
        .values(team_id=team_id, kind=kind, value=1)
        .on_conflict_do_update(
            index_elements=["team_id", "kind"], set_={"value": Counter.value + 1}
        )
        .returning(Counter.value)
    )
    return int(session.execute(stmt).scalar_one())


def advance_number(session: Session, *, team_id: str, kind: str, past: int) -> None:
    """Make sure the next ``next_number`` for ``kind`` is above ``past`` (a decision imported
    with its own number): the counter only ever moves forward, in one statement."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Counter).values(team_id=team_id, kind=kind, value=past)
    biggest = func.greatest if dialect == "postgresql" else func.max  # SQLite's max(a, b)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["team_id", "kind"],
            set_={"value": biggest(Counter.value, stmt.excluded.value)},
        )
    )


# -- reading ---------------------------------------------------------------------------------


def channel_visibility(viewer: Viewer, *, channel: Any, private: Any, named: list[Any]) -> Any:
    """The rule for anything posted in a channel (decisions, estimate rounds, parked items):
    guests (and outsiders) see it only in its channel, even one they wrote or are named on —
    what they can read in Slack, and nothing more; everyone else sees public ones anywhere,
    private ones in their channel, and those naming them (``named`` clauses)."""
    if viewer.guest:
        if not viewer.channel_id:
            return false()
        return channel == viewer.channel_id
    clauses = [private == false(), *named]
    if viewer.channel_id:
        clauses.append(channel == viewer.channel_id)
    return or_(*clauses)


def _visible_to(viewer: Viewer) -> Any:
    named = exists().where(
        DecisionMember.decision_id == Decision.id, DecisionMember.user_id == viewer.user_id
    )
    return channel_visibility(
        viewer,
        channel=Decision.channel_id,
        private=Decision.channel_private,
        named=[Decision.author_id == viewer.user_id, named],
    )


def visible_condition(viewer: Viewer) -> Any:
    """The WHERE clause "``viewer`` may see this decision" (for queries built elsewhere, such as
    the ADR file export)."""
    return _visible_to(viewer)


def numbered(
    session: Session,
    model: Any,
    *,
    team_id: str,
    number: int,
    visible: Any | None,
    for_update: bool,
    ref: str,
) -> Any:
    """A workspace's ADR-n / E-n / P-n (``model`` has ``team_id`` and ``number``), narrowed
    to what a viewer may see (``visible``, or None: no viewer), optionally locked."""
    stmt = select(model).where(model.team_id == team_id, model.number == number)
    if visible is not None:
        stmt = stmt.where(visible)
    if for_update:
        stmt = stmt.with_for_update()
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise NotFound(f"{ref} doesn't exist in this workspace (or isn't visible to you).")
    return found


def get_decision(
    session: Session,
    *,
    team_id: str,
    number: int,
    viewer: Viewer | None = None,
    for_update: bool = False,
) -> Decision:
    """The decision ``ADR-number`` of this workspace, if ``viewer`` may see it."""
    return numbered(
        session,
        Decision,
        team_id=team_id,
        number=number,
        visible=_visible_to(viewer) if viewer is not None else None,
        for_update=for_update,
        ref=f"ADR-{number}",
    )


def get_decision_by_id(
    session: Session, *, team_id: str, decision_id: int, for_update: bool = False
) -> Decision:
    if for_update:
        found = session.execute(
            select(Decision)
            .where(Decision.team_id == team_id, Decision.id == decision_id)
            .with_for_update()
        ).scalar_one_or_none()
    else:
        found = _by_id(session, team_id, decision_id)
    if found is None:
        raise NotFound("That decision doesn't exist in this workspace.")
    return found


def members(session: Session, *, decision: Decision) -> dict[str, list[str]]:
    rows = session.execute(
        select(DecisionMember.role, DecisionMember.user_id)
        .where(
            DecisionMember.team_id == decision.team_id, DecisionMember.decision_id == decision.id
        )
        .order_by(DecisionMember.id)
    ).all()
    out: dict[str, list[str]] = {r.value: [] for r in Role}
    for role, user in rows:
        out.setdefault(role, []).append(user)
    return out


def stances(session: Session, *, decision: Decision) -> list[Stance]:
    return list(
        session.execute(
            select(Stance)
            .where(Stance.team_id == decision.team_id, Stance.decision_id == decision.id)
            .order_by(Stance.updated_at, Stance.id)
        ).scalars()
    )


def current_stance(session: Session, *, decision: Decision, user_id: str) -> Stance | None:
    return session.execute(
        select(Stance).where(
            Stance.team_id == decision.team_id,
            Stance.decision_id == decision.id,
            Stance.user_id == user_id,
        )
    ).scalar_one_or_none()


def events(session: Session, *, decision: Decision) -> list[DecisionEvent]:
    return list(
        session.execute(
            select(DecisionEvent)
            .where(
                DecisionEvent.team_id == decision.team_id,
                DecisionEvent.decision_id == decision.id,
            )
            .order_by(DecisionEvent.id)
        ).scalars()
    )


def _by_id(session: Session, team_id: str, decision_id: int | None) -> Decision | None:
    if decision_id is None:
        return None
    return session.execute(
        select(Decision).where(Decision.team_id == team_id, Decision.id == decision_id)
    ).scalar_one_or_none()


def load_record(
    session: Session, *, decision: Decision, with_history: bool = True
) -> DecisionRecord:
    """Everything about a decision; the channel message needs no history (``with_history``)."""
    return DecisionRecord(
        decision=decision,
        members=members(session, decision=decision),
        stances=stances(session, decision=decision),
        events=events(session, decision=decision) if with_history else [],
        supersedes=_by_id(session, decision.team_id, decision.supersedes_id),
        superseded_by=_by_id(session, decision.team_id, decision.superseded_by_id),
        rounds=_rounds_for(session, decision),
        links=_links_for(session, decision),
    )


LINK_LABELS = {
    (LinkKind.AMENDS, True): "Amends",
    (LinkKind.AMENDS, False): "Amended by",
    (LinkKind.RELATES, True): "Related to",
    (LinkKind.RELATES, False): "Related to",
}


def _links_for(session: Session, decision: Decision) -> list[tuple[str, int]]:
    """Amend and relates-to links both ways; a private channel's decision is named only on
    decisions of its own channel (its number would say nothing, its title too much)."""
    other = aliased(Decision)
    rows = session.execute(
        select(DecisionLink.kind, DecisionLink.decision_id == decision.id, other.number)
        .join(
            other,
            or_(
                and_(DecisionLink.decision_id == decision.id, other.id == DecisionLink.other_id),
                and_(DecisionLink.other_id == decision.id, other.id == DecisionLink.decision_id),
            ),
        )
        .where(
            DecisionLink.team_id == decision.team_id,
            or_(other.channel_private.is_(False), other.channel_id == decision.channel_id),
        )
        .order_by(other.number)
    ).all()
    return [(LINK_LABELS[(kind, bool(outgoing))], number) for kind, outgoing, number in rows]


def _json_object(raw: str | None) -> dict[str, list[str]]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): [str(n) for n in v] for k, v in value.items() if isinstance(v, list)}


def _rounds_for(session: Session, decision: Decision) -> list[EstimateRound]:
    return list(
        session.execute(
            select(EstimateRound)
            .where(
                EstimateRound.team_id == decision.team_id,
                EstimateRound.decision_id == decision.id,
                # a private channel's round (and its figures) never shows anywhere else
                or_(
                    EstimateRound.channel_private.is_(False),
                    EstimateRound.channel_id == decision.channel_id,
                ),
            )
            .order_by(EstimateRound.number)
        ).scalars()
    )


def message_marker(session: Session, *, team_id: str, number: int) -> tuple[Any, ...]:
    """A cheap fingerprint (one statement) of what the channel message shows — status, text
    edits, stances, review outcomes: it changes whenever a re-render would."""
    stance_count = (
        select(func.count(Stance.id)).where(Stance.decision_id == Decision.id).scalar_subquery()
    )
    stance_latest = (
        select(func.max(Stance.updated_at))
        .where(Stance.decision_id == Decision.id)
        .scalar_subquery()
    )
    outcomes = (
        select(func.count(Review.id))
        .where(Review.decision_id == Decision.id, Review.outcome.is_not(None))
        .scalar_subquery()
    )
    row = session.execute(
        select(Decision.status, Decision.updated_at, stance_count, stance_latest, outcomes).where(
            Decision.team_id == team_id, Decision.number == number
        )
    ).one()
    return tuple(row)


def list_decisions(
    session: Session,
    *,
    team_id: str,
    viewer: Viewer,
    status: DecisionStatus | None = None,
    tag: str | None = None,
    limit: int = 10,
    offset: int = 0,
) -> tuple[list[Decision], int]:
    """Visible decisions, newest first, and how many match in all."""
    conds = [Decision.team_id == team_id, _visible_to(viewer)]
    if status is not None:
        conds.append(Decision.status == status)
    if tag:
        tag = tag.replace("\x00", "")  # Postgres text can't hold NUL (no tag contains one)
        conds.append(Decision.tags.like(f"% {_like_escape(tag)} %", escape="\\"))
    total = session.execute(select(func.count()).select_from(Decision).where(*conds)).scalar_one()
    rows = session.execute(
        select(Decision).where(*conds).order_by(Decision.number.desc()).limit(limit).offset(offset)
    ).scalars()
    return list(rows), int(total)


_PHRASE = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"\w+", re.UNICODE)


_TERM = re.compile(r'"([^"]*)"|(\w+)', re.UNICODE)


def fts5_query(text_: str) -> str | None:
    """Turn arbitrary user text into a safe FTS5 query: quoted phrases stay phrases, other
    words become prefix terms, an upper-case OR between terms means OR (as Postgres'
    websearch_to_tsquery reads it), everything else (operators, stray quotes, punctuation) is
    dropped. Adjacent terms must all match."""
    parts: list[str] = []
    for phrase, word in _TERM.findall(text_):
        if word == "OR":
            if parts and parts[-1] != "OR":
                parts.append("OR")
            continue
        if phrase:
            words = _WORD.findall(phrase)
            if words:
                parts.append('"' + " ".join(words) + '"')
        elif word:
            parts.append(f'"{word}"*')
        if len(parts) >= 63:
            break
    while parts and parts[-1] == "OR":
        parts.pop()
    return " ".join(parts) or None


# How many of the newest matches are ranked, widening when a workspace gets too few (-1: all).
SEARCH_CANDIDATES = (500, 20_000, -1)

# Postgres finds the newest matches one of two ways: walking the table newest-first, testing each
# row, until `cap` match (cost: cap / share of rows matching), or reading every match through the
# GIN index and sorting them (cost: matches, each a heap visit in table order, ~6x a walked row at
# 1,000,000 decisions). Its planner picks by its estimate of the matches, but it guesses a word its
# statistics don't list (a missing or rare word) at up to 0.5% of the rows (DEFAULT_TS_MATCH_SEL)
# and rates the walk's per-row test too cheap, so for a word found nowhere it walked the whole table.
_GIN_ROW_COST = 6
_UNLISTED_WORD_SHARE = 0.005
_MATCH_ESTIMATE = text(
    "EXPLAIN (FORMAT JSON) SELECT id FROM decisions "
    "WHERE team_id = :team AND search_vector @@ websearch_to_tsquery('english', :query)"
)
_TABLE_ROWS = text("SELECT reltuples FROM pg_class WHERE oid = 'decisions'::regclass")


def _pg_match_estimate(session: Session, *, team_id: str, query: str) -> tuple[float, float]:
    """The planner's estimate of a search's matches in a workspace, and of the table's rows."""
    plan = session.execute(_MATCH_ESTIMATE, {"team": team_id, "query": query}).scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    matches = float(plan[0]["Plan"]["Plan Rows"])
    rows = float(session.execute(_TABLE_ROWS).scalar_one() or 0)  # -1: never analysed
    return matches, max(rows, matches)


def _read_all_matches(matches: float, rows: float, cap: int) -> bool:
    """Whether reading every match through the GIN index beats walking newest-first to `cap`."""
    if cap < 0:
        return False  # ranking them all: no order to walk in; the planner chooses
    return matches <= _UNLISTED_WORD_SHARE * rows or _GIN_ROW_COST * matches * matches <= cap * rows


def search_decisions(
    session: Session, *, team_id: str, viewer: Viewer, query: str, limit: int = 10
) -> list[Decision]:
    """Ranked full-text search over title, decision, context and consequences.

    SQLite uses the FTS5 index (bm25, title weighted highest); Postgres uses the generated
    ``search_vector`` column with ``websearch_to_tsquery`` (which accepts any input).
    """
    base = select(Decision).where(Decision.team_id == team_id, _visible_to(viewer))
    if session.get_bind().dialect.name == "postgresql":
        # Postgres text cannot hold NUL; a NUL in the query would raise instead of matching.
        words = query[:500].replace("\x00", " ")
        tsq = func.websearch_to_tsquery("english", words)
        vector = literal_column("decisions.search_vector")
        matching = select(Decision.id).where(Decision.team_id == team_id, vector.op("@@")(tsq))
        matches, rows = _pg_match_estimate(session, team_id=team_id, query=words)
        for cap in SEARCH_CANDIDATES:
            # As on SQLite, rank only the newest matches (ts_rank_cd reads every candidate's
            # vector); the cap bounds the ranking work.
            complete = cap < 0  # whether a wider cap could add candidates
            if _read_all_matches(matches, rows, cap):
                # Few matches expected: a materialized CTE hides the ORDER BY/LIMIT from the
                # match query, so the planner cannot walk the table newest-first; the GIN index
                # finds every match and the newest `cap` (+1: are there more?) are sorted out.
                fenced = matching.cte("matches").prefix_with("MATERIALIZED")
                ids = list(
                    session.execute(
                        select(fenced.c.id).order_by(fenced.c.id.desc()).limit(cap + 1)
                    ).scalars()
                )
                complete = len(ids) <= cap
                if not ids:
                    return []
                ids_param = bindparam("candidate_ids", ids[:cap], type_=postgresql.ARRAY(Integer))
                candidates = Decision.id == any_(ids_param)
            else:
                newest = matching.order_by(Decision.id.desc())
                if cap > 0:
                    newest = newest.limit(cap)
                candidates = Decision.id.in_(newest.scalar_subquery())
            stmt = (
                base.where(candidates)
                .order_by(func.ts_rank_cd(vector, tsq).desc(), Decision.number.desc())
                .limit(limit)
            )
            found = list(session.execute(stmt).scalars())
            if len(found) >= limit or complete:
                break
        return found
    match = fts5_query(query)
    if match is None:
        return []
    # Rank only the newest matches: FTS5 walks its index newest-first and stops at the cap,
    # so a word found in 40% of 100,000 decisions costs about what a rare one does. The index
    # spans workspaces, so if the cap left this workspace short of results, widen it.
    for cap in SEARCH_CANDIDATES:
        candidates = (
            text(
                "SELECT rowid AS id, bm25(decisions_fts, 10.0, 5.0, 2.0, 2.0) AS score "
                "FROM decisions_fts WHERE decisions_fts MATCH :match ORDER BY rowid DESC LIMIT :cap"
            )
            .columns(column("id"), column("score"))
            .subquery("candidates")
        )
        stmt = (
            base.join(candidates, candidates.c.id == Decision.id)
            .order_by(candidates.c.score, Decision.number.desc())
            .limit(limit)
        )
        found = list(session.execute(stmt, {"match": match, "cap": cap}).scalars())
        if len(found) >= limit:
            break
    return found


def recent_decisions(
    session: Session, *, team_id: str, viewer: Viewer, limit: int = 5
) -> list[Decision]:
    return list_decisions(session, team_id=team_id, viewer=viewer, limit=limit)[0]


def awaiting_stance(
    session: Session, *, team_id: str, user_id: str, limit: int = 10
) -> list[Decision]:
    """Proposed decisions that name the user (decider or consulted) and have no stance of theirs."""
    named = exists().where(
        DecisionMember.decision_id == Decision.id,
        DecisionMember.user_id == user_id,
        DecisionMember.role.in_([Role.DECIDER, Role.CONSULTED]),
    )
    has_stance = exists().where(Stance.decision_id == Decision.id, Stance.user_id == user_id)
    stmt = (
        select(Decision)
        .where(
            Decision.team_id == team_id,
            Decision.status == DecisionStatus.PROPOSED,
            named,
            ~has_stance,
        )
        .order_by(Decision.number.desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def owned_decisions(
    session: Session, *, team_id: str, user_id: str, limit: int = 10
) -> list[Decision]:
    """Decisions the user wrote or is a decider on, newest first."""
    decider = exists().where(
        DecisionMember.decision_id == Decision.id,
        DecisionMember.user_id == user_id,
        DecisionMember.role == Role.DECIDER,
    )
    stmt = (
        select(Decision)
        .where(Decision.team_id == team_id, or_(Decision.author_id == user_id, decider))
        .order_by(Decision.number.desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


# -- changing --------------------------------------------------------------------------------


def record_event(
    session: Session,
    *,
    decision: Decision,
    actor_id: str,
    kind: str,
    details: dict[str, Any] | None = None,
    **detail: Any,
) -> DecisionEvent:
    """Append a history event. ``details`` carries keys that can't be keyword arguments here
    (a stance event's own ``kind``); ``**detail`` is merged over it."""
    ev = DecisionEvent(
        team_id=decision.team_id,
        decision_id=decision.id,  # type: ignore[arg-type]
        actor_id=actor_id,
        kind=kind,
        detail=json.dumps({**(details or {}), **detail}, default=str, ensure_ascii=False),
    )
    session.add(ev)
    return ev


def _set_members(session: Session, decision: Decision, draft: DecisionDraft) -> None:
    session.execute(
        DecisionMember.__table__.delete().where(  # type: ignore[attr-defined]
            DecisionMember.decision_id == decision.id
        )
    )
    for role, users in (
        (Role.DECIDER, draft.deciders),
        (Role.CONSULTED, draft.consulted),
        (Role.INFORMED, draft.informed),
    ):
        for user in dict.fromkeys(users):
            session.add(
                DecisionMember(
                    team_id=decision.team_id,
                    decision_id=decision.id,  # type: ignore[arg-type]
                    user_id=user,
                    role=role,
                )
            )


def _tags(tags: list[str]) -> str:
    return f" {' '.join(dict.fromkeys(tags))} " if tags else ""


def create_decision(
    session: Session,
    *,
    team_id: str,
    author_id: str,
    draft: DecisionDraft,
    channel_private: bool,
    enterprise_id: str | None = None,
    source_permalink: str | None = None,
    supersedes_number: int | None = None,
) -> Decision:
    """Save a new decision with the next ``ADR-n`` number; optionally supersede another.

    Superseding checks permission and state on the old decision first, so a refused supersede
    saves nothing.
    """
    old: Decision | None = None
    if supersedes_number is not None:
        old = get_decision(session, team_id=team_id, number=supersedes_number, for_update=True)
        _require_changer(session, old, author_id)
        _require_transition(old, DecisionStatus.SUPERSEDED)
    decision = Decision(
        team_id=team_id,
        enterprise_id=enterprise_id,
        number=next_number(session, team_id=team_id, kind="adr"),
        title=draft.title,
        context=draft.context,
        options=draft.options,
        decision=draft.decision,
        consequences=draft.consequences,
        success_criteria=draft.success_criteria,
        # Superseding starts a new round of stances: never accepted from the start.
        status=DecisionStatus.PROPOSED if old is not None else draft.status,
        tags=_tags(draft.tags),
        review_date=draft.review_date,
        channel_id=draft.channel_id,
        channel_private=channel_private,
        author_id=author_id,
        source_permalink=source_permalink,
        supersedes_id=old.id if old else None,
    )
    session.add(decision)
    session.flush()
    _set_members(session, decision, draft)
    record_event(
        session, decision=decision, actor_id=author_id, kind="created", status=decision.status
    )
    if old is not None:
        old_status = old.status
        old.status = DecisionStatus.SUPERSEDED
        old.superseded_by_id = decision.id
        old.updated_at = utcnow()
        session.add(old)
        record_event(
            session,
            decision=old,
            actor_id=author_id,
            kind="superseded",
            by=decision.ref,
            **{"from": old_status},
        )
        record_event(session, decision=decision, actor_id=author_id, kind="supersedes", of=old.ref)
    session.flush()
    return decision


def set_post_result(
    session: Session,
    *,
    decision: Decision,
    message_ts: str | None,
    error: str | None,
    private: bool | None = None,
) -> None:
    """Where the post landed (or why it failed); ``private`` is the channel's privacy as
    read when posting (None: leave it as saved)."""
    values: dict[str, Any] = {"message_ts": message_ts or Decision.message_ts, "post_error": error}
    if private is not None:
        values["channel_private"] = private
    session.execute(
        update(Decision)
        .where(Decision.id == decision.id, Decision.team_id == decision.team_id)
        .values(**values)
    )


def is_changer(session: Session, decision: Decision, user_id: str) -> bool:
    """The author and the deciders may change a decision."""
    if decision.author_id == user_id:
        return True
    return user_id in members(session, decision=decision)[Role.DECIDER]


def _require_changer(session: Session, decision: Decision, user_id: str) -> None:
    if not is_changer(session, decision, user_id):
        raise NotAllowed(
            f"Only the author and the deciders of {decision.ref} can change it. "
            f"Ask <@{decision.author_id}> if something should change."
        )


def _require_transition(decision: Decision, to: DecisionStatus) -> None:
    if DecisionStatus(decision.status) not in TRANSITIONS[to]:
        raise Conflict(f"{decision.ref} is {decision.status}, so it can't become {to}.")


def change_status(
    session: Session,
    *,
    team_id: str,
    number: int,
    actor_id: str,
    to: DecisionStatus,
    note: str = "",
    override: bool = False,
) -> Decision:
    """Accept, reject or deprecate a decision (supersede goes through create_decision).

    A proposed decision with an active Block can be accepted only by a decider overriding it
    with a note; the override and the blockers it overrode are kept in the history.
    """
    decision = get_decision(session, team_id=team_id, number=number, for_update=True)
    _require_changer(session, decision, actor_id)
    _require_transition(decision, to)
    detail: dict[str, Any] = {"from": decision.status, "to": to}
    if note:
        detail["note"] = note
    if to == DecisionStatus.ACCEPTED:
        blockers = [
            s.user_id for s in stances(session, decision=decision) if s.kind == StanceKind.BLOCK
        ]
        if blockers:
            mentions = ", ".join(f"<@{u}>" for u in blockers)
            if not override:
                raise Conflict(
                    f"{decision.ref} is blocked by {mentions}. It can be accepted once the "
                    f"block is withdrawn, or a decider can override it: "
                    f"`/adr accept {number} --override` followed by the reason."
                )
            # Only someone who was a decider when each block was placed: adding yourself as
            # a decider by an edit does not let you override a block that already stood.
            for blocker in blockers:
                if actor_id not in _deciders_when_blocked(session, decision, blocker):
                    raise NotAllowed(
                        f"Only someone who was a decider of {decision.ref} when <@{blocker}> "
                        "blocked it can override that block."
                    )
            if not note.strip():
                raise InvalidInput(
                    f"Overriding a block needs a note: `/adr accept {number} --override` followed by the reason."
                )
            detail["overrode_blocks"] = blockers
    decision.status = to
    decision.updated_at = utcnow()
    session.add(decision)
    record_event(session, decision=decision, actor_id=actor_id, kind="status_changed", **detail)
    session.flush()
    return decision


def update_decision(
    session: Session, *, team_id: str, number: int, actor_id: str, draft: DecisionDraft
) -> tuple[Decision, dict[str, list[Any]]]:
    """Apply an edit; the event keeps every replaced value, so nothing typed is lost."""
    decision = get_decision(session, team_id=team_id, number=number, for_update=True)
    _require_changer(session, decision, actor_id)
    changes: dict[str, list[Any]] = {}
    new_values: dict[str, Any] = {
        "title": draft.title,
        "context": draft.context,
        "options": draft.options,
        "decision": draft.decision,
        "consequences": draft.consequences,
        "success_criteria": draft.success_criteria,
        "tags": _tags(draft.tags),
        "review_date": draft.review_date,
    }
    for name in EDITABLE_FIELDS:
        old, new = getattr(decision, name), new_values[name]
        if old != new:
            changes[name] = [old, new]
            setattr(decision, name, new)
    old_members = members(session, decision=decision)
    new_members = {
        Role.DECIDER.value: list(dict.fromkeys(draft.deciders)),
        Role.CONSULTED.value: list(dict.fromkeys(draft.consulted)),
        Role.INFORMED.value: list(dict.fromkeys(draft.informed)),
    }
    for role, users in new_members.items():
        if old_members.get(role, []) != users:
            changes[role] = [old_members.get(role, []), users]
    if Role.DECIDER.value in changes and actor_id not in old_members.get(Role.DECIDER, []):
        if any(s.kind == StanceKind.BLOCK for s in stances(session, decision=decision)):
            raise NotAllowed(
                f"{decision.ref} is blocked, so only its deciders can change who decides."
            )
    if any(r in changes for r in new_members):
        _set_members(session, decision, draft)
    if changes:
        decision.updated_at = utcnow()
        session.add(decision)
        record_event(session, decision=decision, actor_id=actor_id, kind="edited", changes=changes)
    session.flush()
    return decision, changes


def set_review_date(
    session: Session, *, decision: Decision, review_date: date, actor_id: str
) -> None:
    """Move the review date (`/adr remind`); the old date stays in the history."""
    if decision.review_date == review_date:
        return
    record_event(
        session,
        decision=decision,
        actor_id=actor_id,
        kind="edited",
        changes={"review_date": [decision.review_date, review_date]},
    )
    decision.review_date = review_date
    decision.updated_at = utcnow()
    session.add(decision)
    session.flush()


def set_stance(
    session: Session,
    *,
    team_id: str,
    number: int,
    user_id: str,
    kind: StanceKind,
    concern: str = "",
    change_my_mind: str = "",
    reason: str = "",
) -> tuple[Decision, bool]:
    """Set the user's one current stance. Returns (decision, changed).

    Idempotent: the same stance again (a double click, a Slack retry) changes nothing and
    records nothing. The decision row is locked first, so concurrent clicks serialise.
    """
    decision = get_decision(session, team_id=team_id, number=number, for_update=True)
    if decision.status not in (DecisionStatus.PROPOSED, DecisionStatus.ACCEPTED):
        raise Conflict(f"{decision.ref} is {decision.status}; stances are closed.")
    current = current_stance(session, decision=decision, user_id=user_id)
    committed = kind == StanceKind.DISAGREE_AND_COMMIT
    new = {
        "kind": str(kind),
        "concern": concern,
        "change_my_mind": change_my_mind,
        "reason": reason,
        "committed": committed,
    }
    if current is not None:
        old = {k: getattr(current, k) for k in new}
        if old == new:
            return decision, False
        for k, v in new.items():
            setattr(current, k, v)
        current.updated_at = utcnow()
        session.add(current)
    else:
        old = None
        session.add(
            Stance(team_id=team_id, decision_id=decision.id, user_id=user_id, **new)  # type: ignore[arg-type]
        )
    extra: dict[str, Any] = {}
    if kind == StanceKind.BLOCK:
        # Who may override this block: the deciders as they are now, not as they may be
        # after an edit (see change_status).
        extra["deciders"] = members(session, decision=decision)[Role.DECIDER]
    record_event(
        session,
        decision=decision,
        actor_id=user_id,
        kind="stance",
        previous=old,
        details={k: v for k, v in new.items() if v not in ("", False)},
        **extra,
    )
    session.flush()
    return decision, True


def _deciders_when_blocked(session: Session, decision: Decision, blocker: str) -> list[str]:
    """The deciders of ``decision`` when ``blocker`` placed their current block (blocks from
    before this was recorded: the current deciders)."""
    for event in session.execute(
        select(DecisionEvent)
        .where(
            DecisionEvent.decision_id == decision.id,
            DecisionEvent.kind == "stance",
            DecisionEvent.actor_id == blocker,
        )
        .order_by(DecisionEvent.id.desc())
    ).scalars():
        detail = json.loads(event.detail or "{}")
        if detail.get("kind") == StanceKind.BLOCK:
            if "deciders" in detail:
                return list(detail["deciders"])
            break
    return members(session, decision=decision)[Role.DECIDER]


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


__all__ = [
    "DecisionDraft",
    "DecisionRecord",
    "Viewer",
    "advance_number",
    "awaiting_stance",
    "change_status",
    "create_decision",
    "get_decision",
    "list_decisions",
    "load_record",
    "next_number",
    "owned_decisions",
    "recent_decisions",
    "search_decisions",
    "set_post_result",
    "set_stance",
    "update_decision",
    "visible_condition",
]
