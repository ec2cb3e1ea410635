"""Rendering (bot/core/render.py): escaping, mentions, templates and truncation that never cuts
markup in half. Pure: no Slack, no database."""

from __future__ import annotations

import pytest

from bot.core.render import (
    Mrkdwn,
    counted,
    escape,
    mention,
    render,
    truncate,
    truncate_mrkdwn,
)
from storage.reviews import BOT_ACTOR
from tests.support.blocks import HOSTILE

# -- rendering -------------------------------------------------------------------------------


def test_escape() -> None:
    assert escape(HOSTILE) == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert escape("&amp;") == "&amp;amp;"  # escaping is not idempotent by design: shown as typed


def test_mention_only_for_valid_ids() -> None:
    assert mention("U123ABC") == "<@U123ABC>"
    assert mention("W123ABC") == "<@W123ABC>"
    assert isinstance(mention("U1"), Mrkdwn)
    for bad in ("<!channel>", "u123", "U12 3", "U123>", "!here", "", "U" + "1" * 40, "@U1"):
        out = mention(bad)
        assert "<" not in out and ">" not in out, bad


def test_the_bot_is_named_decision_bot() -> None:
    assert mention(BOT_ACTOR) == "Decision Bot"  # history written by its own scheduled work


def test_counted_says_real_plurals() -> None:
    assert [counted(n, "decision") for n in (0, 1, 2)] == [
        "0 decisions",
        "1 decision",
        "2 decisions",
    ]
    assert [counted(n, "person", "people") for n in (1, 3)] == ["1 person", "3 people"]
    out = render(
        "digest/health.md.j2", asked=0, accepted=1, reversed=0, lead=1, median="2 days", home="Home"
    )
    assert "(1 decision)\n" in out


def test_templates_escape_user_text() -> None:
    out = render("decisions/field.md.j2", label=HOSTILE, text=HOSTILE)
    assert "<!channel>" not in out and "<@U1>" not in out
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;" in out
    quoted = render("decisions/unknown_command.md.j2", text=HOSTILE)
    assert "<!" not in quoted and "<@" not in quoted


def test_render_limit() -> None:
    out = render("decisions/field.md.j2", label="L", text="x" * 5000, limit=100)
    assert len(out) <= 100 and out.endswith("…")


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("hello world", 8, "hello w…"),
        ("hello world", 7, "hello…"),  # the cut's trailing space is dropped
        ("hello", 1, "…"),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected
    assert len(truncate(text, limit)) <= limit


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("a &amp; b", 100, "a &amp; b"),
        ("ab &amp; cdef", 6, "ab…"),  # never "ab &a…"
        ("ab &amp; cdef", 10, "ab &amp;…"),
        ("hi <@U0123456789> there", 10, "hi…"),  # never "hi <@U01…"
        ("hi <@U01> there", 11, "hi <@U01>…"),
        ("<https://example.com|link> and more", 8, "…"),
        ("x &lt;!channel&gt; y", 14, "x &lt;!channe…"),
        ("x &lt;!channel&gt; y", 18, "x &lt;!channel…"),  # not "&g…"
    ],
)
def test_truncate_mrkdwn_never_cuts_markup_in_half(text: str, limit: int, expected: str) -> None:
    assert truncate_mrkdwn(text, limit) == expected
    assert len(truncate_mrkdwn(text, limit)) <= limit


def test_truncate_with_custom_more() -> None:
    assert truncate("abcdef", 4, more="") == "abcd"
    assert truncate("abcdef", 5, more="...") == "ab..."
