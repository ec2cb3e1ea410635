"""The scope-watch matcher (bot/features/parking/scope_watch.py): phrases that add scope, other
text, never raising. Pure: no Slack, no database."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features.parking.scope_watch import looks_like_scope_addition

# -- the scope watch ---------------------------------------------------------------------------

POSITIVES = [
    "Can we also add a CSV export?",
    "can  we\nalso show totals",
    "Could we also ping finance?",
    "While we're at it, rename the button",
    "while we’re at it: dark mode",
    "While we are at it, one thing",
    "while were at it lol",
    "Oh, one more thing — the footer",
    "ONE MORE THING",
    "Quick addition: the logo",
    "could you just add a flag?",
    "Can you just add a checkbox",
    "(can we also) do it",
    "> quoted line\nbut can we also do X",
    "`code` and then one more thing",
]
NEGATIVES = [
    "",
    "scan we also",
    "pecan we also",
    "can we alsoo",
    "one more things",
    "someone more thing",
    "while we're at items",
    "quick additions were merged",
    "could you just address this",
    "Looks good to me, ship it",
    "```\ncan we also\n```",
    "`one more thing`",
    "> can we also add X",
    "&gt; can we also add X",
    "  &gt; while we're at it",
    "can we please also add X",  # not a listed phrase
]


@pytest.mark.parametrize("text", POSITIVES)
def test_watch_matches_scope_phrases(text: str) -> None:
    assert looks_like_scope_addition(text)


@pytest.mark.parametrize("text", NEGATIVES)
def test_watch_ignores_other_text(text: str) -> None:
    assert not looks_like_scope_addition(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=500))
def test_watch_never_raises(text: str) -> None:
    assert looks_like_scope_addition(text) in (True, False)


def test_watch_timing_sanity() -> None:
    """No timing assert (shared machines); prints the cost per message."""
    message = (
        "Hey team, I looked at the dashboard and the numbers seem fine, but the export is slow "
        "for the finance people. Can we check that tomorrow? Thanks!"
    )
    samples = [message, message + " While we're at it, rename it.", "> quoted\n" + message]
    rounds = 20_000
    start = time.perf_counter()
    for _ in range(rounds):
        for text in samples:
            looks_like_scope_addition(text)
    per_message = (time.perf_counter() - start) / (rounds * len(samples)) * 1e6
    long = message * 200
    start = time.perf_counter()
    for _ in range(200):
        looks_like_scope_addition(long)
    per_long = (time.perf_counter() - start) / 200 * 1e6
    print(f"scope watch: {per_message:.2f} µs per message, {per_long:.0f} µs per {len(long)} chars")
