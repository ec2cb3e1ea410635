"""Fault injection for crash tests: with ``DECISIONBOT_FAULT=<point>`` in its environment, a
process SIGKILLs itself when it reaches that point (no cleanup, no flush: a real crash); with
``DECISIONBOT_FAULT=<point>:raise`` it raises there instead (a failure such as the database
going away mid-transaction).

Points: ``decision.saving`` — inside the transaction that saves a new decision, before it
commits; ``decision.saved`` — right after it (and its outbox rows) committed, before the ack
and before anything was posted. Never set it in production.
"""

from __future__ import annotations

import os
import signal


class InjectedFault(RuntimeError):
    """Raised at a fault point set to ``:raise``."""


def point(name: str) -> None:
    wanted = os.environ.get("DECISIONBOT_FAULT")
    if not wanted:
        return
    if wanted == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if wanted == f"{name}:raise":
        raise InjectedFault(f"fault injected at {name}")
