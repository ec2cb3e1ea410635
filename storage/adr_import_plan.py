"""Planning an import (``storage.adr_import``): which files create a decision (not those
imported before, under their path or with the same text elsewhere) and the number each gets:
its own when the workspace has no decision with it, else the next free numbers."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy import SQLColumnExpression, select
from sqlmodel import Session, col

from adr_files.records import AdrRecord
from storage.adr_export import PAGE
from storage.adr_import_report import ImportReport
from storage.models import Counter, Decision

ADR = "adr"  # the counter kind of ADR-n


def _posix(path: str | os.PathLike[str]) -> str:
    return PurePosixPath(Path(path).as_posix()).as_posix()


@dataclass
class _Planned:
    path: str
    sha256: str
    record: AdrRecord
    text: str = ""  # the file's text as read ("": not given, as by older callers)
    number: int = 0
    decision_id: int | None = None


def _existing(
    session: Session,
    team_id: str,
    column: SQLColumnExpression[str | None],
    values: Sequence[str],
) -> dict[str, tuple[int, int, str | None, str | None]]:
    """Decisions of the workspace whose ``column`` (source_path or source_hash) is one of
    ``values``: value -> (id, number, source_path, source_hash)."""
    found: dict[str, tuple[int, int, str | None, str | None]] = {}
    for start in range(0, len(values), PAGE):
        rows = session.execute(
            select(
                column,
                col(Decision.id),
                col(Decision.number),
                col(Decision.source_path),
                col(Decision.source_hash),
            ).where(col(Decision.team_id) == team_id, column.in_(values[start : start + PAGE]))
        ).all()
        for value, decision_id, number, path, sha256 in rows:
            found.setdefault(value, (decision_id, number, path, sha256))
    return found


def _number(session: Session, team_id: str, plan: list[_Planned], report: ImportReport) -> None:
    """Keep each file's number when it is free; the others get numbers after everything."""
    taken = set(
        session.scalars(select(col(Decision.number)).where(col(Decision.team_id) == team_id))
    )
    counter = session.scalars(
        select(col(Counter.value)).where(col(Counter.team_id) == team_id, col(Counter.kind) == ADR)
    ).one_or_none()
    order = sorted(plan, key=lambda i: (i.record.number is None, i.record.number or 0, i.path))
    later: list[_Planned] = []
    for item in order:
        wanted = item.record.number
        if wanted is not None and wanted >= 0 and wanted not in taken:
            item.number = wanted
            taken.add(wanted)
        else:
            later.append(item)
    following = max([counter or 0, *taken]) + 1
    for item in later:
        item.number = following
        following += 1
