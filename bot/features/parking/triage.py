"""Triage of a parked item: the Score, Accept, Defer and Decline buttons and their modals, Done\nand Withdraw. One table says, per modal, how to read it and what to apply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.core import people
from bot.core.dates import zone
from bot.core.forms import Values, button_number
from bot.core.ids import Action, Callback
from bot.core.payloads import (
    ActionPayload,
    BlockActionsBody,
    InteractionBody,
    SlackPayload,
    ViewPayload,
    ViewSubmissionBody,
)
from bot.features.parking import messages
from bot.features.parking.forms import AcceptDraft, ItemMeta, Score
from bot.features.parking.triage_forms import (
    build_accept_modal,
    build_decline_modal,
    build_defer_modal,
    build_score_modal,
    parse_accept_form,
    parse_decline_form,
    parse_defer_form,
    parse_score_form,
)
from storage import parking as repo
from storage.db import Database
from storage.decisions import get_decision
from storage.estimates import get_round
from storage.models import ParkingItem, ParkingState, utcnow
from storage.notices import DmAbout
from storage.parking_work import (
    schedule_dm,
    schedule_resurface,
)
from storage.people import Person
from storage.submissions import first_submission
from storage.visibility import Viewer


def scores_of(score: Score) -> repo.Scores:
    return repo.Scores(
        reach=score.reach,
        impact=score.impact,
        confidence=score.confidence,
        effort=score.effort,
        moscow=str(score.moscow) if score.moscow else None,
    )


def today_of(person: Person) -> date:
    """Today where the person is (a date picked in their calendar is checked against it)."""
    return utcnow().astimezone(zone(person.tz)).date()


def _actor(db: Database, team: str, body: InteractionBody) -> tuple[str, str | None, Person]:
    user = body["user"]["id"]
    channel = body.get("channel", {}).get("id") or body.get("container", {}).get("channel_id")
    person = people.as_known_or_guest(db, team=team, user=user, home_team=people.home_team_of(body))
    return user, channel, person


# action -> the modal it opens for an item, on the person's today (only Defer's needs it)
TRIAGE_FORMS: dict[str, Callable[[ParkingItem, date], SlackPayload]] = {
    Action.PARK_SCORE: lambda item, today: build_score_modal(item),
    Action.PARK_ACCEPT: lambda item, today: build_accept_modal(item),
    Action.PARK_DEFER: build_defer_modal,
    Action.PARK_DECLINE: lambda item, today: build_decline_modal(item),
}


def handle_open_triage_form(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    user, channel, person = _actor(db, team, body)
    with db.read() as session:
        item = repo.get_item(
            session, team_id=team, number=button_number(action, "a parking-lot item")
        )
        repo.require_may_act(item, user_id=user, channel_id=channel, admin=person.admin)
    ack()
    build = TRIAGE_FORMS[action["action_id"]]
    view = build(item, today_of(person))
    # the channel it was opened in decides who may submit it
    view["private_metadata"] = ItemMeta(item=item.number, channel=channel or None).encode()
    client.views_open(trigger_id=body["trigger_id"], view=view)


def handle_done_or_withdraw(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    respond: Respond,
    db: Database,
    team: str,
) -> None:
    user, channel, person = _actor(db, team, body)
    admin = person.admin
    done = action["action_id"] == Action.PARK_DONE
    with db.session() as session:
        item = repo.get_item(
            session,
            team_id=team,
            number=button_number(action, "a parking-lot item"),
            for_update=True,
        )
        if done:
            repo.require_may_act(item, user_id=user, channel_id=channel, admin=admin)
        repo.transition(
            session,
            item=item,
            actor_id=user,
            to=ParkingState.DONE if done else ParkingState.WITHDRAWN,
        )
    ack()
    respond(
        response_type="ephemeral",
        replace_original=False,
        text=f"{item.ref} is {'done' if done else 'withdrawn'}.",
    )


@dataclass(frozen=True)
class Triage:
    """What the person acting on an item submitted, as the modal's callback reads it."""

    session: Session
    item: ParkingItem
    user: str
    viewer: Viewer


