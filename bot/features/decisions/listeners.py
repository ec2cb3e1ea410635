"""`/adr`'s own verbs (new, edit, supersede, list, search, show, accept, reject, deprecate),
the decision modal, the "Log as decision" message shortcut, the list pager and the Supersede
button. Other features add their `/adr` verbs to the same table (``bot.core.commands``)."""

from __future__ import annotations

import json
import logging
from datetime import date

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.core import faults, people
from bot.core.adr_command import VERBS, AdrCommand
from bot.core.blocks import ephemeral, section
from bot.core.commands import Request, SlashCommand, parse_number, with_closest_verb
from bot.core.errors import guarded
from bot.core.ids import Action, Callback
from bot.core.payloads import (
    ActionPayload,
    BlockActionsBody,
    Blocks,
    ShortcutBody,
    SlackPayload,
    ViewPayload,
    ViewSubmissionBody,
)
from bot.core.render import render, truncate
from bot.core.slack_api import slack_error
from bot.features.decisions import card, decide_by, lifecycle, post_in
from bot.features.decisions.forms import (
    FormMeta,
    build_decision_modal,
    parse_decision_form,
    with_post_in_warning,
)
from bot.features.decisions.lifecycle import LIFECYCLE, answer_lifecycle
from bot.features.decisions.record import build_record_blocks
from bot.features.decisions.views import PAGE_SIZE, build_list_blocks, build_search_blocks
from bot.features.forecasts import ForecastRefused, open_forecast, save_from_form, takes_forecast
from storage import (
    decision_lists,
    decision_record,
    forecasts,
    review_lists,
    rules,
    search,
)
from storage import decision_work as outbox
from storage import decisions as repo
from storage import reviews as reviews_repo
from storage.db import Database
from storage.decisions import DecisionDraft
from storage.errors import InvalidInput
from storage.models import DecisionStatus, ForecastSource, Role, utcnow
from storage.people import Person
from storage.submissions import first_submission

log = logging.getLogger(__name__)


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    adr.add("new", run=open_new)
    adr.add("edit", "supersede", run=open_edit_or_supersede)
    adr.add("list", answer=answer_list)
    adr.add("search", answer=answer_search)
    adr.add("show", answer=answer_show)
    adr.add(*LIFECYCLE, answer=answer_lifecycle)


def register(app: App) -> None:
    app.view(Callback.DECISION_FORM)(guarded(handle_decision_submission))
    app.shortcut(Callback.LOG_MESSAGE_SHORTCUT)(guarded(handle_log_message))
    app.action(Action.LIST_PAGE)(guarded(handle_list_page))
    app.action(Action.REVIEW_SUPERSEDE)(guarded(handle_supersede_button))
    app.action(Action.POST_IN)(guarded(post_in.handle_post_in_changed))
    app.action(Action.DETAILS)(guarded(card.handle_details))
    app.action(Action.ACCEPT_ANYWAY)(guarded(card.handle_accept_anyway))
    app.view(Callback.OVERRIDE_FORM)(guarded(card.handle_override_submission))
    decide_by.register(app)


def asked(response_url: str | None) -> SlackPayload:
    """FormMeta's fields for confirming the new decision where it was asked for."""
    return {"response_url": response_url or None, "asked_at": int(utcnow().timestamp())}


def help_blocks(*, full: bool = False) -> Blocks:
    """`/adr help`: the verbs people use; ``full`` (`/adr help all`): every verb, and who may
    do what."""
    if not full:
        return [section(render("decisions/help.md.j2"))]
    return [section(render("decisions/help_all.md.j2")), section(render("decisions/rules.md.j2"))]


def adr_help(cmd: AdrCommand) -> SlackPayload:
    """`/adr help` and `/adr help all`; to a verb it does not know, the closest verb (the rest
    as typed) and where help is, not the whole help."""
    if cmd.name == "unknown":
        suggestion = with_closest_verb(cmd.text, VERBS) or ""
        return ephemeral(
            render(
                "decisions/unknown_command.md.j2",
                text=truncate(cmd.text, 100),
                suggestion=truncate(suggestion, 100),
            )
        )
    return ephemeral("Decision log help", help_blocks(full=cmd.text == "all"))


def open_new(cmd: AdrCommand, request: Request) -> None:
    # trigger_id lives 3 s: ack and open the modal before anything else.
    request.ack()
    opened = request.client.views_open(
        trigger_id=request.trigger_id,
        view=build_decision_modal(
            meta=FormMeta(mode="new", **asked(request.response_url)),
            today=utcnow().date(),
            channel_id=request.channel,
            title=truncate(cmd.text, 200, more=""),
        ),
    )
    # Open, then check "Post in": the trigger_id could not wait for conversations.info.
    post_in.check_post_in(request.client, view=opened["view"], channel_id=request.channel)


