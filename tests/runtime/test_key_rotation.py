"""Key rotation in practice (issue 24): the documented procedure, through the real CLI, on
SQLite and Postgres.

1. The app runs with key OLD and a workspace installs it (the real OAuth redirect).
2. The operator puts a new key first: ``DECISIONBOT_ENCRYPTION_KEY=NEW,OLD``, restarts, and
   runs ``decisionbot rotate-key``.
3. The old key is removed: with ``NEW`` alone every token still reads — ``decisionbot
   installations`` lists the workspace, and a delivery (``decisionbot run-due``) posts with
   the workspace's token — while with ``OLD`` alone no token reads any more.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.runtime.cli import main
from storage.db import Database
from storage.models import DueWork, Installation, utcnow
from storage.secrets import TokenCipher, UnreadableToken, new_key
from tests.support.harness import CLIENT_ID, CLIENT_SECRET, ENCRYPTION_KEY, BotServer
from tests.support.install import Installer
from tests.support.seed_due import seed_due_asks
from tests.support.slack_emulator import SlackEmulator

A = "TROTA"
OLD = ENCRYPTION_KEY  # the key the test server encrypts with
NEW = new_key()


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """``main`` installs its log handler on the root logger: put the root back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def env(
    db: Database, emulator: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> pytest.MonkeyPatch:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DECISIONBOT_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("SLACK_API_URL", emulator.url)
    monkeypatch.setenv("SLACK_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SLACK_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-secret")
    return monkeypatch


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def stored_token(db: Database) -> str:
    with db.read() as session:
        row = session.get(Installation, A)
        assert row is not None and row.bot_token is not None
        return row.bot_token


def test_the_documented_key_rotation_keeps_every_token_readable_under_the_new_key(
    db: Database,
    emulator: SlackEmulator,
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 1. Installed under OLD, through the OAuth redirect.
    emulator.oauth_client = (CLIENT_ID, CLIENT_SECRET)
    server = BotServer(db, emulator, distributed=True).start()
    try:
        page = Installer(server, emulator).install(A)
        assert page.title == "Decision Bot is installed", page.body
    finally:
        server.stop()
    under_old = stored_token(db)
    token = TokenCipher((OLD,)).decrypt(under_old)
    assert emulator.token_team(token) == A

    # 2. NEW first, OLD after it; then rotate-key.
    env.setenv("DECISIONBOT_ENCRYPTION_KEY", f"{NEW},{OLD}")
    code, out, _ = run(capsys, "rotate-key")
    assert code == 0 and out.startswith("re-encrypted the tokens of 1 workspace"), out
    under_new = stored_token(db)
    assert under_new != under_old
    assert TokenCipher((NEW,)).decrypt(under_new) == token
    with pytest.raises(UnreadableToken):
        TokenCipher((OLD,)).decrypt(under_new)

    # 3. NEW alone: the workspace is listed, and a delivery posts with its token.
    env.setenv("DECISIONBOT_ENCRYPTION_KEY", NEW)
    code, out, _ = run(capsys, "installations")
    assert code == 0 and any(line.startswith(A) for line in out.splitlines()), out
    seeded = seed_due_asks(db, 2, due_at=utcnow() - timedelta(minutes=1), team_id=A)
    code, out, err = run(capsys, "run-due", "--now", utcnow().isoformat())
    assert code == 0, err
    posted = [c for c in emulator.calls("chat.postMessage") if c.response and c.response["ok"]]
    assert sorted(c.args["channel"] for c in posted) == sorted(seeded.users)
    assert {c.token for c in posted} == {token}

    # OLD alone reads no token: the delivery does not go out, and rotate-key names the team.
    env.setenv("DECISIONBOT_ENCRYPTION_KEY", OLD)
    with db.session() as session:  # the same DMs due again
        session.execute(
            DueWork.__table__.update()
            .where(DueWork.__table__.c.team_id == A)
            .values(state="pending", attempts=0, due_at=utcnow() - timedelta(minutes=1))
        )
    before = len(emulator.calls())
    code, out, err = run(capsys, "run-due", "--now", utcnow().isoformat())
    assert code == 0, err
    assert emulator.calls()[before:] == []
    with db.read() as session:
        errors = set(session.scalars(select(DueWork.last_error).where(DueWork.team_id == A)))
    assert errors == {"UnreadableToken"}
    code, _, err = run(capsys, "rotate-key")
    assert code == 2 and f"no key decrypts the token of {A}" in err
