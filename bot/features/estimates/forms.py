"""The "Add my estimate" modal: its Block Kit and the parsing of its submission (pure).

Per task three inputs, ``t{i}_best``, ``t{i}_likely`` and ``t{i}_worst`` (numbers in the
round's unit, or with a unit: ``4h``, ``3d``, ``1.5w``), then how confident the person is
that the actual lands inside best..worst, how familiar the work is (its multiplier shown),
and their assumptions. 15 tasks make 15 x 4 + 4 = 64 blocks, inside a modal's 100.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core import durations
from bot.core.blocks import context, input_block, modal, plain, section, text_input
from bot.core.forms import TEXT_MAX, Values, select_value, text_value
from bot.core.ids import Callback, EstimateField
from bot.core.metadata import ModalMeta
from bot.core.payloads import Blocks, SlackPayload
from bot.core.render import render, truncate
from bot.features.estimates import estimation
from storage.models import (
    SIZES,
    Estimate,
    EstimateRound,
    EstimateTask,
    Familiarity,
    RoundMode,
    SizeScale,
)

POINTS = ("best", "likely", "worst")
POINT_LABELS = {"best": "Best case", "likely": "Most likely", "worst": "Worst case"}
CONFIDENCE_LABELS = {
    50: "50% — a coin flip",
    80: "80% — fairly sure",
    90: "90% — very sure",
}
FAMILIARITY_LABELS: dict[str, str] = {
    Familiarity.DONE: "Done it before",
    Familiarity.SIMILAR: "Similar to something we've done",
    Familiarity.NEW: "New to us",
}
DEFAULT_CONFIDENCE = 80
NUMBER_MAX_LENGTH = 20


DEFAULT_FAMILIARITY = Familiarity.SIMILAR  # preselected for someone's first estimate
QUICK_FIELD = "likely"  # a quick round's one input per task: t{i}_likely
# A quick round's T-shirt sizes, until a team sets its own (`/estimate sizes`): (best, likely,
# worst) in days on the time scale (converted to the round's unit), in points on the points one.
DEFAULT_SIZES: dict[str, dict[str, tuple[float, float, float]]] = {
    SizeScale.TIME: {"S": (0.5, 1, 2), "M": (2, 3, 5), "L": (5, 8, 13), "XL": (10, 15, 25)},
    SizeScale.POINTS: {"S": (1, 2, 3), "M": (3, 5, 8), "L": (8, 13, 20), "XL": (20, 30, 40)},
}


@dataclass(frozen=True)
class ParsedEstimate:
    """A valid submission: ``ranges`` is (best, likely, worst) per task, in the round's unit;
    ``typed`` what the person wrote for them (a quick round: one answer per task)."""

    ranges: list[tuple[float, float, float]]
    confidence: int
    familiarity: Familiarity
    assumptions: str
    typed: list[list[str]] = field(default_factory=list)

    def ranges_json(self) -> str:
        """What ``Estimate.ranges`` stores: ``[[best, likely, worst], ...]``."""
        return json.dumps([list(r) for r in self.ranges])

    def person(self, user_id: str) -> estimation.PersonEstimate:
        return estimation.PersonEstimate(
            user_id=user_id,
            ranges=list(self.ranges),
            confidence=self.confidence,
            familiarity=self.familiarity.value,
            assumptions=self.assumptions,
        )


def multiplier_text(familiarity: str) -> str:
    """The familiarity multiplier as shown everywhere: ``1.0``, ``1.5``, ``2.5``."""
    return f"{estimation.FAMILIARITY_MULTIPLIER.get(familiarity, 1.0):.1f}"


def task_block(index: int, point: str) -> str:
    """The block id of one number of the modal: ``t0_best``, ``t3_worst``."""
    return f"t{index}_{point}"


def task_names(tasks: Sequence[EstimateTask | str], rnd: EstimateRound) -> list[str]:
    """The names of a round's tasks in order; a round without tasks has one, its topic."""
    rows = [t for t in tasks if isinstance(t, EstimateTask)]
    if len(rows) == len(tasks):  # task rows: in their order
        return [t.name for t in sorted(rows, key=lambda t: t.position)] or [rnd.topic]
    names = [t if isinstance(t, str) else t.name for t in tasks]
    return names or [rnd.topic]


