"""`/estimate`: blind ranged estimates. Starting a round, the estimate modal, Reveal, Cancel,
Re-estimate, actuals, list/show/calibration, and the "Estimate this" message shortcut.

Listeners change the database and ack; everything Slack sees afterwards (the round's message,
its refreshes, the reveal's figures, thread details, the chart, reminders) is outbox work in
``bot/features/estimates/work.py``. Before the reveal no other person's numbers leave the database.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.core import people
from bot.core.blocks import ephemeral
from bot.core.dates import zone
from bot.core.errors import guarded
from bot.core.forms import button_number
from bot.core.ids import Action, Callback
from bot.features.estimates import estimation, views
from bot.features.estimates.command import EstimateCommand, parse_deadline, parse_estimate
from bot.features.estimates.forms import (
    build_estimate_modal,
    parse_estimate_form,
    round_number_from,
)
from bot.features.estimates.work import combined_of
from storage import estimates as repo
from storage.db import Database
from storage.decisions import Viewer
from storage.errors import InvalidInput
from storage.estimate_work import (
    EstimateWork,
    cancel_pending,
    schedule_compute,
    schedule_dm,
    schedule_new_round,
    schedule_refresh,
)
from storage.models import RoundState, utcnow
from storage.people import Person
from storage.submissions import first_submission

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.command("/estimate")(guarded(handle_estimate))
    app.action(Action.ESTIMATE_ADD)(guarded(handle_add))
    app.action(Action.ESTIMATE_REVEAL)(guarded(handle_facilitator_click))
    app.action(Action.ESTIMATE_CANCEL)(guarded(handle_facilitator_click))
    app.action(Action.ESTIMATE_AGAIN)(guarded(handle_again_click))
    app.view(Callback.ESTIMATE_FORM)(guarded(handle_estimate_submission))
    app.shortcut(Callback.ESTIMATE_SHORTCUT)(guarded(handle_estimate_this))


# -- /estimate ------------------------------------------------------------------------------


def handle_estimate(
    ack: Ack,
    respond: Respond,
    command: dict[str, Any],
    client: WebClient,
    db: Database,
    team: str,
    context: BoltContext,
) -> None:
    cmd = parse_estimate(command.get("text", ""))
    user = command.get("user_id", "")
    channel = command.get("channel_id") or ""
    if cmd.name == "help":
        ack(**ephemeral("Estimates help", views.help_blocks()))
        return
    if cmd.name == "invalid":
        ack(**ephemeral(cmd.error))
        return
    people.answer_as_person(
        ack,
        respond,
        client,
        db,
        team=team,
        user=user,
        enterprise_id=context.enterprise_id,
        answer=lambda person: _answer(cmd, person, db, team, channel),
    )


def _answer(
    cmd: EstimateCommand, person: Person, db: Database, team: str, channel: str
) -> dict[str, Any]:
    viewer = people.viewer_for(person, channel or None)
    user = person.user_id
    if cmd.name == "new":
        return ephemeral(_start(cmd, person, db, team, channel, viewer))
    if cmd.name == "list":
        with db.read() as session:
            rounds = repo.list_rounds(session, team_id=team, viewer=viewer)
        return ephemeral("Estimate rounds", views.build_list_blocks(rounds))
    if cmd.name == "calibration":
        return ephemeral(_calibration(cmd, db, team, viewer))
    assert cmd.number is not None
    if cmd.name == "show":
        with db.read() as session:
            rnd = repo.get_round(session, team_id=team, number=cmd.number, viewer=viewer)
            text, blocks = views.build_show_blocks(
                rnd, repo.tasks_of(session, rnd), repo.estimated_by(session, rnd), combined_of(rnd)
            )
        return ephemeral(text, blocks)
    if cmd.name == "actual":
        return ephemeral(_actual(cmd, db, team, viewer))
    if cmd.name in FACILITATOR:
        _, text = FACILITATOR[cmd.name](db, team=team, number=cmd.number, user=user, viewer=viewer)
        return ephemeral(text)
    return ephemeral("Estimates help", views.help_blocks())


def _start(
    cmd: EstimateCommand, person: Person, db: Database, team: str, channel: str, viewer: Viewer
) -> str:
    if not channel:
        raise InvalidInput("Start a round from the channel it is for.")
    deadline = None
    if cmd.deadline:
        now_local = datetime.now(UTC).astimezone(zone(person.tz))
        deadline = parse_deadline(cmd.deadline, now_local)
        if deadline is None:
            raise InvalidInput(
                f"I can't read the deadline {cmd.deadline[:60]!r}: try `by Friday 15:00`, "
                "`by tomorrow 9:00` or `by 2026-12-04 15:00`."
            )
        if deadline <= now_local:
            raise InvalidInput("That deadline has passed already; pick one in the future.")
        deadline = deadline.astimezone(UTC)
    draft = repo.RoundDraft(
        topic=cmd.topic,
        unit=cmd.unit,
        phase=cmd.phase,
        channel_id=channel,
        tasks=cmd.tasks,
        invitees=cmd.invitees,
        deadline_at=deadline,
        decision_number=cmd.decision_number,
    )
    with db.session() as session:
        rnd = repo.create_round(
            session, team_id=team, facilitator_id=person.user_id, draft=draft, viewer=viewer
        )
        schedule_new_round(session, rnd=rnd, now=utcnow())
    return views.started_text(rnd, deadline_local=cmd.deadline if deadline else None)


def _actual(cmd: EstimateCommand, db: Database, team: str, viewer: Viewer) -> str:
    assert cmd.number is not None
    with db.session() as session:
        rnd = repo.get_round(
            session, team_id=team, number=cmd.number, viewer=viewer, for_update=True
        )
        try:
            value = estimation.parse_duration(cmd.text, rnd.unit)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        repo.record_actual(session, rnd=rnd, actor_id=viewer.user_id, value=value)
        cancel_pending(session, rnd=rnd, kinds=(EstimateWork.ASK_ACTUAL,))
        schedule_refresh(session, rnd=rnd)
    return f"Recorded: {rnd.ref} took {estimation.format_duration(value, rnd.unit)}."


def _calibration(cmd: EstimateCommand, db: Database, team: str, viewer: Viewer) -> str:
    who = cmd.invitees[0] if cmd.invitees else None
    with db.read() as session:
        rows = repo.calibration_rows(session, team_id=team, viewer=viewer, user_id=who)
    records = [
        estimation.CalibrationRecord(
            user_id=user,
            best=sum(r[0] for r in ranges),
            likely=sum(r[1] for r in ranges),
            worst=sum(r[2] for r in ranges),
            confidence=confidence,
            actual=actual,
        )
        for user, ranges, confidence, _familiarity, actual, _unit in rows
    ]
    return views.calibration_text(estimation.calibration(records), who)


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


# -- buttons --------------------------------------------------------------------------------


def _clicker(body: dict[str, Any]) -> str:
    return str(body["user"]["id"])


def _tell(respond: Respond, text: str) -> None:
    respond(response_type="ephemeral", replace_original=False, text=text)


def handle_add(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    """**Add my estimate**: the modal, with your own earlier numbers if any (never anyone
    else's). Anyone who can click the message may estimate."""
    number = button_number(action, "an estimate round")
    with db.read() as session:
        rnd = repo.get_round(session, team_id=team, number=number)
        if rnd.state != RoundState.OPEN:
            raise InvalidInput(f"{rnd.ref} is {rnd.state}; estimates are closed.")
        tasks = repo.tasks_of(session, rnd)
        mine = repo.own_estimate(session, rnd, _clicker(body))
    ack()
    client.views_open(trigger_id=body["trigger_id"], view=build_estimate_modal(rnd, tasks, mine))


def handle_facilitator_click(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
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
        user=_clicker(body),
        viewer=None,
    )
    ack()
    if not changed:
        _tell(respond, text)


def handle_again_click(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: Respond,
    db: Database,
    team: str,
) -> None:
    """**Re-estimate**: a new round linked to this one (same topic, tasks, unit, phase and
    invitees), started by the facilitator after the discussion."""
    number = button_number(action, "an estimate round")
    user = _clicker(body)
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
        )
        rnd = repo.create_round(
            session, team_id=team, facilitator_id=user, draft=draft, viewer=Viewer(user_id=user)
        )
        rnd.decision_id = old.decision_id
        session.add(rnd)
        schedule_new_round(session, rnd=rnd, now=utcnow())
    ack()
    _tell(respond, f"{rnd.ref} is open: a new round of {old.ref}, linked to it.")


