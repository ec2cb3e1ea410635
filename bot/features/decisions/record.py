"""The full record of a decision: what `/adr show` answers and **Details** on the card opens\n(every field, the stances with their concerns, the review, the history)."""

from __future__ import annotations

import json
from datetime import datetime

from bot.core.blocks import (
    MESSAGE_BLOCKS,
    button,
    context,
    header,
    modal,
    section,
)
from bot.core.clock import slack_date
from bot.core.ids import Action, Callback
from bot.core.payloads import Blocks, SlackPayload
from bot.core.redacted import shown, shown_plain
from bot.core.render import Mrkdwn, counted, escape, mention, render, truncate
from bot.features.decisions.views import (
    STANCE_LABELS,
    STATUS_LABELS,
    build_decision_message,
    estimates_line,
    standing_blocks,
)
from bot.features.reviews import (
    DISSENT_LABELS,
    OUTCOME_LABELS,
    review_summary_text,
)
from storage import rules
from storage.decision_record import DecisionRecord
from storage.forecasts import ForecastCount
from storage.models import (
    DecisionEvent,
    DecisionStatus,
    DissentAnswer,
    Door,
    Outcome,
    Role,
    Stance,
    StanceKind,
)
from storage.review_lists import ReviewSummary

# Sections of an imported file shown in a message (all are in its export): at most 8, and
# 9,000 characters, so that with the record's own fields a message stays well within the
# roughly 40,000 characters Slack accepts.
EXTRA_SHOWN, EXTRA_CHARS = 8, 9000


HISTORY_SHOWN = 15


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
        review_date=rules.review_day(d.review_date).isoformat() if d.review_date else "",
        decide_by=(
            d.decide_by.isoformat() if d.decide_by and d.status == DecisionStatus.PROPOSED else ""
        ),
        door=DOOR_WORDS.get(d.door or "", ""),
        forecasts=_forecasts(record.forecasts),
        tags=d.tag_list,
        supersedes=record.supersedes.number if record.supersedes else None,
        superseded_by=record.superseded_by.number if record.superseded_by else None,
        links=record.links,
    )


# How Details names a door (the form asks "Can it be undone?").
DOOR_WORDS: dict[str, str] = {
    Door.ONE_WAY: "one-way (hard to undo)",
    Door.TWO_WAY: "two-way (cheap to undo)",
}


def _forecasts(count: ForecastCount | None) -> str:
    """``3 scored: 70% on average, Brier 0.12 · 2 waiting for the review``: never whose, and
    never a pending forecast's value."""
    if count is None or not (count.scored or count.pending):
        return ""
    parts = []
    if count.scored and count.mean_probability is not None and count.mean_brier is not None:
        parts.append(
            f"{count.scored} scored: {count.mean_probability:.0f}% on average, "
            f"Brier {count.mean_brier:.2f}"
        )
    if count.pending:
        parts.append(f"{counted(count.pending, 'forecast')} waiting for the review")
    return " · ".join(parts)


def _field(label: str, text: str) -> SlackPayload:
    # The label and framing take a few dozen characters; the user's text is cut to fit.
    return section(render("decisions/field.md.j2", label=label, text=shown(truncate(text, 2900))))


def _full_blocks(record: DecisionRecord, review: ReviewSummary | None) -> Blocks:
    """Every field of the record, its links and tally: what `/adr show` and Details show."""
    d = record.decision
    blocks: Blocks = [
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
        blocks.append(context(f"… {counted(more, 'more section')}: `/adr export {d.number}`"))
    if d.source_path:
        blocks.append(context(render("decisions/source.md.j2", path=d.source_path)))
    if d.source_permalink:
        blocks.append(context(f"Logged from <{d.source_permalink}|this message>"))
    if record.rounds:
        blocks.append(context(estimates_line(record.rounds)))
    blocks += standing_blocks(record, review)
    return blocks


def build_details_modal(record: DecisionRecord, review: ReviewSummary | None) -> SlackPayload:
    """**Details** on the card: the full record, as `/adr show` shows it, in a modal (times in
    every reader's own zone; the written fallback in UTC)."""
    _, blocks = build_record_blocks(record, review)
    body = [b for b in blocks if b["type"] not in ("actions", "header")]
    return modal(
        callback_id=Callback.DECISION_DETAILS,
        title=record.decision.ref,
        submit=None,
        blocks=body,
    )


def _instant(value: object, tz: str | None) -> str:
    """A stored ISO instant in every reader's zone (as typed, escaped, if it is not one)."""
    try:
        return slack_date(datetime.fromisoformat(str(value)), tz)
    except ValueError:
        return escape(str(value))


def _event_text(e: DecisionEvent, tz: str | None = None) -> str:
    """One history line's text; instants in every reader's zone (fallback in ``tz``)."""
    detail = json.loads(e.detail or "{}")
    if e.kind == "created":
        return f"recorded it as {detail.get('status', '')}"
    if e.kind == "status_changed":
        text = f"changed status {detail.get('from')} → {detail.get('to')}"
        if detail.get("overrode_blocks"):
            text += f" overriding {counted(len(detail['overrode_blocks']), 'block')}"
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
        return Mrkdwn(f"scheduled the review for {_instant(detail.get('due_at'), tz)}")
    if e.kind == "review_asked_now":
        if detail.get("planned"):
            planned = _instant(detail["planned"], tz)
            return Mrkdwn(f"asked for a review now; the one planned for {planned} stays")
        return "asked for a review now"
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


def _stance_shown(s: Stance) -> SlackPayload:
    texts = {name: shown(getattr(s, name)) for name in ("concern", "change_my_mind", "reason")}
    return {"user_id": s.user_id, "kind": s.kind, **texts}


def build_record_blocks(
    record: DecisionRecord, review: ReviewSummary | None = None, *, tz: str | None = None
) -> tuple[str, Blocks]:
    """`/adr show N`: the record plus every stance with its concern, the review (outcome,
    dissent answers, next review), and the history. Times are in every reader's own zone;
    ``tz`` (the reader's, when known) is the zone of their written fallback."""
    text, _ = build_decision_message(record, review)
    blocks = _full_blocks(record, review)
    actions = []
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
        blocks.append(section(review_summary_text(review, tz)))
    events = record.events
    hidden = max(0, len(events) - HISTORY_SHOWN)
    shown = [
        {
            "when": slack_date(e.created_at, tz),
            "actor": e.actor_id,
            "text": _event_text(e, tz),
        }
        for e in events[-HISTORY_SHOWN:]
    ]
    history = render("decisions/history.md.j2", events=shown)
    if hidden:
        history = f"_… {counted(hidden, 'earlier change')} not shown_\n" + history
    blocks.append(section(history))
    return text, (blocks + actions)[:MESSAGE_BLOCKS]
