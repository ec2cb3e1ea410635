"""Block Kit for the decision log: the modal, the posted record, show/list/search, stances."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from bot.core.blocks import (
    MESSAGE_BLOCKS,
    button,
    context,
    header,
    input_block,
    modal,
    plain,
    section,
    text_input,
)
from bot.core.forms import PEOPLE_MAX, TEXT_MAX, TITLE_MAX, one_month_after
from bot.core.ids import Action, Callback, Field
from bot.core.redacted import shown, shown_plain
from bot.core.render import Mrkdwn, mention, render, truncate
from bot.features.estimates.estimation import format_duration
from bot.features.reviews.views import (
    DISSENT_LABELS,
    OUTCOME_LABELS,
    outcome_context,
    review_summary_text,
)
from storage.decisions import DecisionRecord
from storage.models import (
    Decision,
    DecisionEvent,
    DecisionStatus,
    DissentAnswer,
    EstimateRound,
    Outcome,
    Review,
    Role,
    Stance,
    StanceKind,
)
from storage.reviews import ReviewSummary

STATUS_LABELS = {
    DecisionStatus.PROPOSED: ":thinking_face: Proposed",
    DecisionStatus.ACCEPTED: ":white_check_mark: Accepted",
    DecisionStatus.REJECTED: ":x: Rejected",
    DecisionStatus.SUPERSEDED: ":arrows_counterclockwise: Superseded",
    DecisionStatus.DEPRECATED: ":wastebasket: Deprecated",
}
STANCE_LABELS = {
    StanceKind.AGREE: "Agree",
    StanceKind.DISAGREE_AND_COMMIT: "Disagree & commit",
    StanceKind.BLOCK: "Block",
}
PAGE_SIZE = 10
HISTORY_SHOWN = 15


class FormMeta(BaseModel):
    """What the decision modal carries in private_metadata."""

    mode: Literal["new", "edit", "supersede"] = "new"
    number: int | None = None
    source: str | None = None  # permalink of the message it was logged from


class StanceMeta(BaseModel):
    number: int


# -- the decision modal ----------------------------------------------------------------------


def build_decision_modal(
    *,
    meta: FormMeta,
    today: date,
    channel_id: str | None = None,
    title: str = "",
    decision: Decision | None = None,
    people: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The form for a new decision, an edit of ``decision``, or a supersede prefilled from it."""
    d = decision
    people = people or {}
    editing = meta.mode == "edit"

    def initial(attr: str) -> str:
        return str(getattr(d, attr) or "") if d is not None else ""

    blocks: list[dict[str, Any]] = [
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
        element: dict[str, Any] = {"type": "multi_users_select", "max_selected_items": PEOPLE_MAX}
        if people.get(role):
            element["initial_users"] = people[role][:PEOPLE_MAX]
        blocks.append(input_block(block_id, label, element, optional=True))
    tags = " ".join(d.tag_list) if d is not None else ""
    # A new decision suggests a review a month out; an edit shows the date it has, or none:
    # a cleared review date stays cleared (an edit must not quietly bring a review back).
    review: date | None = (
        (d.review_date if d is not None else None) if editing else one_month_after(today)
    )
    picker: dict[str, Any] = {"type": "datepicker"}
    if review is not None:
        picker["initial_date"] = review.isoformat()
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
            picker,
            optional=True,
            hint="On this day I'll ask the deciders whether it worked.",
        ),
        input_block(
            Field.SUCCESS,
            "What success looks like",
            text_input(initial("success_criteria"), multiline=True, max_length=TEXT_MAX),
            optional=True,
        ),
    ]
    if not editing:
        conv: dict[str, Any] = {
            "type": "conversations_select",
            "filter": {"include": ["public", "private", "im", "mpim"], "exclude_bot_users": True},
        }
        if channel_id:
            conv["initial_conversation"] = channel_id
        blocks.append(input_block(Field.CHANNEL, "Post in", conv))
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
        metadata=meta.model_dump_json(exclude_none=True),
    )


