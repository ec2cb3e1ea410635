"""Throughput of scheduled work: `decisionbot run-due` over N due follow-ups (issue 3).

For each run this:

1. creates a fresh database (on a throwaway Postgres cluster from tests.pg, or a SQLite file in
   a temp dir), migrates it and seeds N due "did this decision work?" DMs with bulk SQL
   (tests/seed_due.py: one decision, open review, ask and ``review.ask`` due_work row per
   item, each for a distinct user, so every DM at the emulator names its item);
2. starts P ``decisionbot run-due --now <ISO>`` processes at once, all pointed at the same
   database and at a Slack Web API emulator with no latency (in its own process, so its
   threads don't compete with the measuring process), and waits for all of them;
3. measures the wall time from starting the processes to the last one exiting (start-up
   included) and, separately, the sweep time from the first to the last DM the emulator
   received, and the CPU time per item of the sweepers, the emulator and the Postgres
   cluster; counts duplicates (users with more than one DM), losses (users with none) and
   rows not ``done``.

Runs: Postgres with 1 process and with P (default 3) processes; SQLite with 1 process as an
extra line. Prints a table and a PASS/MISS line per target of issue 3: >= 200 items/s for one
process, >= 2.4x with three, 0 duplicates, 0 lost (throughput targets are judged on Postgres
wall-time figures), and the CPU ceiling: the most any number of processes could sweep on
this machine's cores at the measured CPU per item. ``--latency`` makes the emulator slow, to
see sweeps bound by Slack rather than CPU. Exit status 1 only when delivery was wrong
(duplicates, losses, rows left, a process failed); a missed speed target is printed, not an
error.

Run ``python -m benchmarks.run_due --help``. Everything binds 127.0.0.1 only; the emulator,
the Postgres cluster, child processes and temp dirs are removed on exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"  # loopback only, always
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the instant every run-due sweeps at
TARGET_ONE = 200.0  # items/s, one process
TARGET_SCALING = 2.4  # three processes vs one
SMOKE_ITEMS = 300
PROCESS_TIMEOUT = 900.0


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- the emulator, in its own process ---------------------------------------------------------


def _emulator_main(latency: float = 0.0) -> int:
    """Child: a SlackEmulator on loopback; prints its URL, then answers commands on stdin, one
    JSON line each: ``reset`` and ``dms`` (chat.postMessage channel counts and the first/last
    arrival times)."""
    from tests.slack_emulator import SlackEmulator

    emu = SlackEmulator().start()
    emu.latency = latency
    print(emu.url, flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "reset":
                emu.reset()
                print("{}", flush=True)
            elif command == "dms":
                calls = emu.calls("chat.postMessage")
                print(
                    json.dumps(
                        {
                            "channels": Counter(str(c.args.get("channel")) for c in calls),
                            "first": calls[0].at if calls else None,
                            "last": calls[-1].at if calls else None,
                            "other": len(emu.calls()) - len(calls),
                        }
                    ),
                    flush=True,
                )
    finally:
        emu.stop()
    return 0


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _stop(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, wait: float = 5.0) -> None:
    """Stop a child we started: ``sig``, then SIGKILL if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


