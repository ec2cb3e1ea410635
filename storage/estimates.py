"""`/estimate` rounds: creating them, hidden estimates, the reveal, closing, actuals, and the
reads behind list, show, App Home and calibration.

Every function runs inside the caller's unit of work; the Slack work that follows a change is
scheduled in the same transaction (`storage/estimate_work.py`). Values stay in `estimates`
until the reveal: no read here returns another person's numbers for an open round except
`estimates_of`, which the reveal computation and the thread details use after the reveal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from storage.db import rows_of
from storage.decisions import get_decision
from storage.errors import Conflict, InvalidInput, NotAllowed, NotFound
from storage.models import (
    Estimate,
    EstimateEvent,
    EstimateInvite,
    EstimateRound,
    EstimateSize,
    EstimateTask,
    JsonObject,
    RoundMode,
    RoundState,
    saved_id,
    utcnow,
)
from storage.numbers import next_number
from storage.visibility import Viewer, channel_visibility, numbered

COUNTER = "estimate"
MAX_TASKS = 15


@dataclass(frozen=True)
class RoundDraft:
    topic: str
    unit: str
    phase: str
    channel_id: str
    tasks: list[str]
    invitees: list[str]
    deadline_at: datetime | None = None
    decision_number: int | None = None
    thread_ts: str | None = None
    previous_round_id: int | None = None
    mode: str = RoundMode.RANGE


def record(
    session: Session, rnd: EstimateRound, *, actor_id: str | None, kind: str, **detail: object
) -> None:
    session.add(
        EstimateEvent(
            team_id=rnd.team_id,
            round_id=saved_id(rnd),
            actor_id=actor_id,
            kind=kind,
            detail=json.dumps(detail, default=str, ensure_ascii=False),
        )
    )


def create_round(
    session: Session, *, team_id: str, facilitator_id: str, draft: RoundDraft, viewer: Viewer
) -> EstimateRound:
    """A new open round, saved as private until its post reads the channel (as decisions)."""
    if not draft.topic.strip():
        raise InvalidInput("What should be estimated? For example `/estimate API cache in days`.")
    if len(draft.tasks) > MAX_TASKS:
        raise InvalidInput(f"A round has at most {MAX_TASKS} tasks; split it into two rounds.")
    decision_id = None
    if draft.decision_number is not None:
        decision_id = get_decision(
            session, team_id=team_id, number=draft.decision_number, viewer=viewer
        ).id
    rnd = EstimateRound(
        team_id=team_id,
        number=next_number(session, team_id=team_id, kind=COUNTER),
        topic=draft.topic.strip()[:200],
        unit=draft.unit,
        phase=draft.phase,
        facilitator_id=facilitator_id,
        channel_id=draft.channel_id,
        channel_private=True,
        thread_ts=draft.thread_ts,
        deadline_at=draft.deadline_at,
        decision_id=decision_id,
        previous_round_id=draft.previous_round_id,
        mode=draft.mode,
    )
    session.add(rnd)
    session.flush()
    round_id = saved_id(rnd)
    names = [t.strip()[:200] for t in draft.tasks if t.strip()] or [rnd.topic]
    for position, name in enumerate(names):
        session.add(EstimateTask(team_id=team_id, round_id=round_id, position=position, name=name))
    for user in dict.fromkeys(draft.invitees):
        session.add(EstimateInvite(round_id=round_id, user_id=user, team_id=team_id))
    record(session, rnd, actor_id=facilitator_id, kind="created", tasks=len(names))
    session.flush()
    return rnd


# -- reading --------------------------------------------------------------------------------


def _visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """As decisions (``channel_visibility``); named: the facilitator, invitees, estimators."""
    invited = exists().where(
        col(EstimateInvite.round_id) == col(EstimateRound.id),
        col(EstimateInvite.user_id) == viewer.user_id,
    )
    mine = aliased(Estimate)  # the outer query may join Estimate itself (calibration)
    estimated = exists().where(
        col(mine.round_id) == col(EstimateRound.id), col(mine.user_id) == viewer.user_id
    )
    return channel_visibility(
        viewer,
        channel=col(EstimateRound.channel_id),
        private=col(EstimateRound.channel_private),
        named=[col(EstimateRound.facilitator_id) == viewer.user_id, invited, estimated],
    )


def get_round(
    session: Session,
    *,
    team_id: str,
    number: int,
    viewer: Viewer | None = None,
    for_update: bool = False,
) -> EstimateRound:
    return numbered(
        session,
        EstimateRound,
        team_id=team_id,
        number=number,
        visible=_visible_to(viewer) if viewer is not None else None,
        for_update=for_update,
        ref=f"E-{number}",
    )


def get_round_by_id(
    session: Session, *, team_id: str, round_id: int, for_update: bool = False
) -> EstimateRound:
    stmt = select(EstimateRound).where(
        col(EstimateRound.team_id) == team_id, col(EstimateRound.id) == round_id
    )
    if for_update:  # a handler that changes the round waits for a click changing it too
        stmt = stmt.with_for_update()
    found = session.scalars(stmt).one_or_none()
    if found is None:
        raise NotFound(f"That estimate round (#{round_id}) no longer exists.")
    return found


def reestimate_of(session: Session, *, rnd: EstimateRound) -> EstimateRound | None:
    """The round started by **Re-estimate** on ``rnd``, if there is one."""
    return session.scalars(
        select(EstimateRound).where(
            col(EstimateRound.team_id) == rnd.team_id,
            col(EstimateRound.previous_round_id) == saved_id(rnd),
        )
    ).one_or_none()


def tasks_of(session: Session, rnd: EstimateRound) -> list[EstimateTask]:
    return list(
        session.scalars(
            select(EstimateTask)
            .where(col(EstimateTask.round_id) == saved_id(rnd))
            .order_by(col(EstimateTask.position))
        )
    )


def invited(session: Session, rnd: EstimateRound) -> list[str]:
    return list(
        session.scalars(
            select(col(EstimateInvite.user_id))
            .where(col(EstimateInvite.round_id) == saved_id(rnd))
            .order_by(col(EstimateInvite.user_id))
        )
    )


def estimated_by(session: Session, rnd: EstimateRound) -> list[str]:
    """Who has estimated, in the order they first did: names only, never values."""
    return list(
        session.scalars(
            select(col(Estimate.user_id))
            .where(col(Estimate.round_id) == saved_id(rnd))
            .order_by(col(Estimate.id))
        )
    )


def estimates_of(session: Session, rnd: EstimateRound) -> list[Estimate]:
    """Everyone's numbers: only for a revealed round (the computation and the details)."""
    if rnd.state != RoundState.REVEALED:
        raise Conflict(f"{rnd.ref} is not revealed; its estimates are hidden.")
    return list(
        session.scalars(
            select(Estimate)
            .where(col(Estimate.round_id) == saved_id(rnd))
            .order_by(col(Estimate.id))
        )
    )


