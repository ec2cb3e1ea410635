"""Where the CPU of an interaction goes: cProfile over every thread of the app (the request
threads, Bolt's listeners, the embedded dispatcher and its deliveries), per interaction, plus
the statements each one sends (issue 27).

```
python -m benchmarks.interaction_profile                       # SQLite, 200 of each
python -m benchmarks.interaction_profile --postgres URL        # a Postgres server (a database of its own)
python -m benchmarks.interaction_profile --only submit,agree --top 30 --repeat 300
```

The app is the real one (``tests.support.harness.BotServer``: signed HTTP over loopback, the
embedded dispatcher running as `decisionbot serve` runs it) against the Slack emulator. Every
thread the app starts is profiled (``threading.Thread.run`` wrapped while a scenario runs); the
emulator's own threads are not. Each scenario gets a fresh server, so its threads, and so its
profile, are its own; its setup (a few requests) is included and small beside ``--repeat``.

Printed per scenario: CPU ms per interaction (this process: app, client and emulator), the
statements per interaction (all engines, as ``tests/support/statements.py`` counts them), and
the top functions by own time and by cumulative time. A profile slows Python code down about
twofold, so compare entries with each other and before/after, not with the ack benchmark.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.core.ids import Action, EstimateField, Field
from storage.db import Database
from tests.support.adr import Adr
from tests.support.harness import BotServer, SlackDriver
from tests.support.slack_emulator import SlackEmulator
from tests.support.statements import counting

_original_run = threading.Thread.run
PEOPLE = 31


@contextmanager
def profiling_threads(skip: Callable[[threading.Thread], bool]) -> Iterator[list[cProfile.Profile]]:
    """Profile every thread started inside the block (except ``skip``ped ones) for its whole
    life; the profiles are complete once those threads have ended."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def run(self: threading.Thread) -> None:
        if skip(self):
            _original_run(self)
            return
        # CPU time of this thread, not wall time: waiting (Slack, locks, other processes) is
        # not what this measures.
        profile = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(profile)
        profile.enable()
        try:
            _original_run(self)
        finally:
            profile.disable()

    threading.Thread.run = run  # type: ignore[method-assign]  # benchmark-only wrapping
    try:
        yield profiles
    finally:
        threading.Thread.run = _original_run  # type: ignore[method-assign]


def _scenarios(adr: Adr) -> dict[str, tuple[Callable[[], None], Callable[[int], None]]]:
    """Per scenario: (setup, one interaction i)."""
    slack = adr.slack
    state: dict[str, Any] = {}

    def new_decision() -> None:
        state["n"] = adr.new("Use Postgres", values={Field.DECIDERS: ["UALICE", "UBOB"]})
        state["ts"] = adr.decision(state["n"])["message_ts"]

    def decisions() -> None:
        """Clicks go to 17 cards, by 31 people (no one clicks the same card twice within 527
        clicks), as in a busy workspace; each person's first click (it looks them up) is in
        the setup."""
        state["cards"] = []
        for n in range(17):
            number = adr.new(f"Decision {n}", values={Field.DECIDERS: ["UALICE", "UBOB"]})
            state["cards"].append((number, adr.decision(number)["message_ts"]))
        for i in range(PEOPLE):
            agree(i)
        slack.listeners_done()

    def agree(i: int) -> None:
        number, ts = state["cards"][i % len(state["cards"])]
        user = f"UP{i % PEOPLE:05d}"
        slack.click(Action.AGREE, str(number), user=user, message_ts=ts)

    def form() -> None:
        view = adr.open_form("new Decision")
        state["view"] = view

    def submit(i: int) -> None:
        view = {**state["view"], "id": f"VPROF{i}"}
        values = {
            Field.DECISION: f"We do thing {i}.",
            Field.CONTEXT: "Because of reasons.",
            Field.DECIDERS: ["UALICE", "UBOB"],
            Field.CONSULTED: ["UCAROL"],
            Field.INFORMED: ["UDAN"] if i % 3 == 0 else [],
            Field.TAGS: "infra db",
        }
        slack.submit(view, values)

    def stance_form() -> None:
        new_decision()
        before = slack.views_opened()
        slack.click(Action.DISAGREE, str(state["n"]), user="UBOB", message_ts=state["ts"])
        state["view"] = slack.opened_view(after=before)

    def stance(i: int) -> None:
        view = {**state["view"], "id": f"VSTANCE{i}"}
        slack.submit(view, {Field.CONCERN: f"Concern {i}."}, user=f"UP{i:05d}")

    def searchable() -> None:
        for title in ("Use Postgres for billing", "Use Redis for sessions", "Retire cron"):
            adr.new(title)

    def estimate_round() -> None:
        slack.command("API in days", command="/estimate", user="UFAC")
        before = slack.views_opened()
        slack.click(Action.ESTIMATE_ADD, "1", user="UANA")
        state["view"] = slack.opened_view(after=before)

    def estimate(i: int) -> None:
        view = {**state["view"], "id": f"VEST{i}"}
        values = {
            "t0_best": "2",
            "t0_likely": "3",
            "t0_worst": str(5 + i % 4),
            EstimateField.CONFIDENCE: "80",
            EstimateField.FAMILIARITY: "similar",
            EstimateField.ASSUMPTIONS: "",
        }
        slack.submit(view, values, user=f"UP{i:05d}")

    return {
        "adr": (lambda: None, lambda i: slack.command("", follow=False) and None),
        "submit": (form, submit),
        "agree": (decisions, lambda i: agree(i + PEOPLE)),
        "stance": (stance_form, stance),
        "search": (
            searchable,
            lambda i: slack.command("search postgres billing", follow=False) and None,
        ),
        "estimate": (estimate_round, estimate),
        "park": (
            lambda: None,
            lambda i: slack.command(f"Idea {i}", command="/parkinglot", follow=False) and None,
        ),
    }


