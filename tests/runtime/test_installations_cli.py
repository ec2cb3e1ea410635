"""`decisionbot installations`, `purge`, `rotate-key` and `new-key`
(bot/runtime/installations_cli.py) run through ``bot.runtime.cli.main`` with the settings in
the environment, against a SQLite file and a real Postgres (``db``): what they print, and the
rows they leave."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from bot.runtime.cli import main
from storage import installations
from storage.db import Database
from storage.models import Installation, utcnow
from storage.secrets import TokenCipher, new_key
from tests.support.workspace_data import CIPHER, KEY, counts, seed_workspace

A, B = "TCLIA", "TCLIB"
RETENTION = timedelta(days=30)
# After the seeded installs (made at the time the test runs), whole minutes.
LEFT_AT = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=1)
PURGE_AT = LEFT_AT + RETENTION


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """``main`` installs its log handler on the root logger: put the root back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def env(db: Database, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Distributed mode on ``db``: client credentials and the seeded tokens' key."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DECISIONBOT_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("SLACK_CLIENT_ID", "111.222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-secret")
    monkeypatch.setenv("DECISIONBOT_ENCRYPTION_KEY", KEY)
    return monkeypatch


@pytest.fixture
def two_workspaces(db: Database, env: pytest.MonkeyPatch) -> Database:
    """A, which uninstalled the app on LEFT_AT, and B, still installed."""
    seed_workspace(db, A, word="kubernetes")
    seed_workspace(db, B, word="terraform")
    with db.session() as session:
        installations.uninstall(
            session, team_id=A, retention=RETENTION, scheduled_kinds=(), now=LEFT_AT
        )
    return db


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str) -> str:
    assert code == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("decisionbot: ")]
    assert len(lines) == 1, err
    return lines[0]


def stored_tokens(db: Database) -> dict[str, str | None]:
    with db.read() as session:
        return {r.team_id: r.bot_token for r in session.scalars(select(Installation))}


# -- installations ------------------------------------------------------------------------------


def test_installations_lists_each_workspace_with_its_state_and_no_token(two_workspaces, capsys):
    db = two_workspaces
    code, out, _ = run(capsys, "installations")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "TEAM",
        "NAME",
        "INSTALLED",
        "BY",
        "INSTALLED",
        "(UTC)",
        "STATE",
        "SCOPES",
    ]
    row_a = next(line for line in lines if line.startswith(A))
    row_b = next(line for line in lines if line.startswith(B))
    assert "kubernetes team" in row_a and "U0INSTALLER" in row_a
    assert f"uninstalled {LEFT_AT:%Y-%m-%d}, purge {PURGE_AT:%Y-%m-%d}" in row_a
    assert "active" in row_b and row_b.endswith("commands,chat:write")
    # Aligned: every column starts at the same place on every line.
    assert lines[0].index("STATE") == row_a.index("uninstalled") == row_b.index("active")
    assert lines[-1] == "2 workspaces: 1 active, 1 uninstalled"
    token_b = stored_tokens(db)[B]
    assert token_b and token_b not in out and "xoxb-" not in out


def test_installations_in_single_workspace_mode_says_there_are_none(db, env, capsys):
    env.delenv("SLACK_CLIENT_ID")
    env.delenv("SLACK_CLIENT_SECRET")
    env.setenv("SLACK_BOT_TOKEN", "xoxb-single")
    code, out, _ = run(capsys, "installations")
    assert code == 0
    assert out.splitlines() == [
        "no installations: single-workspace mode (SLACK_BOT_TOKEN) serves one workspace and "
        "records none"
    ]


# -- purge --------------------------------------------------------------------------------------


