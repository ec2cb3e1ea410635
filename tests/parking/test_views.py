"""The Block Kit of parking-lot items (bot/features/parking/views.py): limits, escaping, the
30-day flag and the buttons per state. Pure: no Slack, no database."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from bot.core.ids import Action
from bot.features.parking import messages, views
from storage.models import ParkingItem, ParkingState
from tests.support.parking import NOW, PERMALINK, item, scored, text_objects


def mrkdwn_text(node: Any) -> str:
    return "\n".join(t["text"] for t in text_objects(node) if t["type"] == "mrkdwn")


def assert_message_limits(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= 50
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75
                assert len(element["value"]) <= 2000
    assert len(json.dumps(blocks)) < 40_000


# -- views -------------------------------------------------------------------------------------


def test_parked_text() -> None:
    text = messages.parked_text(item(request="Ping <!channel> & <@U0EVE>"))
    assert text.startswith("Parked as *P-12* (asked by <@U0ANA>)")
    # who triages it, and how
    assert "Anyone in <#C0123> can triage it with `/parkinglot show P-12`" in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<@U0EVE>" not in text
    assert "<@U0ANA>" in text  # the requester, from the stored id


def test_list_line_shows_rice_with_its_inputs() -> None:
    blocks = views.build_list_blocks(
        [scored(moscow="must"), item(number=13)], state=ParkingState.PARKED, sort="rice", now=NOW
    )
    text = mrkdwn_text(blocks)
    assert "RICE 119 (reach 500 × impact 2 × 80% ÷ effort 6.7w)" in text
    assert "Must have" in text
    assert "*P-13*" in text and "_unscored_" in text
    assert text.index("*P-12*") < text.index("*P-13*")  # the caller's order is kept
    assert "Parked requests by RICE (2)" in text
    assert_message_limits(blocks)


def test_list_of_accepted_and_deferred_items() -> None:
    accepted = item(state=ParkingState.ACCEPTED, timeline_days=3.0)
    deferred = item(number=14, state=ParkingState.DEFERRED, deferred_until=date(2026, 4, 1))
    text = mrkdwn_text(
        views.build_list_blocks([accepted, deferred], state=None, sort="age", now=NOW)
    )
    assert "+3 working days" in text
    assert "back on 2026-04-01" in text
    assert "oldest first" in text


def test_empty_list() -> None:
    blocks = views.build_list_blocks([], state=ParkingState.DECLINED, sort="rice", now=NOW)
    assert "No declined requests" in mrkdwn_text(blocks)


def test_waiting_30_days_flag() -> None:
    old = item(created_at=NOW - timedelta(days=30))
    young = item(number=13, created_at=NOW - timedelta(days=29, hours=23))
    decided = item(number=14, created_at=NOW - timedelta(days=90), state=ParkingState.DEFERRED)
    naive = item(number=15, created_at=(NOW - timedelta(days=40)).replace(tzinfo=None))
    assert views.waiting_long(old, NOW) and views.waiting_long(naive, NOW)
    assert not views.waiting_long(young, NOW) and not views.waiting_long(decided, NOW)
    lines = {i.number: views.item_line(i, NOW) for i in (old, young, decided, naive)}
    assert "waiting 30+ days" in lines[12] and "waiting 30+ days" in lines[15]
    assert "waiting 30+ days" not in lines[13] and "waiting 30+ days" not in lines[14]
    _, blocks = views.build_show_blocks(old, [], now=NOW)
    assert "waiting 30+ days" in mrkdwn_text(blocks)


def test_list_within_block_kit_limits_with_50_huge_requests() -> None:
    items = [
        scored(number=n, request=("<!channel> " + "a" * 3000)[:3000], why="w" * 3000)
        for n in range(1, 51)
    ] + [item(number=n, request="b" * 3000) for n in range(51, 80)]
    blocks = views.build_list_blocks(items, state=None, sort="rice", now=NOW)
    assert_message_limits(blocks)
    text = mrkdwn_text(blocks)
    assert "<!channel>" not in text
    assert "*P-50*" in text and "29 more" in text
    home = views.home_section(items, items, NOW)
    assert_message_limits(home)
    assert "more" in mrkdwn_text(home)


def test_show_blocks_escape_and_fit() -> None:
    it = scored(
        request=("<!channel> *bold* <https://evil.example|click> & more " * 100)[:3000],
        why="<!here> because",
        reason="ignored while parked",
        permalink=PERMALINK,
    )
    history = [
        views.history_line(kind="parked", actor_id="U0BO", at=NOW, note="<!everyone>"),
        "a plain <!channel> line",
    ] * 40
    fallback, blocks = views.build_show_blocks(it, history, now=NOW, related="ADR-12")
    assert_message_limits(blocks)
    mrkdwn = mrkdwn_text(blocks)
    for markup in ("<!channel>", "<!here>", "<!everyone>", "<https://evil"):
        assert markup not in mrkdwn
        assert markup not in fallback
    assert f"<{PERMALINK}|original message>" in mrkdwn
    assert "<@U0ANA>" in mrkdwn and "<@U0BO>" in mrkdwn and "<#C0123>" in mrkdwn
    assert "ADR-12" in mrkdwn
    assert "ignored while parked" not in mrkdwn
    plain = [b for b in blocks if b["type"] == "section" and b["text"]["type"] == "plain_text"]
    assert plain and plain[0]["text"]["text"].startswith("<!channel> *bold*")  # shown as typed


def test_a_permalink_that_is_not_slacks_is_not_a_link() -> None:
    _, blocks = views.build_show_blocks(
        item(permalink="https://evil.example/archives/C1/p1|x"), [], now=NOW
    )
    assert "evil" not in mrkdwn_text(blocks)


def _buttons(it: ParkingItem) -> list[str]:
    _, blocks = views.build_show_blocks(it, [], now=NOW)
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_show_buttons_follow_the_state() -> None:
    parked = _buttons(item())
    assert parked == [
        Action.PARK_SCORE,
        Action.PARK_ACCEPT,
        Action.PARK_DEFER,
        Action.PARK_DECLINE,
        Action.PARK_WITHDRAW,
    ]
    assert Action.PARK_DONE in _buttons(item(state=ParkingState.ACCEPTED))
    assert Action.PARK_ACCEPT not in _buttons(item(state=ParkingState.ACCEPTED))
    assert Action.PARK_ACCEPT in _buttons(item(state=ParkingState.DEFERRED))
    for final in (ParkingState.DECLINED, ParkingState.DONE, ParkingState.WITHDRAWN):
        assert _buttons(item(state=final)) == []
    _, blocks = views.build_show_blocks(item(), [], now=NOW)
    values = {e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert values == {"12"}


def test_show_of_decided_items() -> None:
    declined = item(
        state=ParkingState.DECLINED, reason="Not this <!here> quarter", decided_by="U0CAT"
    )
    text = mrkdwn_text(views.build_show_blocks(declined, [], now=NOW)[1])
    assert "Not this &lt;!here&gt; quarter" in text and "<@U0CAT>" in text
    accepted = item(state=ParkingState.ACCEPTED, timeline_days=-0.5)
    assert "-0.5 working days" in mrkdwn_text(views.build_show_blocks(accepted, [], now=NOW)[1])
    partial = item(reach=500.0, effort=2.0)
    text = mrkdwn_text(views.build_show_blocks(partial, [], now=NOW)[1])
    assert "_unscored_ (reach 500, effort 2w" in text


def test_timeline_text() -> None:
    assert views.timeline_text(3) == "+3 working days"
    assert views.timeline_text(1) == "+1 working day"
    assert views.timeline_text(-2) == "-2 working days"
    assert views.timeline_text(0) == "no timeline change"
    assert views.timeline_text(None) == ""


def test_dms_and_resurfacing_escape_the_request() -> None:
    base = {"request": "CSV <!channel>", "decided_by": "U0CAT"}
    accepted = messages.accepted_dm(item(state=ParkingState.ACCEPTED, timeline_days=3.0, **base))
    assert "accepted into scope" in accepted and "+3 working days" in accepted
    assert "<!channel>" not in accepted and "<@U0CAT>" in accepted
    declined = messages.declined_dm(item(state=ParkingState.DECLINED, reason="<!here> no", **base))
    assert "Thank you" in declined and "&lt;!here&gt; no" in declined
    assert "<!here>" not in declined and "<!channel>" not in declined
    back = messages.resurfaced_text(
        item(state=ParkingState.DEFERRED, deferred_until=date(2026, 4, 1), **base)
    )
    assert "*P-12* is back" in back and "2026-04-01" in back and "<!channel>" not in back


def test_watch_offer() -> None:
    text, blocks = messages.watch_offer_blocks(
        "can we also ping <!channel> and <@U0ANA|ana> &lt;b&gt; " + "z" * 500, "C0123", "17.5"
    )
    assert text == "Sounds like a scope addition — park it so it isn't lost?"
    assert_message_limits(blocks)
    mrkdwn = mrkdwn_text(blocks)
    assert "<!channel>" not in mrkdwn and "<@U0ANA" not in mrkdwn
    assert "@channel" in mrkdwn and "@ana" in mrkdwn and "&lt;b&gt;" in mrkdwn
    button = next(e for b in blocks if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == Action.PARK_OFFER
    assert button["text"]["text"] == "Park it"
    assert messages.offer_from(button["value"]) == ("C0123", "17.5")
    assert messages.offer_from("nope") is None
    assert messages.offer_from('{"channel": 1}') is None


def test_watch_status_texts() -> None:
    on = messages.watch_status_text(channel_id="C0123", enabled=True, changed_by="U0ANA")
    assert "*on*" in on and "<#C0123>" in on and "<@U0ANA>" in on
    assert "turned *off*" in messages.watch_status_text(
        channel_id="C0123", enabled=False, changed=True
    )
    assert "invite me first" in messages.watch_status_text(
        channel_id="C0123", enabled=False, not_in_channel=True
    )
    assert "channels only" in messages.watch_status_text(
        channel_id="D01", enabled=False, in_dm=True
    )


def test_help_and_home() -> None:
    help_text = mrkdwn_text(views.help_blocks())
    for word in ("list", "show P-12", "watch on|off", "Add to parking lot"):
        assert word in help_text
    home = views.home_section([], [], NOW)
    assert "Nothing is waiting" in mrkdwn_text(home)
    top = [scored(number=n) for n in range(1, 9)]
    text = mrkdwn_text(views.home_section([item(created_at=NOW - timedelta(days=45))], top, NOW))
    assert "waiting 30+ days" in text
    assert "*P-5*" in text and "*P-6*" not in text  # the top five only