class Emulator:
    def __init__(self, latency: float = 0.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.run_due", "--emulator", "--latency", str(latency)],
            cwd=ROOT,
            env=_child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith(f"http://{HOST}:"):
            self.stop()
            raise RuntimeError(f"the Slack emulator did not start (said {self.url!r})")

    def _ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))

    def reset(self) -> None:
        self._ask("reset")

    def dms(self) -> dict[str, Any]:
        return self._ask("dms")

    def stop(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        _stop(self.proc)


# -- one run ---------------------------------------------------------------------------------


@dataclass
class Row:
    store: str
    processes: int
    items: int
    wall_s: float
    sweep_s: float
    cpu_s: float = 0.0  # user + system time of the sweeping processes, start-up included
    emulator_cpu_s: float | None = None  # ... of the emulator process
    postgres_cpu_s: float | None = None  # ... of the Postgres cluster (all its processes)
    claimed: list[int] = field(default_factory=list)
    sent: int = 0
    duplicates: int = 0
    lost: int = 0
    not_done: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.items / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def sweep_rate(self) -> float:
        return self.items / self.sweep_s if self.sweep_s > 0 else 0.0

    @property
    def cpu_ms_per_item(self) -> float:
        return 1000 * self.cpu_s / self.items if self.items else 0.0

    def per_item_ms(self, seconds: float | None) -> float | None:
        return None if seconds is None or not self.items else 1000 * seconds / self.items

    @property
    def total_cpu_ms_per_item(self) -> float:
        parts = (self.cpu_s, self.emulator_cpu_s, self.postgres_cpu_s)
        return 1000 * sum(p for p in parts if p is not None) / self.items if self.items else 0.0

    @property
    def correct(self) -> bool:
        return not (self.duplicates or self.lost or self.not_done or self.failures)


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int | str) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name: [0] state, [1] ppid, [11] utime,
    [12] stime, [13] cutime, [14] cstime (clock ticks)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a running process (Linux /proc), else None."""
    fields = _stat(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / _TICKS


def cluster_cpu(postmaster: int) -> float | None:
    """CPU seconds of a Postgres cluster: the postmaster, its exited (reaped) children and
    its live ones (backends, checkpointer, ...)."""
    fields = _stat(postmaster)
    if fields is None:
        return None
    ticks = sum(int(f) for f in fields[11:15])
    for stat in Path("/proc").glob("[0-9]*/stat"):
        child = _stat(stat.parent.name)
        if child is not None and child[1] == str(postmaster):
            ticks += int(child[11]) + int(child[12])
    return ticks / _TICKS


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def run_sweepers(
    store: str,
    url: str,
    items: int,
    processes: int,
    emulator: Emulator,
    logs: Path,
    postmaster: int | None = None,
) -> Row:
    """Seed ``items`` into the empty database at ``url``, run ``processes`` sweepers at once."""
    from storage.db import Database
    from tests.seed_due import (
        decisionbot_command,
        parse_summary,
        run_due_env,
        seed_due_asks,
        tally,
        work_states,
    )

    db = Database(url)
    try:
        t0 = time.perf_counter()
        db.migrate()
        seeded = seed_due_asks(db, items, due_at=NOW - timedelta(minutes=1))
        _say(f"{store}: migrated and seeded {items:,} due DMs in {time.perf_counter() - t0:.1f} s")
        emulator.reset()
        env = run_due_env(url, emulator.url)
        command = [*decisionbot_command(), "run-due", "--now", NOW.isoformat()]
        procs: list[subprocess.Popen[str]] = []
        errs = []
        usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        emulator_before = process_cpu(emulator.proc.pid)
        postgres_before = cluster_cpu(postmaster) if postmaster else None
        try:
            started = time.perf_counter()
            for i in range(processes):
                err = (logs / f"{store}-{processes}p-{i}.log").open("w")
                errs.append(err)
                procs.append(
                    subprocess.Popen(
                        command, env=env, stdout=subprocess.PIPE, stderr=err, text=True
                    )
                )
            outs = [p.communicate(timeout=PROCESS_TIMEOUT)[0] for p in procs]
            wall = time.perf_counter() - started
        finally:
            for p in procs:
                _stop(p, signal.SIGKILL, 0)
            for err in errs:
                err.close()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the sweepers, now reaped
        cpu = (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)
        row = Row(store, processes, items, wall, 0.0, cpu)
        row.emulator_cpu_s = _delta(emulator_before, process_cpu(emulator.proc.pid))
        if postmaster:
            row.postgres_cpu_s = _delta(postgres_before, cluster_cpu(postmaster))
        for i, (proc, out) in enumerate(zip(procs, outs, strict=True)):
            try:
                summary = parse_summary(out)
            except AssertionError:
                log = (logs / f"{store}-{processes}p-{i}.log").read_text()[-2000:]
                row.failures.append(f"process {i} exit {proc.returncode}: {out!r} {log}")
                continue
            if proc.returncode != 0:
                row.failures.append(f"process {i} exit {proc.returncode}")
            row.claimed.append(summary["claimed"])
            row.sent += summary["sent"]
        dms = emulator.dms()
        channels = Counter(dms["channels"])
        _, row.duplicates, row.lost, _ = tally(channels.elements(), seeded.users)
        if dms["first"] is not None:
            row.sweep_s = float(dms["last"]) - float(dms["first"])
        states = work_states(db)
        row.not_done = sum(states.values()) - states.get("done", 0)
        _say(
            f"{store} x{processes}: {row.rate:,.0f} items/s wall ({wall:.1f} s), "
            f"{row.sweep_rate:,.0f} items/s sweep, {row.cpu_ms_per_item:.2f} CPU ms/item; "
            f"claimed {row.claimed}; "
            f"dup {row.duplicates} lost {row.lost} not done {row.not_done}"
        )
        return row
    finally:
        db.dispose()


# -- report ----------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def format_table(rows: list[Row]) -> str:
    head = (
        f"{'store':<9}{'procs':>6}{'items':>8}{'wall s':>9}{'items/s':>9}"
        f"{'sweep s':>9}{'sweep/s':>9} | {'run-due':>8}{'emu':>6}{'pg':>6}{'total':>7} |"
        f"{'dup':>4}{'lost':>5}{'left':>5} | claimed per process"
    )
    lines = [
        f"{'':<60}|{' CPU ms per item':<29}|",
        head,
        "-" * len(head),
    ]
    for r in rows:
        lines.append(
            f"{r.store:<9}{r.processes:>6}{r.items:>8,}{r.wall_s:>9.2f}{r.rate:>9.0f}"
            f"{r.sweep_s:>9.2f}{r.sweep_rate:>9.0f} | {r.cpu_ms_per_item:>8.2f}"
            f"{_ms(r.per_item_ms(r.emulator_cpu_s)):>6}{_ms(r.per_item_ms(r.postgres_cpu_s)):>6}"
            f"{r.total_cpu_ms_per_item:>7.2f} |{r.duplicates:>4}{r.lost:>5}{r.not_done:>5} | "
            f"{'/'.join(str(c) for c in r.claimed)}"
        )
    return "\n".join(lines)


def cpu_ceiling(rows: list[Row]) -> str | None:
    """What the CPU figures allow: with every core busy on this work and nothing else, N
    processes can't exceed cores / (CPU per item), whatever their number."""
    one = next((r for r in rows if r.store == "postgres" and r.processes == 1), None)
    cpus = os.cpu_count() or 1
    if one is None or not one.total_cpu_ms_per_item or one.postgres_cpu_s is None:
        return None
    ceiling = cpus * 1000 / one.total_cpu_ms_per_item
    return (
        f"CPU ceiling: one item costs {one.total_cpu_ms_per_item:.2f} CPU ms in all (run-due "
        f"{one.cpu_ms_per_item:.2f}, emulator {_ms(one.per_item_ms(one.emulator_cpu_s))}, "
        f"Postgres {_ms(one.per_item_ms(one.postgres_cpu_s))}), so {cpus} CPUs sweep at most "
        f"{ceiling:.0f} items/s with any number of processes = {ceiling / one.rate:.2f}x the "
        f"one-process rate, before any other load on the machine."
    )


