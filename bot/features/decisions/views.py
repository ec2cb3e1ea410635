"""Block Kit for the decision log: the modal, the posted record, show/list/search, stances."""

from __future__ import annotations

import json
from datetime import date

from bot.core.blocks import (
    MESSAGE_BLOCKS,
    button,
    context,
    header,
    section,
)
from bot.core.clock import slack_day
from bot.core.ids import Action
from bot.core.payloads import Blocks
from bot.core.redacted import shown, shown_plain
from bot.core.render import render, truncate
from bot.features.estimates import round_plan
from bot.features.reviews import (
    outcome_context,
)
from storage import rules
from storage.decision_record import DecisionRecord
from storage.models import (
    Decision,
    DecisionStatus,
    EstimateRound,
    Role,
    Stance,
    StanceKind,
)
from storage.review_lists import ReviewSummary

STATUS_LABELS: dict[str, str] = {
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


# -- the decision modal ----------------------------------------------------------------------


# -- the posted record -----------------------------------------------------------------------


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


def standing_blocks(record: DecisionRecord, review: ReviewSummary | None) -> Blocks:
    """Where the decision stands, under the card and the full record alike: an override's
    note, the tally, the review's outcome."""
    blocks: Blocks = []
    override = override_text(record)
    if override:
        blocks.append(context(override))
    blocks.append(section(tally_text(record.stances)))
    badge = outcome_context(review)
    if badge is not None:
        blocks.append(badge)
    return blocks


def decide_by_day(day: date) -> str:
    """A decide-by date as people read it: "Fri 2027-03-12" (a day, not an instant): on the
    card and in the decide-by DMs."""
    return f"{day:%a} {slack_day(day)}"


def is_blocked(record: DecisionRecord) -> bool:
    return record.decision.status == DecisionStatus.PROPOSED and any(
        s.kind == StanceKind.BLOCK for s in record.stances
    )


def build_decision_message(
    record: DecisionRecord, review: ReviewSummary | None = None
) -> tuple[str, Blocks]:
    """The channel post, a short card: title, status, the decision in at most two lines,
    deciders, the review date, the tally, the buttons, and **Details** for the full record
    (the content of `/adr show`). At most ``CARD_LINES`` lines of text with every field
    filled."""
    d = record.decision
    people, named = record.members, record.named_people
    blocks: Blocks = [
        header(f"{d.ref}: {shown_plain(d.title)}"),
        section(
            render(
                "decisions/card.md.j2",
                status_label=STATUS_LABELS.get(DecisionStatus(d.status), d.status),
                deciders=people.get(Role.DECIDER, []),
                named_deciders=", ".join(named.get(Role.DECIDER, [])),
                review_date=rules.review_day(d.review_date).isoformat() if d.review_date else "",
                decide_by=(
                    decide_by_day(d.decide_by)
                    if d.decide_by and d.status == DecisionStatus.PROPOSED
                    else ""
                ),
                decision=shown(_two_lines(d.decision, DECISION_CHARS)),
                supersedes=record.supersedes.number if record.supersedes else None,
                superseded_by=record.superseded_by.number if record.superseded_by else None,
            )
        ),
    ]
    blocks += standing_blocks(record, review)
    value = str(d.number)
    buttons: Blocks = []
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
) -> Blocks:
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
    title = f"Decisions {what}".strip() + f" ({_span(offset, len(decisions), total)})"
    blocks: Blocks = [
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


def _span(offset: int, shown: int, total: int) -> str:
    """``12`` when one page holds them all, else ``11–20 of 34``."""
    if offset == 0 and shown >= total:
        return str(total)
    return f"{offset + 1}–{offset + shown} of {total}"


_PAIRS = {'"': '"', "“": "”", "„": "“", "«": "»"}  # double quotes, opening -> closing
_DOUBLE_QUOTES = set(_PAIRS) | set(_PAIRS.values())


def _quoted(query: str) -> str:
    """The query in quotes, once: a query typed as one quoted phrase loses its own quotes, and
    one with quotes inside (``"event sourcing" kafka``) is shown as typed, without more."""
    text = truncate(" ".join(query.split()), 200)
    inner = text[1:-1]
    if len(text) > 2 and _PAIRS.get(text[0]) == text[-1] and not set(inner) & _DOUBLE_QUOTES:
        text = inner.strip()
    if set(text) & _DOUBLE_QUOTES:
        return text
    return f"“{text}”"


def build_search_blocks(query: str, decisions: list[Decision]) -> Blocks:
    if not decisions:
        return [
            section(
                render(
                    "decisions/field.md.j2",
                    label="Search",
                    text=f"Nothing matches {_quoted(query)}.",
                )
            )
        ]
    label = f"Best matches for {_quoted(query)}"
    return [
        section(render("decisions/field.md.j2", label=label, text="")),
        section(list_rows(decisions)),
    ]


# -- stance modals ---------------------------------------------------------------------------


# -- App Home --------------------------------------------------------------------------------


def estimates_line(rounds: list[EstimateRound]) -> str:
    """The `/estimate` rounds that inform a decision; after a reveal, its headline."""
    parts = []
    for rnd in rounds[-5:]:
        plan = round_plan(rnd)
        parts.append(f"{rnd.ref}: {plan}" if plan else f"{rnd.ref} ({rnd.state})")
    return render("decisions/field.md.j2", label="Estimates", text=" · ".join(parts), limit=1000)