def own_estimate(session: Session, rnd: EstimateRound, user_id: str) -> Estimate | None:
    return session.scalars(
        select(Estimate).where(
            col(Estimate.round_id) == saved_id(rnd), col(Estimate.user_id) == user_id
        )
    ).one_or_none()


def list_rounds(
    session: Session, *, team_id: str, viewer: Viewer, limit: int = 15
) -> list[EstimateRound]:
    return list(
        session.scalars(
            select(EstimateRound)
            .where(col(EstimateRound.team_id) == team_id, _visible_to(viewer))
            .order_by(col(EstimateRound.number).desc())
            .limit(limit)
        )
    )


def waiting_for(session: Session, *, team_id: str, user_id: str) -> list[EstimateRound]:
    """Open rounds that invited this person and have no estimate of theirs."""
    invited_ = exists().where(
        col(EstimateInvite.round_id) == col(EstimateRound.id),
        col(EstimateInvite.user_id) == user_id,
    )
    mine = exists().where(
        col(Estimate.round_id) == col(EstimateRound.id), col(Estimate.user_id) == user_id
    )
    return list(
        session.scalars(
            select(EstimateRound)
            .where(
                col(EstimateRound.team_id) == team_id,
                col(EstimateRound.state) == RoundState.OPEN,
                invited_,
                ~mine,
            )
            .order_by(col(EstimateRound.number).desc())
            .limit(10)
        )
    )


def facilitating(session: Session, *, team_id: str, user_id: str) -> list[EstimateRound]:
    return list(
        session.scalars(
            select(EstimateRound)
            .where(
                col(EstimateRound.team_id) == team_id,
                col(EstimateRound.facilitator_id) == user_id,
                col(EstimateRound.state).in_([RoundState.OPEN, RoundState.REVEALED]),
            )
            .order_by(col(EstimateRound.number).desc())
            .limit(10)
        )
    )