def stored_ranges(estimate: Estimate | None) -> list[tuple[float, float, float]]:
    """``Estimate.ranges`` read back; anything malformed reads as no ranges."""
    if estimate is None:
        return []
    try:
        raw = json.loads(estimate.ranges or "[]")
        return [(float(r[0]), float(r[1]), float(r[2])) for r in raw]
    except (ValueError, TypeError, IndexError, KeyError):
        return []


def typed_answers(estimate: Estimate | None) -> list[list[str]]:
    """``Estimate.typed`` read back: what the person wrote per task (none: not kept)."""
    if estimate is None or not estimate.typed:
        return []
    try:
        raw = json.loads(estimate.typed)
        return [[str(v) for v in task] for task in raw]
    except (ValueError, TypeError):
        return []


def scale_of(unit: str) -> SizeScale:
    return SizeScale.POINTS if unit == "points" else SizeScale.TIME


def sizes_for(
    unit: str, team: dict[str, tuple[float, float, float]] | None = None
) -> dict[str, tuple[float, float, float]]:
    """The T-shirt sizes in ``unit``: the team's where it set them, else the defaults."""
    scale = scale_of(unit)
    merged = {**DEFAULT_SIZES[scale], **(team or {})}
    if scale == SizeScale.POINTS:
        return merged
    return {
        size: (
            durations.convert(best, "days", unit),
            durations.convert(likely, "days", unit),
            durations.convert(worst, "days", unit),
        )
        for size, (best, likely, worst) in merged.items()
    }


def sizes_text(sizes: dict[str, tuple[float, float, float]], unit: str) -> str:
    """``S 0.5–1–2 · M 2–3–5 · L 5–8–13 · XL 10–15–25 days``."""
    return (
        " · ".join(f"{size} " + "–".join(number_text(v, 2) for v in sizes[size]) for size in SIZES)
        + f" {unit}"
    )


def number_text(value: float, decimals: int = 3) -> str:
    """A plain number as stored, without trailing zeros: 3, 1.5, 0.125."""
    if not math.isfinite(value):
        return ""
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def typed_text(value: float, unit: str) -> str:
    """What to prefill so that it parses back to ``value``: parse_duration takes at most two
    decimals, so a converted ``1h`` on a round in days (0.125) is shown as ``1h``."""
    plain_number = number_text(value, 2)
    if abs(float(plain_number or 0) - value) < 1e-9 or unit not in durations.HOURS_PER:
        return plain_number
    hours = value * durations.HOURS_PER[unit]
    if abs(round(hours, 2) - hours) < 1e-9:
        return f"{number_text(hours, 2)}h"
    return plain_number