# -- the estimate modal ---------------------------------------------------------------------


def handle_estimate_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], db: Database, team: str
) -> None:
    user = _clicker(body)
    number = round_number_from(view)
    if number is None:
        raise InvalidInput("This form lost track of its round; open it again from the message.")
    with db.read() as session:
        rnd = repo.get_round(session, team_id=team, number=number)
        tasks = repo.tasks_of(session, rnd)
    values = (view.get("state") or {}).get("values") or {}
    parsed, errors = parse_estimate_form(values, rnd, tasks)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    assert parsed is not None
    with db.session() as session:
        if not first_submission(session, team_id=team, view_id=view.get("id"), kind="estimate"):
            ack()  # the same Submit again: recorded already
            return
        rnd = repo.get_round(session, team_id=team, number=number, for_update=True)
        estimate, everyone = repo.submit_estimate(
            session,
            rnd=rnd,
            user_id=user,
            ranges=parsed.ranges,
            confidence=parsed.confidence,
            familiarity=parsed.familiarity,
            assumptions=parsed.assumptions,
        )
        if everyone:
            repo.reveal(session, rnd=rnd, actor_id=None, why="everyone invited estimated")
            schedule_compute(session, rnd=rnd)
            cancel_pending(session, rnd=rnd, kinds=(EstimateWork.DEADLINE, EstimateWork.REMIND))
        else:
            schedule_refresh(session, rnd=rnd)
        # your own numbers, privately (a DM: this is an answer to what you did)
        schedule_dm(
            session,
            rnd=rnd,
            user_id=user,
            text=views.confirmation_text(rnd, tasks, estimate),
            part=f"confirm:{view.get('id') or utcnow().timestamp()}",
        )
    ack()


