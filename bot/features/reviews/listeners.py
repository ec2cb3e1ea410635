""" "Did this decision work?": outcome buttons and modal, snooze, dissent answers, and the
`/adr review`, `/adr remind` and `/adr settings` commands."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.core.dates import parse_when, review_instant, valid_timezone, zone
from bot.core.errors import guarded
from bot.core.forms import TEXT_MAX, text_value
from bot.core.ids import Action, Callback, Field
from bot.features.decisions.command import parse_number
from bot.features.decisions.views import FormMeta, build_decision_modal
from bot.features.reviews.views import (
    DISSENT_ACTIONS,
    OUTCOME_ACTIONS,
    SNOOZE_CHOICES,
    build_dissent_recorded,
    build_outcome_modal,
    parse_outcome_meta,
)
from storage import decision_work as outbox
from storage import decisions as decision_repo
from storage import people as people_repo
from storage import reviews as repo
from storage.db import Database
from storage.errors import InvalidInput, NotAllowed
from storage.models import DecisionStatus
from storage.people import Person
from storage.submissions import first_submission

log = logging.getLogger(__name__)


def register(app: App) -> None:
    for action_id in OUTCOME_ACTIONS:
        app.action(action_id)(guarded(handle_outcome_button))
    for action_id in DISSENT_ACTIONS:
        app.action(action_id)(guarded(handle_dissent_button))
    app.action(Action.REVIEW_SNOOZE)(guarded(handle_snooze))
    app.action(Action.REVIEW_SUPERSEDE)(guarded(handle_supersede_button))
    app.view(Callback.OUTCOME_FORM)(guarded(handle_outcome_submission))


def _review_id(raw: Any) -> int:
    try:
        return int(str(raw).split(":", 1)[0])
    except ValueError:
        raise InvalidInput("That button doesn't point at a review any more.") from None


def handle_outcome_button(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
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
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, db: Database, team: str
) -> None:
    meta = parse_outcome_meta(view.get("private_metadata", ""))
    if meta is None:
        raise InvalidInput(
            "I lost track of which review this was; press the button in my message again."
        )
    values = (view.get("state") or {}).get("values") or {}
    texts = {f: text_value(values, f) for f in (Field.WHAT_HAPPENED, Field.EVIDENCE, Field.LEARNED)}
    errors = {
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
        repo.record_outcome(
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
    action: dict[str, Any],
    body: dict[str, Any],
    respond: Respond,
    db: Database,
    team: str,
) -> None:
    # Record first, then ack: Bolt answers 404 when a listener raises right after acking, and
    # the person would never see why (NotAllowed for someone who didn't disagree).
    review_id = _review_id(action.get("value"))
    answer = DISSENT_ACTIONS[action["action_id"]]
    with db.session() as session:
        ask, _changed = repo.record_dissent(
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
    action: dict[str, Any],
    body: dict[str, Any],
    respond: Respond,
    db: Database,
    team: str,
) -> None:
    raw = (action.get("selected_option") or {}).get("value") or ""
    review_id = _review_id(raw)
    period = raw.split(":", 1)[1] if ":" in raw else ""
    if period not in SNOOZE_CHOICES:
        raise InvalidInput("Pick 1 week, 2 weeks or 1 month.")
    user = body["user"]["id"]
    with db.session() as session:
        review = repo.get_review(session, team_id=team, review_id=review_id)
        settings = repo.workspace_settings(session, team_id=team)
        today = datetime.now(UTC).astimezone(zone(review.timezone)).date()
        day, _ = parse_when(period, today=today)
        assert day is not None
        due_at = review_instant(day, tz=review.timezone, hour=settings.review_hour)
        repo.snooze(
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
        text=f"OK: I'll ask again about ADR-{decision.number} on {day.isoformat()} (in {SNOOZE_CHOICES[period]}).",
    )


def handle_supersede_button(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    number = parse_number(str(action.get("value") or ""))
    if number is None:
        raise InvalidInput("That button doesn't point at a decision any more.")
    user = body["user"]["id"]
    with db.read() as session:
        decision = decision_repo.get_decision(session, team_id=team, number=number)
        if not decision_repo.is_changer(session, decision, user):
            raise NotAllowed(f"Only the author and the deciders of ADR-{number} can supersede it.")
        people = decision_repo.members(session, decision=decision)
    ack()
    client.views_open(
        trigger_id=body["trigger_id"],
        view=build_decision_modal(
            meta=FormMeta(mode="supersede", number=number),
            today=datetime.now(UTC).date(),
            channel_id=decision.channel_id,
            decision=decision,
            people=people,
        ),
    )


# -- /adr review, /adr remind, /adr settings (routed from the /adr listener) -----------------


def review_now(
    db: Database,
    *,
    team: str,
    number: int,
    user: str,
    viewer: decision_repo.Viewer,
) -> str:
    """`/adr review N`: open a review round due now, and sweep it right away (after the ack)."""
    now = datetime.now(UTC)
    with db.session() as session:
        decision = decision_repo.get_decision(session, team_id=team, number=number, viewer=viewer)
        if not decision_repo.is_changer(session, decision, user):
            raise NotAllowed(
                f"Only the author and the deciders of ADR-{number} can start its review."
            )
        if decision.status not in (DecisionStatus.PROPOSED, DecisionStatus.ACCEPTED):
            raise InvalidInput(f"ADR-{number} is {decision.status}; there is nothing to review.")
        current = repo.live_review(session, decision=decision)
        tz = current.timezone if current is not None else "UTC"
        # Due now: the commit wakes the dispatcher, which asks right away.
        repo.schedule_review(session, decision=decision, due_at=now, timezone=tz, actor_id=user)
    return f"Asking the author and deciders of ADR-{number} now whether it worked."


def remind(
    db: Database,
    *,
    team: str,
    number: int,
    user: str,
    when: str,
    viewer: decision_repo.Viewer,
) -> str:
    """`/adr remind N 2w`: move the review date (and the scheduled review with it).

    "2w" counts from today where the review is asked (its time zone), not from UTC's today.
    """
    with db.session() as session:
        decision = decision_repo.get_decision(
            session, team_id=team, number=number, viewer=viewer, for_update=True
        )
        current = repo.live_review(session, decision=decision)
        tz = (
            (current.timezone if current else None)
            or repo.workspace_settings(session, team_id=team).timezone
            or "UTC"
        )
        day, error = parse_when(when, today=datetime.now(UTC).astimezone(zone(tz)).date())
        if error:
            raise InvalidInput(error)
        if not decision_repo.is_changer(session, decision, user):
            raise NotAllowed(
                f"Only the author and the deciders of ADR-{number} can move its review."
            )
        if decision.status not in (DecisionStatus.PROPOSED, DecisionStatus.ACCEPTED):
            raise InvalidInput(f"ADR-{number} is {decision.status}; it has no review to move.")
        decision_repo.set_review_date(session, decision=decision, review_date=day, actor_id=user)
        outbox.schedule_review_planning(session, decision=decision, actor_id=user)
    return f"OK: I'll review ADR-{number} on {day.isoformat()}."  # type: ignore[union-attr]


SETTINGS_HELP = (
    "`/adr settings` shows the schedule; change it with `/adr settings timezone Europe/Berlin`, "
    "`/adr settings timezone auto` (use the deciders' own), `/adr settings hour 10` (0-23), "
    "`/adr settings nudge 3` (working days before a reminder, 1-30)."
)
MANAGERS_HELP = (
    "Workspace admins name who else may change the settings: "
    "`/adr settings managers add @someone`, `/adr settings managers remove @someone`."
)
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,30})(?:\|[^>]*)?>$")


def _who_may_change(session: Any, team: str) -> str:
    named = people_repo.settings_managers(session, team_id=team)
    who = "workspace admins and owners"
    if named:
        who += " and " + ", ".join(f"<@{u}>" for u in named[:20])
    return who


def settings_command(db: Database, *, team: str, text: str, person: Person) -> str:
    """`/adr settings`: everyone may read them; workspace admins and owners, and the people an
    admin named, may change them; guests and outsiders never."""
    words = text.split()
    if not words:
        with db.read() as session:
            s = repo.workspace_settings(session, team_id=team)
            who = _who_may_change(session, team)
            allowed = people_repo.may_change_settings(session, team_id=team, person=person)
        where = s.timezone or "each decision's deciders' own Slack time zone"
        shown = (
            f"Reviews are asked at {s.review_hour:02d}:00 in {where}, on working days; one reminder "
            f"every {s.nudge_after_days} working days, at most {s.max_nudges}.\n"
            f"Who may change these: {who}.\n"
        )
        if not allowed:
            return shown + "You can read them, not change them."
        return shown + SETTINGS_HELP + (" " + MANAGERS_HELP if person.admin else "")
    if words[0].lower() in ("managers", "manager"):
        return _managers_command(db, team=team, words=words[1:], person=person)
    with db.read() as session:
        if not people_repo.may_change_settings(session, team_id=team, person=person):
            raise NotAllowed(
                f"Only {_who_may_change(session, team)} can change these settings; "
                "`/adr settings` shows them."
            )
    if len(words) != 2:
        raise InvalidInput(SETTINGS_HELP)
    key, value = words[0].lower(), words[1]
    changes: dict[str, Any]
    if key in ("timezone", "tz"):
        if value.lower() == "auto":
            changes = {"timezone": None}
        elif valid_timezone(value):
            changes = {"timezone": value}
        else:
            raise InvalidInput(
                f"I don't know the time zone {value[:64]!r}; use an IANA name such as Europe/Berlin or America/New_York."
            )
    elif key == "hour":
        if not (value.isdigit() and 0 <= int(value) <= 23):
            raise InvalidInput(
                f"The review hour is a whole hour from 0 to 23 (local time), such as "
                f"`/adr settings hour 10`; {value[:20]!r} isn't one."
            )
        changes = {"review_hour": int(value)}
    elif key == "nudge":
        if not (value.isdigit() and 1 <= int(value) <= 30):
            raise InvalidInput(
                f"Reminders go out after 1 to 30 working days, such as `/adr settings nudge 3`; "
                f"{value[:20]!r} isn't a number in that range."
            )
        changes = {"nudge_after_days": int(value)}
    else:
        raise InvalidInput(SETTINGS_HELP)
    with db.session() as session:
        repo.update_settings(session, team_id=team, **changes)
    return (
        "Saved. It applies to reviews scheduled from now on. " + SETTINGS_HELP.split(";")[0] + "."
    )


def _managers_command(db: Database, *, team: str, words: list[str], person: Person) -> str:
    with db.read() as session:
        named = people_repo.settings_managers(session, team_id=team)
    if not words:
        listed = ", ".join(f"<@{u}>" for u in named) or "nobody yet"
        return (
            f"Besides workspace admins and owners, these people may change the settings: {listed}."
        )
    if not person.admin:
        raise NotAllowed("Only workspace admins and owners can name who may change the settings.")
    verb = words[0].lower()
    mentions = [_MENTION.match(w) for w in words[1:]]
    if verb not in ("add", "remove") or not mentions or not all(mentions):
        raise InvalidInput(MANAGERS_HELP)
    users = [m.group(1) for m in mentions if m]
    with db.session() as session:
        for user in users:
            if verb == "add":
                people_repo.name_settings_manager(
                    session, team_id=team, user_id=user, named_by=person.user_id
                )
            else:
                people_repo.drop_settings_manager(session, team_id=team, user_id=user)
        named = people_repo.settings_managers(session, team_id=team)
    listed = ", ".join(f"<@{u}>" for u in named) or "nobody"
    return f"Saved. Besides workspace admins and owners, the settings may be changed by: {listed}."
