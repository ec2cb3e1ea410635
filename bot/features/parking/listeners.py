"""The parking lot: `/parkinglot`, the "Add to parking lot" shortcut, triage buttons and
their modals, and the scope-creep watch on message events.

Who may act on an item: anyone acting from its channel, its requester, workspace admins (from
the user cache: no Slack call before the ack). Every Slack side effect after the ack is
outbox work (`bot/features/parking/work.py`).
"""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.core import people
from bot.core.blocks import ephemeral
from bot.core.commands import Request, SlashCommand
from bot.core.errors import guarded
from bot.core.ids import Action, Callback
from bot.core.payloads import (
    ActionPayload,
    BlockActionsBody,
    InteractionBody,
    MessageEvent,
    ShortcutBody,
    SlackPayload,
    ViewPayload,
    ViewSubmissionBody,
)
from bot.core.slack_api import slack_error
from bot.features.parking import messages, views
from bot.features.parking.command import ParkCommand, parse_parkinglot
from bot.features.parking.forms import (
    ParkMeta,
    build_park_modal,
    parse_park_form,
)
from bot.features.parking.scope_watch import looks_like_scope_addition
from bot.features.parking.triage import (
    handle_done_or_withdraw,
    handle_open_triage_form,
    handle_triage_submission,
    scores_of,
)
from storage import events, parking_watch
from storage import parking as repo
from storage.db import Database
from storage.errors import InvalidInput
from storage.invocations import Creates, made_before, record_made
from storage.models import utcnow
from storage.parking_work import (
    offered,
    schedule_ack,
    schedule_offer,
)
from storage.people import Person
from storage.submissions import first_submission

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.command("/parkinglot")(guarded(parkinglot_command().handle))
    app.shortcut(Callback.PARK_SHORTCUT)(guarded(handle_park_shortcut))
    app.view(Callback.PARK_FORM)(guarded(handle_park_submission))
    app.action(Action.PARK_OFFER)(guarded(handle_offer_click))
    for action in (Action.PARK_SCORE, Action.PARK_ACCEPT, Action.PARK_DEFER, Action.PARK_DECLINE):
        app.action(action)(guarded(handle_open_triage_form))
    app.action(Action.PARK_DONE)(guarded(handle_done_or_withdraw))
    app.action(Action.PARK_WITHDRAW)(guarded(handle_done_or_withdraw))
    for callback in (
        Callback.PARK_SCORE_FORM,
        Callback.PARK_ACCEPT_FORM,
        Callback.PARK_DEFER_FORM,
        Callback.PARK_DECLINE_FORM,
    ):
        app.view(callback)(guarded(handle_triage_submission))


def register_message_watch(app: App) -> None:
    """Plain messages (no subtype) in channels: the scope-creep watch. Registered after every
    message listener with a subtype, so those take theirs first."""
    app.event("message")(guarded(handle_message))


# -- /parkinglot ----------------------------------------------------------------------------


def parkinglot_command() -> SlashCommand[ParkCommand]:
    """`/parkinglot`'s table of verbs."""
    table = SlashCommand("/parkinglot", parse=parse_parkinglot, help=_help)
    table.add("open", run=_open)
    table.add("watch", run=_run_watch)
    table.add("park", answer=_answer_park)
    table.add("list", answer=_answer_list)
    table.add("show", answer=_answer_show)
    return table


def _help(cmd: ParkCommand) -> SlackPayload:
    return ephemeral("Parking lot help", views.help_blocks(full=cmd.text == "all"))


def _open(cmd: ParkCommand, request: Request) -> None:
    request.ack()
    request.client.views_open(
        trigger_id=request.trigger_id,
        view=build_park_modal(
            request="",
            requester=request.user,
            permalink=None,
            channel_id=request.channel or "",
            thread_ts=None,
            response_url=request.response_url,
        ),
    )


def _run_watch(cmd: ParkCommand, request: Request) -> None:
    r = request
    _watch(r.ack, r.respond, cmd, r.client, r.db, r.team, r.user, r.channel or "")


