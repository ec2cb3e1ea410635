"""bot/core/charts.py: names in any script and emoji draw without a "missing glyph" warning,
whatever fonts the machine has (those it lacks are written another way), in the estimate
reveal's chart and `/adr stats`'s."""

from __future__ import annotations

import warnings

from bot.core import charts
from bot.features.estimates.chart import ChartRow, render_chart
from bot.features.estimates.estimation import Combined
from bot.features.health.charts import calibration_chart
from storage.forecasts import CalibrationBin

NAME = "Zoë Ångström 山田太郎 🚀"


def _covered(char: str) -> bool:
    return any(ord(char) in chars for _, chars in charts.installed_fonts())


def test_every_character_left_in_is_one_an_installed_font_has() -> None:
    text = charts.drawable(NAME)
    assert text.startswith("Zoë Ångström ")  # DejaVu Sans has every accent
    assert all(_covered(c) for c in text), text
    # what no installed font has is written another way: an emoji as its shortcode
    for char, other in (("🚀", ":rocket:"), ("山", "?")):
        assert (char in text) == _covered(char)
        assert (other in text) != _covered(char) or other == "?"
    assert charts.drawable("a\u200db\ufe0f\x07") == "ab"
    assert charts.families()[0] == "DejaVu Sans"


def test_plain_text_is_one_literal_line() -> None:
    assert charts.plain_text("Bo $5\n  x", 20) == r"Bo \$5 x"
    assert charts.plain_text("x" * 40, 28) == "x" * 27 + "…"


def test_a_name_with_accents_cjk_and_an_emoji_draws_without_a_missing_glyph() -> None:
    combined = Combined(
        p50=4, p90=7, mean=4.5, best=2, likely=4, worst=8, cone_low=3, cone_high=6, low=1.5
    )
    rows = [ChartRow(label=NAME, said=(2.0, 4.0, 8.0))]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Glyph .* missing", category=UserWarning)
        png = render_chart(rows, combined, "days", f"E-1: {NAME}")
        chart = calibration_chart((CalibrationBin(75, 2, 0.5),)).png()
    assert png.startswith(b"\x89PNG") and chart.startswith(b"\x89PNG")
