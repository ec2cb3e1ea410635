"""How a weekly digest is rendered (bot/features/digest/views.py) from what
``storage.digest.gather`` found on a real database (SQLite and Postgres, ``db``): quiet weeks,
empty sections, lateness, inert user text and Block Kit limits.

The week is ``[START, END)`` with END an hour from now, so rows made now fall in it; rows meant
to be elsewhere are moved in time with a plain UPDATE (``move``, tests/support/digest.py).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bot.features.digest.views import digest_blocks
from storage.db import Database
from storage.digest import DigestData
from storage.digest_common import SHOWN, Listing
from storage.digest_decisions import DecisionLine, DecisionsPart
from storage.digest_estimates import EstimatesPart, RoundLine, Trend
from storage.digest_health import HealthPart
from storage.digest_parking import ItemLine, ParkingPart
from storage.digest_reviews import ReviewLine, ReviewsPart
from storage.health import Flow
from storage.models import ParkingItem
from tests.support.digest import (
    END,
    PUBLIC,
    START,
    TODAY,
    _act,
    _bulk_decisions,
    _item,
    _round,
    blocks_of,
    decision,
    gathered,
    move,
    text_of,
)

NASTY = "<!channel> *bold* <@U1> & <https://evil.example|click>"


def assert_within_limits(fallback: str, blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= 50
    assert len(fallback) <= 3000
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
    assert len(json.dumps(blocks, ensure_ascii=False)) < 40_000


# -- rendering: quiet weeks, empty sections, lateness, escaping, limits -----------------------


def test_a_quiet_week_is_skipped_or_one_line(db: Database) -> None:
    standing = _item(db, "Old but high")  # standing content only: still a quiet week
    _act(db, standing, reach=900.0, impact=3.0, confidence=100, effort=1.0)
    move(db, ParkingItem, standing.id, created_at=START - timedelta(days=40))
    data = gathered(db)
    assert data.quiet
    assert data.parking is not None and data.parking.top.total == 1
    assert blocks_of(data) is None
    quiet = blocks_of(data, quiet_line=True, late=True)
    assert quiet is not None
    fallback, blocks = quiet
    assert len(blocks) == 1 and blocks[0]["type"] == "section"
    assert "*Weekly digest*: a quiet week in <#CPUB> (last week)" in blocks[0]["text"]["text"]
    assert "Late" in blocks[0]["text"]["text"] and "quiet week" in fallback

    decision(db, title="Now something happened")
    assert not gathered(db).quiet
    assert gathered(db, sections=["parking", "health"]).quiet  # the decision isn't asked for


def test_empty_sections_are_left_out_and_late_digests_say_so(db: Database) -> None:
    decision(db, title="Only this")
    rendered = blocks_of(gathered(db, sections=["decisions", "reviews", "estimates", "parking"]))
    assert rendered is not None
    fallback, blocks = rendered
    text = text_of(blocks)
    assert "Decisions recorded" in text
    for heading in ("Reviews due", "Asked, not answered", "Estimates revealed", "Parked this"):
        assert heading not in text
    assert "Late" not in text
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Weekly digest", "emoji": True},
    }
    assert blocks[-1]["type"] == "context"
    assert blocks[-1]["elements"][0]["text"] == (
        "Digest set up by <@U0CONF> · change it with `/adr digest`"
    )
    assert sum(b["type"] == "divider" for b in blocks) == 1

    late = blocks_of(gathered(db), late=True)
    assert late is not None
    assert late[1][1]["text"]["text"] == (
        ":hourglass: *Late:* I was down when this was due; it covers last week."
    )
    assert "(late)" in late[0]


def test_user_text_is_inert(db: Database) -> None:
    decision(db, title=NASTY)
    _item(db, NASTY)
    _round(db, topic=NASTY)
    rendered = digest_blocks(
        gathered(db),
        title="<!here> digest",
        coverage_label="#general <!everyone>",
        window_label="<@U2> week",
        late=True,
        configured_by="<!channel>",
        quiet_line=False,
    )
    assert rendered is not None
    fallback, blocks = rendered
    body = [b for b in blocks if b["type"] != "header"]  # plain text: Slack shows it as typed
    mrkdwn = text_of(body)
    for markup in ("<!channel>", "<!here>", "<!everyone>", "<@U1>", "<@U2>", "<https://evil"):
        assert markup not in text_of(body), markup
        assert markup not in fallback, markup
    assert "&lt;!channel&gt; *bold* &lt;@U1&gt; &amp; &lt;https://evil.example|click&gt;" in mrkdwn
    assert "Digest set up by &lt;!channel&gt;" in mrkdwn  # not a user id: shown, not a mention


def test_500_decisions_stay_within_limits_and_say_how_many_more(db: Database) -> None:
    _bulk_decisions(db, 500, PUBLIC)
    data = gathered(db)
    assert data.decisions is not None
    assert data.decisions.recorded.total == 500 and len(data.decisions.recorded.shown) == SHOWN
    rendered = blocks_of(data)
    assert rendered is not None
    fallback, blocks = rendered
    assert_within_limits(fallback, blocks)
    assert f"_… and {500 - SHOWN} more — `/adr list`_" in text_of(blocks)
    assert "500 decisions" in fallback


def _long(n: int) -> str:
    return (f"<!channel> {n} " + "ü<" * 1500)[:3000]


def test_everything_at_once_with_3000_character_texts_stays_within_limits() -> None:
    """Pure: the view alone, every section full, every text as long as it can be."""
    when = END - timedelta(days=1)
    reviews = Listing(500, tuple(ReviewLine(n, _long(n), when, None) for n in range(SHOWN)))
    outcomes = Listing(500, tuple(ReviewLine(n, _long(n), when, "partly") for n in range(SHOWN)))
    rounds = Listing(
        500, tuple(RoundLine(n, _long(n), "weeks", 1e9, 2e9, 3e9) for n in range(SHOWN))
    )
    items = Listing(
        500,
        tuple(
            ItemLine(n, _long(n), "accepted", 1e12, 1e6, TODAY, n % 2 == 0) for n in range(SHOWN)
        ),
    )
    data = DigestData(
        start=START,
        end=END,
        decisions=DecisionsPart(
            Listing(
                500,
                tuple(DecisionLine(n, _long(n), "accepted", 999, 999, 999) for n in range(SHOWN)),
            )
        ),
        reviews=ReviewsPart(reviews, reviews, outcomes, {"partly": 500}, 10**6, 10**6),
        estimates=EstimatesPart(rounds, rounds, Trend(123.4, 5, 0.01, 5)),
        parking=ParkingPart(items, items, items, items, 1e6),
        health=HealthPart(
            Flow(
                reviews_asked=10**6,
                reviews_answered=10**5,
                accepted=10**6,
                accepted_for_reversal=10**6,
                reversed_=10**5,
                lead_decisions=10**6,
                lead_median=timedelta(days=4000),
            )
        ),
    )
    rendered = digest_blocks(
        data,
        title="T" * 3000,
        coverage_label=_long(1),
        window_label=_long(2),
        late=True,
        configured_by="U" + "A" * 31,
        quiet_line=True,
    )
    assert rendered is not None
    fallback, blocks = rendered
    assert_within_limits(fallback, blocks)
    text = text_of(blocks)
    assert "<!channel>" not in text and "<!channel>" not in fallback
    for command in ("/adr list", "/estimate list", "/parkinglot list"):
        assert f"485 more — `{command}`" in text
