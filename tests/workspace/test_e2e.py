"""`/adr settings` end to end over signed HTTP, on SQLite and Postgres: the workspace's time zone,
review hour and nudges, refused with a sentence when out of range; reviews scheduled from then
on use them."""

from __future__ import annotations

from bot.core.dates import review_instant
from storage.models import WorkspaceSettings
from tests.support.delivery import aware, next_weekday
from tests.support.reviews import BERLIN, new_decision, reviews


def test_settings_time_zone_and_hour(adr, slack, emulator, db):
    emulator.set_user("UALICE", is_admin=True)  # only admins change the settings
    emulator.set_user("UBOB", tz="America/New_York")
    shown = adr.run("settings")
    assert "10:00" in shown and "deciders' own" in shown

    assert "Saved" in adr.run("settings timezone Europe/Berlin")
    assert "Saved" in adr.run("settings hour 9")
    with db.read() as s:
        stored = s.get(WorkspaceSettings, "TAAA")
    assert (stored.timezone, stored.review_hour) == (BERLIN, 9)
    shown = adr.run("settings")
    assert "09:00" in shown and BERLIN in shown

    bad_zone = adr.run("settings timezone Mars/Olympus_Mons")
    assert "I don't know the time zone 'Mars/Olympus_Mons'" in bad_zone
    assert "Europe/Berlin" in bad_zone  # an example of what works
    for bad in ("hour 24", "hour nine", "hour -1"):
        text = adr.run(f"settings {bad}")
        assert "0 to 23" in text, text
    assert "1 to 30" in adr.run("settings nudge 0")
    assert "Saved" not in adr.run("settings colour blue")
    with db.read() as s:
        stored = s.get(WorkspaceSettings, "TAAA")
    assert (stored.timezone, stored.review_hour, stored.nudge_after_days) == (BERLIN, 9, 3)
    assert "Saved" in adr.run("settings nudge 5")
    with db.read() as s:
        assert s.get(WorkspaceSettings, "TAAA").nudge_after_days == 5

    # reviews scheduled from now on use the workspace zone and hour, not the decider's zone
    day = next_weekday(1)
    number = new_decision(adr, review_date=day)
    [r] = reviews(db, number)
    assert r.timezone == BERLIN
    assert aware(r.due_at) == review_instant(day, tz=BERLIN, hour=9)

    assert "Saved" in adr.run("settings timezone auto")
    with db.read() as s:
        assert s.get(WorkspaceSettings, "TAAA").timezone is None