def parse_form_meta(raw: str) -> FormMeta:
    try:
        return FormMeta.model_validate_json(raw or "{}")
    except ValueError:
        return FormMeta()


# -- the posted record -----------------------------------------------------------------------


# Sections of an imported file shown in a message (all are in its export): at most 8, and
# 9,000 characters, so that with the record's own fields a message stays well within the
# roughly 40,000 characters Slack accepts.
EXTRA_SHOWN, EXTRA_CHARS = 8, 9000


def _summary(record: DecisionRecord) -> str:
    d, people, named = record.decision, record.members, record.named_people
    return render(
        "decisions/summary.md.j2",
        status_label=STATUS_LABELS.get(DecisionStatus(d.status), d.status),
        author=d.author_id,
        deciders=people.get(Role.DECIDER, []),
        consulted=people.get(Role.CONSULTED, []),
        informed=people.get(Role.INFORMED, []),
        # names from an imported file that match no Slack user: shown as text
        named={role: ", ".join(named.get(role, [])) for role in Role},
        review_date=d.review_date.isoformat() if d.review_date else "",
        tags=d.tag_list,
        supersedes=record.supersedes.number if record.supersedes else None,
        superseded_by=record.superseded_by.number if record.superseded_by else None,
        links=record.links,
    )


def _field(label: str, text: str) -> dict[str, Any]:
    # The label and framing take a few dozen characters; the user's text is cut to fit.
    return section(render("decisions/field.md.j2", label=label, text=shown(truncate(text, 2900))))


def tally_text(stances: list[Stance]) -> str:
    by_kind: dict[str, list[str]] = {k.value: [] for k in StanceKind}
    for s in stances:
        by_kind.setdefault(s.kind, []).append(s.user_id)
    return render(
        "decisions/tally.md.j2",
        agree=by_kind[StanceKind.AGREE],
        disagree=by_kind[StanceKind.DISAGREE_AND_COMMIT],
        block=by_kind[StanceKind.BLOCK],
    )


