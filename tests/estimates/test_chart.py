"""The chart of a revealed round (bot/features/estimates/chart.py): a PNG of the right size, a
bar per person and the marks, plain-text labels."""

from __future__ import annotations

import struct

from bot.features.estimates.chart import chart_figure, plain_text, render_chart
from bot.features.estimates.estimation import Combined

# -- the chart ---------------------------------------------------------------------------------

RESULT = Combined(
    p50=10, p90=14, mean=10.5, best=7, likely=10, worst=16, cone_low=8, cone_high=12.5
)
ROWS = [("Ana", 5.0, 8.0, 12.0), ("Bo $5 $x^2$", 6.0, 9.0, 13.0), ("Zoë 🚀", 7.0, 10.0, 15.0)]


def test_the_chart_is_a_png_of_the_right_size() -> None:
    png = render_chart(ROWS, RESULT, "days", "Checkout $100")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert (width, height) == (800, 400)


def test_the_chart_has_a_bar_per_person_and_the_marks() -> None:
    fig = chart_figure(ROWS * 10, RESULT, "days", "Checkout")
    (ax,) = fig.axes
    (bars,) = ax.containers
    assert [(b.get_x(), b.get_width()) for b in bars][:3] == [(5, 7), (6, 7), (7, 8)]
    assert len(bars) == 30
    assert [line.get_xdata()[0] for line in ax.get_lines()] == [10, 14]  # 50% and 90%
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "cone of uncertainty",
        "50%: 10 days",
        "90%: 14 days",
        "best–worst",
    ]
    assert fig.get_size_inches()[1] > 4  # taller for 30 people


def test_chart_labels_are_plain_text() -> None:
    assert plain_text("Bo $5 $x^2$") == r"Bo \$5 \$x^2\$"
    assert plain_text("a\nb  c") == "a b c"
    assert plain_text("x" * 40) == "x" * 27 + "…"
    fig = chart_figure(ROWS, RESULT, "days", "$E=mc^2$")
    names = fig.axes[0].texts
    assert [t.get_text() for t in names] == ["Ana", r"Bo \$5 \$x^2\$", "Zoë 🚀"]
    assert [t.get_position()[1] for t in names] == [2, 1, 0]  # the first person on top
    assert render_chart([], RESULT, "points", "$")[:4] == b"\x89PNG"
