"""Enterprise Grid org-wide installs (issue 24), end to end on SQLite and Postgres: one
install of the org, through the real OAuth redirect against the emulator, serves two
workspaces of the org with the org's one token, each workspace's records kept apart; the
success page links to the org's app management page; ``team_access_revoked`` pauses that one
workspace while the other keeps working, and ``team_access_granted`` brings it back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.runtime.scheduler import run_due
from storage import people
from storage.db import Database
from storage.models import utcnow
from tests.support.adr import Adr
from tests.support.delivery import settle
from tests.support.harness import (
    BotServer,
    SlackDriver,
)
from tests.support.install import Installer, Page, decide, operator, review_due
from tests.support.slack_emulator import SlackEmulator

ORG = "EORG"
ONE, TWO = "TONE", "TTWO"
MANAGE = f"https://app.slack.com/manage/{ORG}/integrations/profile/A0DECISION/workspaces/add"


@pytest.fixture
def server(db: Database, emulator: SlackEmulator) -> Iterator[BotServer]:
    # Two workspaces of one org, each with its own channel and people.
    emulator.add_workspace(ONE, name="One", enterprise_id=ORG)
    emulator.add_workspace(TWO, name="Two", enterprise_id=ORG)
    emulator.set_channel("CONE", team_id=ONE, name="one")
    emulator.set_channel("CTWO", team_id=TWO, name="two")
    for user in ("UALICE", "UDAN"):
        emulator.set_user(user, team_id=ONE)
    for user in ("UBOB", "UERIN"):
        emulator.set_user(user, team_id=TWO)
    running = BotServer(db, emulator, distributed=True).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def slack(server: BotServer, emulator: SlackEmulator) -> SlackDriver:
    return SlackDriver(server, emulator)


@pytest.fixture
def adr(slack: SlackDriver, emulator: SlackEmulator, db: Database) -> Adr:
    return Adr(slack, emulator, db)


def install_org(server: BotServer, emulator: SlackEmulator) -> Page:
    browser = Installer(server, emulator)
    emulator.next_install(ORG, org=True)
    return browser.get(browser.authorize(browser.add_to_slack_link()))


def org_event(slack: SlackDriver, kind: str, teams: list[str]) -> None:
    """``team_access_granted`` / ``team_access_revoked``, shaped as Slack sends them to an
    org-wide install (no workspace in the envelope; the workspaces in ``team_ids``)."""
    body = {
        "token": "legacy",
        "team_id": None,
        "enterprise_id": ORG,
        "api_app_id": "A0DECISION",
        "event": {"type": kind, "team_ids": teams, "event_ts": "1700000000.000100"},
        "type": "event_callback",
        "event_id": f"Ev{kind}{'-'.join(teams)}{utcnow().timestamp()}",
        "event_time": 1700000000,
        "authorizations": [
            {"enterprise_id": ORG, "team_id": None, "is_bot": True, "is_enterprise_install": True}
        ],
    }
    reply = slack.post(json.dumps(body), content_type="application/json")
    assert reply.status == 200, reply.text
    slack.listeners_done()


def ok(call: Any) -> bool:
    return bool((call.response or {}).get("ok"))


def test_one_org_install_serves_two_workspaces_with_records_kept_apart(
    server: BotServer, slack: SlackDriver, adr: Adr, emulator: SlackEmulator, db: Database
) -> None:
    page = install_org(server, emulator)
    assert page.status == 200 and page.title == "Decision Bot is installed", page.body
    # No workspace to open yet: the org's management page, where workspaces are added.
    assert f'href="{MANAGE}"' in page.body and "slack://" not in page.body
    [org] = adr.rows(
        "SELECT team_id, enterprise_id, is_enterprise_install, state FROM installations"
    )
    assert (org["team_id"], org["enterprise_id"], bool(org["is_enterprise_install"])) == (
        ORG,
        ORG,
        True,
    )

    org_event(slack, "team_access_granted", [ONE, TWO])
    assert adr.rows("SELECT team_id, state FROM org_workspaces ORDER BY team_id") == [
        {"team_id": ONE, "state": "active"},
        {"team_id": TWO, "state": "active"},
    ]
    first = decide(adr, ONE, "CONE", "UALICE", "UDAN", "Use Postgres")
    second = decide(adr, TWO, "CTWO", "UBOB", "UERIN", "Use Kafka")
    assert (first, second) == (1, 1)  # numbered per workspace
    settle(slack)

    # Records stay in the workspace they were made in; nothing is kept under the org's id.
    assert adr.count("decisions", ONE) == adr.count("decisions", TWO) == 1
    for table in ("decisions", "due_work", "slack_users"):
        assert adr.rows(f"SELECT team_id FROM {table} WHERE team_id = :t", t=ORG) == []
    # Each workspace's post went to its own channel, with the org's token; nothing crossed.
    posts = [c for c in emulator.calls("chat.postMessage") if ok(c)]
    by_channel = {c.args["channel"]: c.team for c in posts}
    assert by_channel["CONE"] == by_channel["CTWO"] == ORG
    assert emulator.cross_workspace_calls() == []
    # Workspace lists asked with the org token name the workspace (Slack requires it).
    with db.session() as session:  # each workspace's member list, read by the outbox
        for team in (ONE, TWO):
            people.schedule_sync(session, team_id=team)
    run_due(db, server.clients, now=utcnow() + timedelta(minutes=1))
    settle(slack)
    lists = emulator.calls("users.list") + emulator.calls("conversations.list")
    assert lists, "the people of each workspace were read"
    assert all(ok(c) and c.args.get("team_id") in (ONE, TWO) for c in lists), [
        (c.method, c.args, c.response) for c in lists
    ]
    assert {c.args["team_id"] for c in emulator.calls("users.list")} == {ONE, TWO}
    # Each workspace's user cache holds its own people only.
    assert {
        r["user_id"] for r in adr.rows("SELECT user_id FROM slack_users WHERE team_id = :t", t=ONE)
    }.isdisjoint({"UBOB", "UERIN"})


def test_a_workspace_that_is_not_yet_recorded_joins_with_its_first_request(
    server: BotServer, slack: SlackDriver, adr: Adr, emulator: SlackEmulator
) -> None:
    install_org(server, emulator)
    # A slash command from a workspace of the org, before any team_access_granted: Slack
    # says which org it belongs to.
    body = (
        "token=legacy&team_id=TONE&team_domain=one&enterprise_id=EORG&enterprise_name=Org"
        "&channel_id=CONE&channel_name=one&user_id=UALICE&user_name=ualice&command=%2Fadr"
        "&text=help&api_app_id=A0DECISION&is_enterprise_install=true"
        f"&response_url={emulator.response_url('org1')}&trigger_id=trigger.org1"
    )
    reply = slack.post(body)
    assert reply.status == 200, reply.text
    slack.listeners_done()
    assert adr.rows("SELECT team_id, enterprise_id, state FROM org_workspaces") == [
        {"team_id": ONE, "enterprise_id": ORG, "state": "active"}
    ]
    # A workspace outside any org install is still not installed.
    reply = slack.command("help", team="TELSE", channel="CELSE", follow=False)
    assert reply.status == 200
    assert adr.rows("SELECT team_id FROM org_workspaces WHERE team_id = 'TELSE'") == []


def test_team_access_revoked_pauses_only_that_workspace(
    server: BotServer, slack: SlackDriver, adr: Adr, emulator: SlackEmulator, db: Database
) -> None:
    install_org(server, emulator)
    org_event(slack, "team_access_granted", [ONE, TWO])
    decide(adr, ONE, "CONE", "UALICE", "UDAN", "Use Postgres")
    decide(adr, TWO, "CTWO", "UBOB", "UERIN", "Use Kafka")
    settle(slack)
    review_at = max(review_due(adr, ONE), review_due(adr, TWO))

    # The org admin takes the app away from workspace ONE.
    emulator.revoke_team_access(ONE)
    org_event(slack, "team_access_revoked", [ONE])
    org_event(slack, "team_access_revoked", [ONE])  # a retry changes nothing
    states = {
        r["state"]
        for r in adr.rows(
            "SELECT state FROM due_work WHERE team_id = :t AND kind LIKE 'review.%'", t=ONE
        )
    }
    assert states == {"paused"}
    assert adr.rows("SELECT state FROM org_workspaces WHERE team_id = :t", t=ONE) == [
        {"state": "revoked"}
    ]
    # The org's token is untouched; ONE carries its planned purge.
    [org] = adr.rows("SELECT state, bot_token FROM installations WHERE team_id = :t", t=ORG)
    assert org["state"] == "active" and org["bot_token"]
    [one] = adr.rows("SELECT state, purge_after FROM installations WHERE team_id = :t", t=ONE)
    assert one["state"] == "uninstalled" and one["purge_after"] is not None

    # The review date passes: TWO's review asks go out, ONE's not at all.
    before = len(emulator.calls())
    run_due(db, server.clients, now=review_at + timedelta(minutes=1))
    settle(slack)
    asked = [
        c
        for c in emulator.calls()[before:]
        if "Did ADR-1 work" in str(c.args.get("text")) and ok(c)
    ]
    assert sorted(c.args["channel"] for c in asked) == ["UBOB", "UERIN"]
    assert emulator.cross_workspace_calls() == []

    # Added back: ONE's paused review resumes and asks once; its purge is called off.
    emulator.grant_team_access(ONE)
    org_event(slack, "team_access_granted", [ONE])
    assert adr.rows("SELECT team_id FROM installations WHERE team_id = :t", t=ONE) == []
    before = len(emulator.calls())
    run_due(db, server.clients, now=review_at + timedelta(minutes=2))
    settle(slack)
    asked = [
        c
        for c in emulator.calls()[before:]
        if "Did ADR-1 work" in str(c.args.get("text")) and ok(c)
    ]
    assert sorted(c.args["channel"] for c in asked) == ["UALICE", "UDAN"]
    assert {c.team for c in asked} == {ORG}


def test_the_emulators_org_token_needs_a_workspace_for_lists(emulator: SlackEmulator) -> None:
    """What the bot relies on above, as Slack answers it: an org token's workspace lists need
    ``team_id``, and it acts in the org's workspaces only."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    emulator.add_workspace(ONE, enterprise_id=ORG)
    emulator.add_workspace("TELSE")
    emulator.set_user("UALICE", team_id=ONE)
    emulator.set_user("UZED", team_id="TELSE")
    emulator.set_channel("CELSE", team_id="TELSE", name="else")
    emulator.next_install(ORG, org=True)  # makes EORG an org the emulator installs org-wide
    token = emulator.issue_token(ORG)
    client = WebClient(token=token, base_url=emulator.url)
    try:
        client.users_list()
        raise AssertionError("users.list without team_id answered")
    except SlackApiError as exc:
        assert exc.response["error"] == "missing_argument"
    members = client.users_list(team_id=ONE)["members"]
    assert [m["id"] for m in members] == ["UALICE"]
    try:
        client.chat_postMessage(channel="CELSE", text="hi")
        raise AssertionError("posted in a workspace outside the org")
    except SlackApiError as exc:
        assert exc.response["error"] == "channel_not_found"


