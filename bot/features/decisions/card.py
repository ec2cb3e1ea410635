"""The buttons on a decision's card besides the stances: **Details** (the full record in a
modal) and, on a blocked decision, **Accept anyway…** (a decider overrides the block with a
note, as `/adr accept N --override <note>` does)."""

from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.core import people
from bot.core.blocks import context, input_block, modal, section, text_input
from bot.core.forms import TEXT_MAX, button_number, text_value
from bot.core.ids import Callback, Field
from bot.core.metadata import ModalMeta
from bot.core.payloads import (
    ActionPayload,
    BlockActionsBody,
    SlackPayload,
    ViewPayload,
    ViewSubmissionBody,
)
from bot.core.render import mention, render, truncate
from bot.features.decisions.lifecycle import change_and_tell
from bot.features.decisions.record import build_details_modal
from storage import decision_record, decision_status, review_lists
from storage import decisions as repo
from storage.db import Database
from storage.errors import Conflict, NotAllowed
from storage.models import DecisionStatus, Stance, StanceKind
from storage.submissions import first_submission


class OverrideMeta(ModalMeta):
    """Which decision the "Accept anyway…" modal overrides the block of."""

    number: int


def handle_details(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    """**Details**: the record as `/adr show` has it, for whoever may see it from here."""
    number = button_number(action, "a decision")
    viewer = people.viewer_of_click(db, team=team, body=body)
    with db.read() as session:
        decision = repo.get_decision(session, team_id=team, number=number, viewer=viewer)
        record = decision_record.load_record(session, decision=decision)
        review = review_lists.review_summary(session, decision=decision, any_rounds=record.reviews)
    ack()
    client.views_open(trigger_id=body["trigger_id"], view=build_details_modal(record, review))


def handle_accept_anyway(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    """**Accept anyway…** opens the note form for someone who may change the decision."""
    number = button_number(action, "a decision")
    user = body["user"]["id"]
    viewer = people.viewer_of_click(db, team=team, body=body)
    with db.read() as session:
        decision = repo.get_decision(session, team_id=team, number=number, viewer=viewer)
        repo.require_changer(session, decision, user)
        refusal = decision_status.override_refusal(session, decision=decision, actor_id=user)
        if refusal:
            raise NotAllowed(refusal)
        blocks = [s for s in repo.stances(session, decision=decision) if s.kind == StanceKind.BLOCK]
    if decision.status != DecisionStatus.PROPOSED or not blocks:
        raise Conflict(f"{decision.ref} is {decision.status} and not blocked any more.")
    ack()
    client.views_open(
        trigger_id=body["trigger_id"], view=build_override_modal(decision.number, blocks)
    )


def build_override_modal(number: int, blocks: list[Stance]) -> SlackPayload:
    reasons = render(
        "decisions/blocked_by.md.j2",
        blocks=[{"who": mention(b.user_id), "why": truncate(b.reason, 300)} for b in blocks],
    )
    return modal(
        callback_id=Callback.OVERRIDE_FORM,
        title=f"Accept ADR-{number}",
        submit="Accept anyway",
        blocks=[
            section(reasons),
            input_block(
                Field.OVERRIDE_NOTE,
                "Why accept it over the block?",
                text_input(multiline=True, max_length=TEXT_MAX),
                hint="Posted in the decision's thread; whoever blocked gets it by DM.",
            ),
            context("Only someone who was a decider when the block was placed can do this."),
        ],
        metadata=OverrideMeta(number=number).encode(),
    )


def handle_override_submission(
    ack: Ack, body: ViewSubmissionBody, view: ViewPayload, db: Database, team: str
) -> None:
    meta = OverrideMeta.decode(view)
    note = text_value(view.get("state", {}).get("values", {}), Field.OVERRIDE_NOTE)
    if not note.strip():
        ack(response_action="errors", errors={Field.OVERRIDE_NOTE: "Say why, in a sentence."})
        return
    user = body["user"]["id"]
    with db.session() as session:
        if not first_submission(session, team_id=team, view_id=view.get("id"), kind="override"):
            ack()  # the same Submit again: recorded already
            return
        change_and_tell(
            session,
            team=team,
            number=meta.number,
            actor=user,
            to=DecisionStatus.ACCEPTED,
            note=note,
            override=True,
        )
    ack()
