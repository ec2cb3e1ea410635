"""The decision's Block Kit (bot/features/decisions/views.py): the message, the record, lists
and search results stay within Slack's limits and escape user text for any input; a redaction
marker is shown as one."""

from __future__ import annotations

import json
from datetime import date

from bot.core.ids import Action
from bot.core.render import Mrkdwn
from bot.features.decisions.record import build_record_blocks
from bot.features.decisions.views import (
    build_decision_message,
    build_list_blocks,
    build_search_blocks,
)
from storage.decision_record import DecisionRecord
from storage.models import DecisionEvent, DecisionStatus, Stance, StanceKind
from tests.support.blocks import (
    BIG,
    HOSTILE,
    PEOPLE,
    WHEN,
    big_decision,
    check_blocks,
    no_unescaped_pings,
)


def big_record() -> DecisionRecord:
    d = big_decision()
    kinds = list(StanceKind)
    stances = [
        Stance(
            team_id="TAAA",
            decision_id=d.id,
            user_id=f"U{i:031d}",
            kind=kinds[i % 3],
            concern=BIG,
            change_my_mind=BIG,
            reason=BIG,
            committed=kinds[i % 3] == StanceKind.DISAGREE_AND_COMMIT,
            created_at=WHEN,
            updated_at=WHEN,
        )
        for i in range(300)
    ]
    details = [
        ("created", {"status": "proposed"}),
        ("stance", {"kind": "block", "reason": BIG, "previous": {"kind": "agree"}}),
        (
            "status_changed",
            {"from": "proposed", "to": "accepted", "note": BIG, "overrode_blocks": PEOPLE},
        ),
        ("edited", {"changes": {"title": [BIG, BIG], "context": [BIG, BIG]}}),
        ("superseded", {"by": "ADR-1000000000"}),
        ("supersedes", {"of": "ADR-1"}),
    ]
    events = [
        DecisionEvent(
            id=i,
            team_id="TAAA",
            decision_id=d.id,
            actor_id=f"U{i:031d}",
            kind=details[i % len(details)][0],
            detail=json.dumps(details[i % len(details)][1]),
            created_at=WHEN,
        )
        for i in range(200)
    ]
    return DecisionRecord(
        decision=d,
        members={"decider": PEOPLE, "consulted": PEOPLE, "informed": PEOPLE},
        stances=stances,
        events=events,
        supersedes=big_decision(1),
        superseded_by=big_decision(1_000_000_000),
    )


def test_decision_message_limits_and_escaping() -> None:
    text, blocks = build_decision_message(big_record())
    check_blocks(blocks, max_blocks=50)
    no_unescaped_pings(blocks)
    assert "<!" not in text and "<@U1>" not in text
    assert len(text) <= 3000
    header = blocks[0]
    assert header["type"] == "header" and header["text"]["text"].startswith("ADR-999999999: ")
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == [
        Action.AGREE,
        Action.DISAGREE,
        Action.BLOCK,
        Action.ACCEPT_ANYWAY,  # it has blocks and is proposed
        Action.DETAILS,
    ]
    assert all(e["value"] == "999999999" for e in actions[0]["elements"])


def test_finished_decisions_have_no_stance_buttons() -> None:
    record = big_record()
    record.decision.status = DecisionStatus.SUPERSEDED
    _, blocks = build_decision_message(record)
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [Action.DETAILS]


def test_record_blocks_limits() -> None:
    text, blocks = build_record_blocks(big_record())
    check_blocks(blocks, max_blocks=50)
    no_unescaped_pings(blocks)
    history = [b for b in blocks if b["type"] != "actions"][-1]["text"]["text"]
    assert "_… 185 earlier changes not shown_" in history  # 200 events, the newest 15 shown
    assert blocks[-1]["elements"][0]["action_id"] == Action.EXPORT  # Export as ADR file


def test_list_and_search_blocks_limits() -> None:
    decisions = [big_decision(n) for n in range(1, 11)]
    blocks = build_list_blocks(decisions, total=1000, offset=10, status="accepted", tag="t" * 30)
    check_blocks(blocks, max_blocks=50)
    no_unescaped_pings(blocks)
    nav = [b for b in blocks if b["type"] == "actions"][0]["elements"]
    assert [json.loads(b["value"])["o"] for b in nav] == [0, 20]
    assert (
        build_list_blocks(decisions, total=10, offset=0, status=None, tag=None)[-1]["type"]
        != "actions"
    )
    empty = build_list_blocks([], total=0, offset=0, status=None, tag=HOSTILE)
    check_blocks(empty, max_blocks=50)
    no_unescaped_pings(empty)

    for query in (HOSTILE * 600, ""):
        for found in (decisions, []):
            blocks = build_search_blocks(query, found)
            check_blocks(blocks, max_blocks=50)
            no_unescaped_pings(blocks)


