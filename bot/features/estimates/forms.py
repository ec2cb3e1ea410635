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
from dataclasses import dataclass
from typing import Any

from bot.core import durations
from bot.core.blocks import context, input_block, modal, plain, section, text_input
from bot.core.forms import TEXT_MAX, Values, select_value, text_value
from bot.core.ids import Callback, EstimateField
from bot.core.metadata import ModalMeta
from bot.core.render import render, truncate
from bot.features.estimates import estimation
from storage.models import Estimate, EstimateRound, EstimateTask, Familiarity

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


@dataclass(frozen=True)
class ParsedEstimate:
    """A valid submission: ``ranges`` is (best, likely, worst) per task, in the round's unit."""

    ranges: list[tuple[float, float, float]]
    confidence: int
    familiarity: Familiarity
    assumptions: str

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
    if all(isinstance(t, EstimateTask) for t in tasks):
        tasks = sorted(tasks, key=lambda t: t.position)  # type: ignore[union-attr]
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


def _radio(options: list[dict[str, Any]], initial: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "radio_buttons", "options": options}
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
) -> dict[str, Any]:
    """The form behind **Add my estimate**, prefilled with ``current`` (the person's own)."""
    names = task_names(tasks, rnd)
    ranges = stored_ranges(current)
    unit = rnd.unit
    blocks: list[dict[str, Any]] = [
        section(
            render(
                "estimates/form_intro.md.j2",
                ref=rnd.ref,
                topic=truncate(rnd.topic, 200),
                unit=unit,
                several=len(names) > 1,
            )
        )
    ]
    for i, name in enumerate(names):
        if len(names) > 1:
            blocks.append(
                section(render("estimates/task_heading.md.j2", position=i + 1, name=name))
            )
        for j, point in enumerate(POINTS):
            initial = typed_text(ranges[i][j], unit) if i < len(ranges) else ""
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
    familiarity_options = [
        {
            "text": plain(f"{label} (×{multiplier_text(kind.value)})"),
            "value": kind.value,
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
            _radio(familiarity_options, current.familiarity if current is not None else None),
            hint="The multiplier scales your range in the combined estimate; it is shown to all.",
        ),
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
        context("Nobody sees your numbers until the reveal. You can change them until then."),
    ]
    return modal(
        callback_id=Callback.ESTIMATE_FORM,
        title=f"Estimate {rnd.ref}",
        submit="Save",
        blocks=blocks,
        metadata=RoundMeta(round=rnd.number, channel=channel).encode(),
    )


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


def parse_estimate_form(
    values: Values, rnd: EstimateRound, tasks: Sequence[EstimateTask | str]
) -> tuple[ParsedEstimate | None, dict[str, str]]:
    """Validate a submission. Returns (estimate, {}) or (None, {block_id: sentence})."""
    errors: dict[str, str] = {}
    ranges: list[tuple[float, float, float]] = []
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
    confidence_raw = select_value(values, EstimateField.CONFIDENCE)
    confidence = int(confidence_raw) if confidence_raw in ("50", "80", "90") else None
    if confidence not in estimation.CONFIDENCES:
        errors[EstimateField.CONFIDENCE] = "Pick how sure you are: 50, 80 or 90%."
    familiarity_raw = select_value(values, EstimateField.FAMILIARITY)
    if familiarity_raw not in Familiarity._value2member_map_:
        errors[EstimateField.FAMILIARITY] = "Pick how familiar this work is."
    assumptions = text_value(values, EstimateField.ASSUMPTIONS)
    if len(assumptions) > TEXT_MAX:
        errors[EstimateField.ASSUMPTIONS] = (
            f"Assumptions can be at most {TEXT_MAX} characters (they have {len(assumptions)})."
        )
    if errors:
        return None, errors
    assert confidence is not None and familiarity_raw is not None
    return (
        ParsedEstimate(
            ranges=ranges,
            confidence=confidence,
            familiarity=Familiarity(familiarity_raw),
            assumptions=assumptions,
        ),
        {},
    )
