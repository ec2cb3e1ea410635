"""Tokens that stay fresh (issue 24, token rotation), end to end on SQLite and Postgres against
the emulator with ``token_rotation`` on (tokens expire, each refresh token works once):

- three `decisionbot run-due` processes sweeping one database while the tokens of two
  workspaces are due refresh each token once, and every DM due meanwhile goes out once;
- a token Slack calls expired is refreshed by the delivery that met it, which then posts;
- a refresh Slack refuses for good pauses the workspace as if it had left;
- the OAuth redirect stores the token's expiry, and its refresh is planned 3 hours before.
"""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.runtime.clients import dispatch_clients
from bot.runtime.config import Settings
from bot.runtime.scheduler import run_due
from storage import due_work, installations, token_refresh
from storage.db import Database
from storage.installations import REFRESH_AHEAD, REFRESH_KIND
from storage.models import DueWork, Installation, InstallState, WorkState, utcnow
from storage.secrets import TokenCipher
from tests.support.delivery import aware
from tests.support.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    ENCRYPTION_KEY,
    SIGNING_SECRET,
    BotServer,
)
from tests.support.install import Installer, query_of
from tests.support.processes import PROCESS_TIMEOUT
from tests.support.seed_due import decisionbot_command, parse_summary, run_due_env, seed_due_asks
from tests.support.slack_emulator import SlackEmulator

pytestmark = pytest.mark.timeout(180)

A, B = "TAAA", "TBBB"
CIPHER = TokenCipher((ENCRYPTION_KEY,))
SHORT = 2 * 3600  # a token living 2 hours is due its refresh at once (3 hours ahead)
DAY_HALF = 43200


@pytest.fixture
def rotating(emulator: SlackEmulator) -> SlackEmulator:
    emulator.token_rotation = True
    emulator.oauth_client = (CLIENT_ID, CLIENT_SECRET)
    return emulator


@pytest.fixture
def server(db: Database, rotating: SlackEmulator) -> Iterator[BotServer]:
    running = BotServer(db, rotating, distributed=True).start()
    try:
        yield running
    finally:
        running.stop()


REDIRECT = "http://127.0.0.1:1/slack/oauth_redirect"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def install(db: Database, emulator: SlackEmulator, team: str) -> str:
    """An install as the OAuth redirect makes it (the authorize page, the code exchange, the
    save), without a server whose dispatcher would refresh the token before the test's
    processes can: returns the bot token."""
    emulator.next_install(team)
    query = {"client_id": CLIENT_ID, "scope": "commands,chat:write", "redirect_uri": REDIRECT}
    try:
        urllib.request.build_opener(_NoRedirect()).open(
            f"{emulator.authorize_url}?{urlencode(query)}", timeout=20
        )
        raise AssertionError("the authorize page did not redirect")
    except urllib.error.HTTPError as err:
        back = query_of(err.headers["Location"])
    grant = WebClient(base_url=emulator.url, timeout=20).oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=back["code"], redirect_uri=REDIRECT
    )
    with db.session() as session:
        installations.save(
            session,
            cipher=CIPHER,
            team_id=team,
            enterprise_id=None,
            team_name=grant["team"]["name"],
            app_id=grant["app_id"],
            bot_id="B" + team[1:],
            bot_user_id=grant["bot_user_id"],
            bot_token=grant["access_token"],
            bot_scopes=str(grant["scope"]).split(","),
            installer_user_id="UINSTALLER",
            bot_refresh_token=grant["refresh_token"],
            bot_token_expires_at=utcnow() + timedelta(seconds=int(grant["expires_in"])),
        )
    return str(grant["access_token"])


def installation(db: Database, team: str) -> Installation:
    with db.read() as session:
        row = session.get(Installation, team)
        assert row is not None
        session.expunge(row)
        return row


