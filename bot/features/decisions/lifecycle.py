"""A decision changes status, and the people it affects hear of it.

`/adr accept|reject|deprecate`, **Accept anyway…** on a blocked card and superseding all end
here: the change is recorded (``storage.decision_status``), the card is refreshed, one line
goes to the decision's thread ("Accepted by @alice over @eve's block: budget approved"), and
when a decision is accepted over someone — a block it overrode, a Disagree and commit — that
person gets a DM (unless they turned DMs off). Message edits notify nobody; the thread line
and the DM are what reach people. All of it is outbox work written in the transaction of the
change.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.core import people
from bot.core.adr_command import AdrCommand
from bot.core.blocks import ephemeral
from bot.core.commands import Request
from bot.core.payloads import SlackPayload
from bot.core.redacted import shown
from bot.core.render import render, truncate
from storage import decision_status, rules
from storage import decision_work as outbox
from storage import decisions as repo
from storage import reviews as reviews_repo
from storage.models import Decision, DecisionStatus, StanceKind, saved_id
from storage.notices import DmAbout, schedule_dm
from storage.people import Person

LIFECYCLE = {
    "accept": DecisionStatus.ACCEPTED,
    "reject": DecisionStatus.REJECTED,
    "deprecate": DecisionStatus.DEPRECATED,
}
NOTE_SHOWN = 300  # characters of a note in the thread line and the DMs


def change_and_tell(
    session: Session,
    *,
    team: str,
    number: int,
    actor: str,
    to: DecisionStatus,
    note: str,
    override: bool,
) -> Decision:
    """Change the status (the rules of ``change_status`` hold: who, from which status, a
    block's override) and schedule everything that tells people."""
    decision = decision_status.change_status(
        session,
        team_id=team,
        number=number,
        actor_id=actor,
        to=to,
        note=note,
        override=override,
    )
    if not rules.is_live(decision.status):  # nothing left to review
        reviews_repo.cancel_reviews(session, decision=decision)
    outbox.schedule_refresh(session, decision=decision)
    stances = repo.stances(session, decision=decision)
    blockers = [s.user_id for s in stances if s.kind == StanceKind.BLOCK] if override else []
    outbox.schedule_thread_note(
        session,
        decision=decision,
        part=str(to),
        text=change_line(to=to, actor=actor, blockers=blockers, note=note),
    )
    if to == DecisionStatus.ACCEPTED:
        dissenters = [s.user_id for s in stances if s.kind == StanceKind.DISAGREE_AND_COMMIT]
        for user in (*blockers, *dissenters):
            if user == actor:
                continue
            schedule_dm(
                session,
                team_id=team,
                user_id=user,
                text=render(
                    "decisions/accepted_over_you.md.j2",
                    number=decision.number,
                    title=shown(decision.title),
                    actor=actor,
                    blocked=user in blockers,
                    note=truncate(note, NOTE_SHOWN),
                ),
                key=f"decision:{decision.id}:accepted-over:{user}",
                subject_id=saved_id(decision),
                about=DmAbout.OTHERS,
            )
    return decision


def change_line(
    *,
    to: DecisionStatus,
    actor: str,
    blockers: list[str],
    note: str,
    superseded_by: int | None = None,
) -> str:
    return render(
        "decisions/change_note.md.j2",
        to=to,
        actor=actor,
        blockers=blockers,
        note=truncate(note, NOTE_SHOWN),
        superseded_by=superseded_by,
    )


def tell_superseded(session: Session, *, old: Decision, new: Decision, actor: str) -> None:
    """The superseded decision's thread hears which one replaced it."""
    reviews_repo.cancel_reviews(session, decision=old)
    outbox.schedule_refresh(session, decision=old)
    outbox.schedule_thread_note(
        session,
        decision=old,
        part=str(DecisionStatus.SUPERSEDED),
        text=change_line(
            to=DecisionStatus.SUPERSEDED,
            actor=actor,
            blockers=[],
            note="",
            superseded_by=new.number,
        ),
    )


def answer_lifecycle(cmd: AdrCommand, request: Request, person: Person) -> SlackPayload:
    """`/adr accept|reject|deprecate N [note]` (and `accept N --override <note>`)."""
    assert cmd.number is not None  # the parser gives a numbered verb its number
    viewer = people.viewer_for(person, request.channel)
    with request.db.session() as session:
        repo.get_decision(session, team_id=request.team, number=cmd.number, viewer=viewer)
        decision = change_and_tell(
            session,
            team=request.team,
            number=cmd.number,
            actor=person.user_id,
            to=LIFECYCLE[cmd.name],
            note=cmd.text,
            override=cmd.override,
        )
    return ephemeral(f"ADR-{decision.number} is now {decision.status}.")
