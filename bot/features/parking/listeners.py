"""The parking lot: `/parkinglot`, the "Add to parking lot" shortcut, triage buttons and
their modals, and the scope-creep watch on message events.

Who may act on an item: anyone acting from its channel, its requester, workspace admins (from
the user cache: no Slack call before the ack). Every Slack side effect after the ack is
outbox work (`bot/features/parking/work.py`).
"""

from __future__ import annotations

import json
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
from bot.core.slack_api import slack_error
from bot.features.parking import views
from bot.features.parking.command import ParkCommand, parse_parkinglot
from bot.features.parking.forms import (
    build_accept_modal,
    build_decline_modal,
    build_defer_modal,
    build_park_modal,
    build_score_modal,
    item_number_from,
    parse_accept_form,
    parse_decline_form,
    parse_defer_form,
    parse_park_form,
    parse_score_form,
)
from bot.features.parking.scope_watch import looks_like_scope_addition
from storage import events, preferences
from storage import parking as repo
from storage.db import Database
from storage.decisions import Viewer, get_decision
from storage.errors import InvalidInput
from storage.estimates import get_round
from storage.models import ParkingState, utcnow
from storage.parking_work import (
    offered,
    schedule_ack,
    schedule_dm,
    schedule_offer,
    schedule_resurface,
)
from storage.people import Person
from storage.submissions import first_submission

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.command("/parkinglot")(guarded(handle_parkinglot))
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


def _scores(score: Any) -> repo.Scores:
    return repo.Scores(
        reach=score.reach,
        impact=score.impact,
        confidence=score.confidence,
        effort=score.effort,
        moscow=str(score.moscow) if score.moscow else None,
    )


def _today(person: Person) -> Any:
    """Today where the person is (a date picked in their calendar is checked against it)."""
    return datetime.now(UTC).astimezone(zone(person.tz)).date()


# -- /parkinglot ----------------------------------------------------------------------------


