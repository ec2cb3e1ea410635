"""The App Home tab (bot/features/home/views.py) within Slack's limits for any input."""

from __future__ import annotations

from bot.features.home.views import FORECASTS_SHOWN, build_home, forecast_blocks
from storage.forecasts import Calibration, CalibrationBin
from storage.models import PROBABILITIES, Forecast
from tests.support.adr import all_text
from tests.support.blocks import big_decision, check_blocks, no_unescaped_pings


def test_home_limits() -> None:
    many = [big_decision(n) for n in range(1, 60)]
    view = build_home(recent=many, awaiting=many, owned=many)
    assert view["type"] == "home"
    check_blocks(view["blocks"], max_blocks=100)
    no_unescaped_pings(view["blocks"])
    empty = build_home(recent=[], awaiting=[], owned=[])
    check_blocks(empty["blocks"], max_blocks=100)


def test_home_forecast_sections_within_limits() -> None:
    many = [big_decision(n) for n in range(1, 60)]
    pending = [
        (d, Forecast(team_id="T", decision_id=d.number, user_id="UBOB", probability=75))
        for d in many
    ]
    bins = tuple(CalibrationBin(probability=p, count=3, came_true=0.5) for p in PROBABILITIES)
    calibration = Calibration(bins=bins, scored=24, forecasters=1, brier=0.1834)
    blocks = forecast_blocks(pending, many, calibration)
    text = all_text(blocks)
    assert "Scored forecasts: 24 · Brier score 0.18 (0 is perfect" in text
    assert "75%: 3 forecasts, came true 50%" in text
    assert text.count("your forecast 75%") == FORECASTS_SHOWN
    view = build_home(recent=many, awaiting=many, owned=many, forecasts=blocks)
    check_blocks(view["blocks"], max_blocks=100)
    no_unescaped_pings(view["blocks"])
    # nothing scored, nothing pending, nothing to add: no forecast section at all
    none = Calibration(bins=(), scored=0, forecasters=0, brier=None)
    assert forecast_blocks([], [], none) == []