def test_an_org_installs_events_are_kept_in_the_workspace_they_happened_in(
    server: BotServer, slack: SlackDriver, adr: Adr, emulator: SlackEmulator, db: Database
) -> None:
    """Slack's events to an org-wide install name no team in ``authorizations`` (Bolt finds
    none): the workspace is the envelope's ``team_id``, never the enterprise id."""
    install_org(server, emulator)
    org_event(slack, "team_access_granted", [ONE, TWO])

    def home_opened(team: str | None, user: str) -> None:
        body = {
            "token": "legacy",
            "team_id": team,
            "enterprise_id": ORG,
            "api_app_id": "A0DECISION",
            "event": {"type": "app_home_opened", "user": user, "tab": "home", "channel": "D1"},
            "type": "event_callback",
            "event_id": f"Evhome{team}{user}",
            "event_time": 1700000000,
            "authorizations": [
                {
                    "enterprise_id": ORG,
                    "team_id": None,
                    "is_bot": True,
                    "is_enterprise_install": True,
                }
            ],
        }
        reply = slack.post(json.dumps(body), content_type="application/json")
        assert reply.status == 200, reply.text
        slack.listeners_done()

    home_opened(TWO, "UBOB")
    home_opened(None, "UERIN")  # no workspace at all: ignored
    settle(slack)
    homes = [c for c in emulator.calls("views.publish") if ok(c)]
    assert [(c.args["user_id"], c.team) for c in homes] == [("UBOB", ORG)]
    assert adr.rows("SELECT team_id FROM processed_events") == [{"team_id": TWO}]
    assert adr.rows("SELECT team_id FROM due_work WHERE team_id = :t", t=ORG) == []


