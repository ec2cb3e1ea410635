"""Decide-by dates (issue 26), the feature's side: planning the nudge DMs when a decision is
saved (``plan_nudges``, ``replan_nudges``), sending them (the ``decide_by.decider`` and
``decide_by.author`` work kinds), and the author's DM buttons (Accept, Extend…, Ping again).
The rows, keys and checks are ``storage.decide_by``'s."""

from __future__ import annotations

import logging
from datetime import date, datetime

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.core import people
from bot.core.blocks import button, modal, section
from bot.core.dates import local_instant, zone
from bot.core.errors import guarded
from bot.core.forms import button_number
from bot.core.ids import Action, Callback, Field
from bot.core.metadata import ModalMeta
from bot.core.payloads import (
    ActionPayload,
    BlockActionsBody,
    Blocks,
    ViewPayload,
    ViewSubmissionBody,
)
from bot.core.redacted import shown
from bot.core.render import render
from bot.engine.registry import Job, Registry, WorkKind, raise_if_permanent
from bot.features.decisions import lifecycle
from bot.features.decisions.forms import (
    decide_by_input,
    decide_by_value,
    earliest_today,
)
from bot.features.decisions.views import (
    decide_by_day,
)
from storage import decide_by as nudges
from storage import decision_work as outbox
from storage import decisions as repo
from storage.db import Database
from storage.decide_by import DecideByWork
from storage.errors import Conflict, InvalidInput
from storage.models import (
    Decision,
    DecisionStatus,
    DueWork,
    StanceKind,
    utcnow,
)
from storage.submissions import first_submission
from storage.visibility import Viewer

log = logging.getLogger(__name__)


def plan_nudges(session: Session, *, decision: Decision, now: datetime | None = None) -> None:
    """Plan the decision's decide-by DMs (idempotent: keys per decision, date and person):
    each decider's at 09:00 their time the working day before, the author's at 09:00 their
    time on the day. The zone is the person's in the user cache, else the workspace's
    (`/adr settings`), else UTC (``storage.decide_by.zone_of``); each instant is worked out
    from the local date and time (zoneinfo), so a clock change in between moves it with the
    wall clock. An instant already past (a date set for tomorrow in the afternoon) is due
    at once."""
    if decision.decide_by is None or decision.status != DecisionStatus.PROPOSED:
        return
    now = now or utcnow()
    team, day = decision.team_id, decision.decide_by
    for user in nudges.deciders(session, decision=decision):
        tz = nudges.zone_of(session, team_id=team, user_id=user)
        at = local_instant(nudges.working_day_before(day), nudges.NUDGE_HOUR, tz)
        nudges.schedule_decider_nudge(session, decision=decision, user_id=user, due_at=max(at, now))
    tz = nudges.zone_of(session, team_id=team, user_id=decision.author_id)
    at = local_instant(day, nudges.NUDGE_HOUR, tz)
    nudges.schedule_author_notice(session, decision=decision, due_at=max(at, now))


def replan_nudges(session: Session, *, decision: Decision) -> None:
    """The decide-by date changed (or was cleared): the old rows are cancelled, new keys
    planned."""
    nudges.cancel_nudges(session, decision=decision)
    plan_nudges(session, decision=decision)


def _nudge_subject(job: Job) -> tuple[Decision, str, date] | None:
    """The decision, person and date of a nudge row, or None when it is not wanted any more
    (checked when it is sent: decided, withdrawn, superseded or moved since)."""
    with job.db.read() as session:
        decision = _load(session, job.item)
        day = date.fromisoformat(str(job.payload["decide_by"]))
        if not nudges.is_open(decision, day):
            return None
        return decision, str(job.payload["user"]), day


def handle_decider_nudge(job: Job) -> bool:
    """One DM to a decider who has not taken a stance (not to one who turned DMs off)."""
    found = _nudge_subject(job)
    if found is None:
        return False
    decision, user, day = found
    with job.db.read() as session:
        if user not in nudges.waiting(session, decision=decision):
            return False  # answered meanwhile, or no longer a decider
        if nudges.muted(session, team_id=decision.team_id, user_ids=[user]):
            return False
    text = render(
        "decisions/decide_by_decider.md.j2",
        ping=bool(job.payload.get("ping")),
        author=decision.author_id,
        number=decision.number,
        title=shown(decision.title),
        day=decide_by_day(day),
        channel=decision.channel_id,
    )
    return _send_nudge(job, decision, user, nudges.DECIDER, day, text, [section(text)])


