"""`/adr stats`'s charts end to end over signed HTTP, on SQLite and Postgres: one outbox row per
ask, the PNGs in the asker's DM once (a replayed command and a later sweep send nothing more),
drawn from the figures the answer gave (the row's payload, read back here and checked against
the hand-built history month by month), private decisions left out as the stats leave them;
and the App Home's calibration chart for someone with scored forecasts, none for someone
without.

The history is test_e2e_stats's (``_history``: #general's last 90 days, a private decision in
#priv, a public one in #other); the months below are worked out from the same instants.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text

from bot.features.health.charts import ChartData, stats_charts
from storage.forecasts import CalibrationBin
from storage.health_series import MonthFigures
from storage.models import Outcome, utcnow
from tests.e2e.test_replayed_commands import SignedCommand
from tests.health.test_e2e_stats import (
    ASKER,
    ASKERS_OWN,
    DAY,
    GENERAL_90D,
    PRIVATE,
    PUBLIC,
    _history,
)
from tests.support.adr import Adr, all_text
from tests.support.delivery import settle, sweep

PNG = b"\x89PNG\r\n\x1a\n"


def _month(at: datetime) -> str:
    return f"{at:%Y-%m}"


def _expected(
    now: datetime,
    accepted: list[tuple[int, int | None, bool]],
    answered: list[tuple[int, str]],
) -> list[MonthFigures]:
    """The months of the 90 days before ``now``: ``accepted`` as (days ago, lead in days or
    None when recorded as accepted, reversed), ``answered`` as (days ago, outcome). The median
    is the nearest rank: of two, the lower."""
    months: list[str] = []
    day = now - 90 * DAY
    while day <= now:
        if _month(day) not in months:
            months.append(_month(day))
        day += DAY
    figures = []
    for m in months:
        these = [a for a in accepted if _month(now - a[0] * DAY) == m]
        leads = sorted(lead for _, lead, _ in these if lead is not None)
        mix = {o.value: 0 for o in Outcome}
        for ago, outcome in answered:
            if _month(now - ago * DAY) == m:
                mix[outcome] += 1
        figures.append(
            MonthFigures(
                month=m,
                lead_median=leads[math.ceil(len(leads) / 2) - 1] * DAY if leads else None,
                lead_decisions=len(leads),
                accepted=len(these),
                reversed_=sum(1 for *_, reversed_ in these if reversed_),
                outcomes=mix,
            )
        )
    return figures


def _charts_rows(adr: Adr) -> list[dict[str, Any]]:
    return adr.rows("SELECT key, lane, state, payload FROM due_work WHERE kind = 'health.charts'")


def test_stats_sends_its_charts_to_the_askers_dm_once_from_its_own_figures(
    adr: Adr, slack, emulator
) -> None:
    now = _history(adr)
    replayed = SignedCommand(slack, "stats", command="/adr", user=ASKER, channel=PUBLIC)
    answers = replayed.send_three_times()
    # every copy got the stats' answer, and one charts row was written
    assert all(a.startswith(":bar_chart: *Decisions in <#CGENERAL>") for a in answers), answers
    [row] = _charts_rows(adr)
    assert row["key"].startswith("charts:replayed.") and row["lane"].endswith(ASKER)
    settle(slack)

    # the figures drawn: #general's 90 days, month by month (ADR-1 accepted 78 days ago in 2
    # days; ADR-2 55 days ago in 5, reversed; ADR-3 recorded accepted 40 days ago; ADR-4 17
    # days ago in 3, reversed; reviews answered 31 days ago (worked) and 17 (didn't work));
    # the asker's own calibration (75%, came true), no team's (3 forecasters)
    payload = json.loads(row["payload"])
    assert payload["user"] == ASKER and payload["channel"] == PUBLIC and payload["period"] == "90d"
    data = ChartData.from_payload(payload)
    assert list(data.months) == _expected(
        now,
        accepted=[(78, 2, False), (55, 5, True), (40, None, False), (17, 3, True)],
        answered=[(31, Outcome.WORKED.value), (17, Outcome.DIDNT_WORK.value)],
    )
    assert data.own == (CalibrationBin(75, 1, 1.0),) and data.team is None
    # ... which add up to what the answer said
    assert sum(m.accepted for m in data.months) == 4
    assert sum(m.reversed_ for m in data.months) == 2
    assert sum(m.outcomes["worked"] for m in data.months) == 1
    assert GENERAL_90D[2].startswith("• *Reversed:* 2 of 4")

    # the DM got the four PNGs once, in one message, each with its figures as alt text
    emulator.wait_for("files.completeUploadExternal")
    files = emulator.uploaded_files()
    assert [f["filename"] for f in files] == [
        "calibration.png",
        "lead-time.png",
        "outcomes.png",
        "reversals.png",
    ]
    assert {f["channel_id"] for f in files} == {"D" + ASKER[1:]}
    assert all(f["data"].startswith(PNG) for f in files)
    assert [f["alt_txt"] for f in files] == [c.alt_text for c in stats_charts(data)]
    assert files[0]["alt_txt"] == "Your calibration: 75%: 100% came true of 1 forecast."
    assert files[0]["initial_comment"] == "Charts for <#CGENERAL>, last 90 days."
    # a later sweep (a second delivery attempt) sends nothing more
    sweep(slack, adr.db, utcnow() + timedelta(hours=2))
    assert len(emulator.calls("files.completeUploadExternal")) == 1
    assert [r["state"] for r in _charts_rows(adr)] == ["done"]

    # asking again is a new ask: a second row, a second message
    adr.slack.command("stats", user=ASKER, channel=PUBLIC, team="TAAA")
    settle(slack)
    assert len(_charts_rows(adr)) == 2
    emulator.wait_for("files.completeUploadExternal", count=2)


def test_private_decisions_are_left_out_as_the_stats_leave_them_out(
    adr: Adr, slack, emulator
) -> None:
    _history(adr)
    # the workspace from #general: #priv's decision (accepted 4 days ago in 1 day) is not
    # drawn, though the asker wrote it
    adr.slack.command("stats workspace", user=ASKER, channel=PUBLIC, team="TAAA")
    [row] = _charts_rows(adr)
    outside = ChartData.from_payload(json.loads(row["payload"]))
    assert sum(m.accepted for m in outside.months) == 4
    assert DAY not in {m.lead_median for m in outside.months}
    # from inside #priv it is
    adr.slack.command("stats", user=ASKER, channel=PRIVATE, team="TAAA")
    inside = [
        ChartData.from_payload(json.loads(r["payload"]))
        for r in _charts_rows(adr)
        if json.loads(r["payload"])["channel"] == PRIVATE
    ]
    [months] = [d.months for d in inside]
    assert [(m.lead_median, m.accepted) for m in months if m.accepted] == [(DAY, 1)]
    settle(slack)


def test_nothing_to_draw_sends_nothing(adr: Adr, slack, emulator) -> None:
    adr.slack.command("stats", user="UNEW", channel=PUBLIC, team="TAAA")
    settle(slack)
    assert _charts_rows(adr) == [] and emulator.uploaded_files() == []


def _home(slack, emulator, user: str, event_id: str) -> list[dict[str, Any]]:
    event = {"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home"}
    assert slack.event(event, event_id=event_id).status == 200
    [publish] = emulator.wait_for("views.publish", where=lambda c: c.args["user_id"] == user)
    return list(publish.args["view"]["blocks"])


def test_the_app_home_shows_the_persons_own_calibration_chart(adr: Adr, slack, emulator) -> None:
    _history(adr)
    blocks = _home(slack, emulator, ASKER, "EvCHART1")
    [image] = [b for b in blocks if b["type"] == "image"]
    [file] = emulator.uploaded_files()
    # the bot's own file, shared nowhere, shown by id; its figures are the asker's alone
    assert image["slack_file"] == {"id": file["id"]} and file["channel_id"] is None
    assert file["data"].startswith(PNG) and file["filename"] == "calibration.png"
    assert (
        image["alt_text"]
        == file["alt_txt"]
        == ("Your calibration: 75%: 100% came true of 1 forecast.")
    )
    assert "Your calibration" in all_text(blocks)
    assert ASKERS_OWN.endswith("75% → 100% came true (1) · Brier 0.06")
    # someone whose forecasts were never scored: no chart, nothing uploaded
    blocks = _home(slack, emulator, "UNEW", "EvCHART2")
    assert [b for b in blocks if b["type"] == "image"] == []
    assert len(emulator.uploaded_files()) == 1
    settle(slack)
    # both Homes were accepted as published (the emulator checks image blocks as Slack does)
    assert {
        r["state"] for r in adr.rows("SELECT state FROM due_work WHERE kind = 'home.publish'")
    } == {"done"}


def _home_again(slack, emulator, user: str, event_id: str) -> list[dict[str, Any]]:
    """The Home published once more for ``user``: the blocks of that newest publish."""
    before = len(emulator.calls("views.publish"))
    event = {"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home"}
    assert slack.event(event, event_id=event_id).status == 200
    published = emulator.wait_for("views.publish", count=before + 1)
    return list(published[-1].args["view"]["blocks"])


def test_the_home_chart_reuses_its_file_until_the_figures_change(adr: Adr, slack, emulator) -> None:
    _history(adr)
    first = _home_again(slack, emulator, ASKER, "EvREUSE1")
    [file] = emulator.uploaded_files()
    # opened again with the same figures: the same file, nothing uploaded
    again = _home_again(slack, emulator, ASKER, "EvREUSE2")
    assert [b["slack_file"] for b in again if b["type"] == "image"] == [{"id": file["id"]}]
    assert len(emulator.uploaded_files()) == 1
    assert [b for b in first if b["type"] == "image"] == [b for b in again if b["type"] == "image"]
    # the figures change (the scored forecast read 90% instead): a new file, then kept
    with adr.db.session() as s:
        s.execute(
            text("UPDATE forecasts SET probability = 90 WHERE user_id = :u AND state = 'scored'"),
            {"u": ASKER},
        )
    changed = _home_again(slack, emulator, ASKER, "EvREUSE3")
    files = emulator.uploaded_files()
    assert len(files) == 2 and files[-1]["alt_txt"].startswith("Your calibration: 90%")
    assert [b["slack_file"] for b in changed if b["type"] == "image"] == [{"id": files[-1]["id"]}]
    assert adr.rows("SELECT file_id FROM home_charts WHERE user_id = :u", u=ASKER) == [
        {"file_id": files[-1]["id"]}
    ]