def handle_parkinglot(
    ack: Ack,
    respond: Respond,
    command: dict[str, Any],
    client: WebClient,
    db: Database,
    team: str,
    context: BoltContext,
) -> None:
    cmd = parse_parkinglot(command.get("text", ""))
    user = command.get("user_id", "")
    channel = command.get("channel_id") or ""
    if cmd.name == "help":
        ack(**ephemeral("Parking lot help", views.help_blocks()))
        return
    if cmd.name == "invalid":
        ack(**ephemeral(cmd.error))
        return
    if cmd.name == "open":
        ack()
        client.views_open(
            trigger_id=command["trigger_id"],
            view=build_park_modal(
                request="", requester=user, permalink=None, channel_id=channel, thread_ts=None
            ),
        )
        return
    if cmd.name == "watch":
        _watch(ack, respond, cmd, client, db, team, user, channel)
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
    cmd: ParkCommand, person: Person, db: Database, team: str, channel: str
) -> dict[str, Any]:
    viewer = people.viewer_for(person, channel or None)
    now = utcnow()
    if cmd.name == "park":
        with db.session() as session:
            item = repo.create_item(
                session,
                team_id=team,
                parked_by=person.user_id,
                request=cmd.text,
                requester_id=cmd.requester_id or person.user_id,
                why="",
                channel_id=channel,
                thread_ts=None,
                scores=repo.Scores(),
                decision_number=cmd.decision_number,
                round_number=cmd.round_number,
                viewer=viewer,
            )
            schedule_ack(session, item=item, response_url=None)
        return ephemeral(views.parked_text(item))
    if cmd.name == "list":
        with db.read() as session:
            items = repo.list_items(
                session, team_id=team, viewer=viewer, state=cmd.state, sort=cmd.sort
            )
        return ephemeral(
            "Parking lot", views.build_list_blocks(items, state=cmd.state, sort=cmd.sort, now=now)
        )
    assert cmd.number is not None  # show
    with db.read() as session:
        item = repo.get_item(session, team_id=team, number=cmd.number, viewer=viewer)
        lines = [
            views.history_line(kind=e.kind, actor_id=e.actor_id, at=e.created_at)
            for e in repo.history(session, item)
        ]
    text, blocks = views.build_show_blocks(item, lines, now=now)
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
        ack(**ephemeral(views.watch_status_text(channel_id=channel, enabled=False, in_dm=True)))
        return
    if not cmd.watch:
        with db.read() as session:
            row = repo.watch_row(session, team_id=team, channel_id=channel)
        ack(
            **ephemeral(
                views.watch_status_text(
                    channel_id=channel,
                    enabled=bool(row and row.enabled),
                    changed_by=row.changed_by if row else None,
                )
            )
        )
        return
    if cmd.watch == "off":
        with db.session() as session:
            changed = repo.set_watch(
                session, team_id=team, channel_id=channel, on=False, actor_id=user
            )
        ack(
            **ephemeral(
                views.watch_status_text(
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
            getattr(exc, "response", None) and slack_error(exc),
        )  # type: ignore[arg-type]
        member = False
    if not member:
        respond(
            response_type="ephemeral",
            text=views.watch_status_text(channel_id=channel, enabled=False, not_in_channel=True),
        )
        return
    with db.session() as session:
        changed = repo.set_watch(session, team_id=team, channel_id=channel, on=True, actor_id=user)
    respond(
        response_type="ephemeral",
        text=views.watch_status_text(
            channel_id=channel, enabled=True, changed_by=user, changed=changed
        ),
    )


# -- capture: the shortcut, the modal, the watch's offer --------------------------------------


def _open_park_form(
    client: WebClient,
    payload: dict[str, Any],
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
    )
    meta = json.loads(view.get("private_metadata") or "{}")
    meta["response_url"] = payload.get("response_url") or ""
    view["private_metadata"] = json.dumps(meta)[:3000]
    client.views_open(trigger_id=payload["trigger_id"], view=view)


def handle_park_shortcut(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
    """ "Add to parking lot" on any message: the modal with the message as the request, its
    author as the requester; the thread answer and the permalink come after the submit."""
    ack()
    message = shortcut.get("message") or {}
    _open_park_form(
        client,
        shortcut,
        request=str(message.get("text") or ""),
        requester=message.get("user"),
        channel=(shortcut.get("channel") or {}).get("id") or "",
        thread_ts=str(message.get("thread_ts") or message.get("ts") or ""),
    )


def handle_offer_click(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    """**Park it** on the watch's offer: the park form, prefilled with that message."""
    where = views.offer_from(str(action.get("value") or ""))
    if where is None:
        raise InvalidInput("That button lost its message; use the message's *Add to parking lot*.")
    channel, ts = where
    with db.read() as session:
        text, thread_ts = offered(session, team_id=team, channel_id=channel, ts=ts)
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
    ack: Ack, body: dict[str, Any], view: dict[str, Any], db: Database, team: str
) -> None:
    draft, errors = parse_park_form((view.get("state") or {}).get("values") or {})
    if errors:
        ack(response_action="errors", errors=errors)
        return
    assert draft is not None
    meta = json.loads(view.get("private_metadata") or "{}")
    user = body["user"]["id"]
    channel = str(meta.get("channel") or "")
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
            thread_ts=meta.get("thread_ts") or None,
            scores=_scores(draft.score),
            decision_number=draft.decision_number,
            round_number=draft.round_number,
            viewer=people.viewer_for(person, channel),
        )
        schedule_ack(session, item=item, response_url=meta.get("response_url") or None)
    ack()


def handle_message(event: dict[str, Any], db: Database, team: str, event_id: str) -> None:
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
            if repo.watched(session, team_id=team, channel_id=channel):
                _offer(session, team, event_id, channel, user, ts, thread_ts, text)
        return
    # SQLite: a writing transaction takes the database's one write lock at BEGIN, so the
    # read comes first, outside it.
    with db.read() as session:
        if not repo.watched(session, team_id=team, channel_id=channel):
            return
    with db.session() as session:
        _offer(session, team, event_id, channel, user, ts, thread_ts, text)


def _offer(
    session: Any,
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
    if not repo.take_offer(session, team_id=team, user_id=user, now=utcnow()):
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


def _actor(db: Database, team: str, body: dict[str, Any]) -> tuple[str, str | None, Person]:
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    person = people.as_known_or_guest(db, team=team, user=user, home_team=people.home_team_of(body))
    return user, channel, person


TRIAGE_FORMS = {
    Action.PARK_SCORE: build_score_modal,
    Action.PARK_ACCEPT: build_accept_modal,
    Action.PARK_DEFER: build_defer_modal,
    Action.PARK_DECLINE: build_decline_modal,
}


def handle_open_triage_form(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
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
    view = build(item, _today(person)) if build is build_defer_modal else build(item)
    meta = json.loads(view.get("private_metadata") or "{}")
    meta["channel"] = channel or ""
    view["private_metadata"] = json.dumps(meta)
    client.views_open(trigger_id=body["trigger_id"], view=view)


def handle_done_or_withdraw(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
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


def handle_triage_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], db: Database, team: str
) -> None:
    number = item_number_from(view)
    if number is None:
        raise InvalidInput(
            "This form lost track of its item; open it again with `/parkinglot show`."
        )
    values = (view.get("state") or {}).get("values") or {}
    callback = view.get("callback_id")
    meta = json.loads(view.get("private_metadata") or "{}")
    user = body["user"]["id"]
    person = people.as_known_or_guest(db, team=team, user=user, home_team=people.home_team_of(body))
    channel = meta.get("channel") or None
    if callback == Callback.PARK_SCORE_FORM:
        scores, errors = parse_score_form(values)
    elif callback == Callback.PARK_ACCEPT_FORM:
        accept, errors = parse_accept_form(values)
    elif callback == Callback.PARK_DEFER_FORM:
        until, errors = parse_defer_form(values, _today(person))
    else:
        reason, errors = parse_decline_form(values)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    viewer = Viewer(user_id=user, channel_id=channel, guest=person.guest)
    with db.session() as session:
        if not first_submission(session, team_id=team, view_id=view.get("id"), kind="parking"):
            ack()
            return
        item = repo.get_item(session, team_id=team, number=number, for_update=True)
        repo.require_may_act(item, user_id=user, channel_id=channel, admin=person.admin)
        if callback == Callback.PARK_SCORE_FORM:
            repo.score(session, item=item, actor_id=user, scores=_scores(scores))
        elif callback == Callback.PARK_ACCEPT_FORM:
            decision_id = round_id = None
            if accept.decision_number is not None:
                decision_id = get_decision(
                    session, team_id=team, number=accept.decision_number, viewer=viewer
                ).id
            if accept.round_number is not None:
                round_id = get_round(
                    session, team_id=team, number=accept.round_number, viewer=viewer
                ).id
            repo.transition(
                session,
                item=item,
                actor_id=user,
                to=ParkingState.ACCEPTED,
                timeline_days=accept.timeline_days,
                decision_id=decision_id,
                round_id=round_id,
            )
            _tell_requester(session, item, views.accepted_dm(item), "accepted")
        elif callback == Callback.PARK_DEFER_FORM:
            repo.transition(
                session, item=item, actor_id=user, to=ParkingState.DEFERRED, deferred_until=until
            )
            schedule_resurface(session, item=item, day=until)
        else:
            repo.transition(
                session, item=item, actor_id=user, to=ParkingState.DECLINED, reason=reason
            )
            _tell_requester(session, item, views.declined_dm(item), "declined")
    ack()


def _tell_requester(session: Any, item: Any, text: str, part: str) -> None:
    """A DM about someone else's decision on their request: skipped for `/adr dm off`."""
    if item.requester_id and not preferences.dms_off(
        session, team_id=item.team_id, user_id=item.requester_id
    ):
        schedule_dm(session, item=item, user_id=item.requester_id, text=text, part=part)