def handle_author_notice(job: Job) -> bool:
    """On the day: the author hears who has not answered, with Accept (when nothing
    blocks), Extend and Ping again. The author's DM preference holds here too: it is a
    message the bot starts, not an answer to something they just did."""
    found = _nudge_subject(job)
    if found is None:
        return False
    decision, user, day = found
    with job.db.read() as session:
        if nudges.muted(session, team_id=decision.team_id, user_ids=[user]):
            return False
        waiting = nudges.waiting(session, decision=decision)
        muted = nudges.muted(session, team_id=decision.team_id, user_ids=waiting)
        blocked = any(s.kind == StanceKind.BLOCK for s in repo.stances(session, decision=decision))
    text = render(
        "decisions/decide_by_author.md.j2",
        number=decision.number,
        title=shown(decision.title),
        day=decide_by_day(day),
        waiting=waiting,
        muted=[u for u in waiting if u in muted],
        blocked=blocked,
    )
    value = str(decision.number)
    buttons: Blocks = []
    if not blocked:
        buttons.append(button("Accept", Action.DECIDE_BY_ACCEPT, value, "primary"))
    buttons.append(button("Extend…", Action.DECIDE_BY_EXTEND, value))
    if any(u not in muted for u in waiting):
        buttons.append(button("Ping again", Action.DECIDE_BY_PING, value))
    blocks: Blocks = [section(text), {"type": "actions", "elements": buttons}]
    return _send_nudge(job, decision, user, nudges.AUTHOR, day, text, blocks)


def _send_nudge(
    job: Job, decision: Decision, user: str, role: str, day: date, text: str, blocks: Blocks
) -> bool:
    try:
        resp = job.client.chat_postMessage(
            channel=user, text=text, blocks=blocks, unfurl_links=False
        )
    except SlackApiError as exc:
        raise_if_permanent(exc, f"remind {user} that {decision.ref} is to be decided")
        raise
    channel_id, message_ts = str(resp["channel"]), str(resp["ts"])
    job.landed(channel_id, message_ts)
    job.after_send.append(
        lambda session: nudges.remember_nudge(
            session,
            decision=decision,
            user_id=user,
            role=role,
            day=day,
            channel_id=channel_id,
            message_ts=message_ts,
        )
    )
    return True


class ExtendMeta(ModalMeta):
    """Which decision the Extend modal moves the decide-by date of."""

    number: int


def _nudged_decision(
    db: Database, *, team: str, action: ActionPayload, body: BlockActionsBody
) -> Decision:
    """The decision a decide-by DM's button points at, for someone who may change it. A
    click on a DM the bot sent to this very person (its channel and ts are kept) passes the
    visibility rule as the DM itself did; any other click goes through the rule."""
    number = button_number(action, "a decision")
    user = body["user"]["id"]
    container = body.get("container") or {}
    with db.read() as session:
        sent = nudges.nudge_of_message(
            session,
            team_id=team,
            channel_id=str(container.get("channel_id") or ""),
            message_ts=str(container.get("message_ts") or ""),
        )
    viewer: Viewer | None = None
    if sent is None or sent.user_id != user:
        viewer = people.viewer_of_click(db, team=team, body=body)
    with db.read() as session:
        if viewer is None:
            assert sent is not None
            decision = repo.get_decision_by_id(session, team_id=team, decision_id=sent.decision_id)
            if decision.number != number:
                raise InvalidInput("That button doesn't point at a decision any more.")
        else:
            decision = repo.get_decision(session, team_id=team, number=number, viewer=viewer)
        repo.require_changer(session, decision, user)
    if decision.status != DecisionStatus.PROPOSED:
        raise Conflict(f"{decision.ref} is {decision.status} already.")
    return decision