# -- changing -------------------------------------------------------------------------------


def _require_open(rnd: EstimateRound, doing: str) -> None:
    if rnd.state == RoundState.REVEALED:
        raise Conflict(f"{rnd.ref} was revealed already; {doing} changes nothing now.")
    if rnd.state != RoundState.OPEN:
        raise Conflict(f"{rnd.ref} is {rnd.state}; {doing} changes nothing now.")


def submit_estimate(
    session: Session,
    *,
    rnd: EstimateRound,
    user_id: str,
    ranges: list[tuple[float, float, float]],
    confidence: int,
    familiarity: str,
    assumptions: str,
    typed: list[list[str]] | None = None,
) -> tuple[Estimate, bool]:
    """Record (or replace) a person's estimate while the round is open. Returns it and
    whether everyone invited has now estimated (never true without invitees)."""
    _require_open(rnd, "an estimate")
    tasks = tasks_of(session, rnd)
    if len(ranges) != len(tasks):
        raise Conflict(f"{rnd.ref}'s tasks changed; open the form again.")
    row = own_estimate(session, rnd, user_id)
    now = utcnow()
    figures = json.dumps([list(r) for r in ranges])
    if row is None:
        row = Estimate(team_id=rnd.team_id, round_id=saved_id(rnd), user_id=user_id, ranges=figures)
    row.ranges = figures
    row.confidence = confidence
    row.familiarity = familiarity
    row.assumptions = assumptions
    row.typed = json.dumps(typed, ensure_ascii=False) if typed else ""
    row.updated_at = now
    session.add(row)
    session.flush()
    record(session, rnd, actor_id=user_id, kind="estimated")  # no values in history
    people = invited(session, rnd)
    done = set(estimated_by(session, rnd))
    return row, bool(people) and all(p in done for p in people)


def reveal(session: Session, *, rnd: EstimateRound, actor_id: str | None, why: str) -> bool:
    """Open -> revealed (once). ``actor_id`` None: automatic (``why`` says which)."""
    if rnd.state != RoundState.OPEN:
        return False
    if actor_id is not None and actor_id != rnd.facilitator_id:
        raise NotAllowed(f"Only the facilitator, <@{rnd.facilitator_id}>, can reveal {rnd.ref}.")
    if not estimated_by(session, rnd):
        if actor_id is not None:
            raise InvalidInput(f"Nobody has estimated {rnd.ref} yet; there is nothing to reveal.")
    rnd.state = RoundState.REVEALED
    rnd.revealed_at = utcnow()
    rnd.revealed_by = actor_id
    rnd.updated_at = rnd.revealed_at
    session.add(rnd)
    record(session, rnd, actor_id=actor_id, kind="revealed", why=why)
    session.flush()
    return True


def close(
    session: Session, *, rnd: EstimateRound, actor_id: str | None, to: RoundState, note: str
) -> bool:
    """Cancel (the facilitator) or expire (automatically) an open round."""
    if rnd.state != RoundState.OPEN:
        return False
    if to == RoundState.CANCELLED and actor_id != rnd.facilitator_id:
        raise NotAllowed(f"Only the facilitator, <@{rnd.facilitator_id}>, can cancel {rnd.ref}.")
    rnd.state = to
    rnd.closed_note = note[:200]
    rnd.updated_at = utcnow()
    session.add(rnd)
    record(session, rnd, actor_id=actor_id, kind=str(to))
    session.flush()
    return True


def set_result(session: Session, *, rnd: EstimateRound, result: JsonObject) -> None:
    rnd.result = json.dumps(result)
    rnd.updated_at = utcnow()
    session.add(rnd)


def record_actual(
    session: Session, *, rnd: EstimateRound, actor_id: str, value: float
) -> float | None:
    """What it really took (the round's unit); returns the value it replaced."""
    if rnd.state != RoundState.REVEALED:
        raise Conflict(f"{rnd.ref} isn't revealed; record the actual once its estimate is.")
    if actor_id != rnd.facilitator_id and actor_id not in estimated_by(session, rnd):
        raise NotAllowed(
            f"Only the facilitator of {rnd.ref} and the people who estimated it can record its actual."
        )
    before = rnd.actual
    rnd.actual = value
    rnd.actual_by = actor_id
    rnd.actual_at = utcnow()
    rnd.updated_at = rnd.actual_at
    session.add(rnd)
    record(session, rnd, actor_id=actor_id, kind="actual", value=value, before=before)
    return before


