"""The weekly digest end to end over signed HTTP, on SQLite and Postgres: `/adr digest` and its
modal, the week's digest sent once at the right instant across a clock change, catch-up after
an outage, private channels, a digest that can't be posted, preview, off/on, escaping and
Block Kit limits with 500 decisions."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlmodel import select

from bot.core.ids import DigestField
from storage.db import Database
from storage.digest_subscriptions import week_key
from storage.models import Decision, DigestSubscription
from tests.support.adr import Adr, all_text, ephemeral, unescaped_markup
from tests.support.delivery import settle, sweep
from tests.support.harness import SlackDriver
from tests.support.slack_emulator import Call, SlackEmulator

BERLIN = "Europe/Berlin"


def configure(
    slack: SlackDriver,
    channel: str = "CGENERAL",
    values: dict[str, Any] | None = None,
    *,
    user: str = "UALICE",
) -> Any:
    before = slack.views_opened()
    reply = slack.command("digest", user=user, channel=channel)
    assert reply.status == 200 and reply.text == "", reply.text
    view = slack.opened_view(after=before)
    slack.listeners_done()  # after opening the form the bot looks the channel up
    return slack.submit(view, values or {}, user=user), view


def subscription(adr: Adr, channel: str = "CGENERAL") -> dict[str, Any]:
    [row] = adr.rows(
        "SELECT * FROM digest_subscriptions WHERE team_id = 'TAAA' AND channel_id = :c", c=channel
    )
    return row


def pending(adr: Adr, sub_id: int) -> list[dict[str, Any]]:
    return adr.rows(
        "SELECT key, due_at FROM due_work WHERE kind = 'digest.send' AND subject_id = :s "
        "AND state = 'pending' ORDER BY due_at",
        s=sub_id,
    )


def as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def digests(emulator: SlackEmulator, channel: str | None = None) -> list[Call]:
    return [
        c
        for c in emulator.calls("chat.postMessage")
        if (c.response or {}).get("ok")
        and "Weekly digest" in all_text(c.args)
        and (channel is None or c.args["channel"] == channel)
    ]


def dated(db: Database, number: int, when: datetime, team: str = "TAAA") -> None:
    """Move ADR-n's recording time (the tests do not depend on today's date)."""
    with db.session() as session:
        decision = session.exec(
            select(Decision).where(Decision.team_id == team, Decision.number == number)
        ).one()
        decision.created_at = when
        session.add(decision)


def clock_change_after(tz: str, after: datetime) -> datetime:
    """The first instant after ``after`` at which ``tz``'s UTC offset changes."""
    zone = ZoneInfo(tz)
    hour = after.replace(minute=0, second=0, microsecond=0)
    offset = hour.astimezone(zone).utcoffset()
    while hour.astimezone(zone).utcoffset() == offset:
        hour += timedelta(hours=1)
    return hour


