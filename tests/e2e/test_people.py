"""Who may see and change what (issue 7, items 2-4 and 19), over signed HTTP, on SQLite and
Postgres: guests see a decision only in its channel; settings are for workspace admins and
the people they name; a Slack Connect outsider's stance counts but their own organisation's
admin rights do not; a channel made private takes its decisions with it. Who is who comes
from the user cache (users.list once, user_change / team_join events, users.info after the
ack for anyone unknown)."""

from __future__ import annotations

import json
import time

from bot.core.ids import Action, Field
from tests.support.adr import Adr, all_text, ephemeral, listed_numbers


def _home(slack, emulator, user: str) -> str:
    mine = lambda c: c.args["user_id"] == user  # noqa: E731
    before = len([c for c in emulator.calls("views.publish") if mine(c)])
    slack.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"})
    calls = emulator.wait_for("views.publish", count=before + 1, where=mine)
    return all_text(calls[-1].args["view"])


def _until(condition, what: str, timeout: float = 20.0) -> None:
    """Wait for work the bot does after its ack (event listeners, the outbox)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _cached(adr: Adr, user: str) -> dict | None:
    rows = adr.rows("SELECT * FROM slack_users WHERE team_id = 'TAAA' AND user_id = :u", u=user)
    return rows[0] if rows else None


def test_guests_see_a_decision_only_in_the_channel_it_was_posted_in(adr: Adr, slack, emulator):
    emulator.set_user("UGUEST", is_restricted=True)
    emulator.set_user("USINGLE", is_ultra_restricted=True)
    adr.new("General matters", values={Field.DECIDERS: ["UGUEST"]})  # ADR-1 in CGENERAL
    adr.new("API versioning", channel="CAPI", values={Field.DECIDERS: ["UGUEST"]})  # ADR-2

    for guest in ("UGUEST", "USINGLE"):
        # from CGENERAL: only CGENERAL's decision, though they are a decider on both
        assert listed_numbers(adr.run("list", user=guest)) == [1]
        assert listed_numbers(adr.run("search versioning", user=guest)) == []
        assert "doesn't exist" in adr.run("show 2", user=guest)
        # from CAPI: only CAPI's
        assert listed_numbers(adr.run("list", user=guest, channel="CAPI")) == [2]
        assert "API versioning" in adr.run("show 2", user=guest, channel="CAPI")
        # App Home (no channel) lists none of them
        home = _home(slack, emulator, guest)
        assert "As a guest" in home and "API versioning" not in home and "General" not in home
        # nor can they change it from elsewhere
        assert "doesn't exist" in adr.run("accept 2", user=guest)
    assert adr.decision(2)["status"] == "proposed"
    # a full member sees both from anywhere
    assert listed_numbers(adr.run("list", user="UMEMBER")) == [2, 1]
    assert _cached(adr, "UGUEST")["is_restricted"]
    assert _cached(adr, "USINGLE")["is_ultra_restricted"]


def test_an_unknown_person_is_looked_up_after_the_ack_and_counts_as_a_guest_until_known(
    adr: Adr, slack, emulator
):
    adr.new("General matters")
    adr.new("API versioning", channel="CAPI")
    emulator.set_user("UCAROL")
    # Carol is not in the cache: the command is acked empty at once, and the answer comes
    # through response_url after users.info
    reply = slack.command("list", user="UCAROL", follow=False)
    assert reply.status == 200 and reply.text == ""
    [answer] = emulator.wait_for("response_url", where=lambda c: c.args.get("text") == "Decisions")
    assert listed_numbers(all_text(answer.args)) == [2, 1]  # a full member, as Slack said
    assert answer.args["response_type"] == "ephemeral"
    carol = lambda: [c for c in emulator.calls("users.info") if c.args["user"] == "UCAROL"]  # noqa: E731
    assert len(carol()) == 1
    # known now: answered in the ack, no second users.info
    reply = slack.command("list", user="UCAROL", follow=False)
    assert listed_numbers(ephemeral(reply)) == [2, 1]
    assert len(carol()) == 1
    # the first lookup in a workspace read the member list, once
    emulator.wait_for("users.list")

    # When Slack cannot say who someone is, they count as a guest (and are asked about again)
    emulator.fail("users.info", error="user_not_found", times=2)
    assert listed_numbers(adr.run("list", user="UNOBODY")) == [1]
    assert listed_numbers(adr.run("list", user="UNOBODY", channel="CAPI")) == [2]
    assert _cached(adr, "UNOBODY") is None
    assert listed_numbers(adr.run("list", user="UNOBODY")) == [2, 1]  # Slack answers now
    slack.finish()
    assert len(emulator.calls("users.list")) == 1


def test_the_cache_follows_users_list_and_user_events_and_ignores_retries(
    adr: Adr, slack, emulator
):
    for i in range(450):  # more than two pages of users.list
        emulator.set_user(f"UM{i:04d}")
    emulator.set_user("UBOSS", is_owner=True)
    emulator.set_user("UVISITOR", is_restricted=True)
    adr.run("list", user="UFIRST")  # the first lookup in the workspace starts the sync
    emulator.wait_for("users.list", count=3)
    _until(lambda: adr.count("slack_users", "TAAA") == 453, "the sync to store everyone")
    assert _cached(adr, "UBOSS")["is_owner"] and _cached(adr, "UVISITOR")["is_restricted"]

    # user_change: the visitor becomes a member; team_join: a new guest
    member = {"id": "UVISITOR", "is_restricted": False, "tz": "Europe/Berlin"}
    slack.event({"type": "user_change", "user": member}, event_id="EvU1")
    joiner = {"id": "UNEW", "is_ultra_restricted": True}
    slack.event({"type": "team_join", "user": joiner}, event_id="EvU2")
    # (Slack retries an event seconds after it was delivered: the first has been handled)
    slack.listeners_done()
    # a retry of EvU1 carrying other data changes nothing: the event was handled once
    stale = {"id": "UVISITOR", "is_restricted": True}
    slack.event(
        {"type": "user_change", "user": stale}, event_id="EvU1", headers={"X-Slack-Retry-Num": "1"}
    )
    slack.finish()
    visitor = _cached(adr, "UVISITOR")
    assert not visitor["is_restricted"] and visitor["tz"] == "Europe/Berlin"
    assert _cached(adr, "UNEW")["is_ultra_restricted"]
    marks = {r["event_id"] for r in adr.rows("SELECT event_id FROM processed_events")}
    assert {"EvU1", "EvU2"} <= marks
    # handling events wrote no pruning work: one daily row serves every workspace
    assert adr.rows("SELECT id FROM due_work WHERE kind = 'events.prune'") == []


def test_settings_are_changed_by_admins_and_the_people_they_name(adr: Adr, emulator):
    emulator.set_user("UADMIN", is_admin=True)
    emulator.set_user("UOWNER", is_owner=True)
    emulator.set_user("UGUEST", is_restricted=True)

    # everyone may read them, and is told who may change them
    shown = adr.run("settings", user="UBOB")
    assert "10:00" in shown and "Who may change these: workspace admins and owners" in shown
    assert "You can read them, not change them" in shown
    refused = adr.run("settings hour 9", user="UBOB")
    assert "Only workspace admins and owners" in refused
    assert "Only workspace admins" in adr.run("settings hour 9", user="UGUEST")
    assert adr.rows("SELECT * FROM workspace_settings") == []

    assert "Saved" in adr.run("settings hour 9", user="UADMIN")
    assert "Saved" in adr.run("settings nudge 4", user="UOWNER")
    # an admin names Bob; Bob may change them, not name others
    assert "<@UBOB>" in adr.run("settings managers add <@UBOB|bob>", user="UADMIN")
    assert "Saved" in adr.run("settings hour 11", user="UBOB")
    assert "Only workspace admins and owners can name" in adr.run(
        "settings managers add <@UCAROL>", user="UBOB"
    )
    assert "Only workspace admins and owners can name" in adr.run(
        "settings managers add <@UGUEST>", user="UGUEST"
    )
    assert "and <@UBOB>" in adr.run("settings", user="UCAROL")
    [named] = adr.rows("SELECT user_id, named_by FROM settings_managers")
    assert named == {"user_id": "UBOB", "named_by": "UADMIN"}
    # a bad mention is explained, not stored
    assert "managers add @someone" in adr.run("settings managers add bob", user="UADMIN")
    assert "nobody" in adr.run("settings managers remove <@UBOB>", user="UADMIN")
    assert "Only workspace admins" in adr.run("settings hour 12", user="UBOB")
    [row] = adr.rows("SELECT review_hour, nudge_after_days FROM workspace_settings")
    assert row == {"review_hour": 11, "nudge_after_days": 4}


def test_a_slack_connect_outsider_counts_on_stances_but_is_no_admin_and_sees_nothing_else(
    adr: Adr, slack, emulator
):
    emulator.set_channel("CSHARED", is_ext_shared=True)
    # an admin of their own organisation, not of this one
    emulator.set_user("UEXT", team_id="TOTHER", is_admin=True)
    adr.new("Shared API contract", channel="CSHARED")  # ADR-1
    adr.new("Internal reorg")  # ADR-2 in CGENERAL

    reply = slack.click(Action.AGREE, "1", user="UEXT", user_team="TOTHER", channel="CSHARED")
    assert reply.status == 200
    assert adr.stances(1)["UEXT"]["kind"] == "agree"  # their stance counts on our decision
    adr.wait_update(lambda c: "<@UEXT>" in all_text(c.args["blocks"]))

    assert "Only workspace admins" in adr.run("settings hour 8", user="UEXT", channel="CSHARED")
    assert listed_numbers(adr.run("list", user="UEXT", channel="CSHARED")) == [1]
    assert "doesn't exist" in adr.run("show 2", user="UEXT", channel="CSHARED")
    assert listed_numbers(adr.run("search reorg", user="UEXT", channel="CSHARED")) == []
    assert _cached(adr, "UEXT")["home_team_id"] == "TOTHER"
    # the post step read the channel: shared with another organisation
    [channel] = adr.rows("SELECT * FROM channels WHERE channel_id = 'CSHARED'")
    assert channel["is_shared"] and not channel["is_private"]


def test_visibility_follows_the_channel_and_never_back_to_public(adr: Adr, slack, emulator):
    adr.new("Open plan", channel="CPUB")  # public: seen from anywhere
    assert listed_numbers(adr.run("list", user="UCAROL")) == [1]

    made_private = {
        "type": "message",
        "subtype": "channel_convert_to_private",
        "channel": "CPUB",
        "user": "UALICE",
        "text": "made this channel *private*.",
        "ts": "1730984822.596869",
    }
    assert slack.event(made_private, event_id="EvP1").status == 200
    _until(lambda: bool(adr.decision(1)["channel_private"]), "ADR-1 to become private")
    assert listed_numbers(adr.run("list", user="UCAROL")) == []  # not named, elsewhere
    assert listed_numbers(adr.run("list", user="UCAROL", channel="CPUB")) == [1]

    slack.event({"type": "channel_shared", "channel": "CPUB", "connected_team_id": "TX"})
    slack.event({"type": "channel_archive", "channel": "CPUB", "user": "UALICE"})
    # Slack does not promise the order of events, and the app handles them concurrently:
    # the unarchive is sent once the archive is recorded
    _until(
        lambda: any(r["is_archived"] for r in adr.rows("SELECT is_archived FROM channels")),
        "the archive to be recorded",
    )
    slack.event({"type": "channel_unarchive", "channel": "CPUB", "user": "UALICE"})
    # an ordinary message in a channel the bot is in is dropped before any write
    slack.event({"type": "message", "channel": "CPUB", "user": "UBOB", "text": "hi", "ts": "1.2"})
    slack.finish()
    [channel] = adr.rows("SELECT * FROM channels WHERE channel_id = 'CPUB'")
    assert channel["is_private"] and channel["is_shared"] and not channel["is_archived"]
    assert bool(adr.decision(1)["channel_private"]) is True  # nothing made it public again
    assert adr.count("processed_events") == 4


def test_app_home_is_outbox_work_built_when_published(adr: Adr, slack, emulator):
    adr.new("Bob should weigh in", values={Field.DECIDERS: ["UBOB"]})
    home = _home(slack, emulator, "UBOB")
    assert "ADR-1" in home
    [row] = adr.rows("SELECT key, state FROM due_work WHERE kind = 'home.publish'")
    assert row["key"] == "home.publish:UBOB"
    payload = json.loads(
        adr.rows("SELECT payload FROM due_work WHERE kind = 'home.publish'")[0]["payload"]
    )
    assert payload == {"user": "UBOB"}


def test_old_event_ids_are_pruned_by_a_daily_chain_of_scheduled_work(adr: Adr, slack, db):
    from datetime import timedelta

    from storage import events
    from storage.models import utcnow
    from tests.support.delivery import sweep

    slack.event({"type": "team_join", "user": {"id": "UNEW"}}, event_id="EvOld")
    _until(lambda: adr.count("processed_events") == 1, "the event's mark")
    with db.session() as session:  # what starting an engine does
        events.schedule_prune(session, now=utcnow())
    # a week and a day later the day's row runs: the old mark goes, the next day's row comes
    later = utcnow() + timedelta(days=8)
    sweep(slack, db, later)
    assert adr.count("processed_events") == 0
    rows = adr.rows("SELECT key, state FROM due_work WHERE kind = 'events.prune' ORDER BY key")
    assert [r["state"] for r in rows][-1] == "pending" and len(rows) == 2
    assert rows[-1]["key"] == f"events.prune:{(later.date() + timedelta(days=1)).isoformat()}"
    # run again: nothing more is scheduled (one row per day, by its key)
    sweep(slack, db, later)
    assert len(adr.rows("SELECT key FROM due_work WHERE kind = 'events.prune'")) == 2
