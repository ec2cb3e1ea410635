"""Agree / Disagree & commit / Block on a posted decision."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.core import people
from bot.core.commands import parse_number
from bot.core.errors import guarded
from bot.core.ids import Action, Callback
from bot.core.payloads import ActionPayload, BlockActionsBody, ViewPayload, ViewSubmissionBody
from bot.features.forecasts import (
    ForecastRefused,
    build_agree_confirmation,
    forecast_value,
    open_forecast,
    save_from_form,
    takes_forecast,
)
from bot.features.stances.forms import (
    StanceMeta,
    build_block_modal,
    build_disagree_modal,
    parse_block_form,
    parse_disagree_form,
)
from storage import decision_work as outbox
from storage import decisions as repo
from storage import forecasts, stances
from storage.db import Database
from storage.errors import InvalidInput
from storage.models import ForecastSource, StanceKind
from storage.submissions import first_submission


def register(app: App) -> None:
    app.action(Action.AGREE)(guarded(handle_agree))
    app.action(Action.DISAGREE)(guarded(handle_open_stance_form))
    app.action(Action.BLOCK)(guarded(handle_open_stance_form))
    app.view(Callback.DISAGREE_FORM)(guarded(handle_disagree_submission))
    app.view(Callback.BLOCK_FORM)(guarded(handle_block_submission))


def _number(action: ActionPayload) -> int:
    number = parse_number(str(action.get("value") or ""))
    if number is None:
        raise InvalidInput("That button doesn't point at a decision any more.")
    return number


def handle_agree(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    respond: Respond,
    db: Database,
    team: str,
) -> None:
    # Record, then ack: once Slack has its 200 the click is committed (with the refresh of
    # the message as an outbox row), so a crash after the ack loses nothing. An error before
    # the ack (another workspace's ADR, a closed decision) is answered by bot.core.errors.
    number = _number(action)
    with db.session() as session:
        # who clicked, read in this unit of work (no transaction of its own)
        viewer = people.viewer_of_click(db, team=team, body=body, session=session)
        decision, changed = stances.set_stance(
            session,
            team_id=team,
            number=number,
            user_id=body["user"]["id"],
            kind=StanceKind.AGREE,
            viewer=viewer,
        )
        if changed:  # the tally changed: refresh the posted message (same transaction)
            outbox.schedule_refresh(session, decision=decision)
        mine = forecasts.forecast_of(session, decision=decision, user_id=body["user"]["id"])
    ack()
    # Only the person who agreed sees this: what was recorded, and "Add my forecast".
    respond(**build_agree_confirmation(decision, open_forecast(mine), offer=takes_forecast(mine)))


def handle_open_stance_form(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    """Disagree & commit and Block ask for words first, in a small modal."""
    number = _number(action)
    user = body["user"]["id"]
    viewer = people.viewer_of_click(db, team=team, body=body)
    with db.read() as session:
        decision = repo.get_decision(session, team_id=team, number=number, viewer=viewer)
        current = stances.current_stance(session, decision=decision, user_id=user)
        mine = forecasts.forecast_of(session, decision=decision, user_id=user)
    ack()
    builder = build_disagree_modal if action["action_id"] == Action.DISAGREE else build_block_modal
    view = builder(
        decision,
        current,
        channel=viewer.channel_id,
        forecast=open_forecast(mine),
        takes_forecast=takes_forecast(mine),
    )
    client.views_open(trigger_id=body["trigger_id"], view=view)


def _submit_stance(
    ack: Ack,
    body: ViewSubmissionBody,
    view: ViewPayload,
    client: WebClient,
    db: Database,
    team: str,
    kind: StanceKind,
) -> None:
    values = view.get("state", {}).get("values", {})
    meta = StanceMeta.decode(view)
    fields: dict[str, str] = {}
    if kind == StanceKind.DISAGREE_AND_COMMIT:
        parsed, errors = parse_disagree_form(values)
        if parsed:
            fields = {"concern": parsed[0], "change_my_mind": parsed[1]}
    else:
        reason, errors = parse_block_form(values)
        if reason:
            fields = {"reason": reason}
    forecast = forecast_value(values, errors)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    try:
        with db.session() as session:
            if not first_submission(session, team_id=team, view_id=view.get("id"), kind="stance"):
                ack()  # the same Submit again: recorded already
                return
            # who submitted, read in this unit of work (no transaction of its own)
            person = people.as_known_or_guest(
                db,
                team=team,
                user=body["user"]["id"],
                home_team=people.home_team_of(body),
                session=session,
            )
            decision, changed = stances.set_stance(
                session,
                team_id=team,
                number=meta.number,
                user_id=body["user"]["id"],
                kind=kind,
                viewer=people.viewer_for(person, meta.channel),
                **fields,
            )
            if changed:
                outbox.schedule_refresh(session, decision=decision)
            if forecast is not None:  # their own, private until scored: nothing to refresh
                save_from_form(
                    session,
                    decision=decision,
                    user_id=body["user"]["id"],
                    probability=forecast,
                    source=ForecastSource.STANCE,
                )
    except ForecastRefused as refused:  # rolled back, stance too: the modal stays open
        ack(response_action="errors", errors=refused.errors())
        return
    ack()


def handle_disagree_submission(
    ack: Ack,
    body: ViewSubmissionBody,
    view: ViewPayload,
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    _submit_stance(ack, body, view, client, db, team, StanceKind.DISAGREE_AND_COMMIT)


def handle_block_submission(
    ack: Ack,
    body: ViewSubmissionBody,
    view: ViewPayload,
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    _submit_stance(ack, body, view, client, db, team, StanceKind.BLOCK)
