"""`/estimate`: blind ranged estimates. Starting a round, the estimate modal, Reveal, Cancel,
Re-estimate, actuals, list/show/calibration, and the "Estimate this" message shortcut.

Listeners change the database and ack; everything Slack sees afterwards (the round's message,
its refreshes, the reveal's figures, thread details, the chart, reminders) is outbox work in
``bot/features/estimates/work.py``. Before the reveal no other person's numbers leave the database.
"""

from __future__ import annotations

import logging
from datetime import UTC

from slack_bolt import Ack, App, Respond

from bot.core import durations, people
from bot.core.blocks import ephemeral
from bot.core.commands import Request, SlashCommand
from bot.core.dates import unreadable, zone
from bot.core.errors import guarded
from bot.core.ids import Action, Callback
from bot.core.payloads import ShortcutBody, SlackPayload, ViewPayload, ViewSubmissionBody
from bot.features.estimates import texts, views
from bot.features.estimates.buttons import (
    FACILITATOR,
    clicker,
    handle_add,
    handle_again_click,
    handle_details_click,
    handle_facilitator_click,
)
from bot.features.estimates.calibration import CalibrationRecord, calibration
from bot.features.estimates.command import EstimateCommand, parse_deadline, parse_estimate
from bot.features.estimates.forms import (
    RoundMeta,
    parse_estimate_form,
    scale_of,
)
from bot.features.estimates.sizes import sizes_command
from bot.features.estimates.work import combined_of
from storage import estimates as repo
from storage.db import Database
from storage.errors import InvalidInput
from storage.estimate_work import (
    EstimateWork,
    cancel_pending,
    schedule_compute,
    schedule_dm,
    schedule_new_round,
    schedule_refresh,
)
from storage.invocations import Creates, made_before, record_made
from storage.models import RoundMode, utcnow
from storage.notices import DmAbout
from storage.people import Person
from storage.submissions import first_submission
from storage.visibility import Viewer

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.command("/estimate")(guarded(estimate_command().handle))
    app.action(Action.ESTIMATE_ADD)(guarded(handle_add))
    app.action(Action.ESTIMATE_REVEAL)(guarded(handle_facilitator_click))
    app.action(Action.ESTIMATE_CANCEL)(guarded(handle_facilitator_click))
    app.action(Action.ESTIMATE_AGAIN)(guarded(handle_again_click))
    app.action(Action.ESTIMATE_DETAILS)(guarded(handle_details_click))
    app.view(Callback.ESTIMATE_FORM)(guarded(handle_estimate_submission))
    app.shortcut(Callback.ESTIMATE_SHORTCUT)(guarded(handle_estimate_this))


# -- /estimate ------------------------------------------------------------------------------


def estimate_command() -> SlashCommand[EstimateCommand]:
    """`/estimate`'s table of verbs."""
    table = SlashCommand("/estimate", parse=parse_estimate, help=_help)
    table.add("new", answer=_answer_new)
    table.add("list", answer=_answer_list)
    table.add("calibration", answer=_answer_calibration)
    table.add("show", answer=_answer_show)
    table.add("actual", answer=_answer_actual)
    table.add(*FACILITATOR, answer=_answer_facilitator)
    table.add("sizes", answer=_answer_sizes)
    return table


def _help(cmd: EstimateCommand) -> SlackPayload:
    return ephemeral("Estimates help", views.help_blocks(full=cmd.text == "all"))


def _viewer(request: Request, person: Person) -> Viewer:
    return people.viewer_for(person, request.channel)


def _answer_new(cmd: EstimateCommand, request: Request, person: Person) -> SlackPayload:
    viewer = _viewer(request, person)
    return ephemeral(
        _start(
            cmd, person, request.db, request.team, request.channel or "", viewer, request.trigger_id
        )
    )


def _answer_list(cmd: EstimateCommand, request: Request, person: Person) -> SlackPayload:
    with request.db.read() as session:
        rounds = repo.list_rounds(session, team_id=request.team, viewer=_viewer(request, person))
    return ephemeral("Estimate rounds", views.build_list_blocks(rounds))


def _answer_calibration(cmd: EstimateCommand, request: Request, person: Person) -> SlackPayload:
    return ephemeral(_calibration(cmd, request.db, request.team, _viewer(request, person)))


def _answer_show(cmd: EstimateCommand, request: Request, person: Person) -> SlackPayload:
    assert cmd.number is not None  # the parser gives a numbered verb its number
    with request.db.read() as session:
        rnd = repo.get_round(
            session, team_id=request.team, number=cmd.number, viewer=_viewer(request, person)
        )
        text, blocks = views.build_show_blocks(
            rnd, repo.tasks_of(session, rnd), repo.estimated_by(session, rnd), combined_of(rnd)
        )
    return ephemeral(text, blocks)


def _answer_sizes(cmd: EstimateCommand, request: Request, person: Person) -> SlackPayload:
    return ephemeral(sizes_command(request.db, team=request.team, text=cmd.text, person=person))


def _answer_actual(cmd: EstimateCommand, request: Request, person: Person) -> SlackPayload:
    return ephemeral(_actual(cmd, request.db, request.team, _viewer(request, person)))


def _answer_facilitator(cmd: EstimateCommand, request: Request, person: Person) -> SlackPayload:
    assert cmd.number is not None
    _, text = FACILITATOR[cmd.name](
        request.db,
        team=request.team,
        number=cmd.number,
        user=person.user_id,
        viewer=_viewer(request, person),
    )
    return ephemeral(text)


