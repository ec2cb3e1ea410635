"""The `decisionbot` command as an operator runs it: real subprocesses, real gunicorn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from urllib.parse import urlencode

import pytest
from sqlalchemy import text

from storage.db import Database
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET, sign
from tests.support.processes import free_port
from tests.support.slack_emulator import SlackEmulator

pytestmark = pytest.mark.timeout(120)


def run(
    args: list[str], env: dict[str, str], cwd: str, timeout: float = 60
) -> subprocess.CompletedProcess:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "PORT"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.runtime.cli", *args],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        (["serve"], {}, "SLACK_BOT_TOKEN"),
        (["serve"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        (
            ["serve"],
            {"SLACK_BOT_TOKEN": "not-a-token", "SLACK_SIGNING_SECRET": "s"},
            "SLACK_BOT_TOKEN",
        ),
        (["socket"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        (["migrate"], {"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        (["serve"], {"PORT": "eighty", "SLACK_BOT_TOKEN": "xoxb-1"}, "PORT"),
        (["run-due"], {}, "SLACK_BOT_TOKEN"),
        (["run-due", "--now", "yesterday"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "--now"),
        (["serve"], {"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"),
        (["serve"], {"WEB_CONCURRENCY": "-2"}, "WEB_CONCURRENCY"),
        (["migrate"], {"WEB_CONCURRENCY": "two"}, "WEB_CONCURRENCY"),
    ],
)
def test_bad_settings_end_with_one_line_naming_the_variable(tmp_path, args, env, names):
    line = one_line_error(run(args, env, str(tmp_path)))
    assert names in line


def test_the_command_alone_prints_its_help(tmp_path):
    result = run([], {}, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: decisionbot"), result.stdout
    for command in ("serve", "socket", "worker", "migrate", "run-due", "import", "export"):
        assert command in result.stdout
    assert result.stderr == ""


def test_version_is_the_installed_packages(tmp_path):
    from importlib.metadata import version

    result = run(["--version"], {}, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"decisionbot {version('decisionbot')}\n"


def test_serve_refuses_an_unmigrated_postgres(postgres_url, tmp_path):
    name = f"unmigrated_{os.getpid()}_{int(time.time() * 1000)}"
    admin = Database(postgres_url)
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    fresh = postgres_url.rsplit("/", 1)[0] + "/" + name
    try:
        line = one_line_error(
            run(
                ["serve"],
                {"DATABASE_URL": fresh, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"},
                str(tmp_path),
            )
        )
        assert "decisionbot migrate" in line
        migrated = run(["migrate"], {"DATABASE_URL": fresh}, str(tmp_path))
        assert migrated.returncode == 0, migrated.stderr
        db = Database(fresh)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        db.dispose()
    finally:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_serve_runs_gunicorn_and_answers_signed_slack_requests(tmp_path):
    """The production path: `decisionbot serve` (gunicorn) on a fresh SQLite file, migrated
    on start; /healthz answers; a signed /adr opens the modal at the (emulated) Slack API."""
    port = free_port()
    with SlackEmulator() as emu:
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": emu.url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "DECISIONBOT_TICK_SECONDS": "3600",
        }
        base = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.runtime.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "2",
            ],
            env={**base, **env},
            cwd=str(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            health = None
            deadline = time.monotonic() + 60  # start-up on a loaded machine: no timing assert
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/healthz", timeout=10
                    ) as resp:
                        health = (resp.status, json.loads(resp.read()))
                        break
                except OSError:  # not listening yet, or answered non-200 (HTTPError)
                    time.sleep(0.1)
            assert health == (200, {"status": "ok", "database": "sqlite"})

            body = urlencode(
                {
                    "team_id": "TAAA",
                    "user_id": "UALICE",
                    "channel_id": "CGENERAL",
                    "command": "/adr",
                    "text": "new Through gunicorn",
                    "trigger_id": "trigger.g1",
                    "response_url": emu.response_url("g1"),
                }
            )
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/slack/events",
                data=body.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
                method="POST",
            )
            with urllib.request.urlopen(req, timeout=10) as resp:
                assert resp.status == 200
            [opened] = emu.wait_for("views.open")
            assert opened.args["trigger_id"] == "trigger.g1"
            assert (
                opened.args["view"]["blocks"][0]["element"]["initial_value"] == "Through gunicorn"
            )

            bad = urllib.request.Request(
                f"http://127.0.0.1:{port}/slack/events",
                data=body.encode(),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    **sign(body, secret="wrong"),
                },
                method="POST",
            )
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(bad, timeout=10)
            assert err.value.code == 401
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=20)
        assert "Traceback" not in out, out
        # a quiet start: no warning about a token Bolt does not need, no scheduler chatter
        assert "will be unused" not in out, out
        assert "apscheduler" not in out, out


def test_gunicorn_workers_do_not_share_the_masters_postgres_connection(_postgres_db, tmp_path):
    """The master opens a connection to check the schema; forked workers must not reuse it
    (two processes on one socket garble the protocol and /healthz answers 503)."""
    from concurrent.futures import ThreadPoolExecutor

    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "DATABASE_URL": _postgres_db.url,
        "DECISIONBOT_TICK_SECONDS": "3600",
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.runtime.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env={**base, **env},
        cwd=str(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def health(_: int) -> tuple[int, str]:
        """The status and, for an error, the answer's "error"."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as resp:
                return resp.status, ""
        except urllib.error.HTTPError as err:
            try:
                return err.code, str(json.loads(err.read()).get("error", ""))
            except ValueError:
                return err.code, ""

    try:
        up = False
        deadline = time.monotonic() + 60  # start-up on a loaded machine: no timing assert
        while not up and time.monotonic() < deadline:
            try:
                up = health(0)[0] == 200
            except OSError:  # not listening yet
                pass
            if not up:
                time.sleep(0.1)
        assert up, "the server never answered /healthz with 200"
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(health, range(400)))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    counts = Counter(answers)
    print(f"400 probes: {dict(counts)}")
    # A shared connection fails probes with a database error. Under this load a stalled
    # machine can make a probe answer the check's 1.5 s "timeout" instead: no timing asserts.
    failed = {answer: n for answer, n in counts.items() if answer[0] != 200}
    assert all(error.startswith("timeout") for _, error in failed), counts
    assert counts[(200, "")] > 0, counts


def test_run_due_refuses_a_now_more_than_a_day_ahead_unless_forced(tmp_path):
    """`--now` next month would send next month's work at once, with a real token."""
    from datetime import UTC, datetime, timedelta

    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": "http://127.0.0.1:9/api/",  # nothing is due: Slack is never called
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
    }
    ahead = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = one_line_error(run(["run-due", "--now", ahead], env, str(tmp_path)))
    assert f"--now {ahead} is more than a day ahead" in line and "--force" in line
    assert not (tmp_path / "bot.db").exists()  # refused before touching the database

    forced = run(["run-due", "--now", ahead, "--force"], env, str(tmp_path))
    assert forced.returncode == 0, forced.stderr
    assert "claimed 0" in forced.stdout, forced.stdout
    # within a day ahead (a sweep at a review's hour later today) needs no --force
    soon = (datetime.now(UTC) + timedelta(hours=20)).isoformat()
    assert run(["run-due", "--now", soon], env, str(tmp_path)).returncode == 0