def _radio(options: Blocks, initial: str | None) -> SlackPayload:
    element: SlackPayload = {"type": "radio_buttons", "options": options}
    chosen = next((o for o in options if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return element


def build_estimate_modal(
    rnd: EstimateRound,
    tasks: Sequence[EstimateTask | str],
    current: Estimate | None,
    *,
    channel: str | None = None,
    last_familiarity: str | None = None,
    sizes: dict[str, tuple[float, float, float]] | None = None,
) -> SlackPayload:
    """The form behind **Add my estimate**, prefilled with ``current`` (the person's own);
    familiarity preselected with their last choice (``last_familiarity``), or "similar" the
    first time, and the form says which. A quick round asks one answer per task."""
    if rnd.mode == RoundMode.QUICK:
        return _quick_modal(rnd, tasks, current, channel=channel, sizes=sizes or {})
    names = task_names(tasks, rnd)
    ranges = stored_ranges(current)
    unit = rnd.unit
    blocks: Blocks = [
        section(
            render(
                "estimates/form_intro.md.j2",
                ref=rnd.ref,
                topic=truncate(rnd.topic, 200),
                unit=unit,
                several=len(names) > 1,
                quick=False,
                sizes="",
            )
        )
    ]
    typed = typed_answers(current)
    for i, name in enumerate(names):
        if len(names) > 1:
            blocks.append(
                section(render("estimates/task_heading.md.j2", position=i + 1, name=name))
            )
        for j, point in enumerate(POINTS):
            initial = typed_text(ranges[i][j], unit) if i < len(ranges) else ""
            if i < len(typed) and len(typed[i]) == len(POINTS):
                initial = typed[i][j]
            blocks.append(
                input_block(
                    task_block(i, point),
                    f"{POINT_LABELS[point]} ({unit})",
                    text_input(initial, max_length=NUMBER_MAX_LENGTH),
                )
            )
    confidence_options = [
        {"text": plain(label), "value": str(value)} for value, label in CONFIDENCE_LABELS.items()
    ]
    if current is not None:
        chosen, familiarity_hint = current.familiarity, FAMILIARITY_HINT
    elif last_familiarity is not None and last_familiarity in Familiarity._value2member_map_:
        chosen = last_familiarity
        familiarity_hint = "Preselected: your choice last time. " + FAMILIARITY_HINT
    else:
        chosen = DEFAULT_FAMILIARITY.value
        familiarity_hint = (
            "Preselected for your first estimate; change it if this is new to you. "
            + FAMILIARITY_HINT
        )
    familiarity_options = [
        {
            "text": plain(f"{label} (×{multiplier_text(str(kind))})"),
            "value": str(kind),
        }
        for kind, label in FAMILIARITY_LABELS.items()
    ]
    blocks += [
        input_block(
            EstimateField.CONFIDENCE,
            "How sure are you the actual lands between best and worst?",
            _radio(
                confidence_options,
                str(current.confidence if current is not None else DEFAULT_CONFIDENCE),
            ),
        ),
        input_block(
            EstimateField.FAMILIARITY,
            "How familiar is this work?",
            _radio(familiarity_options, chosen),
            hint=familiarity_hint,
        ),
    ]
    return _estimate_modal(rnd, blocks, current, channel=channel, what="numbers")


def _estimate_modal(
    rnd: EstimateRound,
    blocks: Blocks,
    current: Estimate | None,
    *,
    channel: str | None,
    what: str,
) -> SlackPayload:
    """Either form's end (assumptions, the blindness note) and the modal around ``blocks``."""
    blocks = blocks + [
        input_block(
            EstimateField.ASSUMPTIONS,
            "Assumptions and unknowns",
            text_input(
                current.assumptions if current is not None else "",
                multiline=True,
                max_length=TEXT_MAX,
                placeholder="Assumes the payment API batches; if not, +3-5d",
            ),
            optional=True,
        ),
        context(f"Nobody sees your {what} until the reveal. You can change them until then."),
    ]
    return modal(
        callback_id=Callback.ESTIMATE_FORM,
        title=f"Estimate {rnd.ref}",
        submit="Save",
        blocks=blocks,
        metadata=RoundMeta(round=rnd.number, channel=channel).encode(),
    )


FAMILIARITY_HINT = "The multiplier scales your range in the plan; everyone sees it."


def _quick_modal(
    rnd: EstimateRound,
    tasks: Sequence[EstimateTask | str],
    current: Estimate | None,
    *,
    channel: str | None,
    sizes: dict[str, tuple[float, float, float]],
) -> SlackPayload:
    """A quick round's form: per task one number (most likely) or a size, and assumptions."""
    names = task_names(tasks, rnd)
    typed = typed_answers(current)
    ranges = stored_ranges(current)
    unit = rnd.unit
    blocks: Blocks = [
        section(
            render(
                "estimates/form_intro.md.j2",
                ref=rnd.ref,
                topic=truncate(rnd.topic, 200),
                unit=unit,
                several=len(names) > 1,
                quick=True,
                sizes=sizes_text(sizes_for(unit, sizes), unit),
            )
        )
    ]
    for i, name in enumerate(names):
        if i < len(typed) and typed[i]:
            initial = typed[i][0]
        elif i < len(ranges):
            initial = typed_text(ranges[i][1], unit)
        else:
            initial = ""
        label = truncate(name, 100) if len(names) > 1 else f"Most likely ({unit}) or a size"
        blocks.append(
            input_block(
                task_block(i, QUICK_FIELD),
                label,
                text_input(initial, max_length=NUMBER_MAX_LENGTH, placeholder="3, 4h, 2w or M"),
            )
        )
    return _estimate_modal(rnd, blocks, current, channel=channel, what="answers")


class RoundMeta(ModalMeta):
    """Which round the estimate modal is for."""

    round: int
    channel: str | None = None  # where the round was clicked: the submit sees what it saw


def _number(values: Values, block: str, unit: str, errors: dict[str, str]) -> float | None:
    raw = text_value(values, block)
    if not raw:
        errors[block] = "A number, please."
        return None
    if len(raw) > NUMBER_MAX_LENGTH:
        errors[block] = "That's too long for a number."
        return None
    try:
        value = float(durations.parse_duration(raw, unit))
    except (ValueError, ArithmeticError) as exc:
        errors[block] = truncate(str(exc) or "That isn't a number I can read.", 150)
        return None
    limit = durations.MAX_VALUE.get(unit, math.inf)
    if not math.isfinite(value) or value <= 0:
        errors[block] = "Use a number above zero."
        return None
    if value > limit:
        errors[block] = (
            f"That's more than {number_text(limit)} {unit}: split the work into tasks, "
            "or estimate in a bigger unit."
        )
        return None
    return value


def _assumptions(values: Values, errors: dict[str, str]) -> str:
    assumptions = text_value(values, EstimateField.ASSUMPTIONS)
    if len(assumptions) > TEXT_MAX:
        errors[EstimateField.ASSUMPTIONS] = (
            f"Assumptions can be at most {TEXT_MAX} characters (they have {len(assumptions)})."
        )
    return assumptions


def _parse_quick(
    values: Values,
    rnd: EstimateRound,
    tasks: Sequence[EstimateTask | str],
    sizes: dict[str, tuple[float, float, float]],
) -> tuple[ParsedEstimate | None, dict[str, str]]:
    """A quick round: one number (most likely) or a size per task. A number is kept as a
    point (the reveal widens it); a size as the team's range for it."""
    errors: dict[str, str] = {}
    ranges: list[tuple[float, float, float]] = []
    typed: list[list[str]] = []
    in_unit = sizes_for(rnd.unit, sizes)
    for i, _name in enumerate(task_names(tasks, rnd)):
        block = task_block(i, QUICK_FIELD)
        raw = text_value(values, block).strip()
        size = raw.upper()
        if size in in_unit:
            ranges.append(in_unit[size])
            typed.append([size])
            continue
        value = _number(values, block, rnd.unit, errors)
        if value is not None:
            ranges.append((value, value, value))
            typed.append([raw])
        elif raw and block in errors:
            errors[block] = truncate(errors[block] + " Or a size: S, M, L or XL.", 150)
    assumptions = _assumptions(values, errors)
    if errors:
        return None, errors
    return (
        ParsedEstimate(
            ranges=ranges,
            confidence=estimation.QUICK_CONFIDENCE,
            familiarity=Familiarity.DONE,
            assumptions=assumptions,
            typed=typed,
        ),
        {},
    )


def parse_estimate_form(
    values: Values,
    rnd: EstimateRound,
    tasks: Sequence[EstimateTask | str],
    sizes: dict[str, tuple[float, float, float]] | None = None,
) -> tuple[ParsedEstimate | None, dict[str, str]]:
    """Validate a submission. Returns (estimate, {}) or (None, {block_id: sentence}).
    ``sizes``: the team's T-shirt sizes (a quick round; the defaults fill the rest)."""
    if rnd.mode == RoundMode.QUICK:
        return _parse_quick(values, rnd, tasks, sizes or {})
    errors: dict[str, str] = {}
    ranges: list[tuple[float, float, float]] = []
    typed: list[list[str]] = []
    for i, _name in enumerate(task_names(tasks, rnd)):
        best, likely, worst = (
            _number(values, task_block(i, point), rnd.unit, errors) for point in POINTS
        )
        if best is not None and likely is not None and likely < best:
            errors[task_block(i, "likely")] = "Most likely can't be below the best case."
        if likely is not None and worst is not None and worst < likely:
            errors[task_block(i, "worst")] = "The worst case can't be below most likely."
        elif best is not None and worst is not None and worst < best:
            errors[task_block(i, "worst")] = "The worst case can't be below the best case."
        if best is not None and likely is not None and worst is not None:
            ranges.append((best, likely, worst))
            typed.append([text_value(values, task_block(i, point)).strip() for point in POINTS])
    confidence_raw = select_value(values, EstimateField.CONFIDENCE)
    confidence = int(confidence_raw) if confidence_raw in ("50", "80", "90") else None
    if confidence not in estimation.CONFIDENCES:
        errors[EstimateField.CONFIDENCE] = "Pick how sure you are: 50, 80 or 90%."
    familiarity_raw = select_value(values, EstimateField.FAMILIARITY)
    if familiarity_raw not in Familiarity._value2member_map_:
        errors[EstimateField.FAMILIARITY] = "Pick how familiar this work is."
    assumptions = _assumptions(values, errors)
    if errors:
        return None, errors
    assert confidence is not None and familiarity_raw is not None
    return (
        ParsedEstimate(
            ranges=ranges,
            confidence=confidence,
            familiarity=Familiarity(familiarity_raw),
            assumptions=assumptions,
            typed=typed,
        ),
        {},
    )
