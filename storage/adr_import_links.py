"""Links between imported decisions (``storage.adr_import``): where a link's target is (a
file of this import or one imported before, by file name, else by number), and writing each
link once: supersede on both decisions' rows, amend and relates-to as ``DecisionLink`` rows."""

from __future__ import annotations

import json
import posixpath
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

from sqlalchemy import or_, select, update
from sqlmodel import Session, col

from adr_files.records import LinkRef
from adr_files.values import file_number
from storage import rules
from storage.adr_import_plan import _Planned
from storage.adr_import_rows import _ADD_EVENT, _ADD_LINK
from storage.models import Decision, DecisionStatus, JsonObject, LinkKind, utcnow
from storage.tables import DECISIONS


@dataclass
class _Target:
    """A decision a link can point at: one of this import's files (``index``), or a decision
    of the workspace imported before (``decision_id``)."""

    index: int | None = None
    decision_id: int | None = None


class _Links:
    """Where each link target is: this import's files and the workspace's imported files."""

    def __init__(self, plan: list[_Planned], earlier: list[tuple[int, str]]) -> None:
        self.by_path: dict[str, _Target] = {}
        by_name: dict[str, list[_Target]] = defaultdict(list)
        by_number: dict[int, list[_Target]] = defaultdict(list)
        for decision_id, path in earlier:
            target = _Target(decision_id=decision_id)
            self.by_path[path] = target
            by_name[posixpath.basename(path)].append(target)
        earlier_numbers: dict[int, list[_Target]] = defaultdict(list)
        for decision_id, path in earlier:
            number = file_number(path)
            if number is not None:
                earlier_numbers[number].append(_Target(decision_id=decision_id))
        for i, item in enumerate(plan):
            target = _Target(index=i)
            self.by_path[item.path] = target
            by_name[posixpath.basename(item.path)].append(target)
            if item.record.number is not None:
                by_number[item.record.number].append(target)
        self.by_name = {k: v[0] for k, v in by_name.items() if len(v) == 1}
        # this import's files first; earlier imports only where no file of this one has it
        self.by_number = {k: v[0] for k, v in by_number.items() if len(v) == 1}
        for number, targets in earlier_numbers.items():
            if number not in by_number and len(targets) == 1:
                self.by_number[number] = targets[0]

    def resolve(self, link: LinkRef, from_path: str) -> _Target | None:
        target = unquote(link.target.split("#", 1)[0]).strip()
        if target and "://" not in target:
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(from_path), target))
            found = self.by_path.get(joined) or self.by_name.get(posixpath.basename(target))
            if found is not None:
                return found
        if link.number is not None:
            return self.by_number.get(link.number)
        return None


def _said(kind: str) -> str:
    return {
        "supersedes": "supersedes",
        "superseded_by": "superseded by",
        "amends": "amends",
        "amended_by": "amended by",
        "relates": "relates to",
    }.get(kind, kind)


def _target_id(plan: list[_Planned], target: _Target | None) -> int | None:
    if target is None:
        return None
    if target.decision_id is not None:
        return target.decision_id
    if target.index is not None:
        return plan[target.index].decision_id
    return None


class _LinkState:
    """Links written so far in this import (to write each once), committed per file."""

    def __init__(self) -> None:
        self.written: set[tuple[int, int, str]] = set()

    def stage(self) -> _StagedLinks:
        return _StagedLinks(self.written)

    def keep(self, staged: _StagedLinks) -> None:
        self.written |= staged.new


class _StagedLinks:
    def __init__(self, written: set[tuple[int, int, str]]) -> None:
        self.written = written
        self.new: set[tuple[int, int, str]] = set()

    def _seen(self, key: tuple[int, int, str]) -> bool:
        if key in self.written or key in self.new:
            return True
        self.new.add(key)
        return False

    def link(
        self,
        session: Session,
        team_id: str,
        source: int,
        other: int,
        kind: str,
        *,
        from_earlier: bool,
        path: str,
        actor_id: str,
        notes: list[tuple[str, str]],
    ) -> None:
        """Write ``source`` --kind--> ``other``; ``from_earlier``: ``other`` was imported before
        this import (a supersede then changes its status, as `/adr supersede` does)."""
        if kind in ("superseded_by", "amended_by"):
            # the same link, seen from the other side
            source, other = other, source
            kind = "supersedes" if kind == "superseded_by" else "amends"
            from_earlier = False  # the earlier decision is the newer one: its status stands
        if kind == "supersedes":
            if self._seen((source, other, kind)):
                return
            conn = session.connection()  # Core statements, on the session's connection
            # One decision superseding several keeps the first in its own row (this changes
            # nothing for the others); the older rows point at it, and the export reads both ways.
            conn.execute(
                update(DECISIONS)
                .where(
                    DECISIONS.c.id == source,
                    or_(DECISIONS.c.supersedes_id.is_(None), DECISIONS.c.supersedes_id == other),
                )
                .values(supersedes_id=other)
            )
            superseded = update(DECISIONS).where(
                DECISIONS.c.id == other,
                or_(DECISIONS.c.superseded_by_id.is_(None), DECISIONS.c.superseded_by_id == source),
            )
            older = conn.execute(superseded.values(superseded_by_id=source)).rowcount
            if not older:
                notes.append((path, "a record it supersedes was already superseded by another"))
            elif from_earlier:
                _supersede_earlier(session, team_id, old_id=other, new_id=source, actor_id=actor_id)
            return
        # relates-to is kept as each file said it (both ways only if both files say so)
        link_kind = LinkKind.AMENDS if kind == "amends" else LinkKind.RELATES
        if self._seen((source, other, kind)):
            return
        session.connection().execute(
            _ADD_LINK,
            {
                "team_id": team_id,
                "decision_id": source,
                "other_id": other,
                "kind": str(link_kind),
                "created_at": utcnow(),
            },
        )


def _supersede_earlier(
    session: Session, team_id: str, *, old_id: int, new_id: int, actor_id: str
) -> None:
    """A decision imported earlier is superseded by one imported now."""
    row = session.execute(
        select(col(Decision.status), col(Decision.number)).where(col(Decision.id) == old_id)
    ).one()
    new_number = session.scalars(
        select(col(Decision.number)).where(col(Decision.id) == new_id)
    ).one()
    if not rules.is_live(row.status):
        return
    now = utcnow()
    session.execute(
        update(DECISIONS)
        .where(DECISIONS.c.id == old_id)
        .values(status=str(DecisionStatus.SUPERSEDED), updated_at=now, closed_at=now)
    )
    _event(
        session,
        team_id,
        old_id,
        actor_id,
        "superseded",
        {"by": f"ADR-{new_number}", "from": row.status},
        now,
    )


def _event(
    session: Session,
    team_id: str,
    decision_id: int,
    actor_id: str,
    kind: str,
    detail: JsonObject,
    at: datetime,
) -> None:
    session.connection().execute(
        _ADD_EVENT,
        {
            "team_id": team_id,
            "decision_id": decision_id,
            "actor_id": actor_id,
            "kind": kind,
            "detail": json.dumps(detail, default=str, ensure_ascii=False),
            "created_at": at,
        },
    )
