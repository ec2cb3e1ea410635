"""The parent's handles on the child processes: the Slack emulator, the app and bare servers
(``python -m benchmarks.ack_latency --emulator`` / ``--serve``) and the ``decisionbot worker``,
with their CPU time read from /proc."""

from __future__ import annotations

import contextlib
import http.client
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.ack_latency.config import (
    HOST,
    ROOT,
    WORKER_NICE,
    WORKER_READY_TIMEOUT,
    WORKER_STOP_TIMEOUT,
)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _stop_process(proc: subprocess.Popen[Any], sig: int, wait: float) -> None:
    """Stop a child we started (in its own session): ``sig``, then SIGKILL to its group."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            pass
    # gunicorn workers are in the child's process group (the child leads its own session).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


class Emulator:
    """The Slack Web API emulator in its own process, so its threads never compete for the
    load generator's GIL."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.ack_latency", "--emulator"],
            cwd=ROOT,
            env=_child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            assert self.proc.stdout is not None
            self.url = self.proc.stdout.readline().strip()
            if not self.url.startswith(f"http://{HOST}:"):
                raise RuntimeError(f"the Slack emulator did not start (said {self.url!r})")
        except BaseException:
            self.stop()
            raise
        self.base = self.url[: -len("api/")]

    def _ask(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def count(self) -> int:
        return int(self._ask("count"))

    def reset(self) -> None:
        self._ask("reset")

    def post_at(self, channel: str, token: str, timeout: float = 10.0) -> float | None:
        """``time.monotonic()`` at which the emulator received the chat.postMessage to
        ``channel`` containing ``token`` (None if none came within ``timeout``)."""
        answer = self._ask(f"post {channel} {token} {timeout}")
        return None if answer == "none" else float(answer)

    def wait_quiet(
        self,
        servers: Sequence[Server | Worker] = (),
        quiet: float = 0.5,
        timeout: float = 300.0,
        drained: Callable[[], bool] | None = None,
    ) -> bool:
        """Wait until the servers' post-ack work has stopped: no calls to the emulator
        (views.open, the dispatcher's posts, updates and DMs) and the ``servers``' processes
        idle (< 5% of a CPU) for ``quiet`` seconds, and then — checked only at that moment, so
        its queries stay out of the CPU figures — ``drained()`` (no outbox work due now left
        pending or in flight), so one run's leftovers never land in the next run's figures.
        False if that did not happen within ``timeout``."""
        deadline = time.monotonic() + timeout

        def busy() -> float:
            return sum(s.cpu_seconds() for s in servers)

        last_calls, last_cpu, since = self.count(), busy(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            calls, cpu = self.count(), busy()
            if calls != last_calls or cpu - last_cpu > 0.005:  # 5% of one CPU per 0.1 s
                since = time.monotonic()
            last_calls, last_cpu = calls, cpu
            if time.monotonic() - since >= quiet:
                if drained is None or drained():
                    return True
                since = time.monotonic()
        return False

    def stop(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        _stop_process(self.proc, signal.SIGTERM, 5)


class Server:
    """``python -m benchmarks.ack_latency --serve app|bare``: gunicorn on a loopback port."""

    def __init__(
        self,
        kind: str,
        *,
        database_url: str,
        slack_api_url: str,
        workers: int,
        threads: int,
        log_dir: Path,
        dispatcher: str = "embedded",
    ) -> None:
        self.kind = kind
        self.workers = workers
        self.dispatcher = dispatcher  # app only: embedded | off
        stamp = f"{kind}-{os.getpid()}-{time.monotonic_ns()}"
        self.log_path = log_dir / f"server-{stamp}.log"
        # Both servers count requests in prometheus_client's multiprocess mode, as serve does.
        self.metrics_dir = log_dir / f"metrics-{stamp}"
        self.metrics_dir.mkdir()
        self.proc: subprocess.Popen[Any] | None = None
        self.port = 0
        try:
            self._start(kind, database_url, slack_api_url, workers, threads)
        except BaseException:  # Ctrl-C while booting included: leave nothing running
            self.stop()
            raise

    def _start(
        self, kind: str, database_url: str, slack_api_url: str, workers: int, threads: int
    ) -> None:
        for _attempt in range(3):
            self.port = _free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.ack_latency",
                        "--serve",
                        kind,
                        "--database-url",
                        database_url,
                        "--slack-api-url",
                        slack_api_url,
                        "--port",
                        str(self.port),
                        "--workers",
                        str(workers),
                        "--threads",
                        str(threads),
                        "--dispatcher",
                        self.dispatcher,
                    ],
                    cwd=ROOT,
                    env={**_child_env(), "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir)},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            if self._wait_ready():
                return
            clash = "in use" in self._log_tail()
            self.stop()
            if not clash:
                break
        raise RuntimeError(f"the {kind} server did not become ready; log tail:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _wait_ready(self, timeout: float = 60.0) -> bool:
        """Ready when every worker has booted and /healthz answers 200."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            booted = self._log_tail(10_000).count("Booting worker with pid")
            if booted >= self.workers:
                try:
                    conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                    conn.request("GET", "/healthz")
                    ok = conn.getresponse().status == 200
                    conn.close()
                    if ok:
                        return True
                except OSError:
                    pass
            time.sleep(0.1)
        return False

    def cpu_seconds(self) -> float:
        """CPU time used so far by the gunicorn master and its workers (Linux /proc; else 0)."""
        if self.proc is None:
            return 0.0
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                pid = int(stat.parent.name)
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, ValueError, IndexError):
                continue
            if pid == self.proc.pid or int(fields[1]) == self.proc.pid:  # fields[1]: ppid
                total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        return total / os.sysconf("SC_CLK_TCK") if total else 0.0

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc, signal.SIGINT, 10)  # SIGINT: gunicorn's quick shutdown


class Worker:
    """One ``decisionbot worker`` under ``nice -n 10``: the separate outbox dispatcher of the
    worker topology. Same environment as serve's (database, bot token, the emulator's URL);
    LOG_LEVEL=INFO for its ready line and its ``worker stopped: ...`` summary."""

    READY = "delivering outbox work"

    def __init__(self, *, database_url: str, slack_api_url: str, log_dir: Path) -> None:
        from tests.support.harness import BOT_TOKEN
        from tests.support.seed_due import decisionbot_command

        self.log_path = log_dir / f"worker-{os.getpid()}-{time.monotonic_ns()}.log"
        env = {
            k: v
            for k, v in _child_env().items()
            if not k.startswith(("SLACK_", "DATABASE_URL", "DECISIONBOT_", "PROMETHEUS_"))
        }
        env.update(
            DATABASE_URL=database_url,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_API_URL=slack_api_url,
            LOG_LEVEL="INFO",
        )
        self.exit_code: int | None = None
        self.stop_s = math.nan
        self.summary = ""
        with open(self.log_path, "ab") as log:
            # `nice` execs the command: the pid we hold is the worker itself.
            self.proc = subprocess.Popen(
                ["nice", "-n", str(WORKER_NICE), *decisionbot_command(), "worker"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + WORKER_READY_TIMEOUT
        while self.READY not in self.log_text():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"decisionbot worker exited {self.proc.returncode} at start-up:\n"
                    f"{self.log_text()[-2000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"decisionbot worker not ready after {WORKER_READY_TIMEOUT:.0f} s:\n"
                    f"{self.log_text()[-2000:]}"
                )
            time.sleep(0.05)

    def ready_line(self) -> str:
        return next((ln for ln in self.log_text().splitlines() if self.READY in ln), "")

    def cpu_seconds(self) -> float:
        """User + system CPU of the worker process so far (its threads included)."""
        fields = _proc_stat(self.proc.pid)
        if fields is None:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def terminate(self) -> int | None:
        """SIGTERM, wait for the exit; records the exit status, the time it took and the
        ``worker stopped: ...`` line. SIGKILL (exit recorded as the negative signal) if it
        did not exit within WORKER_STOP_TIMEOUT."""
        if self.proc.poll() is None:
            t0 = time.monotonic()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=WORKER_STOP_TIMEOUT)
                self.stop_s = time.monotonic() - t0
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        self.exit_code = self.proc.returncode
        self.summary = next(
            (
                ln.split(": ", 1)[-1]
                for ln in self.log_text().splitlines()
                if "worker stopped:" in ln
            ),
            "",
        )
        return self.exit_code

    def kill(self) -> None:
        _stop_process(self.proc, signal.SIGKILL, 5)  # no-op for SIGKILL if already exited


@dataclass
class WorkerStop:
    """How the worker topology's ``decisionbot worker`` ended on SIGTERM."""

    store: str
    exit_code: int | None
    stop_s: float
    summary: str  # "worker stopped: claimed N, sent N, ..."
    log_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and "worker stopped:" in self.summary


def _proc_stat(pid: int | str) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state is [0], ppid [1])."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
