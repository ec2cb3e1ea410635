"""Estimates people recognise (issue 19), end to end over signed HTTP on SQLite and Postgres:
a person's numbers appear as they typed them in the reveal and in the chart's data; the
channel never reads "no estimates" during a reveal; the headline is the only combined range
in the message; a first Submit with only the numbers filled is accepted; quick rounds with
and without the team's history; `/estimate sizes`."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from bot.core.ids import Action, EstimateField
from bot.features.estimates import estimation
from storage import estimates as repo
from storage.db import Database
from storage.estimate_work import schedule_refresh
from storage.models import utcnow
from tests.estimates.test_e2e import FAC, estimate, open_form, round_posts, round_row
from tests.support.adr import Adr, all_text
from tests.support.delivery import settle, sweep
from tests.support.harness import SlackDriver
from tests.support.slack_emulator import SlackEmulator


def numbers(best: str, likely: str, worst: str) -> dict[str, Any]:
    """Only the numbers: confidence and familiarity left as the form preselected them."""
    return {"t0_best": best, "t0_likely": likely, "t0_worst": worst}


def channel_calls(emulator: SlackEmulator, channel: str = "CGENERAL") -> list[str]:
    """Everything the channel could read: posts and updates there (not DMs, not modals)."""
    return [
        all_text(c.args)
        for c in emulator.calls()
        if c.method in ("chat.postMessage", "chat.update") and c.args.get("channel") == channel
    ]


def final_message(emulator: SlackEmulator, number: int) -> str:
    updates = [c for c in emulator.calls("chat.update") if f"E-{number}:" in all_text(c.args)]
    return all_text(updates[-1].args)


def thread_text(emulator: SlackEmulator, ts: str) -> str:
    return "\n".join(
        all_text(c.args)
        for c in emulator.calls("chat.postMessage")
        if c.args.get("thread_ts") == ts
    )


def test_numbers_as_typed_one_headline_and_never_no_estimates(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
) -> None:
    estimate(slack, "Billing export <@UANA> <@UBO>")
    settle(slack)

    # Ana's first Submit has only the numbers: confidence 80% and "similar" were preselected
    ana = open_form(slack, 1, "UANA")
    familiarity = next(b for b in ana["blocks"] if b.get("block_id") == EstimateField.FAMILIARITY)
    assert familiarity["element"]["initial_option"]["value"] == "similar"
    assert "Preselected" in familiarity["hint"]["text"]
    reply = slack.submit(ana, numbers("4", "5", "8"), user="UANA")
    assert reply.status == 200 and reply.text == "", reply.text
    [row] = adr.rows("SELECT * FROM estimates WHERE user_id = 'UANA'")
    assert (row["confidence"], row["familiarity"]) == (80, "similar")

    # Bo types with units, is 50% sure and new to this: the reveal shows what he typed
    bo = open_form(slack, 1, "UBO")
    filled = numbers("3d", "5d", "2w") | {
        EstimateField.CONFIDENCE: "50",
        EstimateField.FAMILIARITY: "new",
    }
    reply = slack.submit(bo, filled, user="UBO")
    assert reply.status == 200 and reply.text == "", reply.text
    settle(slack)
    rnd = round_row(adr)
    assert rnd["state"] == "revealed"  # everyone invited estimated

    # the thread: each person's numbers exactly as typed
    thread = thread_text(emulator, rnd["message_ts"])
    assert "3d – 5d – 2w" in thread and "4 – 5 – 8" in thread
    # the message: one headline, what people said (Bo's 2w is 10 days), and why it is wider
    message = final_message(emulator, 1)
    result = estimation.Combined(
        **{
            k: v
            for k, v in json.loads(rnd["result"]).items()
            if k not in ("spreads", "outliers", "person_totals", "widening")
        }
    )
    h = estimation.headline(result)
    assert f"Plan for {h.low:g}–{h.high:g} days (90%), most likely {h.likely:g}." in message
    assert "People said 3–10 days, most likely 5." in message
    assert (
        "scales <@UANA> ×1.5 (similar to something we've done) and <@UBO> ×2.5 (new to us)"
        in message
    )
    assert "widens <@UANA>'s 80% and <@UBO>'s 50% ranges to hold 90%" in message
    # the headline is the only combined range in the body: no 50% line, mean, cone or paste
    assert len(re.findall(r"\(90%\)", message)) == 1
    for other in ("50%:", "mean", "Cone", "Ready to paste", "Best case"):
        assert other not in message

    # the chart's data: bars at the numbers said, the plan's ranges marked adjusted with why
    [chart] = emulator.uploaded_files()
    alt = chart["alt_txt"]
    assert "uana said 4–8, most likely 5; adjusted to" in alt  # display names (the emulator's)
    assert "ubo said 3–10, most likely 5; adjusted to" in alt
    assert "(×2.5: new to us; widened: 50% sure)" in alt

    # nothing the channel saw during the reveal said there were no estimates
    seen = channel_calls(emulator)
    assert seen and not [text for text in seen if "no estimates" in text]

    # Details: every other figure, behind a button, for whoever may see the round
    before = slack.views_opened()
    reply = slack.click(Action.ESTIMATE_DETAILS, "1", user="UCAROL")
    assert reply.status == 200
    details = all_text(slack.opened_view(after=before))
    assert "50%:" in details and "Cone of uncertainty" in details and "Ready to paste" in details
    assert "<@UBO> said 3–10 days, most likely 5; in the plan" in details

    # recording the actual refreshes the round, but its message would not change (the actual
    # is in `/estimate show`): no update is sent, however often it is asked for
    updates = len(emulator.calls("chat.update"))
    assert "Recorded" in estimate(slack, "actual E-1 9d")
    with db.session() as session:
        schedule_refresh(session, rnd=repo.get_round(session, team_id="TAAA", number=1))
    sweep(slack, db, utcnow() + timedelta(minutes=10))  # past the refresh's coalescing
    assert len(emulator.calls("chat.update")) == updates
    assert "9 days" in estimate(slack, "show E-1")


def test_the_form_preselects_the_persons_last_familiarity(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    estimate(slack, "First thing")
    estimate(slack, "Second thing")
    settle(slack)
    view = open_form(slack, 1, "UANA")
    slack.submit(view, numbers("1", "2", "3") | {EstimateField.FAMILIARITY: "new"}, user="UANA")
    view = open_form(slack, 2, "UANA")
    familiarity = next(b for b in view["blocks"] if b.get("block_id") == EstimateField.FAMILIARITY)
    assert familiarity["element"]["initial_option"]["value"] == "new"
    assert "your choice last time" in familiarity["hint"]["text"]


def quick_round(
    slack: SlackDriver, emulator: SlackEmulator, adr: Adr, topic: str, answers: dict[str, str]
) -> dict[str, Any]:
    """A quick round from the command to the reveal; its row once revealed."""
    people = " ".join(f"<@{u}>" for u in answers)
    reply = estimate(slack, f"{topic} {people} quick")
    number = int(re.search(r"E-(\d+)", reply).group(1))  # type: ignore[union-attr]
    settle(slack)
    for user, answer in answers.items():
        view = open_form(slack, number, user)
        inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
        assert inputs == ["t0_likely", EstimateField.ASSUMPTIONS]  # one answer, no range
        reply = slack.submit(view, {"t0_likely": answer}, user=user)
        assert reply.status == 200 and reply.text == "", reply.text
    settle(slack)
    row = round_row(adr, number)
    assert row["state"] == "revealed" and row["mode"] == "quick"
    return row


def test_a_quick_round_without_history_says_the_default_widening(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    row = quick_round(slack, emulator, adr, "API cache", {"UANA": "3", "UBO": "m"})
    message = final_message(emulator, 1)
    assert "Plan for" in message and "(90%)" in message
    assert "People said 3 to 3 days" not in message
    assert "Each number n is read as 0.8n–2n until this team has 3 actuals" in message
    assert "S, M, L and XL are the team's ranges" in message
    thread = thread_text(emulator, row["message_ts"])
    assert "• API cache: 3" in thread and "• API cache: M" in thread
    widening = json.loads(row["result"])["widening"]
    assert widening == {"low": 0.8, "high": 2.0, "rounds": 0}
    # a size is stored as the team's range for it (M: 2–3–5 days), a number as said
    stored = {r["user_id"]: json.loads(r["ranges"]) for r in adr.rows("SELECT * FROM estimates")}
    assert stored == {"UANA": [[3.0, 3.0, 3.0]], "UBO": [[2.0, 3.0, 5.0]]}
    # bad input keeps the form open with a sentence
    estimate(slack, "Other thing quick")
    settle(slack)
    view = open_form(slack, 2, "UANA")
    reply = slack.submit(view, {"t0_likely": "XXL"}, user="UANA")
    assert reply.json()["response_action"] == "errors"
    assert "S, M, L or XL" in reply.json()["errors"]["t0_likely"]


def test_a_quick_round_with_history_widens_by_the_teams_actuals(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
) -> None:
    for n, actual in enumerate(("6d", "7d", "4d"), start=1):
        estimate(slack, f"Past work {n} <@UANA>")
        settle(slack)
        view = open_form(slack, n, "UANA")
        slack.submit(view, numbers("3", "5", "8"), user="UANA")
        settle(slack)
        assert "Recorded" in estimate(slack, f"actual E-{n} {actual}")
    settle(slack)
    past = adr.rows("SELECT actual, result FROM estimate_rounds ORDER BY number")
    ratios = [r["actual"] / json.loads(r["result"])["p50"] for r in past]
    expected = estimation.widening_from(ratios)
    assert expected.rounds == 3

    row = quick_round(slack, emulator, adr, "Search page", {"UANA": "4", "UBO": "6"})
    assert json.loads(row["result"])["widening"] == {
        "low": expected.low,
        "high": expected.high,
        "rounds": 3,
    }
    message = final_message(emulator, 4)
    assert f"Each number n is read as {expected.low:g}n–{expected.high:g}n" in message
    assert "how far this team's last 3 actuals fell from its estimates" in message
    assert "People said 4 to 6 days." in message


def test_sizes_are_shown_to_all_and_changed_by_admins(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
) -> None:
    emulator.set_user("UADMIN", is_admin=True)
    shown = estimate(slack, "sizes", user="UCAROL")
    assert "S 0.5–1–2 · M 2–3–5 · L 5–8–13 · XL 10–15–25 days" in shown
    assert "admins" in shown
    assert "Only workspace admins" in estimate(slack, "sizes M 1d 2d 3d", user="UCAROL")
    assert "smallest to largest" in estimate(slack, "sizes M 5d 3d 2d", user="UADMIN")
    assert "S, M, L or XL" in estimate(slack, "sizes XXL 1 2 3", user="UADMIN")
    changed = estimate(slack, "sizes M 1w 2w 3w", user="UADMIN")
    assert "M is now 5–10–15 days (it was 2–3–5, the default)" in changed
    assert adr.count("estimate_sizes") == 1
    assert "M 5–10–15" in estimate(slack, "sizes", user="UCAROL")
    # a quick round in hours reads the team's M, converted
    estimate(slack, "Tiny fix in hours quick", user=FAC)
    settle(slack)
    view = open_form(slack, 1, "UANA")
    assert "M 40–80–120 ·" in all_text(view["blocks"][0]) and "hours)" in all_text(
        view["blocks"][0]
    )
    slack.submit(view, {"t0_likely": "M"}, user="UANA")
    [row] = adr.rows("SELECT ranges, typed FROM estimates")
    assert json.loads(row["ranges"]) == [[40.0, 80.0, 120.0]] and json.loads(row["typed"]) == [
        ["M"]
    ]
    assert round_posts(emulator)
