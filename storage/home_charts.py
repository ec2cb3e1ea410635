"""The App Home's calibration chart file (issue 26): which uploaded file shows a person's
figures, so publishing their Home again (every time they open it) reuses it until the figures
change, instead of uploading a new file each time."""

from __future__ import annotations

import hashlib

from sqlmodel import Session

from storage.forecasts import Calibration
from storage.models import HomeChart, utcnow


def fingerprint(calibration: Calibration) -> str:
    """What the chart draws, as a short digest: its bins (probability, count, came true)."""
    drawn = ";".join(f"{b.probability}:{b.count}:{b.came_true:.6f}" for b in calibration.bins)
    return hashlib.sha256(drawn.encode()).hexdigest()


def file_for(
    session: Session, *, team_id: str, user_id: str, calibration: Calibration
) -> str | None:
    """The file already uploaded for these figures, if any."""
    row = session.get(HomeChart, (team_id, user_id))
    if row is None or row.fingerprint != fingerprint(calibration):
        return None
    return row.file_id


def remember(
    session: Session, *, team_id: str, user_id: str, calibration: Calibration, file_id: str
) -> None:
    """The file now showing these figures (a later upload for the same figures replaces it)."""
    row = session.get(HomeChart, (team_id, user_id), with_for_update=True)
    if row is None:
        row = HomeChart(team_id=team_id, user_id=user_id, fingerprint="", file_id="")
    row.fingerprint, row.file_id, row.updated_at = fingerprint(calibration), file_id, utcnow()
    session.add(row)


__all__ = ["file_for", "fingerprint", "remember"]