def _apply_score(t: Triage, scores: Score) -> None:
    repo.score(t.session, item=t.item, actor_id=t.user, scores=scores_of(scores))


def _apply_accept(t: Triage, accept: AcceptDraft) -> None:
    team, viewer = t.item.team_id, t.viewer
    decision_id = round_id = None
    if accept.decision_number is not None:
        decision_id = get_decision(
            t.session, team_id=team, number=accept.decision_number, viewer=viewer
        ).id
    if accept.round_number is not None:
        round_id = get_round(t.session, team_id=team, number=accept.round_number, viewer=viewer).id
    repo.transition(
        t.session,
        item=t.item,
        actor_id=t.user,
        to=ParkingState.ACCEPTED,
        timeline_days=accept.timeline_days,
        decision_id=decision_id,
        round_id=round_id,
    )
    _tell_requester(t.session, t.item, messages.accepted_dm(t.item), "accepted")


def _apply_defer(t: Triage, until: date) -> None:
    repo.transition(
        t.session, item=t.item, actor_id=t.user, to=ParkingState.DEFERRED, deferred_until=until
    )
    schedule_resurface(t.session, item=t.item, day=until)


def _apply_decline(t: Triage, reason: str) -> None:
    repo.transition(
        t.session, item=t.item, actor_id=t.user, to=ParkingState.DECLINED, reason=reason
    )
    _tell_requester(t.session, t.item, messages.declined_dm(t.item), "declined")


T = TypeVar("T")


@dataclass(frozen=True)
class TriageForm(Generic[T]):
    """How one triage modal is read (in the person's today) and what it applies."""

    parse: Callable[[Values, date], tuple[T | None, dict[str, str]]]
    apply: Callable[[Triage, T], None]

    def read(
        self, values: Values, today: date
    ) -> tuple[Callable[[Triage], None] | None, dict[str, str]]:
        """What to apply, or None and the errors to show on the modal."""
        parsed, errors = self.parse(values, today)
        if errors or parsed is None:
            return None, errors
        return lambda triage: self.apply(triage, parsed), {}


# callback -> its form
TRIAGE: dict[
    str, TriageForm[Score] | TriageForm[AcceptDraft] | TriageForm[date] | TriageForm[str]
] = {
    Callback.PARK_SCORE_FORM: TriageForm(
        lambda values, today: parse_score_form(values), _apply_score
    ),
    Callback.PARK_ACCEPT_FORM: TriageForm(
        lambda values, today: parse_accept_form(values), _apply_accept
    ),
    Callback.PARK_DEFER_FORM: TriageForm(parse_defer_form, _apply_defer),
    Callback.PARK_DECLINE_FORM: TriageForm(
        lambda values, today: parse_decline_form(values), _apply_decline
    ),
}


def handle_triage_submission(
    ack: Ack, body: ViewSubmissionBody, view: ViewPayload, db: Database, team: str
) -> None:
    meta = ItemMeta.decode(view)
    form = TRIAGE[str(view.get("callback_id"))]
    user = body["user"]["id"]
    person = people.as_known_or_guest(db, team=team, user=user, home_team=people.home_team_of(body))
    apply, errors = form.read(view.get("state", {}).get("values", {}), today_of(person))
    if apply is None:
        ack(response_action="errors", errors=errors)
        return
    viewer = Viewer(user_id=user, channel_id=meta.channel, guest=person.guest)
    with db.session() as session:
        if not first_submission(session, team_id=team, view_id=view.get("id"), kind="parking"):
            ack()
            return
        item = repo.get_item(session, team_id=team, number=meta.item, for_update=True)
        repo.require_may_act(item, user_id=user, channel_id=meta.channel, admin=person.admin)
        apply(Triage(session=session, item=item, user=user, viewer=viewer))
    ack()


def _tell_requester(session: Session, item: ParkingItem, text: str, part: str) -> None:
    """A DM about someone else's decision on their request (skipped for `/adr dm off`)."""
    if item.requester_id:
        schedule_dm(
            session,
            item=item,
            user_id=item.requester_id,
            text=text,
            part=part,
            about=DmAbout.OTHERS,
        )
