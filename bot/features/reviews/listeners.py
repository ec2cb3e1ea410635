""" "Did this decision work?": outcome buttons and modal, snooze, dissent answers, and the
`/adr review` and `/adr remind` verbs."""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.core import people
from bot.core.adr_command import AdrCommand
from bot.core.blocks import ephemeral
from bot.core.commands import Request, SlashCommand
from bot.core.dates import Unreadable, read_date, review_instant, zone
from bot.core.errors import guarded
from bot.core.forms import TEXT_MAX, text_value
from bot.core.ids import Action, Callback, Field
from bot.core.payloads import (
    ActionPayload,
    BlockActionsBody,
    SlackPayload,
    ViewPayload,
    ViewSubmissionBody,
)
from bot.features.reviews.views import (
    DISSENT_ACTIONS,
    OUTCOME_ACTIONS,
    SNOOZE_CHOICES,
    OutcomeMeta,
    asked_now_text,
    build_dissent_recorded,
    build_outcome_modal,
    review_day_text,
    snoozed_text,
)
from storage import decision_work as outbox
from storage import decisions as decision_repo
from storage import review_answers, review_settings, rules
from storage import reviews as repo
from storage.db import Database
from storage.errors import InvalidInput, NotAllowed
from storage.models import utcnow
from storage.people import Person
from storage.submissions import first_submission
from storage.visibility import Viewer

log = logging.getLogger(__name__)


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    adr.add("review", answer=answer_review)
    adr.add("remind", answer=answer_remind)


def register(app: App) -> None:
    for action_id in OUTCOME_ACTIONS:
        app.action(action_id)(guarded(handle_outcome_button))
    for action_id in DISSENT_ACTIONS:
        app.action(action_id)(guarded(handle_dissent_button))
    app.action(Action.REVIEW_SNOOZE)(guarded(handle_snooze))
    app.view(Callback.OUTCOME_FORM)(guarded(handle_outcome_submission))


def _review_id(raw: object) -> int:
    try:
        return int(str(raw).split(":", 1)[0])
    except ValueError:
        raise InvalidInput("That button doesn't point at a review any more.") from None


