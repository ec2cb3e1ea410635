"""The reveal's picture: each person's total best–likely–worst as a bar on one axis, the
combined 50% and 90% as vertical lines, the cone of uncertainty shaded. One small PNG.

matplotlib is imported inside the functions (Agg canvas, no pyplot and no global backend
switch), so the app starts without paying for it and renders safely from any thread.
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

from bot.core.durations import format_duration
from bot.features.estimates.estimation import Combined

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_IN, DPI = 8.0, 100  # 800 px wide
MIN_HEIGHT_IN, MAX_HEIGHT_IN, HEIGHT_PER_PERSON_IN = 4.0, 10.0, 0.26
MAX_LABEL, MAX_TITLE = 28, 80
LABEL_SIZE, LABEL_CHAR_PX = 8, 6.2  # tick labels: font size, average width of a character
BAR, LIKELY, P50, P90, CONE = "#7aa6d6", "#1d3557", "#2a9d8f", "#e76f51", "#cccccc"


def plain_text(text: str, limit: int = MAX_LABEL) -> str:
    """A user's text as matplotlib shows it literally: one line, cut to ``limit``, and every
    ``$`` escaped so no mathtext is ever parsed."""
    line = " ".join(text.split())
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    return line.replace("$", r"\$")


def chart_figure(
    task_total_ranges: list[tuple[str, float, float, float]],
    combined: Combined,
    unit: str,
    title: str,
) -> Figure:
    """`render_chart` before it becomes a PNG (a matplotlib Figure, for tests)."""
    from matplotlib.figure import Figure

    people = len(task_total_ranges)
    labels = [plain_text(r[0]) for r in task_total_ranges]
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
    ax.axvspan(
        combined.cone_low,
        combined.cone_high,
        color=CONE,
        alpha=0.35,
        lw=0,
        label="cone of uncertainty",
    )
    rows = [people - 1 - i for i in range(people)]  # the first person on top
    bests = [r[1] for r in task_total_ranges]
    widths = [r[3] - r[1] for r in task_total_ranges]
    ax.barh(rows, widths, left=bests, height=0.6, color=BAR, label="best–worst")
    likelies = [r[2] for r in task_total_ranges]
    ax.vlines(
        likelies, [y - 0.3 for y in rows], [y + 0.3 for y in rows], color=LIKELY, lw=2, zorder=3
    )
    ax.axvline(combined.p50, color=P50, lw=1.8, label=f"50%: {format_duration(combined.p50, unit)}")
    ax.axvline(
        combined.p90,
        color=P90,
        lw=1.8,
        ls="--",
        label=f"90%: {format_duration(combined.p90, unit)}",
    )
    ax.set_yticks([])
    beside_axis = ax.get_yaxis_transform()  # x in axes fractions, y in rows
    for row, label in zip(rows, labels, strict=True):
        ax.text(
            -0.01, row, label, transform=beside_axis, ha="right", va="center", fontsize=LABEL_SIZE
        )
    highest = max([combined.cone_high, combined.p90, *(r[3] for r in task_total_ranges)])
    ax.set_xlim(0, highest * 1.05 if highest > 0 else 1)
    ax.set_ylim(-0.7, max(people, 1) - 0.3)
    ax.set_xlabel(f"{unit} (bar: best to worst, tick: likely)", fontsize=9, va="top")
    ax.xaxis.set_label_coords(0.5, -0.28 / ((top - bottom) * height))  # 0.28 in below
    ax.set_title(plain_text(title, MAX_TITLE), fontsize=11, y=1.0, pad=6)
    ax.grid(axis="x", alpha=0.3)
    fig.legend(loc="lower center", ncol=4, fontsize=8, frameon=False)
    return fig


def render_chart(
    task_total_ranges: list[tuple[str, float, float, float]],
    combined: Combined,
    unit: str,
    title: str,
) -> bytes:
    """The reveal's PNG. ``task_total_ranges`` has one (label, best, likely, worst) per person:
    their totals over the round's tasks (``Combined.person_totals`` puts them on the same
    footing as the combined figures: widened, multiplier included), labelled with the
    display name the caller chose (plain text; shown literally)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    # Names in scripts DejaVu Sans lacks (emoji, CJK) draw as boxes instead of warning.
    warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
    with matplotlib.rc_context({"text.usetex": False}):
        fig = chart_figure(task_total_ranges, combined, unit, title)
        out = io.BytesIO()
        # zlib level 1: ~5x faster to encode than the default 6, for a slightly bigger file.
        FigureCanvasAgg(fig).print_png(
            out, metadata={"Software": None}, pil_kwargs={"compress_level": 1}
        )
    return out.getvalue()