def refresh_rows(db: Database, team: str) -> list[DueWork]:
    with db.read() as session:
        rows = session.scalars(
            select(DueWork)
            .where(DueWork.team_id == team, DueWork.kind == REFRESH_KIND)
            .order_by(DueWork.id)
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def states(db: Database, team: str, kind: str) -> list[str]:
    with db.read() as session:
        return list(
            session.scalars(
                select(DueWork.state).where(DueWork.team_id == team, DueWork.kind == kind)
            )
        )


def distributed_env(db: Database, emulator: SlackEmulator) -> dict[str, str]:
    env = run_due_env(db.url, emulator.url)
    del env["SLACK_BOT_TOKEN"]
    env.update(
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        DECISIONBOT_ENCRYPTION_KEY=ENCRYPTION_KEY,
    )
    return env


def test_three_processes_refresh_each_token_once_and_nothing_fails_during_the_switch(
    db: Database, rotating: SlackEmulator
) -> None:
    # Two workspaces whose tokens expire within 3 hours: both refreshes are due now.
    rotating.token_lifetime = SHORT
    old = {team: install(db, rotating, team) for team in (A, B)}
    rotating.token_lifetime = DAY_HALF
    now = utcnow()
    seeded = {
        team: seed_due_asks(
            db, 15, due_at=now - timedelta(minutes=1), team_id=team, user_prefix=f"U{team[1]}"
        )
        for team in (A, B)
    }
    with db.session() as session:  # as if each process's ticker asked too: three per token
        for team in (A, B):
            for n in (1, 2):
                due_work.schedule(
                    session,
                    team_id=team,
                    kind=REFRESH_KIND,
                    subject_id=0,
                    key=f"refresh:again:{n}",
                    due_at=now - timedelta(minutes=1),
                )
    rotating.latency = 0.02  # the sweeps overlap

    env = distributed_env(db, rotating)
    at = (now + timedelta(seconds=30)).isoformat()
    procs = [
        subprocess.Popen(
            [*decisionbot_command(), "run-due", "--now", at],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    summaries = []
    for proc in procs:
        out, err = proc.communicate(timeout=PROCESS_TIMEOUT)
        assert proc.returncode == 0, (out, err[-3000:])
        summaries.append(parse_summary(out))

    # One refresh per token, each answered with a new token.
    refreshes = rotating.refreshes()
    assert len(refreshes) == 2, [c.args for c in refreshes]
    assert all(c.response and c.response["ok"] for c in refreshes)
    for team in (A, B):
        row = installation(db, team)
        assert row.version == 2 and row.state == InstallState.ACTIVE
        assert row.bot_token and row.bot_refresh_token and row.bot_token_expires_at
        new_token = CIPHER.decrypt(row.bot_token)
        assert new_token != old[team] and rotating.token_team(new_token) == team
        assert rotating.refresh_tokens(team) == [CIPHER.decrypt(row.bot_refresh_token)]
        expires = aware(row.bot_token_expires_at)
        assert expires is not None and expires > now + timedelta(hours=11)
        # every refresh row ran (two of them found it fresh), and the next one is planned
        done = [r for r in refresh_rows(db, team) if r.state == WorkState.DONE]
        [planned] = [r for r in refresh_rows(db, team) if r.state == WorkState.PENDING]
        assert len(done) == 3 and planned.key == "refresh:v2"
        assert aware(planned.due_at) == expires - REFRESH_AHEAD

    # Nothing failed during the switch: every DM went out once, with a token of its workspace.
    assert sum(s["failed"] for s in summaries) == 0
    for team in (A, B):
        assert set(states(db, team, "review.ask")) == {WorkState.DONE}
        dms = [c for c in rotating.calls("chat.postMessage") if c.team == team]
        assert sorted(c.args["channel"] for c in dms) == sorted(seeded[team].users)
        assert all(c.response and c.response["ok"] for c in dms)
    assert not [
        c for c in rotating.calls() if c.response and c.response.get("error") == "token_expired"
    ]


def test_a_delivery_finding_its_token_expired_refreshes_it_and_posts(
    db: Database, rotating: SlackEmulator, server: BotServer
) -> None:
    page = Installer(server, rotating).install(A)
    assert page.title == "Decision Bot is installed", page.body
    row = installation(db, A)
    assert row.bot_token and row.bot_token_expires_at is not None and row.bot_refresh_token
    old = CIPHER.decrypt(row.bot_token)
    # its refresh is planned 3 hours before it expires, and not due yet
    [planned] = refresh_rows(db, A)
    assert planned.key == f"refresh:v{row.version}" and planned.state == WorkState.PENDING
    assert aware(planned.due_at) == aware(row.bot_token_expires_at) - REFRESH_AHEAD

    rotating.expire(old)  # Slack's clock says 12 hours have passed
    before = len(rotating.calls())
    seeded = seed_due_asks(db, 3, due_at=utcnow() - timedelta(minutes=1), team_id=A)
    result = run_due(db, server.clients, now=utcnow(), concurrency=1)
    assert server.dispatcher.wait_idle()  # the row handed back may be the app's to post

    assert result.failed == 0
    [refresh] = rotating.refreshes()  # one refresh, however many deliveries met the token
    assert refresh.response and refresh.response["ok"]
    new = refresh.response["access_token"]
    assert CIPHER.decrypt(installation(db, A).bot_token or "") == new
    dms = [c for c in rotating.calls("chat.postMessage") if c.response and c.response["ok"]]
    assert sorted(c.args["channel"] for c in dms) == sorted(seeded.users)
    assert {c.token for c in dms} == {new}
    refused = [c for c in rotating.calls()[before:] if c.token == old]
    assert refused and all(c.response == {"ok": False, "error": "token_expired"} for c in refused)
    assert set(states(db, A, "review.ask")) == {WorkState.DONE}


def test_a_refresh_refused_for_good_pauses_the_workspace_as_if_it_had_left(
    db: Database, rotating: SlackEmulator
) -> None:
    token = install(db, rotating, A)
    other = install(db, rotating, B)
    seeded = seed_due_asks(db, 2, due_at=utcnow() - timedelta(minutes=1), team_id=A)
    # Someone else used A's refresh token (it works once): A's next refresh is refused.
    [used] = rotating.refresh_tokens(A)
    WebClient(base_url=rotating.url).oauth_v2_access(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        grant_type="refresh_token",
        refresh_token=used,
    )
    rotating.expire(token)

    settings = Settings.from_env(distributed_env(db, rotating))
    result = run_due(db, dispatch_clients(settings, db), now=utcnow(), concurrency=1)

    refused = [c for c in rotating.refreshes() if c.args.get("refresh_token") == used]
    assert [c.response for c in refused][-1] == {"ok": False, "error": "invalid_refresh_token"}
    row = installation(db, A)
    assert row.state == InstallState.UNINSTALLED
    assert (row.bot_token, row.bot_refresh_token, row.bot_token_expires_at) == (None, None, None)
    assert row.purge_after is not None
    # its scheduled work paused (a reinstall resumes it), its purge planned, nothing posted
    assert set(states(db, A, "review.ask")) == {WorkState.PAUSED}
    assert states(db, A, installations.PURGE_KIND) == [WorkState.PENDING]
    tried = [c for c in rotating.calls("chat.postMessage") if c.team == A]
    assert [c.response for c in tried] == [{"ok": False, "error": "token_expired"}]
    assert result.failed == 0 and seeded.users
    # the other workspace is untouched
    assert installation(db, B).state == InstallState.ACTIVE
    assert CIPHER.decrypt(installation(db, B).bot_token or "") == other


def test_expiring_lists_the_tokens_due_and_refresh_rechecks_under_the_lock(
    db: Database, rotating: SlackEmulator
) -> None:
    rotating.token_lifetime = SHORT
    install(db, rotating, A)
    rotating.token_lifetime = DAY_HALF
    install(db, rotating, B)
    now = utcnow()
    with db.read() as session:
        assert token_refresh.expiring(session, now=now) == [A]
        assert token_refresh.expiring(session, now=now + timedelta(hours=10)) == [A, B]

    asked: list[str] = []

    def grant(refresh_token: str) -> token_refresh.TokenGrant:
        asked.append(refresh_token)
        return token_refresh.TokenGrant("xoxb-new", "xoxe-1-new", now + timedelta(hours=12))

    def refresh(team: str, **kw: object) -> token_refresh.Refreshed:
        with db.session() as session:
            return token_refresh.refresh(
                session,
                cipher=CIPHER,
                team_id=team,
                refresh=grant,
                retention=timedelta(days=30),
                scheduled_kinds=(),
                **kw,  # type: ignore[arg-type]
            )

    assert refresh(A) == token_refresh.Refreshed.REFRESHED
    assert refresh(A) == token_refresh.Refreshed.FRESH  # a second process: already done
    assert refresh(B) == token_refresh.Refreshed.FRESH  # not due
    assert refresh(B, stale_version=1) == token_refresh.Refreshed.REFRESHED  # Slack said so
    assert refresh("TNONE") == token_refresh.Refreshed.NOT_INSTALLED
    assert len(asked) == 2
    with db.read() as session:
        assert token_refresh.expiring(session, now=now) == []
    assert CIPHER.decrypt(installation(db, A).bot_token or "") == "xoxb-new"


def test_a_sweep_ahead_of_the_clock_leaves_the_next_refresh_planned(
    db: Database, rotating: SlackEmulator
) -> None:
    """`run-due --now` 10 hours ahead claims the refresh row, but Slack's clock (the real one)
    says the token is fresh: nothing is refreshed, and a refresh is still planned — after that
    sweep, so it does not claim it again and again."""
    install(db, rotating, A)
    ahead = utcnow() + timedelta(hours=10)
    settings = Settings.from_env(distributed_env(db, rotating))
    result = run_due(db, dispatch_clients(settings, db), now=ahead)

    assert result.failed == 0 and rotating.refreshes() == []
    first, planned = refresh_rows(db, A)
    assert (first.key, first.state) == ("refresh:v1", WorkState.DONE)
    assert planned.key == f"refresh:v1:after:{first.id}" and planned.state == WorkState.PENDING
    assert aware(planned.due_at) == ahead + timedelta(minutes=1)
    assert installation(db, A).version == 1