def test_purge_without_now_says_what_and_when_and_deletes_nothing(two_workspaces, capsys):
    db = two_workspaces
    before = counts(db, A)
    code, out, _ = run(capsys, "purge", "--team", A)
    assert code == 0
    assert out.count("\n") == 1
    assert out.startswith(
        f"{A}: {sum(before.values())} rows in {len(before)} tables would be purged "
        f"on {PURGE_AT:%Y-%m-%d %H:%M} UTC by the scheduled purge; "
        f"`decisionbot purge --team {A} --now` purges them at once (channels 3, "
    )
    assert "decisions 9, " in out
    assert counts(db, A) == before


def test_purge_now_deletes_every_row_of_the_workspace_and_no_other(two_workspaces, capsys):
    db = two_workspaces
    before_a, before_b = counts(db, A), counts(db, B)
    code, out, _ = run(capsys, "purge", "--team", A, "--now")
    assert code == 0
    assert out.startswith(f"purged {A}: {sum(before_a.values())} rows deleted (channels 3, ")
    assert out.count("\n") == 1
    assert set(counts(db, A).values()) == {0}
    assert counts(db, B) == before_b
    code, out, _ = run(capsys, "installations")
    assert A not in out and B in out


def test_purge_now_refuses_an_installed_workspace(two_workspaces, capsys):
    db = two_workspaces
    before = counts(db, B)
    code, out, err = run(capsys, "purge", "--team", B, "--now")
    line = one_line_error(code, err)
    assert f"{B} is still installed; uninstall the app from the workspace first" in line
    assert counts(db, B) == before
    code, out, _ = run(capsys, "purge", "--team", B)
    assert code == 0 and f"{B} is installed: nothing is planned" in out
    assert "purged 30 days after it uninstalls" in out


def test_purge_of_an_unknown_workspace_is_an_error(two_workspaces, capsys):
    code, _, err = run(capsys, "purge", "--team", "TNOBODY", "--now")
    assert "--team TNOBODY: nothing is stored for that workspace" in one_line_error(code, err)


# -- keys ---------------------------------------------------------------------------------------


def test_rotate_key_re_encrypts_every_token_under_the_newest_key(two_workspaces, env, capsys):
    db = two_workspaces
    with db.session() as session:  # B's refresh token too
        row = session.get(Installation, B)
        assert row is not None
        row.bot_refresh_token = CIPHER.encrypt("xoxe-refresh")
    before = stored_tokens(db)
    newest = new_key()
    env.setenv("DECISIONBOT_ENCRYPTION_KEY", f"{newest},{KEY}")

    code, out, _ = run(capsys, "rotate-key")

    assert code == 0
    # A left the app: its tokens were deleted, there is nothing of it to re-encrypt.
    assert out.startswith("re-encrypted the tokens of 1 workspace under the newest key")
    after = stored_tokens(db)
    assert after[A] is None and after[B] != before[B]
    only_newest = TokenCipher([newest])
    with db.read() as session:
        found = installations.find(session, cipher=only_newest, team_id=B)
        row = session.get(Installation, B)
    assert found is not None and found.bot_token == f"xoxb-{B}"
    assert row is not None and only_newest.decrypt(row.bot_refresh_token or "") == "xoxe-refresh"


def test_rotate_key_names_the_workspace_whose_token_no_key_reads(two_workspaces, env, capsys):
    db = two_workspaces
    before = stored_tokens(db)
    env.setenv("DECISIONBOT_ENCRYPTION_KEY", new_key())  # the seeded tokens' key dropped
    code, _, err = run(capsys, "rotate-key")
    line = one_line_error(code, err)
    assert f"no key decrypts the token of {B}" in line and "nothing was changed" in line
    assert stored_tokens(db) == before


def test_new_key_prints_a_key_even_before_the_settings_are_complete(env, capsys):
    env.delenv("DECISIONBOT_ENCRYPTION_KEY")  # distributed mode without a key is an error...
    code, out, err = run(capsys, "new-key")
    assert code == 0 and err == ""
    key = out.strip()
    assert out == key + "\n"
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"
    code, _, err = run(capsys, "installations")  # ...which the other commands still report
    assert "DECISIONBOT_ENCRYPTION_KEY is not set" in one_line_error(code, err)