def handle_decide_by_accept(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    respond: Respond,
    db: Database,
    team: str,
) -> None:
    """**Accept**: as `/adr accept N` (the same rules: a block refuses it, in one sentence)."""
    decision = _nudged_decision(db, team=team, action=action, body=body)
    user = body["user"]["id"]
    with db.session() as session:
        changed = lifecycle.change_and_tell(
            session,
            team=team,
            number=decision.number,
            actor=user,
            to=DecisionStatus.ACCEPTED,
            note="",
            override=False,
        )
    ack()
    respond(
        response_type="ephemeral", replace_original=False, text=f"{changed.ref} is now accepted."
    )


def handle_decide_by_extend(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    """**Extend…**: a modal asking for the new decide-by date."""
    decision = _nudged_decision(db, team=team, action=action, body=body)
    ack()
    client.views_open(
        trigger_id=body["trigger_id"],
        view=modal(
            callback_id=Callback.DECIDE_BY_EXTEND_FORM,
            title=f"Extend ADR-{decision.number}",
            submit="Extend",
            blocks=[decide_by_input(decision.decide_by)],
            metadata=ExtendMeta(number=decision.number).encode(),
        ),
    )


def handle_extend_submission(
    ack: Ack,
    body: ViewSubmissionBody,
    view: ViewPayload,
    db: Database,
    team: str,
    context: BoltContext,
) -> None:
    """The new date, read with the one date parser in the person's zone; the old nudges are
    cancelled and the new date's planned."""
    meta = ExtendMeta.decode(view)
    user = body["user"]["id"]
    person = people.known(db, team=team, user=user, enterprise_id=context.enterprise_id)
    tz = person.tz if person is not None else None
    now = utcnow()
    today = now.astimezone(zone(tz)).date()
    values = view.get("state", {}).get("values", {})
    day, error = decide_by_value(values, today=today, earliest=today if tz else earliest_today(now))
    if error is None and day is None:
        error = "Say by when it should be decided."
    if error:
        ack(response_action="errors", errors={Field.DECIDE_BY: error})
        return
    assert day is not None
    with db.session() as session:
        if not first_submission(session, team_id=team, view_id=view.get("id"), kind="decide_by"):
            ack()
            return
        decision = repo.get_decision(session, team_id=team, number=meta.number, for_update=True)
        repo.require_changer(session, decision, user)
        if decision.status != DecisionStatus.PROPOSED:
            raise Conflict(f"{decision.ref} is {decision.status} already.")
        if nudges.set_decide_by(session, decision=decision, day=day, actor_id=user):
            replan_nudges(session, decision=decision)
            outbox.schedule_refresh(session, decision=decision)
    ack()


def handle_decide_by_ping(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    respond: Respond,
    db: Database,
    team: str,
) -> None:
    """**Ping again**: one more DM to each decider still without a stance, once per click
    (Slack delivering the same click again adds nothing: the click's own time is in the key)."""
    decision = _nudged_decision(db, team=team, action=action, body=body)
    click = str(action.get("action_ts") or body.get("trigger_id") or "")
    with db.session() as session:
        current = repo.get_decision(session, team_id=team, number=decision.number, for_update=True)
        if current.decide_by is None:
            raise Conflict(f"{current.ref} has no decide-by date any more.")
        pinged, muted = nudges.ping_again(session, decision=current, click=click)
    ack()
    respond(
        response_type="ephemeral",
        replace_original=False,
        text=render(
            "decisions/decide_by_pinged.md.j2",
            number=current.number,
            pinged=pinged,
            muted=muted,
        ),
    )


def register(app: App) -> None:
    app.action(Action.DECIDE_BY_ACCEPT)(guarded(handle_decide_by_accept))
    app.action(Action.DECIDE_BY_EXTEND)(guarded(handle_decide_by_extend))
    app.action(Action.DECIDE_BY_PING)(guarded(handle_decide_by_ping))
    app.view(Callback.DECIDE_BY_EXTEND_FORM)(guarded(handle_extend_submission))


def _load(session: Session, item: DueWork) -> Decision:
    return repo.get_decision_by_id(session, team_id=item.team_id, decision_id=item.subject_id)


def register_work(registry: Registry) -> None:
    registry.register(
        # planned for a time: paused and resumed with the workspace
        WorkKind(DecideByWork.DECIDER, handle_decider_nudge, load=_load, scheduled=True),
        WorkKind(DecideByWork.AUTHOR, handle_author_notice, load=_load, scheduled=True),
    )
