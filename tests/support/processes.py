"""Running the bot as real processes: a free loopback port, waiting on a condition, and
`decisionbot serve` (real gunicorn) in a process group of its own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from storage.db import Database
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET
from tests.support.slack_emulator import SlackEmulator

PROCESS_TIMEOUT = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: object, timeout: float = PROCESS_TIMEOUT, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")


class Serve:
    """`decisionbot serve --workers 1` in a process group of its own."""

    def __init__(self, db: Database, emulator: SlackEmulator, log: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "DATABASE_URL", "DECISIONBOT_", "PROMETHEUS_"))
        }
        self._log = log.open("w")
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.runtime.cli", "serve", "--host", "127.0.0.1"]
            + ["--port", str(self.port), "--workers", "1"],
            env={
                **base,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": emulator.url,
                "DATABASE_URL": db.url,
                "DECISIONBOT_TICK_SECONDS": "1",
                **env,
            },
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the whole process group: master and workers, no cleanup."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self._log.close()

    def terminate(self) -> int:
        os.killpg(self.proc.pid, signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self._log.close()
        return code
