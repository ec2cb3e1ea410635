"""Fault injection for crash tests: with ``DECISIONBOT_FAULT=<point>`` in its environment, a
process SIGKILLs itself when it reaches that point (no cleanup, no flush: a real crash).

Points: ``decision.saved`` — right after a new decision (and its outbox rows) committed,
before the ack and before anything was posted. Never set it in production.
"""

from __future__ import annotations

import os
import signal


def point(name: str) -> None:
    if os.environ.get("DECISIONBOT_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
