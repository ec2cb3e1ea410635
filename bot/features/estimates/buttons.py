"""The buttons on a round's message: Add my estimate, Reveal, Cancel, Estimate again."""

from __future__ import annotations

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.core import people
from bot.core.forms import button_number
from bot.core.ids import Action
from bot.core.payloads import ActionPayload, BlockActionsBody, InteractionBody
from bot.features.estimates import views
from bot.features.estimates.forms import build_estimate_modal, scale_of
from bot.features.estimates.work import combined_of, person_estimates
from storage import estimates as repo
from storage.db import Database
from storage.errors import InvalidInput
from storage.estimate_work import (
    EstimateWork,
    cancel_pending,
    schedule_compute,
    schedule_new_round,
    schedule_refresh,
)
from storage.models import RoundState, utcnow
from storage.visibility import Viewer


def reveal_round(
    db: Database, *, team: str, number: int, user: str, viewer: Viewer | None
) -> tuple[bool, str]:
    """The facilitator reveals: (whether it changed anything, the sentence for them)."""
    with db.session() as session:
        rnd = repo.get_round(session, team_id=team, number=number, viewer=viewer, for_update=True)
        if not repo.reveal(session, rnd=rnd, actor_id=user, why="facilitator"):
            if rnd.state == RoundState.REVEALED:
                return False, f"{rnd.ref} was revealed already."
            return False, f"{rnd.ref} is {rnd.state}; there is nothing to reveal."
        schedule_compute(session, rnd=rnd)
        cancel_pending(session, rnd=rnd, kinds=(EstimateWork.DEADLINE, EstimateWork.REMIND))
    return True, f"Revealing {rnd.ref}: the figures appear on its message in a moment."


def cancel_round(
    db: Database, *, team: str, number: int, user: str, viewer: Viewer | None
) -> tuple[bool, str]:
    """The facilitator cancels: (whether it changed anything, the sentence for them)."""
    with db.session() as session:
        rnd = repo.get_round(session, team_id=team, number=number, viewer=viewer, for_update=True)
        if not repo.close(
            session, rnd=rnd, actor_id=user, to=RoundState.CANCELLED, note="Cancelled."
        ):
            return False, f"{rnd.ref} is {rnd.state}; it can't be cancelled now."
        schedule_refresh(session, rnd=rnd)
        cancel_pending(
            session,
            rnd=rnd,
            kinds=(EstimateWork.DEADLINE, EstimateWork.REMIND, EstimateWork.EXPIRE),
        )
    return True, f"{rnd.ref} is cancelled."


FACILITATOR = {"reveal": reveal_round, "cancel": cancel_round}


def clicker(body: InteractionBody) -> str:
    return str(body["user"]["id"])


def _tell(respond: Respond, text: str) -> None:
    respond(response_type="ephemeral", replace_original=False, text=text)


def handle_add(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    """**Add my estimate**: the modal, with your own earlier numbers if any (never anyone
    else's). Anyone who can click the message may estimate."""
    number = button_number(action, "an estimate round")
    viewer = people.viewer_of_click(db, team=team, body=body)
    with db.read() as session:
        rnd = repo.get_round(session, team_id=team, number=number, viewer=viewer)
        if rnd.state != RoundState.OPEN:
            raise InvalidInput(f"{rnd.ref} is {rnd.state}; estimates are closed.")
        tasks = repo.tasks_of(session, rnd)
        mine = repo.own_estimate(session, rnd, clicker(body))
        last = repo.last_familiarity(session, team_id=team, user_id=clicker(body))
        sizes = repo.team_sizes(session, team_id=team, scale=scale_of(rnd.unit))
    ack()
    view = build_estimate_modal(
        rnd, tasks, mine, channel=viewer.channel_id, last_familiarity=last, sizes=sizes
    )
    client.views_open(trigger_id=body["trigger_id"], view=view)


def handle_facilitator_click(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    respond: Respond,
    db: Database,
    team: str,
) -> None:
    """**Reveal** and **Cancel**: the message itself shows the change; only a refusal or a
    no-op is said to the person."""
    verb = "reveal" if action["action_id"] == Action.ESTIMATE_REVEAL else "cancel"
    changed, text = FACILITATOR[verb](
        db,
        team=team,
        number=button_number(action, "an estimate round"),
        user=clicker(body),
        viewer=None,
    )
    ack()
    if not changed:
        _tell(respond, text)


def handle_again_click(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    respond: Respond,
    db: Database,
    team: str,
) -> None:
    """**Re-estimate**: a new round linked to this one (same topic, tasks, unit, phase and
    invitees), started by the facilitator after the discussion."""
    number = button_number(action, "an estimate round")
    user = clicker(body)
    with db.session() as session:
        old = repo.get_round(session, team_id=team, number=number, for_update=True)
        if user != old.facilitator_id:
            raise InvalidInput(
                f"Only the facilitator, <@{old.facilitator_id}>, can start a new round of {old.ref}."
            )
        again = repo.reestimate_of(session, rnd=old)
        if again is not None:  # a second click (or a double one): the round it started
            ack()
            _tell(respond, f"{again.ref} is already the new round of {old.ref}.")
            return
        draft = repo.RoundDraft(
            topic=old.topic,
            unit=old.unit,
            phase=old.phase,
            channel_id=old.channel_id,
            tasks=[t.name for t in repo.tasks_of(session, old)],
            invitees=repo.invited(session, old),
            thread_ts=old.thread_ts,
            previous_round_id=old.id,
            mode=old.mode,
        )
        rnd = repo.create_round(
            session, team_id=team, facilitator_id=user, draft=draft, viewer=Viewer(user_id=user)
        )
        rnd.decision_id = old.decision_id
        session.add(rnd)
        schedule_new_round(session, rnd=rnd, now=utcnow())
    ack()
    _tell(respond, f"{rnd.ref} is open: a new round of {old.ref}, linked to it.")


def handle_details_click(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    """**Details** on a revealed round: every figure behind its headline, in a modal, for
    whoever may see the round from where they clicked."""
    number = button_number(action, "an estimate round")
    viewer = people.viewer_of_click(db, team=team, body=body)
    with db.read() as session:
        rnd = repo.get_round(session, team_id=team, number=number, viewer=viewer)
        combined = combined_of(rnd) if rnd.state == RoundState.REVEALED else None
        estimates = repo.estimates_of(session, rnd) if combined is not None else []
    if combined is None or not estimates:
        raise InvalidInput(f"{rnd.ref} has no combined estimate yet.")
    ack()
    view = views.build_details_modal(rnd, combined, person_estimates(estimates))
    client.views_open(trigger_id=body["trigger_id"], view=view)