def build_decision_message(
    record: DecisionRecord, review: ReviewSummary | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The channel post: readable record, live tally, outcome badge, and the stance buttons."""
    d = record.decision
    blocks: list[dict[str, Any]] = [
        header(f"{d.ref}: {shown_plain(d.title)}"),
        section(_summary(record)),
    ]
    for label, text in (
        ("Context", d.context),
        ("Options considered", d.options),
        ("Decision", d.decision),
        ("Consequences and trade-offs", d.consequences),
        ("What success looks like", d.success_criteria),
    ):
        if text:
            blocks.append(_field(label, text))
    extra, budget, shown_extra = record.extra_sections, EXTRA_CHARS, 0
    for heading, text in extra[:EXTRA_SHOWN]:
        if len(text) > budget:
            break
        budget -= len(text)
        blocks.append(_field(heading, text))
        shown_extra += 1
    if len(extra) > shown_extra:
        more = len(extra) - shown_extra
        blocks.append(context(f"… {more} more section(s): `/adr export {d.number}`"))
    if d.source_path:
        blocks.append(context(render("decisions/source.md.j2", path=d.source_path)))
    if d.source_permalink:
        blocks.append(context(f"Logged from <{d.source_permalink}|this message>"))
    if record.rounds:
        blocks.append(context(estimates_line(record.rounds)))
    blocks.append(section(tally_text(record.stances)))
    badge = outcome_context(review)
    if badge is not None:
        blocks.append(badge)
    if d.status in (DecisionStatus.PROPOSED, DecisionStatus.ACCEPTED):
        value = str(d.number)
        blocks.append(
            {
                "type": "actions",
                "block_id": "decision.stances",
                "elements": [
                    button("Agree", Action.AGREE, value, "primary"),
                    button("Disagree & commit", Action.DISAGREE, value),
                    button("Block", Action.BLOCK, value, "danger"),
                ],
            }
        )
    # Plain-text fallback for notifications: the title is user text, so it is escaped.
    fallback = render(
        "decisions/field.md.j2", label=f"{d.ref} ({d.status})", text=shown_plain(d.title), limit=300
    )
    return fallback, blocks[:MESSAGE_BLOCKS]


def informed_dm_text(d: Decision, permalink: str) -> str:
    """The DM to an informed person (text only; rewritten the same way after a redaction)."""
    return render(
        "decisions/informed_dm.md.j2",
        author=d.author_id,
        number=d.number,
        title=shown(d.title),
        status=d.status,
        permalink=permalink,
    )


def _event_text(e: DecisionEvent) -> str:
    detail = json.loads(e.detail or "{}")
    if e.kind == "created":
        return f"recorded it as {detail.get('status', '')}"
    if e.kind == "status_changed":
        text = f"changed status {detail.get('from')} → {detail.get('to')}"
        if detail.get("overrode_blocks"):
            text += f" overriding {len(detail['overrode_blocks'])} block(s)"
        if detail.get("note"):
            text += f": “{truncate(detail['note'], 200)}”"
        return text
    if e.kind == "stance":
        label = (
            STANCE_LABELS.get(StanceKind(detail["kind"]), detail["kind"])
            if detail.get("kind")
            else ""
        )
        prev = (detail.get("previous") or {}).get("kind")
        return f"set stance {label}" + (f" (was {STANCE_LABELS[StanceKind(prev)]})" if prev else "")
    if e.kind == "edited":
        return "edited " + ", ".join(sorted(detail.get("changes", {})))
    if e.kind == "superseded":
        return f"superseded it by {detail.get('by')}"
    if e.kind == "redacted":
        if detail.get("person"):
            return Mrkdwn(f"redacted the stance texts of {mention(str(detail['person']))}")
        return f"redacted {detail.get('field')}"
    if e.kind == "supersedes":
        return f"recorded it as superseding {detail.get('of')}"
    if e.kind == "review_scheduled":
        return (
            f"scheduled the review for {str(detail.get('due_at', ''))[:16].replace('T', ' ')} UTC"
        )
    if e.kind == "review_opened":
        return f"opened review round {detail.get('round')}"
    if e.kind == "review_outcome":
        outcome = detail.get("outcome")
        label = (
            OUTCOME_LABELS.get(Outcome(outcome), outcome)
            if outcome in Outcome._value2member_map_
            else outcome
        )
        return f"answered the review: {label}"
    if e.kind == "dissent_answer":
        answer = detail.get("answer")
        return f"looked back on their dissent: {DISSENT_LABELS.get(DissentAnswer(answer), answer) if answer in DissentAnswer._value2member_map_ else answer}"
    if e.kind == "review_snoozed":
        return f"asked to be reviewed again in {detail.get('until')}"
    if e.kind == "review_unanswered":
        return f"closed review round {detail.get('round')} unanswered"
    return e.kind


def _stance_shown(s: Stance) -> dict[str, Any]:
    texts = {name: shown(getattr(s, name)) for name in ("concern", "change_my_mind", "reason")}
    return {"user_id": s.user_id, "kind": s.kind, **texts}


def build_record_blocks(
    record: DecisionRecord, review: ReviewSummary | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """`/adr show N`: the record plus every stance with its concern, the review (outcome,
    dissent answers, next review), and the history."""
    text, blocks = build_decision_message(record, review)
    actions = [b for b in blocks if b["type"] == "actions"]
    blocks = [b for b in blocks if b["type"] != "actions"]
    actions.append(
        {
            "type": "actions",
            "block_id": "decision.export",
            "elements": [button("Export as ADR file", Action.EXPORT, str(record.decision.number))],
        }
    )
    blocks.append({"type": "divider"})
    blocks.append(
        section(
            render(
                "stances/list.md.j2",
                stances=[_stance_shown(s) for s in record.stances],
                labels={k.value: v for k, v in STANCE_LABELS.items()},
            )
        )
    )
    if review is not None:
        blocks.append(section(review_summary_text(review)))
    events = record.events
    hidden = max(0, len(events) - HISTORY_SHOWN)
    shown = [
        {
            "when": e.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            "actor": e.actor_id,
            "text": _event_text(e),
        }
        for e in events[-HISTORY_SHOWN:]
    ]
    history = render("decisions/history.md.j2", events=shown)
    if hidden:
        history = f"_… {hidden} earlier change(s) not shown_\n" + history
    blocks.append(section(history))
    return text, (blocks + actions)[:MESSAGE_BLOCKS]


# -- list and search -------------------------------------------------------------------------


def _list_rows(decisions: list[Decision]) -> str:
    return render(
        "decisions/list.md.j2",
        decisions=[
            {
                "number": d.number,
                "title": shown(truncate(d.title, 120)),
                "status": d.status,
                "tags": d.tag_list,
            }
            for d in decisions
        ],
    )


def build_list_blocks(
    decisions: list[Decision],
    *,
    total: int,
    offset: int,
    status: str | None,
    tag: str | None,
) -> list[dict[str, Any]]:
    what = " ".join(x for x in (status or "", f"#{tag}" if tag else "") if x)
    if not decisions:
        return [
            section(
                render(
                    "decisions/field.md.j2",
                    label="Decisions",
                    text=f"No {what + ' ' if what else ''}decisions yet. Record one with /adr new.",
                )
            )
        ]
    title = f"Decisions {what}".strip() + f" ({offset + 1}–{offset + len(decisions)} of {total})"
    blocks: list[dict[str, Any]] = [
        section(render("decisions/field.md.j2", label=title, text="")),
        section(_list_rows(decisions)),
    ]
    nav = []
    if offset > 0:
        nav.append(
            button(
                "Newer",
                Action.LIST_PAGE,
                json.dumps({"s": status, "t": tag, "o": max(0, offset - PAGE_SIZE)}),
            )
        )
    if offset + len(decisions) < total:
        nav.append(
            button(
                "Older",
                Action.LIST_PAGE,
                json.dumps({"s": status, "t": tag, "o": offset + PAGE_SIZE}),
            )
        )
    if nav:
        blocks.append({"type": "actions", "block_id": "decision.list.nav", "elements": nav})
    return blocks


def build_search_blocks(query: str, decisions: list[Decision]) -> list[dict[str, Any]]:
    if not decisions:
        return [
            section(
                render(
                    "decisions/field.md.j2",
                    label="Search",
                    text=f"Nothing matches “{truncate(query, 200)}”.",
                )
            )
        ]
    label = f"Best matches for “{truncate(query, 200)}”"
    return [
        section(render("decisions/field.md.j2", label=label, text="")),
        section(_list_rows(decisions)),
    ]


# -- stance modals ---------------------------------------------------------------------------


def build_disagree_modal(decision: Decision, current: Stance | None = None) -> dict[str, Any]:
    concern = current.concern if current is not None else ""
    change = current.change_my_mind if current is not None else ""
    commit_option = {
        "text": plain("I disagree, and I commit to making this decision work."),
        "value": "commit",
    }
    return modal(
        callback_id=Callback.DISAGREE_FORM,
        title="Disagree & commit",
        submit="Commit",
        metadata=StanceMeta(number=decision.number).model_dump_json(),
        blocks=[
            section(
                render(
                    "decisions/field.md.j2",
                    label=f"{decision.ref}: {truncate(decision.title, 200)}",
                    text=truncate(decision.decision, 1000),
                )
            ),
            input_block(
                Field.CONCERN,
                "My concern",
                text_input(concern, multiline=True, max_length=TEXT_MAX),
            ),
            input_block(
                Field.CHANGE_MY_MIND,
                "What would change my mind",
                text_input(change, multiline=True, max_length=TEXT_MAX),
                optional=True,
            ),
            input_block(
                Field.COMMIT, "Commitment", {"type": "checkboxes", "options": [commit_option]}
            ),
        ],
    )


def build_block_modal(decision: Decision, current: Stance | None = None) -> dict[str, Any]:
    reason = current.reason if current is not None and current.kind == StanceKind.BLOCK else ""
    return modal(
        callback_id=Callback.BLOCK_FORM,
        title="Block this decision",
        submit="Block",
        metadata=StanceMeta(number=decision.number).model_dump_json(),
        blocks=[
            section(
                render(
                    "decisions/field.md.j2",
                    label=f"{decision.ref}: {truncate(decision.title, 200)}",
                    text="A block stops a proposed decision from being accepted until you withdraw it (choose Agree or Disagree & commit) or a decider overrides it with a note.",
                )
            ),
            input_block(
                Field.REASON,
                "Why are you blocking it?",
                text_input(reason, multiline=True, max_length=TEXT_MAX),
            ),
        ],
    )


def parse_stance_meta(raw: str) -> StanceMeta | None:
    try:
        return StanceMeta.model_validate_json(raw or "{}")
    except ValueError:
        return None


# -- App Home --------------------------------------------------------------------------------


def build_home(
    *,
    recent: list[Decision],
    awaiting: list[Decision],
    owned: list[Decision],
    reviews_waiting: list[Decision] | None = None,
    upcoming: list[tuple[Decision, Review]] | None = None,
    outcomes: list[tuple[Decision, Review]] | None = None,
    guest: bool = False,
) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [header("Decision log")]
    if guest:
        blocks.append(section(render("home/guest.md.j2")))
        return {"type": "home", "blocks": blocks}
    review_lines = [
        f"*ADR-{d.number}* {truncate(d.title, 80)} · {OUTCOME_LABELS[Outcome(r.outcome)]}"
        for d, r in outcomes or []
        if r.outcome
    ] + [
        f"*ADR-{d.number}* {truncate(d.title, 80)} · review on {r.due_at.date().isoformat()}"
        for d, r in upcoming or []
    ]
    for label, items, empty in (
        ("Waiting for your stance", awaiting, "Nothing is waiting for you."),
        ("Reviews waiting for your answer", reviews_waiting or [], "No review is waiting for you."),
        ("Decisions you own", owned, "You haven't recorded or decided anything yet."),
        ("Recent decisions", recent, "No decisions yet: type /adr in any channel."),
    ):
        blocks.append(
            section(render("decisions/field.md.j2", label=label, text=empty if not items else ""))
        )
        if items:
            blocks.append(section(_list_rows(items)))
        if label == "Decisions you own" and review_lines:
            # Titles are user text: escaped through the template like every other line.
            blocks.append(
                section(render("decisions/field.md.j2", label="Outcomes and next reviews", text=""))
            )
            blocks.append(section(render("home/reviews.md.j2", lines=review_lines)))
        blocks.append({"type": "divider"})
    blocks.append(
        context("Record a decision with /adr · search with /adr search &lt;words&gt; · /adr help")
    )
    return {"type": "home", "blocks": blocks[:100]}


def estimates_line(rounds: list[EstimateRound]) -> str:
    """The `/estimate` rounds that inform a decision; after a reveal, its range."""
    parts = []
    for rnd in rounds[-5:]:
        result = json.loads(rnd.result) if rnd.result else None
        if result:
            parts.append(
                f"{rnd.ref}: 50% {format_duration(result['p50'], rnd.unit)}, "
                f"90% {format_duration(result['p90'], rnd.unit)}"
            )
        else:
            parts.append(f"{rnd.ref} ({rnd.state})")
    return render("decisions/field.md.j2", label="Estimates", text=" · ".join(parts), limit=1000)
