"""`/estimate` end to end over signed HTTP, on SQLite and Postgres: a round from the command to
the reveal, blindness checked on every Slack call, bad input, one record per Submit, the
deadline reveal and reminder delivered once by scheduled work, expiry, actuals and
calibration, private channels, and the "Estimate this" shortcut."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from bot.core.ids import Action, EstimateField
from storage.db import Database
from storage.models import utcnow
from tests.support.adr import Adr, all_text, ephemeral, unescaped_markup
from tests.support.delivery import settle, sweep
from tests.support.harness import SlackDriver
from tests.support.slack_emulator import Call, SlackEmulator

FAC = "UFAC"


def estimate(slack: SlackDriver, text: str, *, user: str = FAC, channel: str = "CGENERAL") -> str:
    return ephemeral(slack.command(text, command="/estimate", user=user, channel=channel))


def round_row(adr: Adr, number: int = 1) -> dict[str, Any]:
    [row] = adr.rows(
        "SELECT * FROM estimate_rounds WHERE team_id = 'TAAA' AND number = :n", n=number
    )
    return row


def open_form(
    slack: SlackDriver, number: int, user: str, channel: str = "CGENERAL"
) -> dict[str, Any]:
    """**Add my estimate** clicked on the round's message, in its channel."""
    before = slack.views_opened()
    reply = slack.click(Action.ESTIMATE_ADD, str(number), user=user, channel=channel)
    assert reply.status == 200 and reply.text == "", reply.text
    return slack.opened_view(after=before)


def values(
    best: str,
    likely: str,
    worst: str,
    *,
    tasks: int = 1,
    confidence: str | None = "80",
    familiarity: str | None = "similar",
    assumptions: str = "",
) -> dict[str, Any]:
    filled: dict[str, Any] = {}
    for i in range(tasks):
        filled[f"t{i}_best"], filled[f"t{i}_likely"], filled[f"t{i}_worst"] = best, likely, worst
    filled[EstimateField.CONFIDENCE] = confidence
    filled[EstimateField.FAMILIARITY] = familiarity
    filled[EstimateField.ASSUMPTIONS] = assumptions
    return filled


def submit(slack: SlackDriver, view: dict[str, Any], filled: dict[str, Any], user: str):
    return slack.submit(view, filled, user=user)


def round_posts(emulator: SlackEmulator, channel: str = "CGENERAL") -> list[Call]:
    return [
        c
        for c in emulator.calls("chat.postMessage")
        if c.args.get("channel") == channel and not c.args.get("thread_ts")
    ]


def seen_by_others(call: Call, owner: str) -> bool:
    """Whether a Slack call can be seen by someone other than ``owner``: a modal opened for
    them and a DM to them are theirs alone."""
    if call.method in ("views.open", "views.update", "views.push"):
        return False  # a modal is seen only by the person who opened it
    if call.method in ("chat.postMessage",) and call.args.get("channel") == owner:
        return False
    if call.method == "response_url":
        return False  # ephemeral answers to the person who acted
    return True


ESTIMATORS = {
    # person: (best, likely, worst, assumption marker)
    "UANA": ("2.25", "3.75", "9.5", "ASSUME-ANA-queue"),
    "UBO": ("4.5", "6.25", "12.75", "ASSUME-BO-batches"),
    "UCY": ("1.75", "2.75", "4.25", "ASSUME-CY-cache"),
}