# -- "Estimate this" ------------------------------------------------------------------------


def handle_estimate_this(
    ack: Ack, shortcut: dict[str, Any], respond: Respond, db: Database, team: str
) -> None:
    """A message shortcut (slash commands can't be typed in threads): a round in that
    message's thread, about what the message says."""
    message = shortcut.get("message") or {}
    channel = (shortcut.get("channel") or {}).get("id")
    user = str((shortcut.get("user") or {}).get("id") or "")
    text = str(message.get("text") or "").strip()
    if not channel or not message.get("ts"):
        raise InvalidInput("I can only start a round on a message in a channel.")
    topic = text.splitlines()[0] if text else ""
    cmd = parse_estimate(topic[:400] or "This")
    draft = repo.RoundDraft(
        topic=(cmd.topic if cmd.name == "new" else topic)[:200] or "This",
        unit=cmd.unit if cmd.name == "new" else "days",
        phase=cmd.phase if cmd.name == "new" else "initial",
        channel_id=channel,
        tasks=cmd.tasks if cmd.name == "new" else [],
        invitees=cmd.invitees if cmd.name == "new" else [],
        thread_ts=str(message.get("thread_ts") or message["ts"]),
    )
    with db.session() as session:
        rnd = repo.create_round(
            session,
            team_id=team,
            facilitator_id=user,
            draft=draft,
            viewer=Viewer(user_id=user, channel_id=channel),
        )
        schedule_new_round(session, rnd=rnd, now=utcnow())
    ack()
    respond(response_type="ephemeral", text=views.started_text(rnd, deadline_local=None))