def answer_list(cmd: AdrCommand, request: Request, person: Person) -> SlackPayload:
    viewer = people.viewer_for(person, request.channel)
    with request.db.read() as session:
        rows, total = decision_lists.list_decisions(
            session,
            team_id=request.team,
            viewer=viewer,
            status=cmd.status,
            tag=cmd.tag,
            limit=PAGE_SIZE,
        )
    return ephemeral(
        "Decisions",
        build_list_blocks(rows, total=total, offset=0, status=cmd.status, tag=cmd.tag),
    )


def answer_search(cmd: AdrCommand, request: Request, person: Person) -> SlackPayload:
    viewer = people.viewer_for(person, request.channel)
    with request.db.read() as session:
        found = search.search_decisions(
            session, team_id=request.team, viewer=viewer, query=cmd.text
        )
    return ephemeral("Search results", build_search_blocks(cmd.text, found))


def answer_show(cmd: AdrCommand, request: Request, person: Person) -> SlackPayload:
    assert cmd.number is not None  # the parser gives a numbered verb its number
    viewer = people.viewer_for(person, request.channel)
    with request.db.read() as session:
        decision = repo.get_decision(
            session, team_id=request.team, number=cmd.number, viewer=viewer
        )
        record = decision_record.load_record(session, decision=decision)
        review = review_lists.review_summary(session, decision=decision, any_rounds=record.reviews)
    text, blocks = build_record_blocks(record, review, tz=person.tz)
    return ephemeral(text, blocks)


