"""The decision modal: its typed metadata (`FormMeta`), the view, and the parser of what was
submitted (validation errors go back inline, on the field)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Literal

from bot.core.blocks import (
    context,
    input_block,
    modal,
    plain,
    text_input,
)
from bot.core.dates import DATE_HINT, PHRASE_MAX, add_months, zone
from bot.core.forms import (
    TEXT_MAX,
    Values,
    checked_text,
    conversation_value,
    day_value,
    select_value,
    text_value,
    users_value,
)
from bot.core.ids import Action, Callback, Field
from bot.core.metadata import ModalMeta
from bot.core.payloads import Blocks, SlackMapping, SlackPayload
from bot.core.render import render
from bot.features.forecasts import forecast_input, forecast_value
from storage import rules
from storage.decisions import DecisionDraft
from storage.models import (
    Decision,
    DecisionStatus,
    Door,
    Role,
)

TITLE_MAX = 200


TAG_MAX = 10


PEOPLE_MAX = 30


_TAG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,29}$")


_USER = re.compile(r"^[UW][A-Z0-9]{2,31}$")


_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,31}$")


DOOR_LABELS = {
    Door.TWO_WAY: "Two-way door: cheap to undo",
    Door.ONE_WAY: "One-way door: hard to undo",
}


def earliest_today(now: datetime) -> date:
    """The earliest calendar date that is 'today' somewhere (UTC-12): a date before it is past
    for everyone, so a user far west is never told their today is in the past."""
    return (now - timedelta(hours=12)).date()


def parse_tags(raw: str) -> tuple[list[str], str | None]:
    """'#db, infra  ops' -> ['db', 'infra', 'ops']; an error sentence if any tag is unusable."""
    tags: list[str] = []
    for piece in re.split(r"[\s,]+", raw.lower()):
        piece = piece.lstrip("#")
        if not piece:
            continue
        if not _TAG.match(piece):
            return [], (
                f"Tags are short words of letters, digits, - _ or . "
                f"(at most 30 characters each): {piece[:40]!r} isn't one."
            )
        if piece not in tags:
            tags.append(piece)
    if len(tags) > TAG_MAX:
        return [], f"At most {TAG_MAX} tags, please."
    return tags, None


def _checked_people(values: Values, block: str, errors: dict[str, str]) -> list[str]:
    users = users_value(values, block)
    if any(not _USER.match(u) for u in users):
        errors[block] = "Pick people from the list."
    elif len(users) > PEOPLE_MAX:
        errors[block] = f"At most {PEOPLE_MAX} people here."
    return list(dict.fromkeys(users))


def parse_decision_form(
    values: Values,
    *,
    now: datetime,
    editing: bool = False,
    tz: str | None = None,
    kept_decide_by: date | None = None,
) -> tuple[DecisionDraft | None, dict[str, str]]:
    """Validate the decision modal. Returns (draft, {}) or (None, {block_id: message}).

    The review date is read in ``tz``, the person's time zone: "in 2 weeks" counts from their
    today, and a day before it is past. Without one (someone the cache doesn't know yet) it
    counts from UTC's today, and only a day past everywhere (see ``earliest_today``) is refused.
    The decide-by date is read the same way; an edit may keep the date the decision has
    (``kept_decide_by``) even once it has passed.
    """
    errors: dict[str, str] = {}
    title = checked_text(
        values, Field.TITLE, errors, required=True, limit=TITLE_MAX, label="A title"
    )
    decision = checked_text(
        values, Field.DECISION, errors, required=True, limit=TEXT_MAX, label="The decision"
    )
    texts = {
        name: checked_text(values, name, errors, required=False, limit=TEXT_MAX, label=label)
        for name, label in (
            (Field.CONTEXT, "Context"),
            (Field.OPTIONS, "Options considered"),
            (Field.CONSEQUENCES, "Consequences"),
            (Field.SUCCESS, "What success looks like"),
        )
    }
    status = DecisionStatus.PROPOSED
    if not editing:
        raw_status = select_value(values, Field.STATUS) or DecisionStatus.PROPOSED
        if not rules.is_live(raw_status):
            errors[Field.STATUS] = "A new decision is either proposed or accepted."
        else:
            status = DecisionStatus(raw_status)
    tags, tag_error = parse_tags(text_value(values, Field.TAGS))
    if tag_error:
        errors[Field.TAGS] = tag_error
    today = now.astimezone(zone(tz)).date()
    review_date, date_error = day_value(values, Field.REVIEW_DATE, today=today)
    if date_error:
        errors[Field.REVIEW_DATE] = date_error
    elif review_date is not None:
        if review_date < (today if tz else earliest_today(now)):
            errors[Field.REVIEW_DATE] = "The review date is in the past: pick today or later."
        elif review_date > today + timedelta(days=5 * 366):
            errors[Field.REVIEW_DATE] = "Pick a review date within five years."
    earliest = today if tz else earliest_today(now)
    if kept_decide_by is not None:
        earliest = min(earliest, kept_decide_by)
    decide_by, decide_error = decide_by_value(values, today=today, earliest=earliest)
    if decide_error:
        errors[Field.DECIDE_BY] = decide_error
    people = {
        block: _checked_people(values, block, errors)
        for block in (Field.DECIDERS, Field.CONSULTED, Field.INFORMED)
    }
    forecast = forecast_value(values, errors)
    door = select_value(values, Field.DOOR)
    if door is not None and door not in DOOR_LABELS:
        errors[Field.DOOR] = "Pick a two-way or a one-way door."
    channel = ""
    if not editing:
        channel = conversation_value(values, Field.CHANNEL) or ""
        if not _CHANNEL.match(channel):
            errors[Field.CHANNEL] = "Pick the channel to post the decision in."
    if errors:
        return None, errors
    return (
        DecisionDraft(
            title=title,
            decision=decision,
            context=texts[Field.CONTEXT],
            options=texts[Field.OPTIONS],
            consequences=texts[Field.CONSEQUENCES],
            success_criteria=texts[Field.SUCCESS],
            status=status,
            tags=tags,
            review_date=review_date,
            deciders=people[Field.DECIDERS],
            consulted=people[Field.CONSULTED],
            informed=people[Field.INFORMED],
            channel_id=channel,
            door=door,
            forecast=forecast,
            # only a proposed decision waits for a decision (an accepted one keeps none)
            decide_by=decide_by if status == DecisionStatus.PROPOSED else None,
        ),
        {},
    )


def decide_by_value(
    values: Values, *, today: date, earliest: date | None = None
) -> tuple[date | None, str | None]:
    """The "Decide by" day, read with the one date parser from the person's ``today``, as
    the review date is; a day before ``earliest`` (default: ``today``) is refused as past."""
    day, error = day_value(values, Field.DECIDE_BY, today=today)
    if error:
        return None, error
    if day is not None and day < (earliest or today):
        return None, "The decide-by date is in the past: pick today or later."
    if day is not None and day > today + timedelta(days=5 * 366):
        return None, "Pick a decide-by date within five years."
    return day, None


def decide_by_input(initial: date | None) -> SlackPayload:
    """ "Decide by", typed like the review date (optional)."""
    return input_block(
        Field.DECIDE_BY,
        "Decide by",
        text_input(
            initial.isoformat() if initial is not None else "",
            max_length=PHRASE_MAX,
            placeholder="next friday, in 2 weeks or 2027-03-12",
        ),
        optional=True,
        hint="While it is proposed: deciders without a stance get a DM on the working day"
        f" before, in the morning where they are, and you one on the day. {DATE_HINT}",
    )


class FormMeta(ModalMeta):
    """What the decision modal carries in private_metadata."""

    mode: Literal["new", "edit", "supersede"] = "new"
    number: int | None = None
    source: str | None = None  # permalink of the message it was logged from
    # where the command (or shortcut) can be answered, and when it came (epoch seconds): the
    # new decision is confirmed there while Slack still takes answers, else by DM
    response_url: str | None = None
    asked_at: int | None = None
    # an edit: the decide-by date the decision had when the form opened (ISO), which the
    # edit may keep even once it has passed
    decide_by: str | None = None


def build_decision_modal(
    *,
    meta: FormMeta,
    today: date,
    channel_id: str | None = None,
    title: str = "",
    decision: Decision | None = None,
    people: dict[str, list[str]] | None = None,
    forecast: int | None = None,
    takes_forecast: bool = True,
) -> SlackPayload:
    """The form for a new decision, an edit of ``decision``, or a supersede prefilled from it.

    ``forecast``: the person's own pending forecast on the decision edited (nobody else's is
    ever shown); ``takes_forecast`` False leaves the forecast out (theirs is settled)."""
    d = decision
    people = people or {}
    editing = meta.mode == "edit"

    def initial(attr: str) -> str:
        return str(getattr(d, attr) or "") if d is not None else ""

    blocks: Blocks = [
        input_block(
            Field.TITLE,
            "Title",
            text_input(
                title or initial("title"),
                max_length=TITLE_MAX,
                placeholder="Use Postgres for the event store",
            ),
        ),
        input_block(
            Field.CONTEXT,
            "Context / problem",
            text_input(initial("context"), multiline=True, max_length=TEXT_MAX),
            optional=True,
        ),
        input_block(
            Field.OPTIONS,
            "Options considered",
            text_input(initial("options"), multiline=True, max_length=TEXT_MAX),
            optional=True,
        ),
        input_block(
            Field.DECISION,
            "Decision",
            text_input(initial("decision"), multiline=True, max_length=TEXT_MAX),
        ),
        input_block(
            Field.CONSEQUENCES,
            "Consequences and trade-offs",
            text_input(initial("consequences"), multiline=True, max_length=TEXT_MAX),
            optional=True,
        ),
    ]
    # A superseding decision starts as proposed, with its own round of stances: a standing
    # Block on the old one cannot be stepped around by superseding it "accepted".
    if not editing and meta.mode != "supersede":
        options = [
            {"text": plain("Proposed — open for stances"), "value": DecisionStatus.PROPOSED},
            {"text": plain("Accepted — already agreed"), "value": DecisionStatus.ACCEPTED},
        ]
        blocks.append(
            input_block(
                Field.STATUS,
                "Status",
                {"type": "static_select", "options": options, "initial_option": options[0]},
            )
        )
    for block_id, label, role in (
        (Field.DECIDERS, "Deciders", Role.DECIDER),
        (Field.CONSULTED, "Consulted", Role.CONSULTED),
        (Field.INFORMED, "Informed (told by DM)", Role.INFORMED),
    ):
        element: SlackPayload = {"type": "multi_users_select", "max_selected_items": PEOPLE_MAX}
        if people.get(role):
            element["initial_users"] = people[role][:PEOPLE_MAX]
        blocks.append(input_block(block_id, label, element, optional=True))
    tags = " ".join(d.tag_list) if d is not None else ""
    # A new decision suggests a review a month out; an edit shows the date it has, or none:
    # a cleared review date stays cleared (an edit must not quietly bring a review back).
    review: date | None = (
        (d.review_date if d is not None else None) if editing else add_months(today, 1)
    )
    # Typed, not a datepicker: "in 2 weeks" and "next tuesday" read as in `/adr remind`.
    review_input = text_input(
        review.isoformat() if review is not None else "",
        max_length=PHRASE_MAX,
        placeholder="in 2 weeks, next tuesday, 3m or 2027-03-06",
    )
    blocks += [
        input_block(
            Field.TAGS,
            "Tags",
            text_input(tags, max_length=300, placeholder="database infra"),
            optional=True,
            hint="Words separated by spaces or commas, used by /adr list #tag.",
        ),
        input_block(
            Field.REVIEW_DATE,
            "Review date",
            review_input,
            optional=True,
            hint="On this day I'll ask the deciders whether it worked (a Saturday or Sunday"
            f" moves to the Monday after). {DATE_HINT}",
        ),
        input_block(
            Field.SUCCESS,
            "What success looks like",
            text_input(initial("success_criteria"), multiline=True, max_length=TEXT_MAX),
            optional=True,
        ),
    ]
    # only while the decision is (or is created) proposed
    if not editing or (d is not None and d.status == DecisionStatus.PROPOSED):
        decide_by = d.decide_by if (d is not None and editing) else None
        blocks.insert(
            next(i + 1 for i, b in enumerate(blocks) if b.get("block_id") == Field.REVIEW_DATE),
            decide_by_input(decide_by),
        )
    if takes_forecast:
        blocks.append(forecast_input(forecast if editing else None))
    blocks.append(_door_input(d.door if d is not None else None))
    if not editing:
        conv: SlackPayload = {
            "type": "conversations_select",
            "action_id": Action.POST_IN,
            "filter": {"include": ["public", "private", "im", "mpim"], "exclude_bot_users": True},
        }
        if channel_id:
            conv["initial_conversation"] = channel_id
        post_in = input_block(Field.CHANNEL, "Post in", conv)
        # A new pick is sent at once (block_actions), so I can say whether I can post there.
        post_in["dispatch_action"] = True
        blocks.append(post_in)
    title_text = {
        "new": "Record a decision",
        "edit": f"Edit ADR-{meta.number}",
        "supersede": f"Supersede ADR-{meta.number}",
    }[meta.mode]
    return modal(
        callback_id=Callback.DECISION_FORM,
        title=title_text,
        submit="Save" if editing else "Record",
        blocks=blocks,
        metadata=meta.encode(),
    )


def _door_input(initial: str | None) -> SlackPayload:
    """ "Can it be undone?": a two-way or a one-way door (optional; an edit shows the one set)."""
    choices = [{"text": plain(label), "value": str(door)} for door, label in DOOR_LABELS.items()]
    element: SlackPayload = {"type": "radio_buttons", "options": choices}
    picked = [c for c in choices if c["value"] == initial]
    if picked:
        element["initial_option"] = picked[0]
    return input_block(Field.DOOR, "Can it be undone?", element, optional=True)


# What views.update takes from a view Slack sent back (which also has its id, hash, state, ...).
_VIEW_KEYS = ("type", "callback_id", "title", "submit", "close", "private_metadata", "blocks")


def post_in_warning(channel_id: str, *, seen: bool) -> str:
    """The sentence under "Post in" when I can't post in ``channel_id``: a private channel I
    am not in (``seen``), or one Slack doesn't show me at all."""
    return render("decisions/post_in_warning.md.j2", channel=channel_id, seen=seen)


def shown_post_in_warning(view: SlackMapping) -> str | None:
    """The warning under "Post in" in ``view``, if it shows one."""
    for block in view.get("blocks") or []:
        if block.get("block_id") == Field.POST_IN_WARNING:
            elements = block.get("elements") or [{}]
            return str(elements[0].get("text") or "")
    return None


def with_post_in_warning(view: SlackMapping, warning: str | None) -> SlackPayload:
    """``view`` (as built, or as Slack sent it back) for views.update, with ``warning`` right
    under "Post in", or with none.

    Nothing else changes: every input block keeps its block id, action id and initial value,
    which is what makes Slack keep what the person typed or picked in it across the update.
    """
    blocks = [b for b in view.get("blocks") or [] if b.get("block_id") != Field.POST_IN_WARNING]
    if warning is not None:
        at = next(
            (i + 1 for i, b in enumerate(blocks) if b.get("block_id") == Field.CHANNEL),
            len(blocks),
        )
        blocks.insert(at, {**context(warning), "block_id": Field.POST_IN_WARNING})
    updated = {key: view[key] for key in _VIEW_KEYS if key in view}
    updated["blocks"] = blocks
    return updated