def monday_0900(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def due_then(adr: Adr, sub_id: int, when: datetime) -> None:
    """Make the subscription's pending digest due at ``when`` (as if set up the week before),
    keyed by that week as the bot would have: the test does not depend on today's date."""
    with adr.db.session() as session:
        sub = session.get(DigestSubscription, sub_id)
        assert sub is not None
        session.execute(
            text(
                "UPDATE due_work SET due_at = :at, payload = :p, key = :k "
                "WHERE kind = 'digest.send' AND subject_id = :s AND state = 'pending'"
            ),
            {
                "at": when,
                "p": json.dumps({"at": when.isoformat()}),
                "k": week_key(sub, when),
                "s": sub_id,
            },
        )


def test_monday_0900_berlin_fires_at_the_right_instant_across_the_clock_change_once(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    emulator.set_user("UALICE", tz=BERLIN)
    reply, view = configure(slack, values={DigestField.QUIET: "line"})
    tz_block = next(b for b in view["blocks"] if b.get("block_id") == DigestField.TIMEZONE)
    assert tz_block["element"]["initial_value"] == BERLIN  # the person's own Slack zone
    assert reply.text == ""
    sub = subscription(adr)
    assert (sub["weekday"], sub["hour"], sub["minute"], sub["timezone"]) == (0, 9, 0, BERLIN)
    assert sub["configured_by"] == "UALICE"
    [first] = pending(adr, sub["id"])
    local = as_utc(first["due_at"]).astimezone(ZoneInfo(BERLIN))
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
    [confirmation] = emulator.wait_for("chat.postEphemeral")
    assert "Europe/Berlin" in confirmation.args["text"]

    # The Mondays either side of Berlin's next clock change (in spring 09:00 goes from 08:00
    # to 07:00 UTC, in autumn the other way).
    change = clock_change_after(BERLIN, as_utc(first["due_at"]) + timedelta(days=8))
    sunday = change.astimezone(ZoneInfo(BERLIN)).date()
    assert sunday.weekday() == 6  # Europe changes clocks on Sundays
    before, after = (
        monday_0900(sunday - timedelta(days=6), BERLIN),
        monday_0900(sunday + timedelta(days=1), BERLIN),
    )
    assert after - before != timedelta(days=7)  # 167 or 169 hours
    due_then(adr, sub["id"], before)
    sweep(slack, db, before)
    [on_time] = digests(emulator)
    assert "Late" not in all_text(on_time.args)
    [nxt] = pending(adr, sub["id"])
    assert as_utc(nxt["due_at"]) == after

    inside = adr.new("Adopt trunk-based development")
    dated(db, inside, before + timedelta(minutes=30))  # just after the previous digest
    earlier = adr.new("Keep the monolith")
    dated(db, earlier, before - timedelta(minutes=30))  # in the previous digest's week
    sweep(slack, db, after - timedelta(seconds=1))
    assert len(digests(emulator)) == 1  # a second early: nothing
    sweep(slack, db, after)
    [_, weekly] = digests(emulator)
    text_ = all_text(weekly.args)
    assert "Late" not in text_
    [recorded] = [b for b in weekly.args["blocks"] if "Decisions recorded" in all_text(b)]
    assert f"ADR-{inside}" in all_text(recorded)
    assert "Adopt trunk-based development" in all_text(recorded)
    assert "Keep the monolith" not in all_text(recorded)
    sweep(slack, db, after)
    sweep(slack, db, after + timedelta(hours=2))
    assert len(digests(emulator)) == 2  # run-due again sends nothing
    [following] = pending(adr, sub["id"])
    assert as_utc(following["due_at"]) == after + timedelta(days=7)


def test_after_a_two_week_outage_each_subscription_sends_one_late_digest(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    emulator.set_user("UALICE", tz=BERLIN)
    configure(slack, "CGENERAL", {DigestField.QUIET: "line"})
    configure(slack, "CDESIGN", {DigestField.QUIET: "line", DigestField.TIMEZONE: "UTC"})
    general, design = subscription(adr, "CGENERAL"), subscription(adr, "CDESIGN")
    first = min(as_utc(pending(adr, s["id"])[0]["due_at"]) for s in (general, design))
    outage_over = first + timedelta(days=14, hours=3)
    sweep(slack, db, outage_over)
    sent = digests(emulator)
    assert sorted(c.args["channel"] for c in sent) == ["CDESIGN", "CGENERAL"]
    assert all("Late" in all_text(c.args) for c in sent)
    for sub in (general, design):
        [nxt] = pending(adr, sub["id"])
        assert as_utc(nxt["due_at"]) > outage_over  # the chain carries on from now
    sweep(slack, db, outage_over)
    sweep(slack, db, outage_over + timedelta(hours=1))
    assert len(digests(emulator)) == 2


def test_private_channel_decisions_are_absent_from_every_digest_posted_elsewhere(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    emulator.set_channel("CSECRET", is_private=True)
    secret = adr.new("Acquire Initech", channel="CSECRET")
    public = adr.new("Open-source the SDK", channel="CGENERAL")
    design = adr.new("Use Figma tokens", channel="CDESIGN")
    configure(slack, "CGENERAL", {DigestField.SCOPE: "workspace"})
    configure(slack, "CDESIGN")
    configure(slack, "CSECRET")
    due = max(
        as_utc(pending(adr, subscription(adr, c)["id"])[0]["due_at"])
        for c in ("CGENERAL", "CDESIGN", "CSECRET")
    )
    for number in (secret, public, design):
        dated(db, number, due - timedelta(days=1))
    sweep(slack, db, due)
    by_channel = {c.args["channel"]: all_text(c.args) for c in digests(emulator)}
    assert set(by_channel) == {"CGENERAL", "CDESIGN", "CSECRET"}
    assert "Acquire Initech" in by_channel["CSECRET"]
    for elsewhere in ("CGENERAL", "CDESIGN"):
        assert "Acquire Initech" not in by_channel[elsewhere]
    # the workspace digest covers every public channel; a channel digest only its channel
    assert "Open-source the SDK" in by_channel["CGENERAL"]
    assert "Use Figma tokens" in by_channel["CGENERAL"]
    assert "Open-source the SDK" not in by_channel["CDESIGN"]
    assert "Use Figma tokens" in by_channel["CDESIGN"]


def test_removed_from_the_channel_the_digest_pauses_and_its_owner_is_told_how_to_resume(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    configure(slack, "CGENERAL", {DigestField.QUIET: "line"})
    sub = subscription(adr)
    due = as_utc(pending(adr, sub["id"])[0]["due_at"])
    emulator.set_channel("CGENERAL", is_member=False)
    sweep(slack, db, due)
    assert digests(emulator) == []
    assert subscription(adr)["paused_reason"] == "not_in_channel"
    assert pending(adr, sub["id"]) == []
    [dm] = [c for c in emulator.calls("chat.postMessage") if c.args["channel"] == "UALICE"]
    assert "paused" in dm.args["text"] and "/adr digest on" in dm.args["text"]
    sweep(slack, db, due + timedelta(days=7))
    assert digests(emulator) == []

    emulator.set_channel("CGENERAL", is_member=True)
    assert "is on" in ephemeral(slack.command("digest on"))
    assert subscription(adr)["paused_reason"] is None
    [nxt] = pending(adr, sub["id"])
    sweep(slack, db, as_utc(nxt["due_at"]))
    assert len(digests(emulator, "CGENERAL")) == 1


def test_the_form_refuses_what_it_cannot_save_and_keeps_it_open(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
):
    reply, _ = configure(slack, values={DigestField.TIMEZONE: "Mars/Olympus_Mons"})
    body = reply.json()
    assert body["response_action"] == "errors"
    assert "Mars/Olympus_Mons" in body["errors"][DigestField.TIMEZONE]
    reply, _ = configure(slack, values={DigestField.SECTIONS: []})
    assert DigestField.SECTIONS in reply.json()["errors"]
    assert adr.count("digest_subscriptions") == 0

    # A channel shared with another organisation can't carry the workspace-wide digest.
    emulator.set_channel("CSHARED", is_ext_shared=True)
    slack.event({"type": "channel_shared", "channel": "CSHARED", "connected_team_id": "TOTHER"})
    slack.listeners_done()  # the event is recorded after its ack
    reply, _ = configure(slack, "CSHARED", {DigestField.SCOPE: "workspace"})
    assert "shared with another organisation" in reply.json()["errors"][DigestField.SCOPE]
    reply, _ = configure(slack, "CSHARED")  # its own channel's digest is fine
    assert reply.text == ""
    assert subscription(adr, "CSHARED")["scope"] == "channel"

    assert "in the channel it is for" in ephemeral(slack.command("digest", channel="DALICE"))
    assert "/adr digest preview" in ephemeral(slack.command("digest weekly please"))


def test_off_on_and_saving_twice_keep_one_subscription_and_one_pending_digest(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
):
    assert "no weekly digest" in ephemeral(slack.command("digest off"))
    configure(slack)
    configure(slack, values={DigestField.WEEKDAY: "2", DigestField.TIME: "16:30"})
    sub = subscription(adr)
    assert (sub["weekday"], sub["hour"], sub["minute"]) == (2, 16, 30)
    [row] = pending(adr, sub["id"])
    assert as_utc(row["due_at"]).weekday() in (2, 3)  # Wednesday 16:30 in the default zone
    assert "is off" in ephemeral(slack.command("digest off"))
    assert pending(adr, sub["id"]) == []
    assert subscription(adr)["enabled"] in (False, 0)
    assert "is on" in ephemeral(slack.command("digest on", user="UBOB"))
    assert len(pending(adr, sub["id"])) == 1
    assert subscription(adr)["configured_by"] == "UBOB"  # who changed it is recorded
    assert adr.count("digest_subscriptions") == 1


def test_preview_shows_this_weeks_digest_only_to_the_person_asking(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
):
    adr.new("Ship the beta on Friday")
    answer = ephemeral(slack.command("digest preview"))
    assert "Ship the beta on Friday" in answer and "Preview" in answer
    assert digests(emulator) == []  # nothing posted in the channel


def test_user_text_is_escaped_and_500_decisions_stay_within_block_kit_limits(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    configure(slack)
    sub = subscription(adr)
    due = as_utc(pending(adr, sub["id"])[0]["due_at"])
    with db.session() as session:
        for n in range(1, 501):
            session.add(
                Decision(
                    team_id="TAAA",
                    number=n,
                    title=f"<!channel> *ping* <@U999> decision {n} " + "x" * 150,
                    decision="Because.",
                    channel_id="CGENERAL",
                    channel_private=False,
                    author_id="UALICE",
                    created_at=due - timedelta(hours=1 + n % 100),
                )
            )
    sweep(slack, db, due)
    [digest] = digests(emulator)  # the emulator refuses blocks Slack would refuse
    assert len(digest.args["blocks"]) <= 50
    assert unescaped_markup(digest.args["blocks"]) == []
    assert "more" in all_text(digest.args) and "/adr list" in all_text(digest.args)
    settle(slack)


def test_guests_get_only_this_channel_and_cannot_set_up_the_workspace_digest(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
):
    emulator.set_user("UGUEST", is_restricted=True)
    adr.new("Open-source the SDK", channel="CGENERAL")
    adr.new("Use Figma tokens", channel="CDESIGN")
    configure(slack, "CGENERAL", {DigestField.SCOPE: "workspace"})
    member = ephemeral(slack.command("digest preview"))
    assert "Use Figma tokens" in member and "Open-source the SDK" in member
    guest = ephemeral(slack.command("digest preview", user="UGUEST"))
    assert "Open-source the SDK" in guest
    assert "Use Figma tokens" not in guest  # another channel's decision: not for a guest

    reply, _ = configure(slack, "CGENERAL", {DigestField.SCOPE: "workspace"}, user="UGUEST")
    assert "Guests" in reply.json()["errors"][DigestField.SCOPE]
    assert subscription(adr)["configured_by"] == "UALICE"  # unchanged


def test_a_workspace_digest_is_never_posted_where_slack_cannot_say_the_channel_is_internal(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    design = adr.new("Use Figma tokens", channel="CDESIGN")
    configure(slack, "CGENERAL", {DigestField.SCOPE: "workspace"})
    sub = subscription(adr)
    [row] = pending(adr, sub["id"])
    due = as_utc(row["due_at"])
    dated(db, design, due - timedelta(days=1))

    # Shared since it was set up (the event says so), and Slack fails to answer at send time:
    # what is stored decides, and the digest pauses instead of posting.
    emulator.set_channel("CGENERAL", is_ext_shared=True)
    slack.event({"type": "channel_shared", "channel": "CGENERAL", "connected_team_id": "TX"})
    slack.listeners_done()  # the event is recorded after its ack
    emulator.fail("conversations.info", error="internal_error", times=3)
    sweep(slack, db, due)
    assert digests(emulator) == []
    assert subscription(adr)["paused_reason"] == "shared"

    # Unshared and set up again; nothing stored about the channel and Slack can't answer:
    # the digest waits (retried), and goes out once Slack says the channel is internal.
    emulator.set_channel("CGENERAL", is_ext_shared=False)
    slack.event(
        {"type": "channel_unshared", "channel": "CGENERAL", "previously_connected_team_id": "TX"}
    )
    slack.listeners_done()
    configure(slack, "CGENERAL", {DigestField.SCOPE: "workspace"})
    [row] = pending(adr, sub["id"])
    due = as_utc(row["due_at"])
    dated(db, design, due - timedelta(days=1))
    with db.session() as session:  # as if the bot never learned anything about the channel
        session.execute(text("DELETE FROM channels WHERE channel_id = 'CGENERAL'"))
    emulator.fail("conversations.info", error="internal_error", times=3)
    sweep(slack, db, due)
    emulator.reset_faults()
    assert digests(emulator) == []
    [waiting] = adr.rows(
        "SELECT attempts, last_error FROM due_work WHERE kind = 'digest.send' "
        "AND subject_id = :s AND state = 'pending'",
        s=sub["id"],
    )
    assert waiting["attempts"] == 1 and "ChannelUnknown" in waiting["last_error"]
    sweep(slack, db, due + timedelta(hours=1))
    [sent] = digests(emulator, "CGENERAL")
    assert "Use Figma tokens" in all_text(sent.args)


def test_moving_the_weekday_after_a_digest_went_out_leaves_no_day_out_and_none_twice(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    """Monday's digest went out; the team moves it to Friday. The next digest starts where
    Monday's ended, whichever week that Friday falls in, so nothing is lost between them."""
    now = datetime.now(UTC)
    monday = monday_0900(now.date() - timedelta(days=now.weekday()), "UTC")
    if monday > now:
        monday -= timedelta(days=7)
    before, between = adr.new("Before Monday"), adr.new("Between Monday and Friday")
    configure(slack, "CGENERAL", {DigestField.TIMEZONE: "UTC"})
    sub = subscription(adr)
    due_then(adr, sub["id"], monday)
    dated(db, before, monday - timedelta(hours=1))
    dated(db, between, monday + timedelta(hours=1))
    sweep(slack, db, monday)
    [first] = digests(emulator)
    assert "Before Monday" in all_text(first.args)
    assert "Between Monday and Friday" not in all_text(first.args)
    assert as_utc(subscription(adr)["covered_until"]) == monday

    configure(slack, "CGENERAL", {DigestField.TIMEZONE: "UTC", DigestField.WEEKDAY: "4"})
    [row] = pending(adr, sub["id"])
    friday = as_utc(row["due_at"])
    # Monday's ISO week had its digest: the first Friday after now in another week, which
    # is more than a week after Monday, so a plain "the week before" would miss Monday+1h
    assert friday.weekday() == 4 and friday - monday > timedelta(days=7, hours=1)
    sweep(slack, db, friday)
    [_, second] = digests(emulator)
    assert "Between Monday and Friday" in all_text(second.args)
    assert "Before Monday" not in all_text(second.args)  # Monday's digest had it
    assert as_utc(subscription(adr)["covered_until"]) == friday

    # Turned off and on again: it starts afresh (a week), not from months ago.
    assert "off" in ephemeral(slack.command("digest off"))
    assert "is on" in ephemeral(slack.command("digest on"))
    assert subscription(adr)["covered_until"] is None


def test_the_form_opens_in_the_persons_time_zone_and_looks_the_channel_up_after(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
):
    emulator.set_user("UNEW", tz="America/New_York")
    emulator.set_channel("CFRESH")
    calls_before = len(emulator.calls())
    reply, view = configure(slack, "CFRESH", user="UNEW")
    assert reply.text == ""
    # The workspace's user cache is filled by outbox work (one users.list read) that the
    # dispatcher may deliver at any moment: not part of the request's order.
    methods = [c.method for c in emulator.calls()[calls_before:] if c.method != "users.list"]
    # only the person's lookup comes before the form (its time zone is the form's default);
    # the channel's comes after, on the trigger_id's clock nothing else is spent
    assert methods[:3] == ["users.info", "views.open", "conversations.info"], methods
    assert "America/New_York" in json.dumps(view["blocks"])
    assert subscription(adr, "CFRESH")["timezone"] == "America/New_York"


def test_a_workspace_digest_saved_before_the_channel_is_known_asks_to_save_again(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator
):
    emulator.set_channel("CFRESH")
    emulator.fail("conversations.info", error="internal_error")  # the lookup after opening
    reply, view = configure(slack, "CFRESH", {DigestField.SCOPE: "workspace"})
    error = reply.json()["errors"][DigestField.SCOPE]
    assert "couldn't check yet" in error and "Save again" in error
    assert adr.count("digest_subscriptions") == 0
    slack.listeners_done()  # the submission looked the channel up after its answer
    again = slack.submit(view, {DigestField.SCOPE: "workspace"})
    assert again.text == ""
    assert subscription(adr, "CFRESH")["scope"] == "workspace"


def test_a_week_slack_refuses_for_good_is_not_carried_into_the_next_digest(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    refused, later = adr.new("Refused week"), adr.new("The week after")
    configure(slack, "CGENERAL", {DigestField.TIMEZONE: "UTC"})
    sub = subscription(adr)
    [row] = pending(adr, sub["id"])
    due = as_utc(row["due_at"])
    dated(db, refused, due - timedelta(days=1))
    dated(db, later, due + timedelta(days=1))
    emulator.fail("chat.postMessage", error="msg_too_long")  # permanent: not retried
    sweep(slack, db, due)
    assert digests(emulator) == []
    [failed] = adr.rows(
        "SELECT state FROM due_work WHERE kind = 'digest.send' AND subject_id = :s "
        "AND state <> 'pending'",
        s=sub["id"],
    )
    assert failed["state"] == "failed"
    assert as_utc(subscription(adr)["covered_until"]) == due
    [nxt] = pending(adr, sub["id"])
    sweep(slack, db, as_utc(nxt["due_at"]))
    [sent] = digests(emulator)
    assert "The week after" in all_text(sent.args)
    assert "Refused week" not in all_text(sent.args)


def test_the_health_line_links_to_the_app_home_of_the_app_the_form_was_saved_from(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    number = adr.new("Adopt trunk-based development")
    assert "accepted" in adr.run(f"accept {number}").lower()
    configure(slack, "CGENERAL")
    sub = subscription(adr)
    assert sub["app_id"] == "A0001"  # the Submit's api_app_id
    due = as_utc(pending(adr, sub["id"])[0]["due_at"])
    sweep(slack, db, due)
    [digest] = digests(emulator, "CGENERAL")
    shown = all_text(digest.args)
    assert "Health, last 90 days" in shown
    assert "Your forecasts and calibration: <slack://app?team=TAAA&id=A0001&tab=home|" in shown


def test_a_digest_saved_before_the_app_id_was_kept_names_the_home_tab_without_a_link(
    adr: Adr, slack: SlackDriver, emulator: SlackEmulator, db: Database
):
    number = adr.new("Adopt trunk-based development")
    adr.run(f"accept {number}")
    configure(slack, "CGENERAL")
    sub = subscription(adr)
    with db.session() as session:  # as a subscription saved before migration 0018 is
        session.execute(text("UPDATE digest_subscriptions SET app_id = NULL"))
    sweep(slack, db, as_utc(pending(adr, sub["id"])[0]["due_at"]))
    [digest] = digests(emulator, "CGENERAL")
    shown = all_text(digest.args)
    assert "Your forecasts and calibration: Decision Bot's Home tab" in shown
    assert "slack://app" not in shown
