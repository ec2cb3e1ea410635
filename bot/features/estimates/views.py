"""Block Kit and text for `/estimate` (pure): the round's message, the thread details, the
private confirmation, DMs, list/show/help/calibration and App Home's part.

Blindness is enforced here as well as upstream: figures are shown only for a round whose
state is ``revealed``, and no builder for an open round takes anyone's numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.core import durations
from bot.core.blocks import MESSAGE_BLOCKS, button, context, header, packed_sections, section
from bot.core.ids import Action
from bot.core.render import SECTION_LIMIT, Mrkdwn, render, truncate
from bot.features.estimates import estimation
from bot.features.estimates.forms import (
    FAMILIARITY_LABELS,
    multiplier_text,
    number_text,
    stored_ranges,
    task_names,
)
from storage.models import (
    ConePhase,
    Estimate,
    EstimateRound,
    EstimateTask,
    RoundState,
)

PHASE_LABELS: dict[str, str] = {
    ConePhase.INITIAL: "initial concept",
    ConePhase.REQUIREMENTS: "requirements known",
    ConePhase.DESIGN: "design done",
    ConePhase.BUILDING: "building",
}
STATE_LABELS: dict[str, str] = {
    RoundState.OPEN: "open",
    RoundState.REVEALED: "revealed",
    RoundState.CANCELLED: "cancelled",
    RoundState.EXPIRED: "expired",
}
OUTLIERS_SHOWN = 10
ROWS_SHOWN = 20
HOME_ROWS = 10
MESSAGE_CHARS = 36_000  # Slack refuses a message much past 40,000 characters (msg_too_long)
NAME_IN_LINE = 80  # a task's name in a list line (the full name heads the modal)

Tasks = Sequence[EstimateTask | str]


# -- small pieces ----------------------------------------------------------------------------


def slack_date(when: datetime) -> Mrkdwn:
    """A time every reader sees in their own zone; the fallback is UTC."""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    utc = aware.astimezone(UTC)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return Mrkdwn(f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>")


def _phase(rnd: EstimateRound) -> str:
    return PHASE_LABELS.get(rnd.phase, rnd.phase)


def familiarity_label(kind: str) -> tuple[str, str]:
    label = FAMILIARITY_LABELS.get(kind, kind)
    return label.lower(), multiplier_text(kind)


def duration_text(value: float, unit: str) -> str:
    return durations.format_duration(value, unit)


def line_text(kind: str, **fields: Any) -> str:
    return render("estimates/line.md.j2", kind=kind, **fields)


def _limited(lines: list[str], shown: int) -> list[str]:
    if len(lines) <= shown:
        return lines
    return lines[:shown] + [line_text("more", count=len(lines) - shown)]


def _fallback(rnd: EstimateRound, note: str) -> str:
    return render("estimates/heading.md.j2", label=f"{rnd.ref}: {rnd.topic}", note=note, limit=300)


# -- the round's message ----------------------------------------------------------------------


def _summary(
    rnd: EstimateRound, decision_ref: str | None, *, invited: bool, actual: bool = False
) -> str:
    return render(
        "estimates/round.md.j2",
        state=rnd.state,
        revealed_by=rnd.revealed_by,
        automatic=rnd.revealed_at is not None and rnd.revealed_by is None,
        facilitator=rnd.facilitator_id,
        unit=rnd.unit,
        phase=_phase(rnd),
        decision_ref=decision_ref,
        deadline=slack_date(rnd.deadline_at) if rnd.deadline_at else "",
        invited=invited,
        actual=duration_text(rnd.actual, rnd.unit) if actual and rnd.actual is not None else "",
    )


def _task_blocks(rnd: EstimateRound, tasks: Tasks) -> list[dict[str, Any]]:
    names = task_names(tasks, rnd)
    if len(names) < 2:
        return []
    lines = [
        line_text("task", position=i + 1, name=truncate(n, NAME_IN_LINE))
        for i, n in enumerate(names)
    ]
    return packed_sections(render("estimates/heading.md.j2", label=f"Tasks ({len(names)})"), lines)


def _result_blocks(
    rnd: EstimateRound, count: int, combined: estimation.Combined, assumptions: list[str]
) -> list[dict[str, Any]]:
    unit = rnd.unit
    low, high = estimation.CONE.get(rnd.phase, (0.0, 0.0))
    blocks = [
        section(
            render(
                "estimates/result.md.j2",
                count=count,
                p50=duration_text(combined.p50, unit),
                p90=duration_text(combined.p90, unit),
                mean=duration_text(combined.mean, unit),
                phase=_phase(rnd),
                cone_factors=f"{number_text(low)}x–{number_text(high)}x",
                cone_low=duration_text(combined.cone_low, unit),
                cone_high=duration_text(combined.cone_high, unit),
            )
        )
    ]
    spreads = [
        line_text(
            "spread",
            name=truncate(s.name, NAME_IN_LINE),
            low=durations.format_number(s.low),
            median=durations.format_number(s.median),
            high=duration_text(s.high, unit),
        )
        for s in combined.spreads
    ]
    if spreads:
        heading = render("estimates/heading.md.j2", label="Spread of the likely figures")
        blocks += packed_sections(heading, spreads)
    outliers = [
        line_text(
            "outlier",
            high=o.high_user,
            low=o.low_user,
            ratio=number_text(o.ratio),
            task=truncate(o.task, NAME_IN_LINE),
        )
        for o in combined.outliers
    ]
    if outliers:
        heading = render("estimates/heading.md.j2", label="Far apart: talk before you plan")
        blocks += packed_sections(heading, _limited(outliers, OUTLIERS_SHOWN))
    sentence = estimation.summary_sentence(combined, unit, assumptions)
    blocks.append(section(render("estimates/sentence.md.j2", sentence=truncate(sentence, 2800))))
    return blocks


def _people_blocks(kind: str, people: list[str]) -> list[dict[str, Any]]:
    return [section(render("estimates/people.md.j2", kind=kind, people=list(people)))]


def _round_blocks(
    rnd: EstimateRound,
    tasks: Tasks,
    estimated_by: list[str],
    invited: list[str],
    combined: estimation.Combined | None,
    decision_ref: str | None,
    assumptions: list[str],
    *,
    show: bool,
) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        header(f"{rnd.ref}: {rnd.topic}"),
        section(_summary(rnd, decision_ref, invited=bool(invited), actual=show)),
    ]
    blocks += _task_blocks(rnd, tasks)
    value = str(rnd.number)
    if rnd.state == RoundState.OPEN:
        blocks += _people_blocks("estimated", estimated_by)
        waiting = [u for u in invited if u not in set(estimated_by)]
        if waiting:
            blocks += _people_blocks("waiting", waiting)
        if not show:
            blocks.append(
                {
                    "type": "actions",
                    "block_id": "estimate.round",
                    "elements": [
                        button("Add my estimate", Action.ESTIMATE_ADD, value, "primary"),
                        button("Reveal", Action.ESTIMATE_REVEAL, value),
                        button("Cancel", Action.ESTIMATE_CANCEL, value, "danger"),
                    ],
                }
            )
        if not invited and not show:
            blocks.append(context("Anyone in the channel may add an estimate."))
    elif rnd.state == RoundState.REVEALED:
        if combined is not None and estimated_by:
            blocks += _result_blocks(rnd, len(estimated_by), combined, assumptions)
        else:
            blocks.append(section("_Revealed with no estimates._"))
        blocks += _people_blocks("revealed", estimated_by)
        if not show:
            blocks.append(context("Each person's range and assumptions are in the thread."))
            blocks.append(
                {
                    "type": "actions",
                    "block_id": "estimate.revealed",
                    "elements": [button("Re-estimate", Action.ESTIMATE_AGAIN, value)],
                }
            )
    else:
        blocks.append(
            section(render("estimates/closed.md.j2", state=rnd.state, note=rnd.closed_note))
        )
    return blocks


def build_round_message(
    rnd: EstimateRound,
    tasks: Tasks,
    estimated_by: list[str],
    invited: list[str],
    combined: estimation.Combined | None,
    decision_ref: str | None,
    *,
    assumptions: list[str] | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """The round in its channel: who has estimated (names only) and the buttons while open;
    the combined figures, spread, outliers and the sentence to paste once revealed (with
    ``assumptions``, everyone's, for that sentence); a line and no buttons once closed."""
    blocks = _round_blocks(
        rnd, tasks, estimated_by, invited, combined, decision_ref, assumptions or [], show=False
    )
    return _fallback(rnd, f"({STATE_LABELS.get(rnd.state, rnd.state)})"), _fit(blocks)


def _fit(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Within 50 blocks, keeping the last (the buttons) when cutting."""
    if len(blocks) <= MESSAGE_BLOCKS:
        return blocks
    return blocks[: MESSAGE_BLOCKS - 2] + [context("_… cut to fit one message_"), blocks[-1]]


def build_show_blocks(
    rnd: EstimateRound,
    tasks: Tasks,
    estimated_by: list[str],
    combined: estimation.Combined | None,
) -> tuple[str, list[dict[str, Any]]]:
    """`/estimate show E-3`: the round as it stands; figures only once revealed."""
    blocks = _round_blocks(rnd, tasks, estimated_by, [], combined, None, [], show=True)
    return _fallback(rnd, f"({STATE_LABELS.get(rnd.state, rnd.state)})"), _fit(blocks)


# -- the thread: each person's estimate --------------------------------------------------------


def _person_blocks(names: list[str], e: Estimate) -> list[dict[str, Any]]:
    familiarity, multiplier = familiarity_label(e.familiarity)
    head = render(
        "estimates/person.md.j2",
        user=e.user_id,
        confidence=e.confidence,
        familiarity=familiarity,
        multiplier=multiplier,
    )
    ranges = stored_ranges(e)
    lines = [
        line_text(
            "range",
            name=truncate(name, NAME_IN_LINE),
            best=number_text(r[0]),
            likely=number_text(r[1]),
            worst=number_text(r[2]),
        )
        for name, r in zip(names, ranges, strict=False)
    ]
    blocks = packed_sections(head, lines)
    # Assumptions as plain text: shown exactly as typed, and nothing in them is markup.
    text = e.assumptions.strip()
    if text:
        text = "Assumptions: " + text
    for start in range(0, len(text), SECTION_LIMIT):
        chunk = text[start : start + SECTION_LIMIT]
        blocks.append({"type": "section", "text": {"type": "plain_text", "text": chunk}})
    return blocks


def build_detail_messages(
    rnd: EstimateRound, tasks: Tasks, estimates: list[Estimate]
) -> list[tuple[str, list[dict[str, Any]]]]:
    """After the reveal, for the round's thread: each person's range per task, confidence,
    familiarity (multiplier shown) and assumptions, in as few messages as Slack's limits
    allow (one person is never split across messages unless they alone overflow one)."""
    if rnd.state != RoundState.REVEALED or not estimates:
        return []
    names = task_names(tasks, rnd)
    groups: list[list[dict[str, Any]]] = [[]]
    for e in estimates:
        person = _person_blocks(names, e) + [{"type": "divider"}]
        current = groups[-1]
        if current and (
            len(current) + len(person) > MESSAGE_BLOCKS - 1
            or _chars(current) + _chars(person) > MESSAGE_CHARS
        ):
            groups.append([])
        for block in person:
            if len(groups[-1]) >= MESSAGE_BLOCKS - 1:
                groups.append([])
            groups[-1].append(block)
    messages = []
    for index, group in enumerate(groups):
        if group and group[-1]["type"] == "divider":
            group = group[:-1]
        intro = render(
            "estimates/details_intro.md.j2",
            ref=rnd.ref,
            unit=rnd.unit,
            part=index + 1,
            parts=len(groups),
        )
        messages.append((truncate(f"{rnd.ref}: each estimate", 300), [section(intro), *group]))
    return messages


def _chars(blocks: list[dict[str, Any]]) -> int:
    return sum(len(b.get("text", {}).get("text", "")) for b in blocks)


# -- texts -------------------------------------------------------------------------------------


# -- list, help, App Home ----------------------------------------------------------------------


def _round_rows(rounds: list[EstimateRound]) -> list[str]:
    return [
        line_text(
            "round",
            ref=r.ref,
            topic=truncate(r.topic, 120),
            state=STATE_LABELS.get(r.state, r.state),
            unit=r.unit,
            channel=r.channel_id,
            deadline=slack_date(r.deadline_at)
            if r.deadline_at and r.state == RoundState.OPEN
            else "",
            actual=duration_text(r.actual, r.unit) if r.actual is not None else "",
        )
        for r in rounds
    ]


def build_list_blocks(rounds: list[EstimateRound]) -> list[dict[str, Any]]:
    """`/estimate list`: newest rounds first, as given (the listener filters visibility)."""
    if not rounds:
        return [
            section(
                render(
                    "estimates/heading.md.j2",
                    label="No estimate rounds yet.",
                    note="Start one with `/estimate <what>`.",
                )
            )
        ]
    heading = render("estimates/heading.md.j2", label=f"Estimate rounds ({len(rounds)})")
    rows = _limited(_round_rows(rounds), ROWS_SHOWN)
    return packed_sections(heading, rows)[:MESSAGE_BLOCKS]


def help_blocks(*, full: bool = False) -> list[dict[str, Any]]:
    """`/estimate help`: the verbs people use; ``full`` (`/estimate help all`): every one."""
    return [section(render("estimates/help_all.md.j2" if full else "estimates/help.md.j2"))]


def home_section(
    waiting: list[EstimateRound], facilitating: list[EstimateRound]
) -> list[dict[str, Any]]:
    """App Home's estimates: rounds waiting for your estimate, and rounds you facilitate.
    Names and states only: App Home never shows figures of an open round."""
    blocks: list[dict[str, Any]] = []
    for label, rounds, empty in (
        ("Waiting for your estimate", waiting, "No round is waiting for you."),
        ("Estimate rounds you facilitate", facilitating, "Start one with /estimate in a channel."),
    ):
        heading = render("estimates/heading.md.j2", label=label, note="" if rounds else empty)
        blocks += packed_sections(heading, _limited(_round_rows(rounds), HOME_ROWS))
    blocks.append({"type": "divider"})
    return blocks
