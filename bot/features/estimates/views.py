"""Block Kit and text for `/estimate` (pure): the round's message, the thread details, the
private confirmation, DMs, list/show/help/calibration and App Home's part.

Blindness is enforced here as well as upstream: figures are shown only for a round whose
state is ``revealed``, and no builder for an open round takes anyone's numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core import durations
from bot.core.blocks import (
    MESSAGE_BLOCKS,
    MODAL_BLOCKS,
    button,
    context,
    header,
    modal,
    packed_sections,
    section,
)
from bot.core.clock import slack_date as slack_date  # estimates.texts imports it here
from bot.core.ids import Action, Callback
from bot.core.payloads import Blocks, SlackPayload
from bot.core.render import SECTION_LIMIT, render, truncate
from bot.features.estimates import estimation
from bot.features.estimates.forms import (
    FAMILIARITY_LABELS,
    multiplier_text,
    number_text,
    stored_ranges,
    task_names,
    typed_answers,
)
from storage.models import (
    ConePhase,
    Estimate,
    EstimateRound,
    EstimateTask,
    RoundMode,
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


def _phase(rnd: EstimateRound) -> str:
    return PHASE_LABELS.get(rnd.phase, rnd.phase)


def familiarity_label(kind: str) -> tuple[str, str]:
    label = FAMILIARITY_LABELS.get(kind, kind)
    return label.lower(), multiplier_text(kind)


def duration_text(value: float, unit: str) -> str:
    return durations.format_duration(value, unit)


def line_text(kind: str, **fields: object) -> str:
    return render("estimates/line.md.j2", kind=kind, limit=SECTION_LIMIT, **fields)


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


def _task_blocks(rnd: EstimateRound, tasks: Tasks) -> Blocks:
    names = task_names(tasks, rnd)
    if len(names) < 2:
        return []
    lines = [
        line_text("task", position=i + 1, name=truncate(n, NAME_IN_LINE))
        for i, n in enumerate(names)
    ]
    return packed_sections(render("estimates/heading.md.j2", label=f"Tasks ({len(names)})"), lines)


PEOPLE_NAMED = 5  # people named in the "why wider" line before "and N more"


def plan_text(low: float, high: float, unit: str) -> str:
    """``5–11 days``; one figure when both ends are the same."""
    if durations.format_number(low) == durations.format_number(high):
        return duration_text(high, unit)
    return f"{durations.format_number(low)}–{duration_text(high, unit)}"


def plan_words(low: float, likely: float, high: float, unit: str) -> str:
    """A revealed round's headline in a few words, for lines elsewhere (the digest, a
    decision's record): ``plan 5–11 days (90%), most likely 8``."""
    h = estimation.headline(
        estimation.Combined(
            p50=likely,
            p90=high,
            mean=likely,
            best=low,
            likely=likely,
            worst=high,
            cone_low=low,
            cone_high=high,
            low=low,
        )
    )
    return f"plan {plan_text(h.low, h.high, unit)} (90%), most likely {durations.format_number(h.likely)}"


def round_plan(rnd: EstimateRound) -> str:
    """``plan 5–11 days (90%), most likely 8`` for a revealed round's stored figures ("" when
    not computed)."""
    combined = estimation.combined_from_json(rnd.result)
    if combined is None:
        return ""
    low = combined.low if combined.low is not None else combined.best
    return plan_words(low, combined.likely, combined.worst, rnd.unit)


def said_text(people: Sequence[estimation.PersonEstimate], unit: str) -> str:
    """What people said, over everyone's own totals: ``3–10 days, most likely 5`` (likely
    ``5 to 6`` when people differ)."""
    totals = [estimation.stated_total(p.ranges) for p in people]
    likely_low = min(t[1] for t in totals)
    likely_high = max(t[1] for t in totals)
    if all(t[0] == t[1] == t[2] for t in totals):  # single numbers (a quick round)
        return plan_text(likely_low, likely_high, unit).replace("–", " to ", 1)
    likely = durations.format_number(likely_low)
    if durations.format_number(likely_high) != likely:
        likely += f" to {durations.format_number(likely_high)}"
    spread = plan_text(min(t[0] for t in totals), max(t[2] for t in totals), unit)
    return f"{spread}, most likely {likely}"


