"""The scheduled-work ticker. Started by `serve` and `socket`, never on import.

The decision log has no scheduled work yet; "Did this decision work?" follow-ups add the
due-work table and `run_due`. Until then run-due reports an empty sweep.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.config import Settings
from storage.db import Database


def run_due_once(settings: Settings, db: Database, *, now: datetime) -> str:
    return f"run-due at {now.isoformat()}: claimed 0, sent 0, retried 0, failed 0"


def start_scheduler(settings: Settings, db: Database) -> Any:
    return None
