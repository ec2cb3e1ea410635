"""The Block Kit of `/estimate` rounds (bot/features/estimates/views.py): blind before the
reveal, the figures after it, and within Slack's limits with user text escaped. Pure: no Slack,
no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.ids import Action
from bot.features.estimates import estimation, texts, views
from bot.features.estimates.calibration import CalibrationRecord, calibration
from storage.models import Estimate, EstimateRound, EstimateTask, RoundState
from tests.support.estimates import (
    all_text,
    check_blocks,
    make_estimate,
    make_round,
    make_tasks,
    no_pings,
    text_objects,
)


def check_message(text: str, blocks: list[dict[str, Any]]) -> None:
    check_blocks(blocks, max_blocks=50)
    assert 0 < len(text) <= 3000
    assert len(json.dumps(blocks, ensure_ascii=False)) < 40_000 + 20_000  # JSON adds keys
    assert sum(len(o["text"]) for o in text_objects(blocks)) <= 40_000
    no_pings(text)
    no_pings(blocks)


# Figures no builder may show before the reveal: each appears nowhere else in these tests.
SECRET = estimation.Combined(
    p50=777.0,
    p90=888.0,
    mean=999.0,
    best=611.0,
    likely=777.0,
    worst=933.0,
    cone_low=194.0,
    cone_high=3108.0,
    spreads=[estimation.TaskSpread("API", 411.0, 422.0, 433.0)],
    outliers=[estimation.Outlier("API", "UANA", "UBO", 3.0)],
)
SECRET_FIGURES = ("777", "888", "999", "611", "933", "194", "3108", "411", "422", "433")


# -- the round's message: blindness --------------------------------------------------------------


def test_open_message_shows_names_never_values() -> None:
    rnd = make_round(deadline_at=datetime(2026, 12, 4, 14, 0, tzinfo=UTC))
    text, blocks = views.build_round_message(
        rnd,
        make_tasks(["API", "UI"]),
        ["UANA"],
        ["UANA", "UBO"],
        SECRET,
        "ADR-12",
        people=[
            estimation.PersonEstimate("UANA", [(411, 422, 433)] * 2, 80, "new", "secret assumption")
        ],
    )
    check_message(text, blocks)
    shown = all_text({"text": text, "blocks": blocks})
    for figure in SECRET_FIGURES:
        assert figure not in shown
    assert "secret assumption" not in shown and "talk first" not in shown
    assert "<@UANA>" in shown and "<@UBO>" in shown and "<@UFAC>" in shown
    assert "<!date^1796392800^" in shown and "2026-12-04 14:00 UTC" in shown
    assert "ADR-12" in shown and "initial concept" in shown and "days" in shown
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (Action.ESTIMATE_ADD, "3"),
        (Action.ESTIMATE_REVEAL, "3"),
        (Action.ESTIMATE_CANCEL, "3"),
    ]
    waiting = next(b for b in blocks if "not estimated yet" in all_text(b))
    assert "<@UBO>" in all_text(waiting) and "<@UANA>" not in all_text(waiting)


def test_show_and_home_and_details_are_blind_before_the_reveal() -> None:
    rnd = make_round()
    text, blocks = views.build_show_blocks(rnd, make_tasks(["API"]), ["UANA"], SECRET)
    check_message(text, blocks)
    shown = all_text({"text": text, "blocks": blocks})
    assert not any(figure in shown for figure in SECRET_FIGURES)
    assert not [b for b in blocks if b["type"] == "actions"]
    home = views.home_section([rnd], [rnd])
    assert not any(figure in all_text(home) for figure in SECRET_FIGURES)
    estimate = make_estimate("UANA", [[777, 888, 999]], assumptions="secret")
    assert views.build_detail_messages(rnd, [], [estimate]) == []


SAID = [
    estimation.PersonEstimate(
        "UANA", [(200.0, 300.0, 400.0), (10.0, 20.0, 30.0)], 90, "done", "the payment API batches"
    ),
    estimation.PersonEstimate("UBO", [(300.0, 400.0, 450.0), (5.0, 6.0, 7.0)], 50, "new", ""),
]


def test_revealed_message_shows_one_headline_what_people_said_and_why() -> None:
    rnd = make_round(state=RoundState.REVEALED, revealed_by="UFAC")
    text, blocks = views.build_round_message(
        rnd, make_tasks(["API", "UI"]), ["UANA", "UBO"], ["UANA", "UBO"], SECRET, None, people=SAID
    )
    check_message(text, blocks)
    shown = all_text(blocks)
    # one range to quote: SECRET's 611 (no ``low`` stored: best stands in)..933, median 777
    assert "*Plan for 611–933 days in total (90%), most likely 777.*" in shown
    # what people said: their own totals (Ana 210–430, Bo 305–457), as given
    assert "People said 210–457 days, most likely 320 to 406." in shown
    # above what anyone said: one line naming who the plan scaled and widened
    assert (
        "The plan is wider: it scales <@UBO> ×2.5 (new to us), and widens <@UBO>'s 50% range "
        "to hold 90%." in shown
    )
    assert "<@UANA>'s likely is 3x <@UBO>'s for *API* — talk first" in shown
    # every other figure is behind Details: the headline is the only combined range
    for other in ("888", "999", "194", "3108", "411", "Cone", "Ready to paste", "50%:"):
        assert other not in shown
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [
        Action.ESTIMATE_DETAILS,
        Action.ESTIMATE_AGAIN,
    ]
    _, show = views.build_show_blocks(rnd, [], ["UANA"], SECRET)
    assert "Plan for 611–933 days" in all_text(show)


def test_details_hold_every_figure_and_each_persons_adjustment() -> None:
    rnd = make_round(state=RoundState.REVEALED, revealed_by="UFAC")
    combined = estimation.combine(SAID, ["API", "UI"], phase="initial", samples=2_000, seed=1)
    modal = views.build_details_modal(rnd, combined, SAID)
    check_blocks(modal["blocks"], max_blocks=100)
    shown = all_text(modal["blocks"])
    assert "50%: *" in shown and "mean" in shown and "0.25x–4x" in shown
    assert "Spread of the likely figures" in shown
    assert "Ready to paste" in shown and "Assumes the payment API batches." in shown
    # Ana (done, 90%) is as she said; Bo is said, then the plan's range with why
    assert "• <@UANA> said 210–430 days, most likely 320\n" in shown + "\n"
    assert "• <@UBO> said 305–457 days, most likely 406; in the plan " in shown
    assert "(×2.5: new to us; widened: 50% sure)" in shown
    assert modal["title"]["text"] == "Details E-3" and "submit" not in modal


def test_revealed_before_the_figures_are_stored_never_says_no_estimates() -> None:
    rnd = make_round(state=RoundState.REVEALED, revealed_by="UFAC")
    _, blocks = views.build_round_message(rnd, [], ["UANA"], [], None, None)
    assert "Working out the combined estimate" in all_text(blocks)
    assert "no estimates" not in all_text(blocks)
    assert Action.ESTIMATE_DETAILS not in json.dumps(blocks)  # nothing to show yet


@pytest.mark.parametrize(
    ("state", "says"),
    [(RoundState.CANCELLED, "Cancelled"), (RoundState.EXPIRED, "Closed without a reveal")],
)
def test_closed_rounds_say_so_without_buttons(state: RoundState, says: str) -> None:
    rnd = make_round(state=state, closed_note="Not revealed within 14 days.")
    text, blocks = views.build_round_message(rnd, [], ["UANA"], [], SECRET, None)
    check_message(text, blocks)
    assert says in all_text(blocks) and "Not revealed within 14 days." in all_text(blocks)
    assert not [b for b in blocks if b["type"] == "actions"]
    assert not any(figure in all_text(blocks) for figure in SECRET_FIGURES)
    assert "closed without a reveal" in texts.expired_text(rnd)


# -- limits and escaping ---------------------------------------------------------------------------

EVIL = "<!channel> <@UEVIL> & <https://x.io|click> "


def big_round(**kw: Any) -> tuple[EstimateRound, list[EstimateTask], list[Estimate]]:
    rnd = make_round(
        number=999_999_999,
        topic=(EVIL * 10)[:200],
        deadline_at=datetime(2026, 12, 4, 14, 0, tzinfo=UTC),
        **kw,
    )
    tasks = make_tasks([(f"{i} " + EVIL * 10)[:200] for i in range(15)])
    estimates = [
        make_estimate(
            f"U{i:010d}",
            [[1234.25, 1234.5, 1249.75]] * 15,
            confidence=90,
            familiarity="new",
            assumptions=(EVIL * 100)[:3000],
        )
        for i in range(30)
    ]
    return rnd, tasks, estimates


def test_biggest_open_round_fits_and_escapes() -> None:
    rnd, tasks, estimates = big_round()
    people = [e.user_id for e in estimates]
    invited = people + [f"W{i:010d}" for i in range(20)]
    text, blocks = views.build_round_message(rnd, tasks, people, invited, None, "ADR-999999999")
    check_message(text, blocks)
    assert blocks[-1]["type"] in ("actions", "context")
    assert any(b["type"] == "actions" for b in blocks)
    assert "&lt;!channel&gt;" in all_text(blocks)


def test_biggest_revealed_round_fits_and_escapes() -> None:
    rnd, tasks, estimates = big_round(state=RoundState.REVEALED)
    people = [e.user_id for e in estimates]
    combined = estimation.Combined(
        p50=9000.5,
        p90=12000.25,
        mean=9100.0,
        best=8000.0,
        likely=9000.5,
        worst=13000.0,
        cone_low=2250.0,
        cone_high=36000.0,
        spreads=[estimation.TaskSpread(t.name, 1000.0, 1100.0, 1249.75) for t in tasks],
        outliers=[estimation.Outlier(t.name, people[0], people[1], 12.5) for t in tasks],
    )
    said = [
        estimation.PersonEstimate(
            e.user_id, [(1234.25, 1234.5, 1249.75)] * 15, 90, "new", e.assumptions
        )
        for e in estimates
    ]
    text, blocks = views.build_round_message(
        rnd, tasks, people, people, combined, None, people=said
    )
    check_message(text, blocks)
    assert blocks[-1]["type"] == "actions"
    _, show = views.build_show_blocks(rnd, tasks, people, combined)
    check_message("x", show)


def test_details_of_thirty_people_and_fifteen_tasks_fit() -> None:
    rnd, tasks, estimates = big_round(state=RoundState.REVEALED)
    messages = views.build_detail_messages(rnd, tasks, estimates)
    assert len(messages) > 1
    for text, blocks in messages:
        check_message(text, blocks)
    shown = all_text([blocks for _, blocks in messages])
    for e in estimates:
        assert f"<@{e.user_id}>" in shown
    assert "×2.5" in shown and "90%" in shown and "1234.25 – 1234.5 – 1249.75" in shown
    # assumptions go whole, as plain text: exactly what was typed, never markup
    plain = [
        o["text"]
        for _, blocks in messages
        for o in text_objects(blocks)
        if o["type"] == "plain_text"
    ]
    assert sum(p.count("<!channel>") for p in plain) == 30 * (EVIL * 100)[:3000].count("<!channel>")


def test_confirmation_is_escaped_and_complete() -> None:
    rnd, tasks, estimates = big_round()
    text = texts.confirmation_text(rnd, tasks, estimates[0])
    no_pings(text)
    assert "1234.25 – 1234.5 – 1249.75" in text and "×2.5" in text
    assert len(text) <= texts.TEXT_LIMIT
    small = texts.confirmation_text(
        make_round(), [], make_estimate("UANA", [[1, 2, 3]], assumptions="<!here> ok")
    )
    assert "&lt;!here&gt; ok" in small and "1 – 2 – 3" in small


def test_texts_escape_the_topic() -> None:
    rnd = make_round(topic=EVIL, deadline_at=datetime(2026, 12, 4, 14, 0, tzinfo=UTC))
    for text in (
        texts.reminder_text(rnd),
        texts.expired_text(rnd),
        texts.ask_actual_text(rnd, SECRET),
        texts.started_text(rnd, "Friday 15:00"),
        texts.post_failed_text(rnd, "not_in_channel"),
        texts.chart_failed_text(rnd, "upload_failed"),
    ):
        no_pings(text)
        assert "&lt;!channel&gt;" in text or "E-3" in text
    assert "<#C1>" in texts.reminder_text(rnd) and "<!date^" in texts.reminder_text(rnd)
    assert "888 days" in texts.ask_actual_text(rnd, SECRET)


def test_list_home_and_help_fit() -> None:
    rnd, _, _ = big_round()
    rounds = [rnd] * 100
    check_message("x", views.build_list_blocks(rounds))
    assert "No estimate rounds yet" in all_text(views.build_list_blocks([]))
    home = views.home_section(rounds, rounds)
    check_blocks(home, max_blocks=20)
    no_pings(home)
    assert "No round is waiting" in all_text(views.home_section([], []))
    help_text = all_text(views.help_blocks())
    for phrase in ("/estimate actual E-3 7d", "/estimate calibration", "Estimate this"):
        assert phrase in help_text
    assert "in points" in all_text(views.help_blocks(full=True))  # `/estimate help all`


def test_calibration_text() -> None:
    records = [CalibrationRecord("UANA", 1, 2, 4, 90, 5.0) for _ in range(4)]
    text = texts.calibration_text(calibration(records), "UANA")
    assert text.count("<@UANA>'s") == 1 and "held 0 of 4 times" in text
    team = texts.calibration_text(calibration(records), "UANA", team=calibration(records[:2]))
    assert "The team's calibration: not enough data yet" in team
    assert "not enough data yet" in texts.calibration_text(calibration([]), None)
    assert "<@" not in texts.calibration_text(calibration([]), None)