def evaluate_targets(rows: list[Row], processes: int) -> list[tuple[bool | None, str, str]]:
    pg = {r.processes: r for r in rows if r.store == "postgres"}
    one, many = pg.get(1), pg.get(processes)
    targets: list[tuple[bool | None, str, str]] = []
    if one is not None:
        targets.append(
            (
                one.rate >= TARGET_ONE,
                f">= {TARGET_ONE:.0f} items/s with one process (Postgres)",
                f"{one.rate:.0f} items/s wall ({one.sweep_rate:.0f} items/s first-to-last DM)",
            )
        )
    else:
        targets.append((None, f">= {TARGET_ONE:.0f} items/s with one process", "not measured"))
    if one is not None and many is not None and one.rate > 0:
        ratio = many.rate / one.rate
        sweep_ratio = many.sweep_rate / one.sweep_rate if one.sweep_rate else 0.0
        targets.append(
            (
                ratio >= TARGET_SCALING,
                f">= {TARGET_SCALING:g}x with {processes} processes (Postgres)",
                f"{ratio:.2f}x wall ({many.rate:.0f} vs {one.rate:.0f} items/s; "
                f"{sweep_ratio:.2f}x first-to-last DM; {os.cpu_count()} CPUs)",
            )
        )
    else:
        targets.append((None, f">= {TARGET_SCALING:g}x with {processes} processes", "not measured"))
    dups = sum(r.duplicates for r in rows)
    lost = sum(r.lost for r in rows)
    left = sum(r.not_done for r in rows)
    failures = sum(len(r.failures) for r in rows)
    targets.append((dups == 0, "0 duplicates", f"{dups} across {len(rows)} runs"))
    targets.append(
        (
            lost == 0 and left == 0 and failures == 0,
            "0 lost",
            f"{lost} users without their DM, {left} rows not done, {failures} failed processes",
        )
    )
    return targets


