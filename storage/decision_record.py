"""One decision with everything `/adr show` and its channel message need (people, stances,
history, supersede chain, estimate rounds, links), read in one unit of work; and the cheap
fingerprint that says when the channel message needs a re-render."""

from __future__ import annotations

import json
from collections import Counter as Tally
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from storage import forecasts
from storage.decisions import _by_id, events, members, stances
from storage.forecasts import ForecastCount
from storage.models import (
    Decision,
    DecisionEvent,
    DecisionLink,
    EstimateRound,
    LinkKind,
    Review,
    Stance,
)


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
    # the latest status change (who, and an override's note and blockers), for the card
    last_change: DecisionEvent | None = None
    # its forecasts without whose: scored ones' means, and how many wait (Details only)
    forecasts: ForecastCount | None = None
    # whether it has any review round (none: its review summary needs no query)
    reviews: bool = True

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


def load_record(
    session: Session, *, decision: Decision, with_history: bool = True
) -> DecisionRecord:
    """Everything about a decision; the channel message needs no history (``with_history``).

    What most decisions have none of (estimate rounds, links, a status change) is read only
    when one presence query (``_present``) says there is some: a card's refresh reads the
    people, the stances and that one row."""
    present = _present(session, decision)
    return DecisionRecord(
        decision=decision,
        members=members(session, decision=decision),
        stances=stances(session, decision=decision),
        events=events(session, decision=decision) if with_history else [],
        supersedes=_by_id(session, decision.team_id, decision.supersedes_id),
        superseded_by=_by_id(session, decision.team_id, decision.superseded_by_id),
        rounds=_rounds_for(session, decision) if present.rounds else [],
        links=_links_for(session, decision) if present.links else [],
        last_change=_last_change(session, present.last_change),
        forecasts=forecasts.count_on(session, decision=decision) if with_history else None,
        reviews=present.reviews,
    )


@dataclass(frozen=True)
class _Present:
    rounds: bool
    links: bool
    last_change: int | None  # the id of its latest status change
    reviews: bool


_LINKED = aliased(DecisionLink)
# Built once (each is run for every card refresh): what a decision has of the rarely-present
# parts, in one statement.
_PRESENT = select(
    select(col(EstimateRound.id))
    .where(col(EstimateRound.decision_id) == bindparam("d"))
    .limit(1)
    .scalar_subquery(),
    select(col(DecisionLink.id))
    .where(col(DecisionLink.decision_id) == bindparam("d"))
    .limit(1)
    .scalar_subquery(),
    select(col(_LINKED.id))
    .where(col(_LINKED.other_id) == bindparam("d"))
    .limit(1)
    .scalar_subquery(),
    select(func.max(col(DecisionEvent.id)))
    .where(
        col(DecisionEvent.decision_id) == bindparam("d"),
        col(DecisionEvent.kind) == "status_changed",
    )
    .scalar_subquery(),
    select(col(Review.id))
    .where(col(Review.decision_id) == bindparam("d"))
    .limit(1)
    .scalar_subquery(),
)


def _present(session: Session, decision: Decision) -> _Present:
    rounds, links_out, links_in, last_change, reviews = session.execute(
        _PRESENT, {"d": decision.id}
    ).one()
    return _Present(
        rounds=rounds is not None,
        links=links_out is not None or links_in is not None,
        last_change=last_change,
        reviews=reviews is not None,
    )


def _last_change(session: Session, event_id: int | None) -> DecisionEvent | None:
    if event_id is None:
        return None
    return session.get(DecisionEvent, event_id)


LINK_LABELS: dict[tuple[str, bool], str] = {
    (LinkKind.AMENDS, True): "Amends",
    (LinkKind.AMENDS, False): "Amended by",
    (LinkKind.RELATES, True): "Related to",
    (LinkKind.RELATES, False): "Related to",
}


_OTHER = aliased(Decision)
_LINKS = (
    select(
        col(DecisionLink.kind),
        col(DecisionLink.decision_id) == bindparam("d"),
        col(_OTHER.number),
    )
    .join(
        _OTHER,
        or_(
            and_(
                col(DecisionLink.decision_id) == bindparam("d"),
                col(_OTHER.id) == col(DecisionLink.other_id),
            ),
            and_(
                col(DecisionLink.other_id) == bindparam("d"),
                col(_OTHER.id) == col(DecisionLink.decision_id),
            ),
        ),
    )
    .where(
        col(DecisionLink.team_id) == bindparam("team"),
        or_(col(_OTHER.channel_private).is_(False), col(_OTHER.channel_id) == bindparam("channel")),
    )
    .order_by(col(_OTHER.number))
)


def _links_for(session: Session, decision: Decision) -> list[tuple[str, int]]:
    """Amend and relates-to links both ways; a private channel's decision is named only on
    decisions of its own channel (its number would say nothing, its title too much). The
    statement is built once: an alias of the decisions table costs a proxy per column."""
    rows: Sequence[tuple[str, bool, int]] = session.execute(
        _LINKS, {"d": decision.id, "team": decision.team_id, "channel": decision.channel_id}
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
        session.scalars(
            select(EstimateRound)
            .where(
                col(EstimateRound.team_id) == decision.team_id,
                col(EstimateRound.decision_id) == decision.id,
                # a private channel's round (and its figures) never shows anywhere else
                or_(
                    col(EstimateRound.channel_private).is_(False),
                    col(EstimateRound.channel_id) == decision.channel_id,
                ),
            )
            .order_by(col(EstimateRound.number))
        )
    )


# What ``message_marker`` returns: status, updated_at, stances, latest stance change, review
# outcomes.
Marker = tuple[str, datetime, int, datetime | None, int]


def message_marker(session: Session, *, team_id: str, number: int) -> Marker:
    """A cheap fingerprint (one statement) of what the channel message shows — status, text
    edits, stances, review outcomes: it changes whenever a re-render would."""
    stance_count = (
        select(func.count(col(Stance.id)))
        .where(col(Stance.decision_id) == col(Decision.id))
        .scalar_subquery()
    )
    stance_latest = (
        select(func.max(col(Stance.updated_at)))
        .where(col(Stance.decision_id) == col(Decision.id))
        .scalar_subquery()
    )
    outcomes = (
        select(func.count(col(Review.id)))
        .where(col(Review.decision_id) == col(Decision.id), col(Review.outcome).is_not(None))
        .scalar_subquery()
    )
    row = session.execute(
        select(
            col(Decision.status), col(Decision.updated_at), stance_count, stance_latest, outcomes
        ).where(col(Decision.team_id) == team_id, col(Decision.number) == number)
    ).one()
    marker: Marker = tuple(row)
    return marker


__all__ = ["DecisionRecord", "load_record", "message_marker"]
