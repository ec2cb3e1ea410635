"""Block Kit for the decision log: the modal, the posted record, show/list/search, stances."""

from __future__ import annotations

import json
from typing import Any

from bot.core.blocks import (
    MESSAGE_BLOCKS,
    button,
    context,
    header,
    modal,
    section,
)
from bot.core.durations import format_duration
from bot.core.ids import Action, Callback
from bot.core.redacted import shown, shown_plain
from bot.core.render import Mrkdwn, mention, render, truncate
from bot.features.reviews import (
    DISSENT_LABELS,
    OUTCOME_LABELS,
    outcome_context,
    review_summary_text,
)
from storage import rules
from storage.decision_record import DecisionRecord
from storage.models import (
    Decision,
    DecisionEvent,
    DecisionStatus,
    DissentAnswer,
    EstimateRound,
    Outcome,
    Role,
    Stance,
    StanceKind,
)
from storage.review_lists import ReviewSummary

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


# -- the decision modal ----------------------------------------------------------------------


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


def _full_blocks(record: DecisionRecord, review: ReviewSummary | None) -> list[dict[str, Any]]:
    """Every field of the record, its links and tally: what `/adr show` and Details show."""
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
    override = override_text(record)
    if override:
        blocks.append(context(override))
    blocks.append(section(tally_text(record.stances)))
    badge = outcome_context(review)
    if badge is not None:
        blocks.append(badge)
    return blocks


def override_text(record: DecisionRecord) -> str:
    """ "Accepted by @alice over @eve's block: budget approved", while the decision stands
    accepted by that override; empty otherwise."""
    change = record.last_change
    if change is None or record.decision.status != DecisionStatus.ACCEPTED:
        return ""
    detail = json.loads(change.detail or "{}")
    if not detail.get("overrode_blocks"):
        return ""
    return render(
        "decisions/change_note.md.j2",
        to=DecisionStatus.ACCEPTED,
        actor=change.actor_id,
        blockers=[str(u) for u in detail["overrode_blocks"]],
        note=truncate(str(detail.get("note") or ""), 300),
        superseded_by=None,
    )


def is_blocked(record: DecisionRecord) -> bool:
    return record.decision.status == DecisionStatus.PROPOSED and any(
        s.kind == StanceKind.BLOCK for s in record.stances
    )


def build_decision_message(
    record: DecisionRecord, review: ReviewSummary | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The channel post, a short card: title, status, the decision in at most two lines,
    deciders, the review date, the tally, the buttons, and **Details** for the full record
    (the content of `/adr show`). At most ``CARD_LINES`` lines of text with every field
    filled."""
    d = record.decision
    people, named = record.members, record.named_people
    blocks: list[dict[str, Any]] = [
        header(f"{d.ref}: {shown_plain(d.title)}"),
        section(
            render(
                "decisions/card.md.j2",
                status_label=STATUS_LABELS.get(DecisionStatus(d.status), d.status),
                deciders=people.get(Role.DECIDER, []),
                named_deciders=", ".join(named.get(Role.DECIDER, [])),
                review_date=d.review_date.isoformat() if d.review_date else "",
                decision=shown(_two_lines(d.decision, DECISION_CHARS)),
                supersedes=record.supersedes.number if record.supersedes else None,
                superseded_by=record.superseded_by.number if record.superseded_by else None,
            )
        ),
    ]
    override = override_text(record)
    if override:
        blocks.append(context(override))
    blocks.append(section(tally_text(record.stances)))
    badge = outcome_context(review)
    if badge is not None:
        blocks.append(badge)
    value = str(d.number)
    buttons: list[dict[str, Any]] = []
    if rules.is_live(d.status):  # stances are taken while it is live
        buttons += [
            button("Agree", Action.AGREE, value, "primary"),
            button("Disagree & commit", Action.DISAGREE, value),
            button("Block", Action.BLOCK, value, "danger"),
        ]
    if is_blocked(record) and rules.can_become(d.status, DecisionStatus.ACCEPTED):
        buttons.append(button("Accept anyway…", Action.ACCEPT_ANYWAY, value))
    buttons.append(button("Details", Action.DETAILS, value))
    blocks.append({"type": "actions", "block_id": "decision.stances", "elements": buttons})
    # Plain-text fallback for notifications: the title is user text, so it is escaped.
    fallback = render(
        "decisions/field.md.j2", label=f"{d.ref} ({d.status})", text=shown_plain(d.title), limit=300
    )
    return fallback, blocks[:MESSAGE_BLOCKS]


# The card's decision text: two lines, each cut at a readable width.
DECISION_LINES, DECISION_CHARS = 2, 300
CARD_LINES = 10


def _two_lines(text: str, limit: int) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    cut = "\n".join(lines[:DECISION_LINES])
    more = len(lines) > DECISION_LINES
    if len(cut) > limit:
        cut, more = cut[: limit - 1].rstrip(), True
    return cut + "…" if more else cut


def build_details_modal(record: DecisionRecord, review: ReviewSummary | None) -> dict[str, Any]:
    """**Details** on the card: the full record, as `/adr show` shows it, in a modal."""
    _, blocks = build_record_blocks(record, review)
    body = [b for b in blocks if b["type"] not in ("actions", "header")]
    return modal(
        callback_id=Callback.DECISION_DETAILS,
        title=record.decision.ref,
        submit=None,
        blocks=body,
    )


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


def list_rows(decisions: list[Decision]) -> str:
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
        section(list_rows(decisions)),
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
        section(list_rows(decisions)),
    ]


# -- stance modals ---------------------------------------------------------------------------


# -- App Home --------------------------------------------------------------------------------


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