def format_targets(targets: list[tuple[bool | None, str, str]]) -> str:
    verdicts = {True: "PASS", False: "MISS", None: "N/A "}
    return "\n".join(f"{verdicts[ok]}  {target}: {figure}" for ok, target, figure in targets)


# -- orchestration ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run_due",
        description="Throughput of `decisionbot run-due` (1 and N processes) over due "
        "follow-ups against a no-latency Slack emulator; counts duplicates and losses.",
    )
    p.add_argument("--items", type=int, default=10_000, help="due follow-ups to seed (10000)")
    p.add_argument("--smoke", action="store_true", help=f"tiny CI run: {SMOKE_ITEMS} items")
    p.add_argument("--processes", type=int, default=3, help="sweepers in the parallel run (3)")
    p.add_argument(
        "--stores",
        default="postgres,sqlite",
        help="comma-separated: postgres (1 and N processes), sqlite (1 process)",
    )
    p.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds the emulator waits per call (default 0: the issue's benchmark; e.g. "
        "0.05 shows how sweepers scale when Slack, not CPU, is the bottleneck)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    p.add_argument("--emulator", action="store_true", help=argparse.SUPPRESS)
    return p


def _postmaster_pid(datadir: Path | None) -> int | None:
    try:
        return int((Path(datadir) / "postmaster.pid").read_text().split()[0]) if datadir else None
    except (OSError, ValueError, IndexError):
        return None


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _raise_interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.emulator:
        return _emulator_main(args.latency)
    if args.smoke:
        args.items = SMOKE_ITEMS
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if not stores or any(s not in ("postgres", "sqlite") for s in stores):
        print("--stores: choose from postgres, sqlite", file=sys.stderr)
        return 2

    load_before = _loadavg()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="run-due-bench-"))
    rows: list[Row] = []
    started = time.perf_counter()
    pg_version = ""
    try:
        with contextlib.ExitStack() as stack:
            emulator = Emulator(args.latency)
            stack.callback(emulator.stop)
            if "postgres" in stores:
                from tests.pg import PostgresServer, postgres_available

                if not postgres_available():
                    raise RuntimeError("PostgreSQL server binaries are absent")
                pg = PostgresServer().start()
                stack.callback(pg.stop)
                pg_version = f"PostgreSQL {pg.bindir.parent.name if pg.bindir else '?'}"
                postmaster = _postmaster_pid(pg.datadir)
                for n, procs in enumerate(dict.fromkeys([1, args.processes])):
                    url = pg.create_database(f"bench_run_due_{n}")
                    rows.append(
                        run_sweepers(
                            "postgres", url, args.items, procs, emulator, workdir, postmaster
                        )
                    )
                    pg.drop_database(f"bench_run_due_{n}")
            if "sqlite" in stores:
                url = f"sqlite:///{workdir / 'bench.db'}"
                rows.append(run_sweepers("sqlite", url, args.items, 1, emulator, workdir))
    except KeyboardInterrupt:
        _say("interrupted; processes, servers and temp dirs cleaned up")
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)

    targets = evaluate_targets(rows, args.processes)
    print()
    print(
        f"run-due throughput: {args.items:,} due follow-up DMs swept by `decisionbot run-due` "
        f"processes started at once; Slack emulator "
        f"{f'with {args.latency * 1000:g} ms latency' if args.latency else 'without latency'} "
        f"(own process). "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
        f"{', ' + pg_version if pg_version else ''}. wall = process start to last exit; "
        f"sweep = first to last DM at the emulator; cpu ms = CPU time of the run-due "
        f"processes, the emulator and the Postgres cluster per item (start-up included); "
        f"left = rows not done. "
        f"Load average before/after: {load_before} / {_loadavg()}."
    )
    print(format_table(rows))
    print()
    print(format_targets(targets))
    ceiling = cpu_ceiling(rows)
    if ceiling:
        print(ceiling)
    print(f"(total {time.perf_counter() - started:.0f} s)")
    for r in rows:
        for failure in r.failures:
            print(f"{r.store} x{r.processes}: {failure}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "items": args.items,
                    "cpus": os.cpu_count(),
                    "rows": [
                        {**r.__dict__, "rate": r.rate, "sweep_rate": r.sweep_rate} for r in rows
                    ],
                    "targets": [{"ok": ok, "target": t, "figure": f} for ok, t, f in targets],
                },
                indent=2,
            )
        )
    return 0 if all(r.correct for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
