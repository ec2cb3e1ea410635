from __future__ import annotations

import functools

import pytest

from storage.db import Database
from tests.e2e.adr import Adr
from tests.harness import SlackDriver
from tests.slack_emulator import SlackEmulator

# How long to wait for the bot's Web API calls. Waiting is not a timing assertion: a loaded CI
# machine may take seconds without anything being wrong (the emulator's own default is 20 s too).
WAIT_SECONDS = 20.0


@pytest.fixture
def adr(
    slack: SlackDriver, emulator: SlackEmulator, db: Database, monkeypatch: pytest.MonkeyPatch
) -> Adr:
    """`/adr` driven over real HTTP against the app, on SQLite and on Postgres."""
    wait_for = functools.partial(SlackEmulator.wait_for, emulator, timeout=WAIT_SECONDS)
    monkeypatch.setattr(emulator, "wait_for", wait_for)
    return Adr(slack, emulator, db)