def open_edit_or_supersede(cmd: AdrCommand, request: Request) -> None:
    assert cmd.number is not None
    ack, respond, client, db, team = (
        request.ack,
        request.respond,
        request.client,
        request.db,
        request.team,
    )
    user, channel, enterprise_id = request.user, request.channel, request.context.enterprise_id
    person = people.known(db, team=team, user=user, enterprise_id=enterprise_id)
    acked = person is None
    if person is None:
        # Who is this (a guest sees only this channel's decisions)? Ack, then ask Slack; the
        # trigger_id usually outlives one users.info call.
        ack()
        person = people.look_up(db, client, team=team, user=user, enterprise_id=enterprise_id)

    def answer(text: str) -> None:
        if acked:
            respond(response_type="ephemeral", text=text)
        else:
            ack(**ephemeral(text))

    viewer = people.viewer_for(person, channel)
    with db.read() as session:
        decision = repo.get_decision(session, team_id=team, number=cmd.number, viewer=viewer)
        if not repo.is_changer(session, decision, user):
            answer(rules.change_refused(ref=decision.ref, author_id=decision.author_id))
            return
        if cmd.name == "supersede" and not rules.can_become(
            decision.status, DecisionStatus.SUPERSEDED
        ):
            answer(f"ADR-{decision.number} is {decision.status}, so it can't be superseded.")
            return
        named = repo.members(session, decision=decision)
        # the editor's own forecast (a supersede is a new decision: nobody's yet)
        mine = forecasts.forecast_of(session, decision=decision, user_id=user)
    editing = cmd.name == "edit"
    if not acked:
        ack()
    meta = FormMeta(
        mode="supersede" if cmd.name == "supersede" else "edit",  # the verbs routed here
        number=decision.number,
        decide_by=decision.decide_by.isoformat() if editing and decision.decide_by else None,
        **asked(request.response_url),
    )
    post_in_channel = channel if cmd.name == "supersede" else decision.channel_id
    try:
        opened = client.views_open(
            trigger_id=request.trigger_id,
            view=build_decision_modal(
                meta=meta,
                today=utcnow().date(),
                channel_id=post_in_channel,
                decision=decision,
                people=named,
                forecast=open_forecast(mine) if editing else None,
                takes_forecast=not editing
                or (takes_forecast(mine) and rules.is_live(decision.status)),
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
        return
    if cmd.name == "supersede":  # an edit has no "Post in": the decision stays where it is
        post_in.check_post_in(client, view=opened["view"], channel_id=post_in_channel)


def _kept_decide_by(meta: FormMeta) -> date | None:
    """The decide-by date an edit form opened with (a broken one reads as none)."""
    try:
        return date.fromisoformat(meta.decide_by) if meta.decide_by else None
    except ValueError:
        return None


def handle_decision_submission(
    ack: Ack,
    body: ViewSubmissionBody,
    view: ViewPayload,
    client: WebClient,
    db: Database,
    team: str,
    context: BoltContext,
) -> None:
    meta = FormMeta.decode(view)
    editing = meta.mode == "edit"
    values = view.get("state", {}).get("values", {})
    user = body["user"]["id"]
    view_id = view.get("id")

    def parsed(session: Session | None = None) -> DecisionDraft | None:
        """The form's draft, or None once the errors are acked. The review date is read in
        the person's zone ("tomorrow" is theirs); the cache only, as nothing may call Slack
        before a submission's ack (in ``session`` when given: no transaction of its own)."""
        person = people.known(
            db, team=team, user=user, enterprise_id=context.enterprise_id, session=session
        )
        draft, errors = parse_decision_form(
            values,
            now=utcnow(),
            editing=editing,
            tz=person.tz if person is not None else None,
            kept_decide_by=_kept_decide_by(meta) if editing else None,
        )
        if errors:
            ack(response_action="errors", errors=errors)
            return None
        assert draft is not None
        return draft

    if editing:
        draft = parsed()
        if draft is None:
            return
        assert meta.number is not None
        try:
            with db.session() as session:
                if not first_submission(session, team_id=team, view_id=view_id, kind="decision"):
                    ack()  # the same Submit again: recorded already
                    return
                if draft.forecast is not None:
                    # Saved first, so a refusal (its forecasts scored meanwhile) is said on
                    # the forecast field; update_decision then finds it saved, unchanged.
                    save_from_form(
                        session,
                        decision=repo.get_decision(
                            session, team_id=team, number=meta.number, for_update=True
                        ),
                        user_id=user,
                        probability=draft.forecast,
                        source=ForecastSource.DECISION_FORM,
                    )
                decision, changes = repo.update_decision(
                    session, team_id=team, number=meta.number, actor_id=user, draft=draft
                )
                if decision.message_ts is None:
                    outbox.schedule_post(session, decision=decision, notify_informed=False)
                elif changes:
                    outbox.schedule_refresh(session, decision=decision)
                if "review_date" in changes:  # a new date is planned; a cleared one cancels
                    reviews_repo.follow_review_date(session, decision=decision, actor_id=user)
                if "decide_by" in changes:  # old nudges cancelled, the new date's planned
                    decide_by.replan_nudges(session, decision=decision)
                elif Role.DECIDER.value in changes:  # a new decider is nudged too
                    decide_by.plan_nudges(session, decision=decision)
        except ForecastRefused as refused:  # rolled back, the edit too: the modal stays open
            ack(response_action="errors", errors=refused.errors())
            return
        ack()
        return
    # Saved as private until the post reads the channel's privacy (conversations.info, after
    # the ack): a private decision is never visible workspace-wide, even for a moment.
    with db.session() as session:
        new_draft = parsed(session)  # nothing written before: refused, it writes nothing
        if new_draft is None:
            return
        if not first_submission(session, team_id=team, view_id=view_id, kind="decision"):
            ack()  # the same Submit again (Slack allows it while the first is slow)
            return
        decision = repo.create_decision(
            session,
            team_id=team,
            enterprise_id=context.enterprise_id,
            author_id=user,
            draft=new_draft,
            channel_private=True,
            source_permalink=meta.source,
            supersedes_number=meta.number if meta.mode == "supersede" else None,
        )
        outbox.schedule_post(
            session,
            decision=decision,
            confirm={"response_url": meta.response_url, "asked_at": meta.asked_at},
            plan_review_by=user,
            new=True,
        )
        decide_by.plan_nudges(session, decision=decision)
        faults.point("decision.saving")
        if decision.supersedes_id is not None:
            old = repo.get_decision_by_id(session, team_id=team, decision_id=decision.supersedes_id)
            lifecycle.tell_superseded(session, old=old, new=decision, actor=user)
    faults.point("decision.saved")
    ack()


def handle_log_message(ack: Ack, shortcut: ShortcutBody, client: WebClient) -> None:
    """Message shortcut "Log as decision": the message becomes the context; its link the source."""
    ack()
    message = shortcut.get("message", {})
    channel = shortcut.get("channel", {}).get("id")
    text = message.get("text") or ""
    meta = FormMeta(mode="new", **asked(shortcut.get("response_url")))
    view = build_decision_modal(meta=meta, today=utcnow().date(), channel_id=channel)
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
    view["private_metadata"] = meta.model_copy(update={"source": source}).encode()
    # The "Post in" check rides on the same update (one views.update, one hash).
    found = post_in.reach(client, channel) if channel else post_in.Reach.UNKNOWN
    if channel and found is not post_in.Reach.UNKNOWN:
        view = with_post_in_warning(view, post_in.warning_for(channel, found))
    client.views_update(view_id=opened["view"]["id"], hash=opened["view"].get("hash"), view=view)


def handle_list_page(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
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
    viewer = people.viewer_for(person, body.get("channel", {}).get("id"))
    with db.read() as session:
        rows, total = decision_lists.list_decisions(
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


def handle_supersede_button(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    number = parse_number(str(action.get("value") or ""))
    if number is None:
        raise InvalidInput("That button doesn't point at a decision any more.")
    user = body["user"]["id"]
    with db.read() as session:
        decision = repo.get_decision(session, team_id=team, number=number)
        repo.require_changer(session, decision, user)
        people = repo.members(session, decision=decision)
    ack()
    opened = client.views_open(
        trigger_id=body["trigger_id"],
        view=build_decision_modal(
            meta=FormMeta(mode="supersede", number=number),
            today=utcnow().date(),
            channel_id=decision.channel_id,
            decision=decision,
            people=people,
        ),
    )
    post_in.check_post_in(client, view=opened["view"], channel_id=decision.channel_id)


# -- the author's DM on a decide-by date: Accept, Extend…, Ping again ----------------------------
