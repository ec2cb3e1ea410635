"""The two modes, chosen by the environment: one workspace with SLACK_BOT_TOKEN, or "Add to
Slack" with client credentials and an encryption key. Every wrong combination stops with one
line naming the variable, never a traceback, and never echoes a secret."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.runtime.config import DISTRIBUTED, SINGLE, ConfigError, Settings
from storage.secrets import new_key

KEY = new_key()
SHARED = {
    "SLACK_CLIENT_ID": "1.2",
    "SLACK_CLIENT_SECRET": "shh-secret",
    "DECISIONBOT_ENCRYPTION_KEY": KEY,
}


def test_a_bot_token_is_one_workspace_and_client_credentials_are_many() -> None:
    assert Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}).mode == SINGLE
    shared = Settings.from_env(SHARED)
    assert shared.mode == DISTRIBUTED and shared.retention_days == 30
    assert shared.encryption_keys == (KEY,)
    assert "shh-secret" not in repr(shared) and KEY not in repr(shared)
    assert Settings.from_env({**SHARED, "DECISIONBOT_RETENTION_DAYS": "0"}).retention_days == 0


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({**SHARED, "SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_BOT_TOKEN and SLACK_CLIENT_ID"),
        ({"SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET is not set"),
        ({"SLACK_CLIENT_SECRET": "s"}, "SLACK_CLIENT_ID is not set"),
        (
            {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"},
            "DECISIONBOT_ENCRYPTION_KEY is not set",
        ),
        ({**SHARED, "DECISIONBOT_ENCRYPTION_KEY": "not-a-key"}, "key 1 of 1 is not a Fernet key"),
        ({**SHARED, "DECISIONBOT_RETENTION_DAYS": "-1"}, "DECISIONBOT_RETENTION_DAYS must be"),
        ({**SHARED, "SLACK_REDIRECT_URI": "example.com/x"}, "SLACK_REDIRECT_URI must be"),
    ],
)
def test_a_wrong_combination_is_one_sentence_naming_it(env: dict[str, str], said: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env)
    assert said in str(err.value)
    assert "shh-secret" not in str(err.value) and "not-a-key" not in str(err.value)


def test_socket_mode_is_for_one_workspace() -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env(SHARED).require_socket()
    assert "decisionbot serve" in str(err.value)


def test_serve_with_both_modes_set_stops_with_one_line(tmp_path: object) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DECISIONBOT_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot.runtime.cli", "serve"],
        env={**base, **SHARED, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "x"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("decisionbot: SLACK_BOT_TOKEN and SLACK_CLIENT_ID")