def test_a_round_from_the_command_to_the_reveal_stays_blind_until_then(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    answer = estimate(slack, "Checkout redesign: API; UI in days <@UANA> <@UBO> <@UCY>")
    assert "E-1" in answer
    settle(slack)
    [post] = round_posts(emulator)
    text = all_text(post.args)
    assert "Checkout redesign" in text and "API" in text and "UI" in text
    actions = [
        e["action_id"] for b in post.args["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert {Action.ESTIMATE_ADD, Action.ESTIMATE_REVEAL, Action.ESTIMATE_CANCEL} <= set(actions)
    row = round_row(adr)
    assert (row["state"], row["unit"], row["facilitator_id"]) == ("open", "days", FAC)
    assert row["message_ts"] == post.args.get("ts") or row["message_ts"]

    for person, (best, likely, worst, marker) in list(ESTIMATORS.items())[:2]:
        view = open_form(slack, 1, person)
        reply = submit(
            slack, view, values(best, likely, worst, tasks=2, assumptions=marker), person
        )
        assert reply.status == 200 and reply.text == "", reply.text
    settle(slack)
    # the message says who estimated, never what
    update = emulator.calls("chat.update")[-1]
    shown = all_text(update.args)
    assert "<@UANA>" in shown and "<@UBO>" in shown
    assert round_row(adr)["state"] == "open"

    # the third invited person completes the round: it reveals itself
    best, likely, worst, marker = ESTIMATORS["UCY"]
    view = open_form(slack, 1, "UCY")
    settle(slack)
    before_reveal = len(emulator.calls())  # every call so far happened before the reveal
    submit(slack, view, values(best, likely, worst, tasks=2, assumptions=marker), "UCY")
    settle(slack)
    row = round_row(adr)
    assert row["state"] == "revealed" and row["revealed_by"] is None
    result = json.loads(row["result"])
    assert 0 < result["p50"] <= result["p90"]

    # blindness: before the reveal committed, no call anyone else could see carried a value
    for call in emulator.calls()[:before_reveal]:
        for person, (best, likely, worst, marker) in ESTIMATORS.items():
            if not seen_by_others(call, person):
                continue
            body = all_text(call.args)
            assert marker not in body, (call.method, person)
            for number in (best, likely, worst):
                assert not re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", body), (
                    call.method,
                    person,
                    number,
                )

    # after the reveal: figures on the message, everyone's ranges in the thread, the chart
    final = emulator.calls("chat.update")[-1]
    assert "Plan for" in all_text(final.args) and "(90%)" in all_text(final.args)
    thread = [
        c
        for c in emulator.calls("chat.postMessage")
        if c.args.get("thread_ts") == row["message_ts"]
    ]
    details = "\n".join(all_text(c.args) for c in thread)
    for _person, (_b, _l, _w, marker) in ESTIMATORS.items():
        assert marker in details
    [chart] = emulator.uploaded_files()
    assert chart["data"].startswith(b"\x89PNG") and chart["thread_ts"] == row["message_ts"]
    # each estimator got a private confirmation of their own numbers, once
    for person, (_b, likely, _w, _m) in ESTIMATORS.items():
        dms = [c for c in emulator.calls("chat.postMessage") if c.args.get("channel") == person]
        assert len(dms) == 1 and likely in all_text(dms[0].args), person

    # a second reveal, a late estimate, a non-facilitator: clear answers, nothing changes
    assert "revealed already" in estimate(slack, "reveal E-1")
    late = slack.click(Action.ESTIMATE_ADD, "1", user="UDAN")
    assert "revealed" in all_text(late.json() or {}) or emulator.wait_for(
        "response_url", where=lambda c: "revealed" in all_text(c.args)
    )
    assert adr.count("estimates") == 3
    slack.finish()
    assert len(emulator.uploaded_files()) == 1  # computed and shown once


def test_bad_input_gets_inline_errors_and_one_record_per_submit(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
):
    estimate(slack, "API cache in hours")
    settle(slack)
    view = open_form(slack, 1, "UANA")
    cases = [
        (values("5", "3", "8"), {"t0_best", "t0_likely"}),  # best > likely
        (values("x", "3", "8"), {"t0_best"}),  # not a number
        (values("1", "2", "-4"), {"t0_worst"}),  # negative
        (values("1", "2", "3pt"), {"t0_worst"}),  # points on a time round
        (values("1", "2", "999999"), {"t0_worst"}),  # not a sane size
        (values("1", "2", "3", confidence=None), {EstimateField.CONFIDENCE}),
        (values("1", "2", "3", familiarity=None), {EstimateField.FAMILIARITY}),
    ]
    for filled, blocks in cases:
        reply = submit(slack, view, filled, "UANA")
        body = reply.json()
        assert body["response_action"] == "errors" and set(body["errors"]) & blocks, (filled, body)
        assert all(body["errors"].values())  # each a sentence
    assert adr.count("estimates") == 0
    # a valid one, submitted twice on the same modal (Slack allows it): recorded once
    ok = values("1d", "12", "3d", confidence="90", familiarity="new")
    assert submit(slack, view, ok, "UANA").text == ""
    assert submit(slack, view, ok, "UANA").text == ""
    [row] = adr.rows("SELECT * FROM estimates")
    assert json.loads(row["ranges"]) == [[8.0, 12.0, 24.0]]  # days -> hours (8 h a day)
    assert (row["confidence"], row["familiarity"]) == (90, "new")
    # changing it before the reveal replaces it
    view = open_form(slack, 1, "UANA")
    assert submit(slack, view, values("2", "3", "4"), "UANA").text == ""
    [row] = adr.rows("SELECT * FROM estimates")
    assert json.loads(row["ranges"]) == [[2.0, 3.0, 4.0]]
    # only the facilitator reveals or cancels
    refused = slack.click(Action.ESTIMATE_REVEAL, "1", user="UANA")
    assert "Only the facilitator" in all_text(refused.json() or {}) or emulator.wait_for(
        "response_url", where=lambda c: "Only the facilitator" in all_text(c.args)
    )
    assert "Only the facilitator" in estimate(slack, "cancel E-1", user="UANA")
    assert round_row(adr)["state"] == "open"
    assert "cancelled" in estimate(slack, "cancel E-1")
    assert round_row(adr)["state"] == "cancelled"
    assert "cancelled" in estimate(slack, "cancel E-1")  # twice: says so, changes nothing


def test_the_deadline_reveals_once_and_reminds_once_even_when_run_late_and_twice(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    emulator.set_user(FAC, tz="Europe/Berlin")
    answer = estimate(slack, "Search reindex by tomorrow 15:00 <@UANA> <@UBO>")
    assert "E-1" in answer
    row = round_row(adr)
    deadline = row["deadline_at"]
    assert deadline is not None
    if isinstance(deadline, str):  # SQLite hands back text
        deadline = datetime.fromisoformat(deadline)
    view = open_form(slack, 1, "UANA")
    submit(slack, view, values("1", "2", "4"), "UANA")
    settle(slack)
    deadline = deadline if deadline.tzinfo else deadline.replace(tzinfo=utcnow().tzinfo)

    # the reminder falls before the deadline: Bo (not Ana) is DMed, once, even swept twice
    sweep(slack, db, deadline - timedelta(minutes=1))
    sweep(slack, db, deadline - timedelta(minutes=1))
    bo = [c for c in emulator.calls("chat.postMessage") if c.args.get("channel") == "UBO"]
    assert len(bo) == 1 and "E-1" in all_text(bo[0].args)
    assert not [
        c
        for c in emulator.calls("chat.postMessage")
        if c.args.get("channel") == "UANA" and "remind" in all_text(c.args).lower()
    ]
    # after downtime the deadline reveal happens once, late
    sweep(slack, db, deadline + timedelta(days=2))
    sweep(slack, db, deadline + timedelta(days=2))
    row = round_row(adr)
    assert row["state"] == "revealed" and row["revealed_by"] is None
    assert len([c for c in emulator.calls("chat.update") if "Plan for" in all_text(c.args)]) >= 1
    assert len(emulator.uploaded_files()) == 1
    assert adr.count("estimate_events") == adr.count("estimate_events")  # history is kept
    [revealed] = adr.rows("SELECT count(*) AS n FROM estimate_events WHERE kind = 'revealed'")
    assert revealed["n"] == 1


def test_a_round_not_revealed_in_14_days_expires_saying_so(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    estimate(slack, "Old idea")
    settle(slack)
    sweep(slack, db, utcnow() + timedelta(days=14, minutes=1))
    row = round_row(adr)
    assert row["state"] == "expired"
    assert "expired" in all_text(emulator.calls("chat.update")[-1].args).lower()
    assert "expired" in estimate(slack, "reveal E-1") or "nothing to reveal" in estimate(
        slack, "reveal E-1"
    )


def test_actuals_and_calibration(adr: Adr, slack: SlackDriver, emulator: SlackEmulator):
    for n in range(1, 5):
        estimate(slack, f"Job {n} in days")
        settle(slack)
        view = open_form(slack, n, "UANA")
        submit(slack, view, values("2", "3", "4", confidence="90"), "UANA")
        assert "Revealing" in estimate(slack, f"reveal E-{n}")
        settle(slack)
        if n < 4:  # fewer than 3 actuals so far
            assert "not enough" in estimate(slack, "calibration <@UANA>").lower()
        actual = "3" if n % 2 else "9"  # inside, outside, inside, outside
        assert "Recorded" in estimate(slack, f"actual E-{n} {actual}d")
    assert round_row(adr, 2)["actual"] == 9.0
    said = estimate(slack, "calibration <@UANA>")
    assert "2 of 4" in said, said
    # bad actuals are explained
    assert "E-9" in estimate(slack, "actual E-9 3d")
    assert "bananas" in estimate(slack, "actual E-1 3 bananas")
    assert round_row(adr, 1)["actual"] == 3.0  # unchanged


def test_private_channel_rounds_are_not_shown_elsewhere_and_rounds_link_decisions(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
):
    emulator.set_channel("CPRIV", is_private=True)
    estimate(slack, "Secret migration", channel="CPRIV")
    estimate(slack, "Public thing")
    settle(slack)
    assert round_row(adr, 1)["channel_private"] and not round_row(adr, 2)["channel_private"]
    listed = estimate(slack, "list", user="UCAROL")
    assert "E-2" in listed and "E-1" not in listed and "Secret" not in listed
    assert "doesn't exist" in estimate(slack, "show E-1", user="UCAROL")
    assert "Secret migration" in estimate(slack, "show E-1", user="UCAROL", channel="CPRIV")

    # a round names the decision it informs; the decision's message shows it
    adr.new("Move to Postgres", user=FAC)
    assert "E-3" in estimate(slack, "ADR-1 Migration effort in weeks")
    emulator.wait_for("chat.postMessage", where=lambda c: "E-3" in all_text(c.args))
    assert "E-3" in adr.show(1)
    # workspace isolation: another workspace has its own E-1
    other = ephemeral(slack.command("show E-2", command="/estimate", user=FAC, team="TBBB"))
    assert "doesn't exist" in other


def test_estimate_this_starts_a_round_in_the_message_thread(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
):
    reply = slack.message_shortcut(
        "estimate.message", text="Can we add SSO to the admin panel? <!channel>", user=FAC
    )
    assert reply.status == 200
    settle(slack)
    row = round_row(adr)
    assert row["thread_ts"] == "1700000001.000100" and row["facilitator_id"] == FAC
    [post] = [
        c
        for c in emulator.calls("chat.postMessage")
        if c.args.get("thread_ts") == "1700000001.000100"
    ]
    assert "SSO" in all_text(post.args)
    assert unescaped_markup(post.args) == []  # user text is escaped where Slack parses it


def test_review_findings_far_deadline_reestimate_once_and_private_rounds_stay_private(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    # a deadline three weeks out: the round expires after it, not before (14 days)
    far = (utcnow() + timedelta(days=21)).date().isoformat()
    assert "E-1" in estimate(slack, f"Big migration by {far} 15:00")
    [expire] = adr.rows("SELECT due_at FROM due_work WHERE kind = 'estimate.expire'")
    [deadline] = adr.rows("SELECT due_at FROM due_work WHERE kind = 'estimate.deadline'")
    parse = lambda v: v if not isinstance(v, str) else datetime.fromisoformat(v)  # noqa: E731
    assert parse(expire["due_at"]) > parse(deadline["due_at"])

    # Re-estimate, clicked twice: one new round
    settle(slack)
    view = open_form(slack, 1, "UANA")
    submit(slack, view, values("1", "2", "3"), "UANA")
    assert "Revealing" in estimate(slack, "reveal E-1")
    settle(slack)
    for _ in range(2):
        assert slack.click(Action.ESTIMATE_AGAIN, "1", user=FAC).status == 200
    settle(slack)
    again = adr.rows("SELECT number FROM estimate_rounds WHERE previous_round_id IS NOT NULL")
    assert [r["number"] for r in again] == [2]

    # a private channel's round never shows its figures on a public decision
    adr.new("Public plan", user=FAC)  # ADR-1 in CGENERAL
    emulator.set_channel("CPRIV", is_private=True)
    assert "E-3" in estimate(slack, "ADR-1 Secret sizing", channel="CPRIV")
    settle(slack)
    view = open_form(slack, 3, "UANA", channel="CPRIV")
    submit(slack, view, values("1", "2", "3"), "UANA")
    assert "Revealing" in estimate(slack, "reveal E-3", channel="CPRIV")
    settle(slack)
    assert "E-3" not in adr.show(1, user="UCAROL")
    decision_updates = [
        c for c in emulator.calls("chat.update") if "Public plan" in all_text(c.args)
    ]
    assert all("E-3" not in all_text(c.args) for c in decision_updates)
