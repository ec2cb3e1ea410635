"""The chart of a revealed round (bot/features/estimates/chart.py): a PNG of the right size,
each person's bar at the numbers they said, the plan's adjusted range only where it differs
(marked with why), the plan's 90% range and most likely figure, plain-text labels, and the
same facts as alt text."""

from __future__ import annotations

import struct

from bot.features.estimates.chart import ChartRow, alt_text, chart_figure, plain_text, render_chart
from bot.features.estimates.estimation import Combined

RESULT = Combined(
    p50=10, p90=14, mean=10.5, best=7, likely=10, worst=16, cone_low=8, cone_high=12.5, low=6.4
)
ROWS = [
    ChartRow("Ana", (5.0, 8.0, 12.0)),
    ChartRow(
        "Bo $5 $x^2$", (3.0, 5.0, 10.0), (6.2, 19.0, 46.0), "×2.5: new to us; widened: 50% sure"
    ),
    ChartRow("Zoë 🚀", (7.0, 10.0, 15.0)),
]


def test_the_chart_is_a_png_of_the_right_size() -> None:
    png = render_chart(ROWS, RESULT, "days", "Checkout $100")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert (width, height) == (800, 400)


def test_each_bar_is_what_the_person_said_and_the_adjusted_range_is_marked() -> None:
    fig = chart_figure(ROWS * 10, RESULT, "days", "Checkout")
    (ax,) = fig.axes
    said, adjusted = ax.containers
    # the solid bars: best to worst exactly as said (Bo's 3–10, not the plan's 6–46)
    assert [(b.get_x(), b.get_width()) for b in said][:3] == [(5, 7), (3, 7), (7, 8)]
    assert len(said) == 30
    # the second bars: only the people the plan adjusted, at the plan's range, with why
    assert [(b.get_x(), b.get_width()) for b in adjusted][:1] == [(6.2, 46.0 - 6.2)]
    assert len(adjusted) == 10
    whys = [t.get_text() for t in ax.texts if "50% sure" in t.get_text()]
    assert whys == ["×2.5: new to us; widened: 50% sure"] * 10
    # more adjusted people than WHY_IN_FULL: each why drawn short (the alt text has it all)
    crowded = chart_figure(ROWS * 11, RESULT, "days", "Checkout")
    short = [t.get_text() for t in crowded.axes[0].texts if "50% sure" in t.get_text()]
    assert short == ["×2.5; 50% sure"] * 11
    assert [line.get_xdata()[0] for line in ax.get_lines()] == [10]  # most likely
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "as said",
        "adjusted in the plan",
        "plan (90%): 6–16 days",
        "most likely 10",
    ]
    assert "what each person said" in ax.get_xlabel()
    assert fig.get_size_inches()[1] > 4  # taller for 30 people


def test_no_adjusted_legend_when_nobody_was_adjusted() -> None:
    fig = chart_figure([ROWS[0], ROWS[2]], RESULT, "days", "Checkout")
    assert len(fig.axes[0].containers) == 1
    assert "adjusted in the plan" not in [t.get_text() for t in fig.legends[0].get_texts()]


def test_the_alt_text_says_every_bar() -> None:
    text = alt_text(ROWS, RESULT, "days")
    assert text.startswith("Plan: 6–16 days, most likely 10.")
    assert "Ana said 5–12, most likely 8." in text
    assert "Bo $5 $x^2$ said 3–10, most likely 5; adjusted to 6.2–46 (×2.5: new to us" in text


def test_chart_labels_are_plain_text() -> None:
    assert plain_text("Bo $5 $x^2$") == r"Bo \$5 \$x^2\$"
    assert plain_text("a\nb  c") == "a b c"
    assert plain_text("x" * 40) == "x" * 27 + "…"
    fig = chart_figure(ROWS, RESULT, "days", "$E=mc^2$")
    names = [t for t in fig.axes[0].texts if "sure" not in t.get_text()]
    # an emoji no installed font draws becomes its :shortcode: (bot/core/charts.py)
    assert [t.get_text() for t in names] == ["Ana", r"Bo \$5 \$x^2\$", plain_text("Zoë 🚀")]
    assert [t.get_position()[1] for t in names] == [2, 1, 0]  # the first person on top
    assert render_chart([], RESULT, "points", "$")[:4] == b"\x89PNG"
