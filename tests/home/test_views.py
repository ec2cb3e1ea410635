"""The App Home tab (bot/features/home/views.py) within Slack's limits for any input."""

from __future__ import annotations

from bot.features.home.views import build_home
from tests.support.blocks import big_decision, check_blocks, no_unescaped_pings


def test_home_limits() -> None:
    many = [big_decision(n) for n in range(1, 60)]
    view = build_home(recent=many, awaiting=many, owned=many)
    assert view["type"] == "home"
    check_blocks(view["blocks"], max_blocks=100)
    no_unescaped_pings(view["blocks"])
    empty = build_home(recent=[], awaiting=[], owned=[])
    check_blocks(empty["blocks"], max_blocks=100)