def test_import_into_a_workspace_of_the_org_uses_the_org_token_naming_the_workspace(
    server: BotServer,
    slack: SlackDriver,
    adr: Adr,
    emulator: SlackEmulator,
    db: Database,
    tmp_path: Path,
) -> None:
    install_org(server, emulator)
    org_event(slack, "team_access_granted", [ONE, TWO])
    records = tmp_path / "records"
    records.mkdir()
    (records / "0001-use-postgres.md").write_text(
        "# 1. Use Postgres\n\nDate: 2026-01-05\n\n## Status\n\nAccepted\n\n## Context\n\n"
        "We need a database.\n\n## Decision\n\nWe use Postgres.\n\n## Consequences\n\nOne more.\n"
    )
    before = len(emulator.calls())
    done = operator(db, emulator, "import", str(records), "--channel", "CTWO", "--team", TWO)
    assert done.returncode == 0, done.stderr + done.stdout
    calls = emulator.calls()[before:]
    assert calls and {c.team for c in calls} == {ORG}
    assert all(ok(c) for c in calls), [(c.method, c.response) for c in calls]
    assert {c.args.get("team_id") for c in emulator.calls("users.list")[-1:]} == {TWO}
    assert adr.count("decisions", TWO) == 1 and adr.count("decisions", ONE) == 0