def calibration_rows(
    session: Session, *, team_id: str, viewer: Viewer, user_id: str | None = None
) -> list[tuple[str, list[list[float]], int, str, float, str]]:
    """(user, ranges, confidence, familiarity, actual, unit) for every estimate of a revealed
    round with an actual that ``viewer`` may see; ``user_id`` narrows to one person."""
    stmt = (
        select(
            col(Estimate.user_id),
            col(Estimate.ranges),
            col(Estimate.confidence),
            col(Estimate.familiarity),
            col(EstimateRound.actual),
            col(EstimateRound.unit),
        )
        .join(EstimateRound, col(EstimateRound.id) == col(Estimate.round_id))
        .where(
            col(EstimateRound.team_id) == team_id,
            col(EstimateRound.state) == RoundState.REVEALED,
            col(EstimateRound.actual).is_not(None),
            _visible_to(viewer),
        )
        .order_by(col(EstimateRound.number), col(Estimate.id))
    )
    if user_id is not None:
        stmt = stmt.where(col(Estimate.user_id) == user_id)
    return [
        (u, json.loads(r), int(c), f, float(a), unit)
        for u, r, c, f, a, unit in rows_of(session, stmt)
        if a is not None  # the WHERE's ``actual IS NOT NULL``, for the type
    ]


def set_post_result(
    session: Session,
    *,
    rnd: EstimateRound,
    message_ts: str | None,
    error: str | None,
    private: bool | None = None,
) -> None:
    if message_ts:
        rnd.message_ts = message_ts
    rnd.post_error = error
    if private is not None:
        rnd.channel_private = private
    session.add(rnd)


def last_familiarity(session: Session, *, team_id: str, user_id: str) -> str | None:
    """The familiarity this person chose last, in any round of the workspace (the form
    preselects it)."""
    return session.scalars(
        select(col(Estimate.familiarity))
        .where(col(Estimate.team_id) == team_id, col(Estimate.user_id) == user_id)
        .order_by(col(Estimate.updated_at).desc(), col(Estimate.id).desc())
        .limit(1)
    ).one_or_none()


def team_sizes(
    session: Session, *, team_id: str, scale: str
) -> dict[str, tuple[float, float, float]]:
    """The sizes this team set on ``scale`` (the caller fills in the defaults)."""
    rows = session.scalars(
        select(EstimateSize).where(
            col(EstimateSize.team_id) == team_id, col(EstimateSize.scale) == scale
        )
    )
    return {r.size: (r.best, r.likely, r.worst) for r in rows}


def set_size(
    session: Session,
    *,
    team_id: str,
    scale: str,
    size: str,
    values: tuple[float, float, float],
    user_id: str,
) -> tuple[float, float, float] | None:
    """Set one T-shirt size; returns what it was (None: the default)."""
    row = session.get(EstimateSize, (team_id, scale, size))
    before = (row.best, row.likely, row.worst) if row is not None else None
    if row is None:
        row = EstimateSize(
            team_id=team_id, scale=scale, size=size, best=0, likely=0, worst=0, updated_by=user_id
        )
    row.best, row.likely, row.worst = values
    row.updated_by = user_id
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return before


def actual_ratios(session: Session, *, team_id: str, limit: int = 20) -> list[float]:
    """How far this team's actuals fell from its estimates: actual / the combined most likely
    figure of each revealed round with an actual, newest first (at most ``limit``). Every
    round of the workspace counts, whatever its channel: only the ratios leave this function,
    never a round's topic or figures."""
    rows = rows_of(
        session,
        select(col(EstimateRound.actual), col(EstimateRound.result))
        .where(
            col(EstimateRound.team_id) == team_id,
            col(EstimateRound.state) == RoundState.REVEALED,
            col(EstimateRound.actual).is_not(None),
            col(EstimateRound.result) != "",
        )
        .order_by(col(EstimateRound.actual_at).desc(), col(EstimateRound.id).desc())
        .limit(limit),
    )
    ratios = []
    for actual, result in rows:
        try:
            likely = float(json.loads(result)["p50"])
        except (ValueError, KeyError, TypeError):
            continue
        if likely > 0 and actual is not None and actual > 0:
            ratios.append(float(actual) / likely)
    return ratios


def set_message_digest(session: Session, *, rnd: EstimateRound, digest: str) -> None:
    rnd.message_digest = digest
    session.add(rnd)