def profile_scenario(
    db: Database, emulator: SlackEmulator, name: str, repeat: int, top: int
) -> str:
    def skip(thread: threading.Thread) -> bool:
        target = getattr(thread, "_target", None)
        return type(getattr(target, "__self__", None)).__module__ == SlackEmulator.__module__

    emulator.reset()
    with profiling_threads(skip) as profiles:
        server = BotServer(db, emulator).start()
        slack = SlackDriver(server, emulator)
        adr = Adr(slack, emulator, db)
        setup, one = _scenarios(adr)[name]
        setup()
        slack.listeners_done()
        server.dispatcher.wait_idle()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        with counting() as sent:
            for i in range(repeat):
                one(i)
            slack.listeners_done()
            server.dispatcher.wait_idle()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        server.stop()
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join(timeout=5)
        time.sleep(0.2)  # daemon request threads finish their last write
    stats = pstats.Stats(*[p for p in profiles if p.getstats()])
    out = io.StringIO()
    out.write(
        f"\n## {name} ({db.dialect}): {repeat} interactions, "
        f"{cpu / repeat * 1000:.1f} CPU ms each (this process), {wall / repeat * 1000:.1f} ms wall, "
        f"{sent.total / repeat:.1f} statements each {dict(sorted(sent.kinds().items()))}\n"
    )
    for order in ("tottime", "cumulative"):
        out.write(f"\n### by {order}\n")
        stats.stream = out  # type: ignore[attr-defined]  # pstats prints to its stream
        stats.sort_stats(order).print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--postgres", help="a Postgres server's URL (a database of its own is made)"
    )
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--only", default="adr,submit,agree,stance,search,estimate,park", help="scenarios"
    )
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    with tempfile.TemporaryDirectory() as tmp, SlackEmulator() as emulator:
        for name in names:
            # Each scenario starts from an empty database of its own.
            with _database(args.postgres, Path(tmp) / f"{name}.db") as url:
                db = Database(url)
                db.migrate()
                try:
                    print(profile_scenario(db, emulator, name, args.repeat, args.top), flush=True)
                finally:
                    db.dispose()
    return 0


@contextmanager
def _database(postgres: str | None, path: Path) -> Iterator[str]:
    if not postgres:
        yield f"sqlite:///{path}"
        return
    from tests.support.pg import database_of_its_own

    with database_of_its_own(postgres, "profile") as url:
        yield url


if __name__ == "__main__":
    raise SystemExit(main())