def _start(
    cmd: EstimateCommand,
    person: Person,
    db: Database,
    team: str,
    channel: str,
    viewer: Viewer,
    trigger_id: str,
) -> str:
    if not channel:
        raise InvalidInput("Start a round from the channel it is for.")
    deadline = None
    if cmd.deadline:
        now_local = utcnow().astimezone(zone(person.tz))
        deadline = parse_deadline(cmd.deadline, now_local)
        if deadline is None:
            raise InvalidInput(unreadable(cmd.deadline, times=True))
        if deadline <= now_local:
            raise InvalidInput("That deadline has passed already; pick one in the future.")
        deadline = deadline.astimezone(UTC)
    draft = repo.RoundDraft(
        topic=cmd.topic,
        unit=cmd.unit,
        phase=cmd.phase,
        channel_id=channel,
        tasks=list(cmd.tasks),
        invitees=list(cmd.invitees),
        deadline_at=deadline,
        decision_number=cmd.decision_number,
        mode=RoundMode.QUICK if cmd.quick else RoundMode.RANGE,
    )
    with db.session() as session:
        earlier = made_before(
            session, team_id=team, trigger_id=trigger_id, kind=Creates.ESTIMATE_ROUND
        )
        if earlier is not None:  # the same request again (a replay): the first one's answer
            rnd = repo.get_round(session, team_id=team, number=earlier, viewer=viewer)
        else:
            rnd = repo.create_round(
                session, team_id=team, facilitator_id=person.user_id, draft=draft, viewer=viewer
            )
            schedule_new_round(session, rnd=rnd, now=utcnow())
            record_made(session, team_id=team, trigger_id=trigger_id, number=rnd.number)
    return texts.started_text(rnd, deadline_local=cmd.deadline if deadline else None)


def _actual(cmd: EstimateCommand, db: Database, team: str, viewer: Viewer) -> str:
    assert cmd.number is not None
    with db.session() as session:
        rnd = repo.get_round(
            session, team_id=team, number=cmd.number, viewer=viewer, for_update=True
        )
        try:
            value = durations.parse_duration(cmd.text, rnd.unit)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        repo.record_actual(session, rnd=rnd, actor_id=viewer.user_id, value=value)
        cancel_pending(session, rnd=rnd, kinds=(EstimateWork.ASK_ACTUAL,))
        schedule_refresh(session, rnd=rnd)
    return f"Recorded: {rnd.ref} took {durations.format_duration(value, rnd.unit)}."


def _calibration(cmd: EstimateCommand, db: Database, team: str, viewer: Viewer) -> str:
    who = cmd.invitees[0] if cmd.invitees else None
    with db.read() as session:
        rows = repo.calibration_rows(session, team_id=team, viewer=viewer, user_id=who)
    records = [
        CalibrationRecord(
            user_id=user,
            best=sum(r[0] for r in ranges),
            likely=sum(r[1] for r in ranges),
            worst=sum(r[2] for r in ranges),
            confidence=confidence,
            actual=actual,
        )
        for user, ranges, confidence, _familiarity, actual, _unit in rows
    ]
    return texts.calibration_text(calibration(records), who)


# -- buttons --------------------------------------------------------------------------------


# -- the estimate modal ---------------------------------------------------------------------


def handle_estimate_submission(
    ack: Ack, body: ViewSubmissionBody, view: ViewPayload, db: Database, team: str
) -> None:
    user = clicker(body)
    meta = RoundMeta.decode(view)
    number = meta.round
    values = view.get("state", {}).get("values", {})
    # One unit of work: who submitted, the round (through the visibility rule, locked), its
    # tasks and sizes, then the numbers. A refusal writes nothing: the view id is
    # remembered only once the numbers are read.
    with db.session() as session:
        person = people.as_known_or_guest(
            db, team=team, user=user, home_team=people.home_team_of(body), session=session
        )
        viewer = people.viewer_for(person, meta.channel)
        rnd = repo.get_round(session, team_id=team, number=number, viewer=viewer, for_update=True)
        tasks = repo.tasks_of(session, rnd)
        sizes = repo.team_sizes(session, team_id=team, scale=scale_of(rnd.unit))
        parsed, errors = parse_estimate_form(values, rnd, tasks, sizes)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        assert parsed is not None
        if not first_submission(session, team_id=team, view_id=view.get("id"), kind="estimate"):
            ack()  # the same Submit again: recorded already
            return
        estimate, everyone = repo.submit_estimate(
            session,
            rnd=rnd,
            user_id=user,
            ranges=parsed.ranges,
            confidence=parsed.confidence,
            familiarity=parsed.familiarity,
            assumptions=parsed.assumptions,
            typed=parsed.typed,
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
            text=texts.confirmation_text(rnd, tasks, estimate),
            part=f"confirm:{view.get('id') or utcnow().timestamp()}",
            about=DmAbout.OWN_ACTION,
        )
    ack()


# -- "Estimate this" ------------------------------------------------------------------------


def handle_estimate_this(
    ack: Ack, shortcut: ShortcutBody, respond: Respond, db: Database, team: str
) -> None:
    """A message shortcut (slash commands can't be typed in threads): a round in that
    message's thread, about what the message says."""
    message = shortcut.get("message", {})
    channel = shortcut.get("channel", {}).get("id")
    user = shortcut["user"]["id"]
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
        tasks=list(cmd.tasks) if cmd.name == "new" else [],
        invitees=list(cmd.invitees) if cmd.name == "new" else [],
        thread_ts=str(message.get("thread_ts") or message["ts"]),
        mode=RoundMode.QUICK if cmd.name == "new" and cmd.quick else RoundMode.RANGE,
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
    respond(response_type="ephemeral", text=texts.started_text(rnd, deadline_local=None))
