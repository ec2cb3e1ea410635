"""`/adr`: the decision modal, lifecycle commands, list/show/search, the message shortcut."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core import people
from bot.core.blocks import ephemeral
from bot.core.errors import guarded
from bot.core.forms import button_number, parse_decision_form
from bot.core.ids import Action, Callback
from bot.core.render import render, truncate
from bot.core.slack_api import slack_error
from bot.features.decisions.command import AdrCommand, parse_adr
from bot.features.decisions.views import (
    PAGE_SIZE,
    FormMeta,
    build_decision_modal,
    build_list_blocks,
    build_record_blocks,
    build_search_blocks,
    parse_form_meta,
)
from bot.features.digest import listeners as digest
from bot.features.export import work as adr_export
from bot.features.redaction import listeners as redaction
from bot.features.reviews import listeners as reviews
from bot.runtime import faults
from storage import decision_work as outbox
from storage import decisions as repo
from storage import reviews as reviews_repo
from storage.db import Database
from storage.errors import InvalidInput
from storage.models import DecisionStatus
from storage.people import Person
from storage.submissions import first_submission

log = logging.getLogger(__name__)

LIFECYCLE = {
    "accept": DecisionStatus.ACCEPTED,
    "reject": DecisionStatus.REJECTED,
    "deprecate": DecisionStatus.DEPRECATED,
}


def register(app: App) -> None:
    app.command("/adr")(guarded(handle_adr))
    app.view(Callback.DECISION_FORM)(guarded(handle_decision_submission))
    app.shortcut(Callback.LOG_MESSAGE_SHORTCUT)(guarded(handle_log_message))
    app.action(Action.LIST_PAGE)(guarded(handle_list_page))
    app.action(Action.EXPORT)(guarded(handle_export_click))


def now_utc() -> datetime:
    return datetime.now(UTC)


def help_blocks(prefix: str = "") -> list[dict[str, Any]]:
    text = render("decisions/help.md.j2")
    if prefix:
        text = prefix + "\n" + text
    return [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}]


def handle_adr(
    ack: Ack,
    command: dict[str, Any],
    client: WebClient,
    db: Database,
    team: str,
    context: BoltContext,
    respond: Respond,
) -> None:
    cmd = parse_adr(command.get("text", ""))
    user = command.get("user_id", "")
    channel = command.get("channel_id") or None

    if cmd.name == "new":
        # trigger_id lives 3 s: ack and open the modal before anything else.
        ack()
        client.views_open(
            trigger_id=command["trigger_id"],
            view=build_decision_modal(
                meta=FormMeta(mode="new"),
                today=now_utc().date(),
                channel_id=channel,
                title=truncate(cmd.text, 200, more=""),
            ),
        )
        return
    if cmd.name in ("edit", "supersede"):
        _open_edit_or_supersede(
            ack, respond, cmd, client, db, team, context, user, command["trigger_id"], channel
        )
        return
    if cmd.name == "help":
        ack(**ephemeral("Decision log help", help_blocks()))
        return
    if cmd.name == "invalid":
        ack(**ephemeral(cmd.error))
        return
    if cmd.name == "unknown":
        ack(
            **ephemeral(
                "Decision log help",
                help_blocks(render("decisions/unknown_command.md.j2", text=truncate(cmd.text, 100))),
            )
        )
        return
    if cmd.name == "digest":
        digest.handle_command(
            ack,
            respond,
            client,
            db,
            team=team,
            user=user,
            channel=channel,
            verb=cmd.text,
            trigger_id=command["trigger_id"],
            context=context,
        )
        return
    if cmd.name == "dm":
        ack(**ephemeral(redaction.dm_setting(db, team=team, user=user, setting=cmd.text)))
        return
    if cmd.name in PERSONAL:
        _answer_as_person(ack, respond, cmd, client, db, team, context, user, channel)
        return
    ack(**ephemeral("Decision log help", help_blocks()))


# What these commands show or allow depends on who asks (a guest, an admin): see bot/core/people.py.
PERSONAL = frozenset(
    {"list", "search", "show", "review", "remind", "redact", "settings", "export", *LIFECYCLE}
)


def _answer_as_person(
    ack: Ack,
    respond: Respond,
    cmd: AdrCommand,
    client: WebClient,
    db: Database,
    team: str,
    context: BoltContext,
    user: str,
    channel: str | None,
) -> None:
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
    cmd: AdrCommand, person: Person, db: Database, team: str, channel: str | None
) -> dict[str, Any]:
    viewer = people.viewer_for(person, channel)
    user = person.user_id
    if cmd.name == "settings":
        return ephemeral(reviews.settings_command(db, team=team, text=cmd.text, person=person))
    if cmd.name == "redact":
        return ephemeral(redaction.redact(db, team=team, user=user, viewer=viewer, cmd=cmd))
    if cmd.name == "export":
        return ephemeral(
            adr_export.ask(db, team=team, viewer=viewer, number=cmd.number, fmt=cmd.text)
        )
    if cmd.name == "list":
        with db.read() as session:
            rows, total = repo.list_decisions(
                session,
                team_id=team,
                viewer=viewer,
                status=cmd.status,
                tag=cmd.tag,
                limit=PAGE_SIZE,
            )
        return ephemeral(
            "Decisions",
            build_list_blocks(rows, total=total, offset=0, status=cmd.status, tag=cmd.tag),
        )
    if cmd.name == "search":
        with db.read() as session:
            found = repo.search_decisions(session, team_id=team, viewer=viewer, query=cmd.text)
        return ephemeral("Search results", build_search_blocks(cmd.text, found))
    assert cmd.number is not None
    if cmd.name == "show":
        with db.read() as session:
            decision = repo.get_decision(session, team_id=team, number=cmd.number, viewer=viewer)
            record = repo.load_record(session, decision=decision)
            review = reviews_repo.review_summary(session, decision=decision)
        text, blocks = build_record_blocks(record, review)
        return ephemeral(text, blocks)
    if cmd.name == "review":
        return ephemeral(
            reviews.review_now(db, team=team, number=cmd.number, user=user, viewer=viewer)
        )
    if cmd.name == "remind":
        return ephemeral(
            reviews.remind(
                db, team=team, number=cmd.number, user=user, when=cmd.text, viewer=viewer
            )
        )
    with db.session() as session:  # accept, reject, deprecate
        repo.get_decision(session, team_id=team, number=cmd.number, viewer=viewer)
        decision = repo.change_status(
            session,
            team_id=team,
            number=cmd.number,
            actor_id=user,
            to=LIFECYCLE[cmd.name],
            note=cmd.text,
            override=cmd.override,
        )
        if decision.status in (DecisionStatus.REJECTED, DecisionStatus.DEPRECATED):
            reviews_repo.cancel_reviews(session, decision=decision)
        outbox.schedule_refresh(session, decision=decision)
    return ephemeral(f"ADR-{decision.number} is now {decision.status}.")


def _open_edit_or_supersede(
    ack: Ack,
    respond: Respond,
    cmd: AdrCommand,
    client: WebClient,
    db: Database,
    team: str,
    context: BoltContext,
    user: str,
    trigger_id: str,
    channel: str | None,
) -> None:
    assert cmd.number is not None
    person = people.known(db, team=team, user=user, enterprise_id=context.enterprise_id)
    acked = person is None
    if person is None:
        # Who is this (a guest sees only this channel's decisions)? Ack, then ask Slack; the
        # trigger_id usually outlives one users.info call.
        ack()
        person = people.look_up(
            db, client, team=team, user=user, enterprise_id=context.enterprise_id
        )

    def answer(text: str) -> None:
        if acked:
            respond(response_type="ephemeral", text=text)
        else:
            ack(**ephemeral(text))

    viewer = people.viewer_for(person, channel)
    with db.read() as session:
        decision = repo.get_decision(session, team_id=team, number=cmd.number, viewer=viewer)
        if not repo.is_changer(session, decision, user):
            answer(f"Only the author and the deciders of ADR-{decision.number} can {cmd.name} it.")
            return
        if (
            cmd.name == "supersede"
            and DecisionStatus(decision.status) not in repo.TRANSITIONS[DecisionStatus.SUPERSEDED]
        ):
            answer(f"ADR-{decision.number} is {decision.status}, so it can't be superseded.")
            return
        named = repo.members(session, decision=decision)
    if not acked:
        ack()
    meta = FormMeta(mode=cmd.name, number=decision.number)  # type: ignore[arg-type]
    try:
        client.views_open(
            trigger_id=trigger_id,
            view=build_decision_modal(
                meta=meta,
                today=now_utc().date(),
                channel_id=channel if cmd.name == "supersede" else decision.channel_id,
                decision=decision,
                people=named,
            ),
        )
    except SlackApiError as exc:
        if slack_error(exc) not in ("expired_trigger_id", "invalid_trigger_id"):
            raise
        respond(
            response_type="ephemeral",
            text=f"Slack closed the door before the form could open; run `/adr {cmd.name} "
            f"{decision.number}` again.",
        )


def handle_decision_submission(
    ack: Ack,
    body: dict[str, Any],
    view: dict[str, Any],
    client: WebClient,
    db: Database,
    team: str,
    context: BoltContext,
) -> None:
    meta = parse_form_meta(view.get("private_metadata", ""))
    editing = meta.mode == "edit"
    values = (view.get("state") or {}).get("values") or {}
    draft, errors = parse_decision_form(values, now=now_utc(), editing=editing)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    assert draft is not None
    user = body["user"]["id"]
    view_id = view.get("id")
    if editing:
        assert meta.number is not None
        with db.session() as session:
            if not first_submission(session, team_id=team, view_id=view_id, kind="decision"):
                ack()  # the same Submit again: recorded already
                return
            decision, changes = repo.update_decision(
                session, team_id=team, number=meta.number, actor_id=user, draft=draft
            )
            if decision.message_ts is None:
                outbox.schedule_post(session, decision=decision, notify_informed=False)
            elif changes:
                outbox.schedule_refresh(session, decision=decision)
            if "review_date" in changes:  # a new date is planned; a cleared one cancels
                reviews_repo.follow_review_date(session, decision=decision, actor_id=user)
        ack()
        return
    # Saved as private until the post reads the channel's privacy (conversations.info, after
    # the ack): a private decision is never visible workspace-wide, even for a moment.
    with db.session() as session:
        if not first_submission(session, team_id=team, view_id=view_id, kind="decision"):
            ack()  # the same Submit again (Slack allows it while the first is slow)
            return
        decision = repo.create_decision(
            session,
            team_id=team,
            enterprise_id=context.enterprise_id,
            author_id=user,
            draft=draft,
            channel_private=True,
            source_permalink=meta.source,
            supersedes_number=meta.number if meta.mode == "supersede" else None,
        )
        outbox.schedule_post(session, decision=decision)
        outbox.schedule_review_planning(session, decision=decision, actor_id=user)
        faults.point("decision.saving")
        if decision.supersedes_id is not None:
            old = repo.get_decision_by_id(session, team_id=team, decision_id=decision.supersedes_id)
            reviews_repo.cancel_reviews(session, decision=old)
            outbox.schedule_refresh(session, decision=old)
    faults.point("decision.saved")
    ack()


def handle_log_message(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
    """Message shortcut "Log as decision": the message becomes the context; its link the source."""
    ack()
    message = shortcut.get("message") or {}
    channel = (shortcut.get("channel") or {}).get("id")
    text = message.get("text") or ""
    view = build_decision_modal(
        meta=FormMeta(mode="new"), today=now_utc().date(), channel_id=channel
    )
    # Open first (trigger_id expires in 3 s), then fetch the permalink and fill the form in.
    opened = client.views_open(trigger_id=shortcut["trigger_id"], view=view)
    source = None
    if channel and message.get("ts"):
        try:
            source = client.chat_getPermalink(channel=channel, message_ts=message["ts"])[
                "permalink"
            ]
        except Exception:  # noqa: BLE001 - the decision can still be logged without its link
            log.info("no permalink for %s/%s", channel, message.get("ts"))
    for block in view["blocks"]:
        if block.get("block_id") == "context":
            block["element"]["initial_value"] = truncate(text, 3000)
    view["private_metadata"] = FormMeta(mode="new", source=source).model_dump_json(
        exclude_none=True
    )
    client.views_update(view_id=opened["view"]["id"], hash=opened["view"].get("hash"), view=view)


def handle_list_page(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: Respond,
    db: Database,
    team: str,
) -> None:
    # Parse before acking, so a broken link is answered in the HTTP response itself.
    try:
        state = json.loads(action.get("value") or "{}")
        status = DecisionStatus(state["s"]) if state.get("s") else None
        tag = str(state["t"])[:30] if state.get("t") else None
        offset = max(0, int(state.get("o", 0)))
    except (ValueError, TypeError, KeyError):
        raise InvalidInput("That page link is broken; run `/adr list` again.") from None
    ack()
    person = people.as_known_or_guest(
        db, team=team, user=body["user"]["id"], home_team=people.home_team_of(body)
    )
    viewer = people.viewer_for(person, (body.get("channel") or {}).get("id"))
    with db.read() as session:
        rows, total = repo.list_decisions(
            session,
            team_id=team,
            viewer=viewer,
            status=status,
            tag=tag,
            limit=PAGE_SIZE,
            offset=offset,
        )
    respond(
        replace_original=True,
        response_type="ephemeral",
        text="Decisions",
        blocks=build_list_blocks(rows, total=total, offset=offset, status=status, tag=tag),
    )


def handle_export_click(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    respond: Respond,
    db: Database,
    team: str,
) -> None:
    """**Export as ADR file** on `/adr show N`: as `/adr export N` from that channel."""
    number = button_number(action, "a decision")
    ack()
    person = people.as_known_or_guest(
        db, team=team, user=body["user"]["id"], home_team=people.home_team_of(body)
    )
    viewer = people.viewer_for(person, (body.get("channel") or {}).get("id"))
    respond(
        replace_original=False,
        response_type="ephemeral",
        text=adr_export.ask(db, team=team, viewer=viewer, number=number, fmt="madr"),
    )