def handle_outcome_button(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    review_id = _review_id(action.get("value"))
    user = body["user"]["id"]
    with db.read() as session:
        review = repo.get_review(session, team_id=team, review_id=review_id)
        if not any(
            a.user_id == user and a.role == repo.OWNER for a in repo.asks(session, review=review)
        ):
            raise NotAllowed("This question is for the author and deciders of the decision.")
        decision = decision_repo.get_decision_by_id(
            session, team_id=team, decision_id=review.decision_id
        )
    ack()
    client.views_open(
        trigger_id=body["trigger_id"],
        view=build_outcome_modal(decision, review, OUTCOME_ACTIONS[action["action_id"]]),
    )


def handle_outcome_submission(
    ack: Ack,
    body: ViewSubmissionBody,
    view: ViewPayload,
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    meta = OutcomeMeta.decode(view)
    values = view.get("state", {}).get("values", {})
    texts = {f: text_value(values, f) for f in (Field.WHAT_HAPPENED, Field.EVIDENCE, Field.LEARNED)}
    errors: dict[str, str] = {
        f: f"At most {TEXT_MAX} characters, please." for f, v in texts.items() if len(v) > TEXT_MAX
    }
    if not texts[Field.WHAT_HAPPENED]:
        errors[Field.WHAT_HAPPENED] = "Say in a sentence what happened."
    if errors:
        ack(response_action="errors", errors=errors)
        return
    user = body["user"]["id"]
    # The thread summary, the decision's badge and the others' DMs are outbox rows written by
    # record_outcome in this transaction.
    with db.session() as session:
        if not first_submission(session, team_id=team, view_id=view.get("id"), kind="outcome"):
            ack()  # the same Submit again: recorded already
            return
        review_answers.record_outcome(
            session,
            team_id=team,
            review_id=meta.review_id,
            user_id=user,
            outcome=meta.outcome,
            what_happened=texts[Field.WHAT_HAPPENED],
            evidence=texts[Field.EVIDENCE],
            learned=texts[Field.LEARNED],
        )
    ack()


def handle_dissent_button(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    respond: Respond,
    db: Database,
    team: str,
) -> None:
    # Record first, then ack: Bolt answers 404 when a listener raises right after acking, and
    # the person would never see why (NotAllowed for someone who didn't disagree).
    review_id = _review_id(action.get("value"))
    answer = DISSENT_ACTIONS[action["action_id"]]
    with db.session() as session:
        ask, _changed = review_answers.record_dissent(
            session, team_id=team, review_id=review_id, user_id=body["user"]["id"], answer=answer
        )
        review = repo.get_review(session, team_id=team, review_id=review_id)
        decision = decision_repo.get_decision_by_id(
            session, team_id=team, decision_id=review.decision_id
        )
    ack()
    text, blocks = build_dissent_recorded(decision, answer)
    respond(replace_original=True, text=text, blocks=blocks)


def handle_snooze(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    respond: Respond,
    db: Database,
    team: str,
) -> None:
    option = action.get("selected_option")
    raw = option.get("value") or "" if option else ""
    review_id = _review_id(raw)
    period = raw.split(":", 1)[1] if ":" in raw else ""
    if period not in SNOOZE_CHOICES:
        raise InvalidInput("Pick 1 week, 2 weeks or 1 month.")
    user = body["user"]["id"]
    with db.session() as session:
        review = repo.get_review(session, team_id=team, review_id=review_id)
        settings = review_settings.workspace_settings(session, team_id=team)
        today = utcnow().astimezone(zone(review.timezone)).date()
        day = read_date(period, today=today)
        assert not isinstance(day, Unreadable)  # SNOOZE_CHOICES are all readable
        due_at = review_instant(day, tz=review.timezone, hour=settings.review_hour)
        next_round = review_answers.snooze(
            session,
            team_id=team,
            review_id=review_id,
            user_id=user,
            due_at=due_at,
            label=SNOOZE_CHOICES[period],
        )
        decision = decision_repo.get_decision_by_id(
            session, team_id=team, decision_id=review.decision_id
        )
    ack()  # after the work: an error raised right after an ack becomes a 404 in Bolt
    respond(
        replace_original=True,
        text=snoozed_text(
            decision.number,
            next_round,
            asked=due_at,
            period=SNOOZE_CHOICES[period],
        ),
    )


# -- /adr review, /adr remind ------------------------------------------------------------------


def answer_review(cmd: AdrCommand, request: Request, person: Person) -> SlackPayload:
    assert cmd.number is not None  # the parser gives a numbered verb its number
    viewer = people.viewer_for(person, request.channel)
    return ephemeral(
        review_now(
            request.db,
            team=request.team,
            number=cmd.number,
            user=person.user_id,
            viewer=viewer,
            tz=person.tz,
        )
    )


def answer_remind(cmd: AdrCommand, request: Request, person: Person) -> SlackPayload:
    assert cmd.number is not None
    viewer = people.viewer_for(person, request.channel)
    return ephemeral(
        remind(
            request.db,
            team=request.team,
            number=cmd.number,
            user=person.user_id,
            when=cmd.text,
            viewer=viewer,
            tz=person.tz,
        )
    )


def review_now(
    db: Database,
    *,
    team: str,
    number: int,
    user: str,
    viewer: Viewer,
    tz: str | None = None,
) -> str:
    """`/adr review N`: ask now, in a round of its own (the commit wakes the dispatcher, which
    asks right away), and keep the planned review. ``tz``: the asker's zone, for the reply's
    fallback and for the round when no review says which zone to ask in."""
    now = utcnow()
    with db.session() as session:
        decision = decision_repo.get_decision(session, team_id=team, number=number, viewer=viewer)
        decision_repo.require_changer(session, decision, user)
        if not rules.is_live(decision.status):
            raise InvalidInput(f"ADR-{number} is {decision.status}; there is nothing to review.")
        current = repo.live_review(session, decision=decision)
        zone_name = (
            (current.timezone if current is not None else None)
            or review_settings.workspace_settings(session, team_id=team).timezone
            or tz
            or "UTC"
        )
        planned = repo.ask_now(
            session, decision=decision, now=now, timezone=zone_name, actor_id=user
        )
    return asked_now_text(number, planned, tz=tz)


def remind(
    db: Database,
    *,
    team: str,
    number: int,
    user: str,
    when: str,
    viewer: Viewer,
    tz: str | None = None,
) -> str:
    """`/adr remind N next tuesday`: move the review date (and the scheduled review with it).

    The phrase is read in ``tz``, the zone of the person typing it ("tomorrow" is theirs);
    without one (Slack didn't say), in the review's zone, else the workspace's, else UTC.
    """
    with db.session() as session:
        decision = decision_repo.get_decision(
            session, team_id=team, number=number, viewer=viewer, for_update=True
        )
        current = repo.live_review(session, decision=decision)
        tz = (
            tz
            or (current.timezone if current else None)
            or review_settings.workspace_settings(session, team_id=team).timezone
            or "UTC"
        )
        today = utcnow().astimezone(zone(tz)).date()
        day = read_date(when, today=today)
        if isinstance(day, Unreadable):
            raise InvalidInput(day.sentence)
        if day < today:
            raise InvalidInput(f"{day.isoformat()} is in the past: pick today or later.")
        if day > today + timedelta(days=5 * 366):
            raise InvalidInput("Pick a date within five years.")
        decision_repo.require_changer(session, decision, user)
        if not rules.is_live(decision.status):
            raise InvalidInput(f"ADR-{number} is {decision.status}; it has no review to move.")
        decision_repo.set_review_date(session, decision=decision, review_date=day, actor_id=user)
        outbox.schedule_review_planning(session, decision=decision, actor_id=user)
    return f"OK: I'll review ADR-{number} on {review_day_text(day)}."
