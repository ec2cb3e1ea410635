"""The reveal's picture: each person's total best–likely–worst *as they said it* as a bar on
one axis; under it, only where the plan changed it, the range the plan used, in orange and
marked with why ("×2.5: new to us; widened: 50% sure"); the headline's 90% range shaded and
its most likely figure as a line. One small PNG, with the same facts as its alt text.

Fonts, literal text and the PNG are every chart's (``bot.core.charts``): names in any script,
emoji included, draw without a box.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core import charts
from bot.core.durations import format_duration, format_number
from bot.features.estimates.estimation import Combined, headline

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_IN, DPI = 8.0, 100  # 800 px wide
MIN_HEIGHT_IN, MAX_HEIGHT_IN, HEIGHT_PER_PERSON_IN = 4.0, 10.0, 0.26
MAX_LABEL, MAX_TITLE = 28, 80
LABEL_SIZE, LABEL_CHAR_PX = 8, 6.2  # tick labels: font size, average width of a character
BAR, LIKELY, ADJUSTED, PLAN, PLAN_LIKELY = "#7aa6d6", "#1d3557", "#f4a261", "#2a9d8f", "#2a9d8f"
WHY_SIZE = 7
# Beyond this many adjusted people each "why" is drawn short ("×2.5; 50% sure"): every glyph
# costs render time (about 4 ms a label), and the full sentence is in the alt text and Details.
WHY_IN_FULL = 10
_WHY_PARTS = re.compile(r"×[\d.]+|\d+% sure")


def short_why(why: str) -> str:
    """``×2.5: new to us; widened: 50% sure`` -> ``×2.5; 50% sure``."""
    return "; ".join(_WHY_PARTS.findall(why)) or "adjusted"


@dataclass(frozen=True)
class ChartRow:
    """One person on the chart: their totals as said, and the plan's, when it differs."""

    label: str  # display name (plain text, shown literally)
    said: tuple[float, float, float]  # best, likely, worst: their own totals
    adjusted: tuple[float, float, float] | None = None  # the plan's 5th, 50th, 95th percentile
    why: str = ""  # "×2.5: new to us; widened: 50% sure"


def alt_text(rows: list[ChartRow], combined: Combined, unit: str) -> str:
    """The chart in words (Slack's alt text for the image): every bar's figures."""
    h = headline(combined)
    parts = [
        f"Plan: {format_number(h.low)}–{format_duration(h.high, unit)}, most likely {format_number(h.likely)}."
    ]
    for row in rows:
        best, likely, worst = row.said
        line = f"{row.label} said {format_number(best)}–{format_number(worst)}, most likely {format_number(likely)}"
        if row.adjusted is not None:
            line += (
                f"; adjusted to {format_number(row.adjusted[0])}–{format_number(row.adjusted[2])}"
                f" ({row.why})"
            )
        parts.append(line + ".")
    return " ".join(parts)[:1000]


def plain_text(text: str, limit: int = MAX_LABEL) -> str:
    """A user's text as matplotlib shows it literally (``bot.core.charts.plain_text``)."""
    return charts.plain_text(text, limit)


def chart_figure(rows: list[ChartRow], combined: Combined, unit: str, title: str) -> Figure:
    """`render_chart` before it becomes a PNG (a matplotlib Figure, for tests)."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    people = len(rows)
    labels = [plain_text(r.label) for r in rows]
    height = min(MAX_HEIGHT_IN, max(MIN_HEIGHT_IN, 1.4 + HEIGHT_PER_PERSON_IN * people))
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
    # Everything is placed by hand: a layout engine, y ticks and automatic title and x-label
    # positions each measure every label's extent again, and together they more than doubled
    # the render time for 30 people. The left margin follows the longest name.
    longest = max((len(label) for label in labels), default=0)
    left = min(0.3, (LABEL_CHAR_PX * longest + 16) / (WIDTH_IN * DPI))
    bottom, top = 0.85 / height, 1 - 0.4 / height
    fig.subplots_adjust(left=left, right=0.97, top=top, bottom=bottom)
    ax = fig.add_subplot()
    plan = headline(combined)
    ax.axvspan(plan.low, plan.high, color=PLAN, alpha=0.12, lw=0)
    ax.axvline(plan.likely, color=PLAN_LIKELY, lw=1.8)
    y = [people - 1 - i for i in range(people)]  # the first person on top
    said_y = [row + 0.12 for row in y]
    ax.barh(
        said_y,
        [r.said[2] - r.said[0] for r in rows],
        left=[r.said[0] for r in rows],
        height=0.34,
        color=BAR,
    )
    ax.vlines(
        [r.said[1] for r in rows],
        [v - 0.17 for v in said_y],
        [v + 0.17 for v in said_y],
        color=LIKELY,
        lw=2,
        zorder=3,
    )
    adjusted = [(row, r) for row, r in zip(y, rows, strict=True) if r.adjusted is not None]
    if adjusted:
        spans = [r.adjusted for _, r in adjusted if r.adjusted is not None]  # all of them
        ax.barh(
            [row - 0.2 for row, _ in adjusted],
            [high - low for low, _likely, high in spans],
            left=[low for low, _likely, _high in spans],
            height=0.18,
            color=ADJUSTED,
            alpha=0.55,
        )
    ax.set_yticks([])
    beside_axis = ax.get_yaxis_transform()  # x in axes fractions, y in rows
    for row, label in zip(y, labels, strict=True):
        ax.text(
            -0.01, row, label, transform=beside_axis, ha="right", va="center", fontsize=LABEL_SIZE
        )
    highest = max(
        [plan.high, *(r.said[2] for r in rows), *(r.adjusted[2] for r in rows if r.adjusted)]
    )
    limit = highest * 1.05 if highest > 0 else 1.0
    full = len(adjusted) <= WHY_IN_FULL
    for row, r in adjusted:
        assert r.adjusted is not None
        ax.text(
            min(r.adjusted[2], limit) + limit * 0.005,
            row - 0.2,
            plain_text(r.why if full else short_why(r.why), 60),
            ha="left" if r.adjusted[2] < limit * 0.7 else "right",
            va="center",
            fontsize=WHY_SIZE,
            color="#7a4a1d",
        )
    ax.set_xlim(0, limit)
    ax.set_ylim(-0.7, max(people, 1) - 0.3)
    ax.set_xlabel(
        f"{unit}: what each person said (bar: best to worst, tick: most likely)",
        fontsize=9,
        va="top",
    )
    ax.xaxis.set_label_coords(0.5, -0.28 / ((top - bottom) * height))  # 0.28 in below
    ax.set_title(plain_text(title, MAX_TITLE), fontsize=11, y=1.0, pad=6)
    ax.grid(axis="x", alpha=0.3)
    handles = [
        Patch(color=BAR, label="as said"),
        Patch(color=ADJUSTED, alpha=0.55, label="adjusted in the plan"),
        Patch(
            color=PLAN,
            alpha=0.25,
            label=f"plan (90%): {format_number(plan.low)}–{format_duration(plan.high, unit)}",
        ),
        Line2D(
            [], [], color=PLAN_LIKELY, lw=1.8, label=f"most likely {format_number(plan.likely)}"
        ),
    ]
    if not adjusted:
        handles.pop(1)
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    return fig


def render_chart(rows: list[ChartRow], combined: Combined, unit: str, title: str) -> bytes:
    """The reveal's PNG: one ``ChartRow`` per person (their totals as said, and the plan's
    where it adjusted them), labelled with the display name the caller chose (plain text;
    shown literally)."""
    return charts.render(lambda: chart_figure(rows, combined, unit, title))