def _why_wider(
    people: Sequence[estimation.PersonEstimate], headline: estimation.Headline, quick: bool
) -> SlackPayload:
    """Who the plan scaled or widened, when the headline sits above what anyone said."""
    totals = [estimation.stated_total(p.ranges) for p in people]
    above = headline.high > max(t[2] for t in totals) + 1e-9 or headline.likely > max(
        t[1] for t in totals
    )
    if quick or not above:
        return {"scaled": [], "widened": [], "more": 0}
    adjustments = [(p.user_id, estimation.adjustment(p)) for p in people]
    scaled = [
        {
            "user": user,
            "multiplier": number_text(a.multiplier),
            "label": familiarity_label(a.familiarity)[0],
        }
        for user, a in adjustments
        if a.multiplier is not None
    ]
    widened = [
        {"user": user, "confidence": a.widened_from}
        for user, a in adjustments
        if a.widened_from is not None
    ]
    more = max(0, len(scaled) - PEOPLE_NAMED) + max(0, len(widened) - PEOPLE_NAMED)
    return {"scaled": scaled[:PEOPLE_NAMED], "widened": widened[:PEOPLE_NAMED], "more": more}


def widening_text(rnd: EstimateRound, combined: estimation.Combined, sizes_used: bool) -> str:
    """How a quick round's single numbers became ranges (empty for a ranged round)."""
    w = combined.widening
    if w is None:
        return ""
    return render(
        "estimates/widening.md.j2",
        low=number_text(w.low, 2),
        high=number_text(w.high, 2),
        rounds=w.rounds,
        needed=estimation.MIN_HISTORY,
        ref=rnd.ref,
        sizes=sizes_used,
    )


def headline_text(
    rnd: EstimateRound,
    combined: estimation.Combined,
    people: Sequence[estimation.PersonEstimate],
    *,
    several: bool,
    sizes_used: bool = False,
) -> str:
    """The one range to quote, what people said, and in one line why the plan is wider."""
    h = estimation.headline(combined)
    quick = rnd.mode == RoundMode.QUICK
    return render(
        "estimates/headline.md.j2",
        plan=plan_text(h.low, h.high, rnd.unit),
        likely=durations.format_number(h.likely),
        several=several,
        said=said_text(people, rnd.unit) if people else "",
        widening=widening_text(rnd, combined, sizes_used) if quick else "",
        **_why_wider(people, h, quick) if people else {"scaled": [], "widened": [], "more": 0},
    )


def _result_blocks(
    rnd: EstimateRound,
    combined: estimation.Combined,
    people: Sequence[estimation.PersonEstimate],
    *,
    several: bool,
    sizes_used: bool,
) -> Blocks:
    """The revealed round's figures in its message: the headline and who is far apart. The
    rest (50%/90%, mean, cone, spread per task, the sentence to paste) is behind Details."""
    blocks = [section(headline_text(rnd, combined, people, several=several, sizes_used=sizes_used))]
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
    return blocks


def _figures_blocks(
    rnd: EstimateRound, count: int, combined: estimation.Combined, assumptions: list[str]
) -> Blocks:
    """Details: every figure behind the headline."""
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
    if len(spreads) > 1:
        heading = render("estimates/heading.md.j2", label="Spread of the likely figures")
        blocks += packed_sections(heading, spreads)
    sentence = estimation.summary_sentence(combined, unit, assumptions)
    blocks.append(section(render("estimates/sentence.md.j2", sentence=truncate(sentence, 2800))))
    return blocks


def adjustment_why(adjustment: estimation.Adjustment) -> str:
    """``×2.5: new to us; widened: 50% sure`` (empty: nothing adjusted)."""
    parts = []
    if adjustment.multiplier is not None:
        parts.append(
            f"×{number_text(adjustment.multiplier)}: {familiarity_label(adjustment.familiarity)[0]}"
        )
    if adjustment.widened_from is not None:
        parts.append(f"widened: {adjustment.widened_from}% sure")
    return "; ".join(parts)


