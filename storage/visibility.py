"""Who may see what. One rule for anything posted in a channel (decisions, estimate rounds,
parked items: ``channel_visibility``), a decision's own clause (``visible_condition``), and the
lookup of a workspace's numbered record (ADR-n, E-n, P-n) narrowed to what a viewer may see
(``numbered``): one that exists but is hidden reads as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ColumnElement, SQLColumnExpression, exists, false, or_, select
from sqlmodel import Session, col

from storage.errors import NotFound
from storage.models import Decision, DecisionMember, EstimateRound, ParkingItem

# What ``numbered`` looks up: a workspace's numbered record (``team_id`` and ``number``).
Numbered = TypeVar("Numbered", Decision, EstimateRound, ParkingItem)


@dataclass(frozen=True)
class Viewer:
    """Who is looking, and from which channel (None: App Home or a DM with the bot).

    ``guest``: a guest, an outsider from another organisation, or someone not known yet
    (storage.people): they see a decision only from the channel it was posted in."""

    user_id: str
    channel_id: str | None = None
    guest: bool = False


def channel_visibility(
    viewer: Viewer,
    *,
    channel: SQLColumnExpression[str],
    private: SQLColumnExpression[bool],
    named: Sequence[ColumnElement[bool]],
) -> ColumnElement[bool]:
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


def _visible_to(viewer: Viewer) -> ColumnElement[bool]:
    named = exists().where(
        col(DecisionMember.decision_id) == col(Decision.id),
        col(DecisionMember.user_id) == viewer.user_id,
    )
    return channel_visibility(
        viewer,
        channel=col(Decision.channel_id),
        private=col(Decision.channel_private),
        named=[col(Decision.author_id) == viewer.user_id, named],
    )


def visible_condition(viewer: Viewer) -> ColumnElement[bool]:
    """The WHERE clause "``viewer`` may see this decision" (for queries built elsewhere, such as
    the ADR file export)."""
    return _visible_to(viewer)


def numbered(
    session: Session,
    model: type[Numbered],
    *,
    team_id: str,
    number: int,
    visible: ColumnElement[bool] | None,
    for_update: bool,
    ref: str,
) -> Numbered:
    """A workspace's ADR-n / E-n / P-n (``model`` has ``team_id`` and ``number``), narrowed
    to what a viewer may see (``visible``, or None: no viewer), optionally locked."""
    stmt = select(model).where(col(model.team_id) == team_id, col(model.number) == number)
    if visible is not None:
        stmt = stmt.where(visible)
    if for_update:
        stmt = stmt.with_for_update()
    found = session.scalars(stmt).one_or_none()
    if found is None:
        raise NotFound(f"{ref} doesn't exist in this workspace (or isn't visible to you).")
    return found


__all__ = ["Viewer", "channel_visibility", "numbered", "visible_condition"]
