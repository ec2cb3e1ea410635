"""Installable by any team (issue 23), end to end on SQLite and Postgres: two workspaces
installed through the real OAuth redirect against the emulator, each served with its own
token only; bad OAuth states get the failure page; a workspace that uninstalls gets no further
calls, its scheduled work pauses and resumes on reinstall, and its data is gone after the
retention window while the other's is intact; tokens at rest are unreadable without the key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.runtime.scheduler import run_due
from storage import installations
from storage.db import Database
from storage.models import utcnow
from storage.secrets import TokenCipher, UnreadableToken, new_key
from tests.support.adr import Adr
from tests.support.delivery import settle
from tests.support.harness import (
    CLIENT_SECRET,
    ENCRYPTION_KEY,
    BotServer,
    SlackDriver,
)
from tests.support.install import (
    Installer,
    decide,
    instant,
    operator,
    query_of,
    review_due,
)
from tests.support.slack_emulator import Call, SlackEmulator

A, B = "TAAA", "TBBB"


@pytest.fixture
def server(db: Database, emulator: SlackEmulator) -> Iterator[BotServer]:
    # Two workspaces, each with its own channel and people.
    emulator.add_workspace(A, name="Alpha")
    emulator.add_workspace(B, name="Beta")
    emulator.set_channel("CGENERAL", team_id=A, name="general")
    emulator.set_channel("CBETA", team_id=B, name="beta")
    emulator.set_user("UALICE", team_id=A)
    emulator.set_user("UDAN", team_id=A)
    emulator.set_user("UBOB", team_id=B)
    emulator.set_user("UERIN", team_id=B)
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


def install(server: BotServer, emulator: SlackEmulator, team: str) -> str:
    page = Installer(server, emulator).install(team)
    assert page.status == 200 and page.title == "Decision Bot is installed", page.body
    assert f"slack://app?team={team}&amp;id=" in page.body
    return page.body


def subscribe_digest(slack: SlackDriver, team: str, channel: str, user: str) -> None:
    """`/adr digest` in ``channel``, saved with its defaults (weekly)."""
    before = slack.views_opened()
    reply = slack.command("digest", user=user, channel=channel, team=team)
    assert reply.status == 200 and reply.text == "", reply.text
    view = slack.opened_view(after=before)
    slack.listeners_done()
    assert slack.submit(view, {}, user=user, team=team).status == 200


def slack_calls(emulator: SlackEmulator) -> list[Call]:
    """The bot's Web API calls (the browser's authorize page and the code exchange aside)."""
    return [
        c
        for c in emulator.calls()
        # a response_url carries no token: it is the request's own
        if c.method not in ("oauth.v2.authorize", "oauth.v2.access", "response_url")
    ]


def test_two_workspaces_each_use_only_their_own_token(
    server: BotServer, slack: SlackDriver, adr: Adr, emulator: SlackEmulator, db: Database
) -> None:
    install(server, emulator, A)
    install(server, emulator, B)
    first = decide(adr, A, "CGENERAL", "UALICE", "UDAN", "Use Postgres")
    second = decide(adr, B, "CBETA", "UBOB", "UERIN", "Use Kafka")
    assert (first, second) == (1, 1)  # numbers are per workspace
    for team, channel, user in ((A, "CGENERAL", "UALICE"), (B, "CBETA", "UBOB")):
        subscribe_digest(slack, team, channel, user)
    settle(slack)

    # The reviews, at their date, and the weekly digests: each workspace's messages go out
    # with its own token.
    later = max(review_due(adr, A), review_due(adr, B))
    run_due(db, server.clients, now=later + timedelta(minutes=1))
    settle(slack)
    digests = [
        c for c in emulator.calls("chat.postMessage") if "Weekly digest" in json.dumps(c.args)
    ]
    assert sorted((c.args["channel"], c.team) for c in digests if c.response.get("ok")) == [
        ("CBETA", B),
        ("CGENERAL", A),
    ]

    calls = slack_calls(emulator)
    assert calls, "the bot called Slack"
    assert emulator.cross_workspace_calls() == []
    # every call carried a token the emulator issued for one of the two workspaces
    assert {c.team for c in calls} == {A, B}, [(c.method, c.token) for c in calls if not c.team]
    dms = {c.args["channel"]: c.team for c in emulator.calls("chat.postMessage")}
    assert dms["CGENERAL"] == A and dms["CBETA"] == B
    assert dms["UDAN"] == A and dms["UERIN"] == B  # the review asks
    # no request waited on Slack to learn who it is: auth.test once per install (Bolt's flow
    # asks who the new bot is), never per request
    assert len(emulator.calls("auth.test")) == 2


def test_bad_states_get_the_failure_page_and_install_nothing(
    server: BotServer, emulator: SlackEmulator, db: Database
) -> None:
    browser = Installer(server, emulator)

    # tampered: a state the app never issued
    emulator.next_install(A)
    back = browser.authorize(browser.add_to_slack_link())
    tampered = back.replace(query_of(back)["state"], "forged-state")
    page = browser.get(tampered)
    assert page.title == "Decision Bot was not installed"
    assert 'id="start-again"' in page.body

    # reused: the same redirect twice (the first one installs)
    emulator.next_install(A)
    back = browser.authorize(browser.add_to_slack_link())
    assert browser.get(back).title == "Decision Bot is installed"
    again = browser.get(back)
    assert again.title == "Decision Bot was not installed", again.body

    # expired: issued more than 10 minutes ago
    emulator.next_install(B)
    link = browser.add_to_slack_link()
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE oauth_states SET expires_at = :past WHERE state = :s"),
            {"past": utcnow() - timedelta(seconds=1), "s": query_of(link)["state"]},
        )
    page = browser.get(browser.authorize(link))
    assert page.title == "Decision Bot was not installed"

    # cancelled in Slack
    page = browser.install(B, cancel=True)
    assert page.title == "Decision Bot was not installed" and "You cancelled" in page.body

    # Slack granted fewer scopes than the app needs
    emulator.next_install(B, scopes=["commands", "chat:write"])
    page = browser.get(browser.authorize(browser.add_to_slack_link()))
    assert page.title == "Decision Bot was not installed" and "users:read" in page.body

    with db.read() as session:
        assert [s.team_id for s in installations.summaries(session)] == [A]


def test_a_workspace_that_leaves_pauses_resumes_and_is_purged_after_the_window(
    server: BotServer, slack: SlackDriver, adr: Adr, emulator: SlackEmulator, db: Database
) -> None:
    install(server, emulator, A)
    install(server, emulator, B)
    decide(adr, A, "CGENERAL", "UALICE", "UDAN", "Use Postgres")
    decide(adr, B, "CBETA", "UBOB", "UERIN", "Use Kafka")
    settle(slack)
    review_at = max(review_due(adr, A), review_due(adr, B))

    # A removes the app: Slack revokes its token and tells us.
    emulator.uninstall(A)
    assert slack.event({"type": "app_uninstalled"}, team=A).status == 200
    slack.event({"type": "app_uninstalled"}, team=A)  # a retry changes nothing
    slack.listeners_done()
    [row] = adr.rows(
        "SELECT state, bot_token, purge_after FROM installations WHERE team_id = :t", t=A
    )
    assert row["state"] == "uninstalled" and row["bot_token"] is None
    states = {
        r["state"]
        for r in adr.rows(
            "SELECT state FROM due_work WHERE team_id = :t AND kind LIKE 'review.%'", t=A
        )
    }
    assert states == {"paused"}

    # The review date passes: B's review goes out, A gets no call at all.
    before = len(emulator.calls())
    run_due(db, server.clients, now=review_at + timedelta(minutes=1))
    settle(slack)
    after = emulator.calls()[before:]
    assert {c.team for c in after} == {B}, {(c.method, c.team) for c in after}
    assert not [c for c in after if c.args.get("channel") == "UDAN"]

    # A installs again within the window: its paused review resumes and asks once.
    install(server, emulator, A)
    before = len(emulator.calls())
    run_due(db, server.clients, now=review_at + timedelta(minutes=2))
    settle(slack)
    run_due(db, server.clients, now=review_at + timedelta(minutes=3))
    asked = [
        c
        for c in emulator.calls()
        if "Did ADR-1 work" in str(c.args.get("text")) and (c.response or {}).get("ok")
    ]
    # the author and the decider, each once: resumed, not doubled. (Another process's cache
    # may still hold the old token for up to 30 s: Slack refuses it, the installation is read
    # afresh, and the next attempt goes out with the new one.)
    assert sorted(c.args["channel"] for c in asked if c.team == A) == ["UALICE", "UDAN"]

    # A leaves for good: after the window its data is purged; B's is intact.
    emulator.uninstall(A)
    slack.event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UAAABOT"]}}, team=A)
    slack.listeners_done()
    [row] = adr.rows("SELECT purge_after FROM installations WHERE team_id = :t", t=A)
    purge_after = instant(row["purge_after"])
    b_decisions = adr.count("decisions", B)
    run_due(db, server.clients, now=purge_after - timedelta(minutes=1))
    assert adr.count("decisions", A) == 1  # not before the window ends
    run_due(db, server.clients, now=purge_after + timedelta(minutes=1))
    assert adr.count("decisions", A) == 0
    assert adr.rows("SELECT team_id FROM installations WHERE team_id = :t", t=A) == []
    assert adr.count("decisions", B) == b_decisions == 1
    assert adr.rows("SELECT state FROM installations WHERE team_id = :t", t=B) == [
        {"state": "active"}
    ]


def test_tokens_in_the_database_are_unreadable_without_the_key(
    server: BotServer, emulator: SlackEmulator, db: Database
) -> None:
    install(server, emulator, A)
    [row] = [
        dict(r._mapping)
        for r in db.engine.connect().execute(
            text("SELECT bot_token FROM installations WHERE team_id = :t"), {"t": A}
        )
    ]
    stored = row["bot_token"]
    assert "xoxb-" not in stored
    with pytest.raises(UnreadableToken):
        TokenCipher([new_key()]).decrypt(stored)
    token = TokenCipher([ENCRYPTION_KEY]).decrypt(stored)
    assert emulator.token_team(token) == A


def test_a_workspace_that_has_not_installed_gets_a_clear_answer(
    server: BotServer, slack: SlackDriver, emulator: SlackEmulator, db: Database
) -> None:
    reply = slack.command("new Use Postgres", team="TNEW", follow=False)
    assert (reply.status, reply.text) == (200, "")
    [answer] = emulator.calls("response_url")  # to the person who typed it
    assert "isn't installed in this workspace" in answer.args["text"]
    assert db.engine.connect().execute(text("SELECT count(*) FROM decisions")).scalar() == 0


def test_import_and_export_take_the_token_of_the_workspace_named(
    server: BotServer,
    slack: SlackDriver,
    adr: Adr,
    emulator: SlackEmulator,
    db: Database,
    tmp_path: Path,
) -> None:
    install(server, emulator, A)
    install(server, emulator, B)
    adr.new("Use Kafka", team=B, channel="CBETA", user="UBOB")
    settle(slack)

    done = operator(db, emulator, "export", str(tmp_path / "out"))
    assert done.returncode == 2 and "--team is needed" in done.stderr, done.stderr
    done = operator(db, emulator, "export", str(tmp_path / "out"), "--team", B)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in (tmp_path / "out").glob("*use-kafka*")]

    records = tmp_path / "records"
    records.mkdir()
    (records / "0001-use-postgres.md").write_text(
        "# 1. Use Postgres\n\nDate: 2026-01-05\n\n## Status\n\nAccepted\n\n## Context\n\n"
        "We need a database.\n\n## Decision\n\nWe use Postgres.\n\n## Consequences\n\nOne more server.\n"
    )
    before = len(emulator.calls())
    done = operator(db, emulator, "import", str(records), "--channel", "CGENERAL", "--team", A)
    assert done.returncode == 0, done.stderr + done.stdout
    calls = emulator.calls()[before:]
    assert calls and {c.team for c in calls} == {A}, [(c.method, c.team) for c in calls]
    assert adr.count("decisions", A) == 1 and adr.count("decisions", B) == 1
    done = operator(db, emulator, "export", str(tmp_path / "x"), "--team", "TNONE")
    assert done.returncode == 2 and "not installed there" in done.stderr


def test_tokens_never_reach_the_logs_or_metrics(
    server: BotServer,
    slack: SlackDriver,
    adr: Adr,
    emulator: SlackEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    install(server, emulator, A)
    adr.new("Use Postgres", team=A)
    settle(slack)
    [access] = emulator.calls("oauth.v2.access")
    token = access.response["access_token"]
    metrics = slack.get("/metrics").text
    assert token not in caplog.text and token not in metrics
    assert CLIENT_SECRET not in caplog.text and CLIENT_SECRET not in metrics