def _adjusted_lines(
    rnd: EstimateRound,
    combined: estimation.Combined,
    people: Sequence[estimation.PersonEstimate],
) -> list[str]:
    """Details: each person's own total as said, and where the plan differs, as adjusted."""
    totals = {t.user_id: t for t in combined.person_totals}
    quick = rnd.mode == RoundMode.QUICK
    lines = []
    for p in people:
        best, likely, worst = estimation.stated_total(p.ranges)
        said = f"{plan_text(best, worst, rnd.unit)}, most likely {durations.format_number(likely)}"
        why = "widened as above" if quick else adjustment_why(estimation.adjustment(p))
        total = totals.get(p.user_id)
        plan = ""
        if why and total is not None:
            plan = plan_text(
                estimation.headline_low(total.best), estimation.headline_high(total.worst), rnd.unit
            )
        lines.append(
            render("estimates/adjusted.md.j2", user=p.user_id, said=said, plan=plan, why=why)
        )
    return lines


def build_details_modal(
    rnd: EstimateRound,
    combined: estimation.Combined,
    people: Sequence[estimation.PersonEstimate],
) -> SlackPayload:
    """**Details** on a revealed round: the figures behind the headline, who said what and
    how the plan adjusted it, and the sentence to paste."""
    assumptions = [p.assumptions for p in people if p.assumptions]
    blocks = _figures_blocks(rnd, len(people), combined, assumptions)
    heading = render("estimates/heading.md.j2", label="What each person said")
    blocks += packed_sections(heading, _limited(_adjusted_lines(rnd, combined, people), ROWS_SHOWN))
    return modal(
        callback_id=Callback.ESTIMATE_DETAILS,
        title=f"Details {rnd.ref}",
        submit=None,
        blocks=blocks[:MODAL_BLOCKS],
    )


def _people_blocks(kind: str, people: list[str]) -> Blocks:
    return [section(render("estimates/people.md.j2", kind=kind, people=list(people)))]


def _round_blocks(
    rnd: EstimateRound,
    tasks: Tasks,
    estimated_by: list[str],
    invited: list[str],
    combined: estimation.Combined | None,
    decision_ref: str | None,
    people: Sequence[estimation.PersonEstimate],
    *,
    show: bool,
    sizes_used: bool = False,
) -> Blocks:
    blocks: Blocks = [
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
            blocks += _result_blocks(
                rnd,
                combined,
                people,
                several=len(task_names(tasks, rnd)) > 1,
                sizes_used=sizes_used,
            )
        elif estimated_by:  # revealed, the figures not stored yet: never "no estimates"
            blocks.append(section("_Working out the combined estimate…_"))
        else:
            blocks.append(section("_Revealed with no estimates._"))
        blocks += _people_blocks("revealed", estimated_by)
        if not show:
            blocks.append(context("Each person's numbers and assumptions are in the thread."))
            buttons = [button("Re-estimate", Action.ESTIMATE_AGAIN, value)]
            if combined is not None and estimated_by:
                buttons.insert(0, button("Details", Action.ESTIMATE_DETAILS, value))
            blocks.append({"type": "actions", "block_id": "estimate.revealed", "elements": buttons})
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
    people: Sequence[estimation.PersonEstimate] = (),
    sizes_used: bool = False,
) -> tuple[str, Blocks]:
    """The round in its channel: who has estimated (names only) and the buttons while open;
    once revealed, the headline (with ``people``, everyone's own numbers: what they said and
    why the plan is wider), who is far apart, and Details; a line and no buttons once
    closed."""
    blocks = _round_blocks(
        rnd,
        tasks,
        estimated_by,
        invited,
        combined,
        decision_ref,
        people,
        show=False,
        sizes_used=sizes_used,
    )
    return _fallback(rnd, f"({STATE_LABELS.get(rnd.state, rnd.state)})"), _fit(blocks)


