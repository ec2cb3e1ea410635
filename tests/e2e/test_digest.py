"""The weekly digest end to end over signed HTTP, on SQLite and Postgres: `/adr digest` and its
modal, the week's digest sent once at the right instant across a clock change, catch-up after
an outage, private channels, a digest that can't be posted, preview, off/on, escaping and
Block Kit limits with 500 decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from bot.ids import DigestField
from storage.db import Database
from storage.models import Decision
from tests.e2e.adr import Adr, all_text, ephemeral, unescaped_markup
from tests.e2e.test_reviews import settle, sweep
from tests.harness import SlackDriver
from tests.slack_emulator import Call, SlackEmulator

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
    due = as_utc(first["due_at"])
    assert due.weekday() == 0 and due.hour == 8 and due.minute == 0  # 09:00 CET is 08:00 UTC
    assert first["key"].startswith(f"digest:{sub['id']}:")
    [confirmation] = emulator.wait_for("chat.postEphemeral")
    assert "Europe/Berlin" in confirmation.args["text"]

    # The bot is down from that Monday until Monday 22 March 2027 (still winter time).
    monday_winter = datetime(2027, 3, 22, 8, 0, tzinfo=UTC)
    sweep(slack, db, monday_winter)
    [late] = digests(emulator)
    assert "Late" in all_text(late.args)
    # Next: Monday 29 March, after the clock went forward on the 28th: 09:00 CEST = 07:00 UTC.
    [nxt] = pending(adr, sub["id"])
    assert as_utc(nxt["due_at"]) == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)

    number = adr.new("Adopt trunk-based development")
    dated(db, number, datetime(2027, 3, 24, 12, 0, tzinfo=UTC))
    old = adr.new("Keep the monolith")
    dated(db, old, datetime(2027, 3, 10, 12, 0, tzinfo=UTC))  # before this week

    sweep(slack, db, datetime(2027, 3, 29, 6, 59, 59, tzinfo=UTC))
    assert len(digests(emulator)) == 1  # a second early: nothing
    sweep(slack, db, datetime(2027, 3, 29, 7, 0, tzinfo=UTC))
    [_, weekly] = digests(emulator)
    text = all_text(weekly.args)
    assert f"ADR-{number}" in text and "Adopt trunk-based development" in text
    [recorded] = [b for b in weekly.args["blocks"] if "Decisions recorded" in all_text(b)]
    assert "Adopt trunk-based development" in all_text(recorded)
    assert "Keep the monolith" not in all_text(recorded)  # recorded before this week
    assert "Late" not in text
    sweep(slack, db, datetime(2027, 3, 29, 7, 0, tzinfo=UTC))
    sweep(slack, db, datetime(2027, 3, 29, 9, 0, tzinfo=UTC))
    assert len(digests(emulator)) == 2  # run-due again sends nothing
    [after] = pending(adr, sub["id"])
    assert as_utc(after["due_at"]) == datetime(2027, 4, 5, 7, 0, tzinfo=UTC)
    assert adr.count("due_work") == len(adr.rows("SELECT DISTINCT key FROM due_work"))


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