def test_a_redaction_marker_is_shown_with_a_mention_and_nothing_else_is() -> None:
    from bot.core.redacted import shown, shown_plain
    from storage.redaction import marker, parse_marker

    text = marker("UANA", date(2026, 5, 1))
    assert text == "redacted by <@UANA> on 2026-05-01"
    assert parse_marker(text) == ("UANA", "2026-05-01")
    assert shown(text) == "_redacted by <@UANA> on 2026-05-01_"
    assert isinstance(shown(text), Mrkdwn)
    assert shown_plain(text) == "(redacted on 2026-05-01)"
    for other in (HOSTILE, text + " and more", "redacted by <!channel> on 2026-05-01", ""):
        assert shown(other) == other and not isinstance(shown(other), Mrkdwn)
    d = big_decision()
    d.title, d.context = text, marker("UBOB", date(2026, 5, 2))
    d.decision = marker("UCAT", date(2026, 5, 3))
    record = DecisionRecord(
        decision=d, members={}, stances=[], events=[], supersedes=None, superseded_by=None
    )
    fallback, blocks = build_decision_message(record)
    body = json.dumps(blocks)
    assert blocks[0]["text"]["text"] == f"ADR-{d.number}: (redacted on 2026-05-01)"
    assert "_redacted by <@UCAT> on 2026-05-03_" in body  # the card shows the decision
    assert "<@" not in fallback
    _, record_blocks = build_record_blocks(record)  # the full record shows every field
    assert "_redacted by <@UBOB> on 2026-05-02_" in json.dumps(record_blocks)


def _label(blocks: list[dict]) -> str:
    return str(blocks[0]["text"]["text"]).splitlines()[0]


def test_a_list_that_fits_one_page_gives_its_count_not_a_span() -> None:
    one = build_list_blocks([big_decision(1)], total=1, offset=0, status=None, tag=None)
    assert _label(one) == "*Decisions (1)*"
    page = [big_decision(n) for n in range(1, 11)]
    first = build_list_blocks(page, total=12, offset=0, status="accepted", tag=None)
    assert _label(first) == "*Decisions accepted (1–10 of 12)*"
    last = build_list_blocks(page[:2], total=12, offset=10, status=None, tag=None)
    assert _label(last) == "*Decisions (11–12 of 12)*"


def test_the_search_header_quotes_the_query_once() -> None:
    found = [big_decision(1)]
    for typed, header in (
        ("event sourcing", "*Best matches for “event sourcing”*"),
        ('"event sourcing"', "*Best matches for “event sourcing”*"),
        ("“event sourcing”", "*Best matches for “event sourcing”*"),
        ('"event sourcing" kafka', '*Best matches for "event sourcing" kafka*'),
        ("don't", "*Best matches for “don't”*"),
    ):
        assert _label(build_search_blocks(typed, found)) == header, typed
    nothing = build_search_blocks('"event sourcing"', [])[0]["text"]["text"]
    assert nothing == "*Search*\nNothing matches “event sourcing”."


def test_history_names_the_bot_and_counts_in_real_plurals() -> None:
    from storage.reviews import BOT_ACTOR

    d = big_decision()
    events = [
        DecisionEvent(
            id=i,
            team_id="TAAA",
            decision_id=d.id,
            actor_id=BOT_ACTOR if i == 16 else "UANA",
            kind="status_changed" if i == 15 else "review_opened",
            detail=json.dumps({"from": "proposed", "to": "accepted", "overrode_blocks": ["UBO"]})
            if i == 15
            else json.dumps({"round": 1}),
            created_at=WHEN,
        )
        for i in range(17)
    ]
    record = DecisionRecord(
        decision=d, members={}, stances=[], events=events, supersedes=None, superseded_by=None
    )
    _, blocks = build_record_blocks(record)
    history = [b for b in blocks if b["type"] != "actions"][-1]["text"]["text"]
    assert history.startswith("_… 2 earlier changes not shown_\n*History*\n")
    assert "Decision Bot opened review round 1" in history and "decisionbot" not in history
    assert "overriding 1 block" in history and "block(s)" not in history