def _fit(blocks: Blocks) -> Blocks:
    """Within 50 blocks, keeping the last (the buttons) when cutting."""
    if len(blocks) <= MESSAGE_BLOCKS:
        return blocks
    return blocks[: MESSAGE_BLOCKS - 2] + [context("_… cut to fit one message_"), blocks[-1]]


def build_show_blocks(
    rnd: EstimateRound,
    tasks: Tasks,
    estimated_by: list[str],
    combined: estimation.Combined | None,
    people: Sequence[estimation.PersonEstimate] = (),
) -> tuple[str, Blocks]:
    """`/estimate show E-3`: the round as it stands; figures only once revealed."""
    blocks = _round_blocks(rnd, tasks, estimated_by, [], combined, None, people, show=True)
    return _fallback(rnd, f"({STATE_LABELS.get(rnd.state, rnd.state)})"), _fit(blocks)


# -- the thread: each person's estimate --------------------------------------------------------


def answer_lines(names: list[str], e: Estimate, *, quick: bool) -> list[str]:
    """A person's answers per task as they typed them (``3d – 5d – 2w``; a quick round's
    ``M`` or ``4``); the stored numbers for an estimate saved before typing was kept."""
    ranges = stored_ranges(e)
    typed = typed_answers(e)
    lines = []
    for index, (name, r) in enumerate(zip(names, ranges, strict=False)):
        said = typed[index] if index < len(typed) else []
        if quick:
            answer = said[0] if said else number_text(r[1])
            lines.append(line_text("answer", name=truncate(name, NAME_IN_LINE), answer=answer))
            continue
        best, likely, worst = said if len(said) == 3 else (number_text(v) for v in r)
        lines.append(
            line_text(
                "range",
                name=truncate(name, NAME_IN_LINE),
                best=best,
                likely=likely,
                worst=worst,
            )
        )
    return lines


def _person_blocks(rnd: EstimateRound, names: list[str], e: Estimate) -> Blocks:
    familiarity, multiplier = familiarity_label(e.familiarity)
    quick = rnd.mode == RoundMode.QUICK
    head = render(
        "estimates/person.md.j2",
        user=e.user_id,
        confidence=e.confidence,
        familiarity=familiarity,
        multiplier=multiplier,
        quick=quick,
    )
    blocks = packed_sections(head, answer_lines(names, e, quick=quick))
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
) -> list[tuple[str, Blocks]]:
    """After the reveal, for the round's thread: each person's range per task, confidence,
    familiarity (multiplier shown) and assumptions, in as few messages as Slack's limits
    allow (one person is never split across messages unless they alone overflow one)."""
    if rnd.state != RoundState.REVEALED or not estimates:
        return []
    names = task_names(tasks, rnd)
    groups: list[Blocks] = [[]]
    for e in estimates:
        person = _person_blocks(rnd, names, e) + [{"type": "divider"}]
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


def _chars(blocks: Blocks) -> int:
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


def build_list_blocks(rounds: list[EstimateRound]) -> Blocks:
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


def help_blocks(*, full: bool = False) -> Blocks:
    """`/estimate help`: the verbs people use; ``full`` (`/estimate help all`): every one."""
    return [section(render("estimates/help_all.md.j2" if full else "estimates/help.md.j2"))]


def home_section(waiting: list[EstimateRound], facilitating: list[EstimateRound]) -> Blocks:
    """App Home's estimates: rounds waiting for your estimate, and rounds you facilitate.
    Names and states only: App Home never shows figures of an open round."""
    blocks: Blocks = []
    for label, rounds, empty in (
        ("Waiting for your estimate", waiting, "No round is waiting for you."),
        ("Estimate rounds you facilitate", facilitating, "Start one with /estimate in a channel."),
    ):
        heading = render("estimates/heading.md.j2", label=label, note="" if rounds else empty)
        blocks += packed_sections(heading, _limited(_round_rows(rounds), HOME_ROWS))
    blocks.append({"type": "divider"})
    return blocks
