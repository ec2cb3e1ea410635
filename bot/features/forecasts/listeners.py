"""**Add my forecast** (after an Agree, and on the App Home): the modal, and its Submit."""

from __future__ import annotations

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core import people
from bot.core.commands import parse_number
from bot.core.errors import guarded
from bot.core.ids import Action, Callback, Field
from bot.core.payloads import ActionPayload, BlockActionsBody, ViewPayload, ViewSubmissionBody
from bot.features.forecasts.forms import (
    ForecastRefused,
    forecast_value,
    open_forecast,
    save_from_form,
    takes_forecast,
)
from bot.features.forecasts.views import (
    ForecastMeta,
    build_forecast_modal,
    build_forecast_saved,
)
from storage import decisions as repo
from storage import forecasts, rules
from storage.db import Database
from storage.errors import Conflict, InvalidInput
from storage.home_work import schedule_home
from storage.models import ForecastSource
from storage.submissions import first_submission


def register(app: App) -> None:
    app.action(Action.FORECAST_ADD)(guarded(handle_open_forecast))
    app.action(Action.FORECAST_HOME)(guarded(handle_open_forecast))
    app.view(Callback.FORECAST_FORM)(guarded(handle_forecast_submission))


def handle_open_forecast(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    """The modal, with the person's own pending forecast in it. A decision that takes no
    forecast any more is said before the ack (bot.core.errors answers the person)."""
    number = parse_number(str(action.get("value") or ""))
    if number is None:
        raise InvalidInput("That button doesn't point at a decision any more.")
    user = body["user"]["id"]
    viewer = people.viewer_of_click(db, team=team, body=body)
    with db.read() as session:
        decision = repo.get_decision(session, team_id=team, number=number, viewer=viewer)
        mine = forecasts.forecast_of(session, decision=decision, user_id=user)
    if not takes_forecast(mine):
        raise Conflict(f"Your forecast for {decision.ref} has been settled by its review.")
    if not rules.is_live(decision.status):  # what save_forecast takes: proposed or accepted
        raise Conflict(f"{decision.ref} is {decision.status}, so it takes no more forecasts.")
    ack()
    view = build_forecast_modal(
        decision,
        open_forecast(mine),
        channel=viewer.channel_id,
        home=action["action_id"] == Action.FORECAST_HOME,
    )
    client.views_open(trigger_id=body["trigger_id"], view=view)


def handle_forecast_submission(
    ack: Ack,
    body: ViewSubmissionBody,
    view: ViewPayload,
    db: Database,
    team: str,
) -> None:
    """Save the forecast (source ADDED) and show the person what was saved. A refusal (the
    decision was rejected meanwhile, its forecasts scored) keeps the modal open, with the
    reason on the select."""
    errors: dict[str, str] = {}
    probability = forecast_value(view.get("state", {}).get("values", {}), errors)
    if probability is None and not errors:
        errors[Field.FORECAST] = "Pick how likely it is."
    if errors:
        ack(response_action="errors", errors=errors)
        return
    assert probability is not None
    meta = ForecastMeta.decode(view)
    user = body["user"]["id"]
    person = people.as_known_or_guest(db, team=team, user=user, home_team=people.home_team_of(body))
    try:
        with db.session() as session:
            if not first_submission(session, team_id=team, view_id=view.get("id"), kind="forecast"):
                ack()  # the same Submit again: saved already
                return
            decision = repo.get_decision(
                session,
                team_id=team,
                number=meta.number,
                viewer=people.viewer_for(person, meta.channel),
                for_update=True,  # save_forecast's caller locks the decision
            )
            save_from_form(
                session,
                decision=decision,
                user_id=user,
                probability=probability,
                source=ForecastSource.ADDED,
            )
            if meta.home:  # the Home tab shows the forecast: publish it again
                schedule_home(session, team_id=team, user_id=user)
    except ForecastRefused as refused:
        ack(response_action="errors", errors=refused.errors())
        return
    ack(response_action="update", view=build_forecast_saved(decision, probability))