def _answer_park(cmd: ParkCommand, request: Request, person: Person) -> SlackPayload:
    viewer = people.viewer_for(person, request.channel)
    team, trigger = request.team, request.trigger_id
    with request.db.session() as session:
        earlier = made_before(session, team_id=team, trigger_id=trigger, kind=Creates.PARKED_ITEM)
        if earlier is not None:  # the same request again (a replay): the first one's answer
            item = repo.get_item(session, team_id=team, number=earlier, viewer=viewer)
            return ephemeral(messages.parked_text(item))
        item = repo.create_item(
            session,
            team_id=request.team,
            parked_by=person.user_id,
            request=cmd.text,
            requester_id=cmd.requester_id or person.user_id,
            why="",
            channel_id=request.channel or "",
            thread_ts=None,
            scores=repo.Scores(),
            decision_number=cmd.decision_number,
            round_number=cmd.round_number,
            viewer=viewer,
        )
        schedule_ack(session, item=item, confirm=None)  # the command's answer says it
        record_made(session, team_id=team, trigger_id=trigger, number=item.number)
    return ephemeral(messages.parked_text(item))


def _answer_list(cmd: ParkCommand, request: Request, person: Person) -> SlackPayload:
    viewer = people.viewer_for(person, request.channel)
    with request.db.read() as session:
        items = repo.list_items(
            session, team_id=request.team, viewer=viewer, state=cmd.state, sort=cmd.sort
        )
    return ephemeral(
        "Parking lot",
        views.build_list_blocks(items, state=cmd.state, sort=cmd.sort, now=utcnow()),
    )


def _answer_show(cmd: ParkCommand, request: Request, person: Person) -> SlackPayload:
    assert cmd.number is not None  # the parser gives a numbered verb its number
    viewer = people.viewer_for(person, request.channel)
    with request.db.read() as session:
        item = repo.get_item(session, team_id=request.team, number=cmd.number, viewer=viewer)
        lines = [
            views.history_line(kind=e.kind, actor_id=e.actor_id, at=e.created_at)
            for e in repo.history(session, item)
        ]
    text, blocks = views.build_show_blocks(item, lines, now=utcnow())
    return ephemeral(text, blocks)


def _watch(
    ack: Ack,
    respond: Respond,
    cmd: ParkCommand,
    client: WebClient,
    db: Database,
    team: str,
    user: str,
    channel: str,
) -> None:
    if channel.startswith("D"):
        ack(**ephemeral(messages.watch_status_text(channel_id=channel, enabled=False, in_dm=True)))
        return
    if not cmd.watch:
        with db.read() as session:
            row = parking_watch.watch_row(session, team_id=team, channel_id=channel)
        ack(
            **ephemeral(
                messages.watch_status_text(
                    channel_id=channel,
                    enabled=bool(row and row.enabled),
                    changed_by=row.changed_by if row else None,
                )
            )
        )
        return
    if cmd.watch == "off":
        with db.session() as session:
            changed = parking_watch.set_watch(
                session, team_id=team, channel_id=channel, on=False, actor_id=user
            )
        ack(
            **ephemeral(
                messages.watch_status_text(
                    channel_id=channel, enabled=False, changed_by=user, changed=changed
                )
            )
        )
        return
    # Message events reach the bot only from channels it is in: check (after the ack).
    ack()
    try:
        member = bool(client.conversations_info(channel=channel)["channel"].get("is_member"))
    except Exception as exc:  # noqa: BLE001 - Slack could not say: ask to be invited
        log.info(
            "conversations.info %s: %s",
            channel,
            slack_error(exc) if isinstance(exc, SlackApiError) else type(exc).__name__,
        )
        member = False
    if not member:
        respond(
            response_type="ephemeral",
            text=messages.watch_status_text(channel_id=channel, enabled=False, not_in_channel=True),
        )
        return
    with db.session() as session:
        changed = parking_watch.set_watch(
            session, team_id=team, channel_id=channel, on=True, actor_id=user
        )
    respond(
        response_type="ephemeral",
        text=messages.watch_status_text(
            channel_id=channel, enabled=True, changed_by=user, changed=changed
        ),
    )


# -- capture: the shortcut, the modal, the watch's offer --------------------------------------


def _open_park_form(
    client: WebClient,
    payload: InteractionBody,
    *,
    request: str,
    requester: str | None,
    channel: str,
    thread_ts: str | None,
) -> None:
    """The park form, with the interaction's response_url kept for the answer after submit."""
    view = build_park_modal(
        request=request[:3000],
        requester=requester,
        permalink=None,
        channel_id=channel,
        thread_ts=thread_ts or None,
        response_url=payload.get("response_url"),
    )
    client.views_open(trigger_id=payload["trigger_id"], view=view)


def handle_park_shortcut(ack: Ack, shortcut: ShortcutBody, client: WebClient) -> None:
    """ "Add to parking lot" on any message: the modal with the message as the request, its
    author as the requester; the thread answer and the permalink come after the submit."""
    ack()
    message = shortcut.get("message", {})
    _open_park_form(
        client,
        shortcut,
        request=str(message.get("text") or ""),
        requester=message.get("user"),
        channel=shortcut.get("channel", {}).get("id") or "",
        thread_ts=str(message.get("thread_ts") or message.get("ts") or ""),
    )


def handle_offer_click(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    """**Park it** on the watch's offer: the park form, prefilled with that message."""
    where = messages.offer_from(str(action.get("value") or ""))
    if where is None:
        raise InvalidInput("That button lost its message; use the message's *Add to parking lot*.")
    channel, ts = where
    with db.read() as session:
        # only the offer made to this person, clicked where it was made, fills the form in
        text, thread_ts = offered(
            session,
            team_id=team,
            channel_id=channel,
            ts=ts,
            user_id=body["user"]["id"],
            clicked_in=body.get("channel", {}).get("id"),
        )
    ack()
    _open_park_form(
        client,
        body,
        request=text,
        requester=body["user"]["id"],
        channel=channel,
        thread_ts=thread_ts,
    )


def handle_park_submission(
    ack: Ack, body: ViewSubmissionBody, view: ViewPayload, db: Database, team: str
) -> None:
    draft, errors = parse_park_form(view.get("state", {}).get("values", {}))
    if errors:
        ack(response_action="errors", errors=errors)
        return
    assert draft is not None
    meta = ParkMeta.decode(view)
    user = body["user"]["id"]
    channel = meta.channel
    if not channel:
        raise InvalidInput("This form lost track of its channel; start again from the message.")
    person = people.as_known_or_guest(db, team=team, user=user, home_team=people.home_team_of(body))
    with db.session() as session:
        if not first_submission(session, team_id=team, view_id=view.get("id"), kind="parking"):
            ack()
            return
        item = repo.create_item(
            session,
            team_id=team,
            parked_by=user,
            request=draft.request,
            requester_id=draft.requester_id or user,
            why=draft.why,
            channel_id=channel,
            thread_ts=meta.thread_ts or None,
            scores=scores_of(draft.score),
            decision_number=draft.decision_number,
            round_number=draft.round_number,
            viewer=people.viewer_for(person, channel),
        )
        schedule_ack(
            session,
            item=item,
            confirm={"response_url": meta.response_url, "asked_at": meta.asked_at},
        )
    ack()


def handle_message(event: MessageEvent, db: Database, team: str, event_id: str) -> None:
    """The scope-creep watch. Dropped before any write unless the channel is watched, the
    message is a person's plain message in a channel, and it reads like a scope addition; then
    the author (only them, at most once an hour) is offered **Park it**, ephemerally."""
    if event.get("subtype") or event.get("bot_id") or not event.get("user"):
        return  # edits, joins, bots (this one included)
    channel = str(event.get("channel") or "")
    if event.get("channel_type") == "im" or channel.startswith("D"):
        return
    text = str(event.get("text") or "")
    if not looks_like_scope_addition(text):
        return
    user = str(event["user"])
    ts = str(event.get("ts") or "")
    thread_ts = str(event.get("thread_ts") or ts)
    if db.dialect == "postgresql":
        # One transaction: the read decides whether anything is written (an unwatched
        # channel's transaction writes nothing and commits empty).
        with db.session() as session:
            if parking_watch.watched(session, team_id=team, channel_id=channel):
                _offer(session, team, event_id, channel, user, ts, thread_ts, text)
        return
    # SQLite: a writing transaction takes the database's one write lock at BEGIN, so the
    # read comes first, outside it.
    with db.read() as session:
        if not parking_watch.watched(session, team_id=team, channel_id=channel):
            return
    with db.session() as session:
        _offer(session, team, event_id, channel, user, ts, thread_ts, text)


def _offer(
    session: Session,
    team: str,
    event_id: str,
    channel: str,
    user: str,
    ts: str,
    thread_ts: str,
    text: str,
) -> None:
    if not events.first_delivery(session, team_id=team, event_id=event_id):
        return
    if not parking_watch.take_offer(session, team_id=team, user_id=user, now=utcnow()):
        return
    schedule_offer(
        session,
        team_id=team,
        channel_id=channel,
        user_id=user,
        ts=ts,
        thread_ts=thread_ts,
        text=text,
    )


# -- triage ---------------------------------------------------------------------------------
