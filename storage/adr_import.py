"""ADR files in (`decisionbot import`): decision records parsed from files become decisions.

The parser (``adr_files/parse.py``) knows the file formats; this module knows the tables. It
imports the record types of ``adr_files/records.py``: pure (no Slack, no database), so
storage still never speaks Slack. The way out (export) is ``storage/adr_export.py``, whose
``PAGE``, ``ROLES`` and ``LINK_ORDER`` this module shares.

Import (``import_records``), the rules:
- One transaction for the whole import, one SAVEPOINT per file: a file is imported completely
  or not at all (its decision, people, stances, review, links, outbox row, history event), and
  a file that fails is reported with the reason while the others go on. A dry run does all of
  it and rolls the whole import back, so its report is exactly what a real run would do.
- Numbers: the file's own number when no decision of the workspace has it (and no earlier file
  of the same import claimed it); otherwise — and for files without a number — the next numbers
  after everything the workspace and the import use, reported as old -> new (a ``0000-…``
  file keeps number 0, as MADR numbers its first record). The workspace's
  ``adr`` counter is locked first (no `/adr` can take a number meanwhile) and moved past every
  imported number in the same transaction, so the next `/adr` never collides.
- A decision remembers its file (path relative to the imported folder) and the sha256 of its
  text: the same path with the same hash is "unchanged" and skipped; with another hash it is
  reported "changed, not overwritten" and nothing is written (decided: a file never silently
  overwrites what people may have changed in Slack since). A file whose text was already
  imported under another path (the folder was imported from a different root) is skipped too,
  with a warning naming the decision it matches.
- People: a ``PersonRef`` whose Slack id the workspace knows (or any id, when there is no
  member list to check against) is a ``DecisionMember``; otherwise ``PeopleIndex.match`` by
  email, then by display or real name (case-insensitive; a name two people share matches
  nobody); otherwise the name is kept as text in ``named_people``. Deleted users and bots
  match by id only. Stances and review answers need a person: an unmatched one is left out
  with a warning.
- The author is the first decider who is a Slack user (they may then edit and accept it like
  any author), else ``actor_id`` (the bot, for the CLI).
- The original date is ``created_at`` (midnight UTC of that date); no date: the time of the
  import. A review from our own export becomes a finished round: ANSWERED with its outcome,
  else UNANSWERED (decided: an imported review is history; a new one follows a review date set
  afterwards). Stance kinds, outcomes and answers must be the app's values, else the file is a
  problem. Tags are normalised like the form's (lower case, ``#`` dropped, other characters
  become ``-``); a changed tag is a warning.
- Links (supersede, amend, relates) are resolved by the target's file name (relative to the
  linking file, else a unique base name), else by number among this import's files and earlier
  imported files — never by the workspace's ADR numbers, which are unrelated to a folder's
  file numbers. Targets are this import's files and decisions imported before. Supersede sets
  ``supersedes_id``/``superseded_by_id`` both ways (a decision imported earlier that is now
  superseded becomes Superseded, with a history event, as `/adr supersede` does); amend and
  relates are ``DecisionLink`` rows (relates-to as each file said it: one row per direction
  stated). A link to a file later in the import is written when that file is imported, inside
  its savepoint. Unresolved or conflicting links are warnings.
  Decided: so a folder can be imported into a workspace that already has an ADR-5 of its own
  without its "Supersedes 5" touching it.
- Every created decision gets an ``imported`` history event (path, hash, format, file number),
  written for all files at the end of the import: the import commits as a whole.
- ``post=True`` schedules the normal ``decision.post`` outbox row for each created decision
  (the informed are not DMed: these are old decisions); without it nothing reaches Slack.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import unquote

from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, or_, select, update
from sqlmodel import Session

from adr_files.parse import file_number
from adr_files.records import AdrRecord, LinkRef, ReviewRecord
from storage.adr_export import LINK_ORDER, PAGE, ROLES
from storage.adr_people import PeopleIndex
from storage.decision_work import schedule_post
from storage.decisions import advance_number
from storage.models import (
    Counter,
    Decision,
    DecisionEvent,
    DecisionLink,
    DecisionMember,
    DecisionStatus,
    DissentAnswer,
    LinkKind,
    Outcome,
    Review,
    ReviewAsk,
    ReviewState,
    Role,
    Stance,
    StanceKind,
    utcnow,
)

ADR = "adr"  # the counter kind of ADR-n
TITLE_MAX = 200
PATH_MAX = 500
TAGS_MAX = 600

_DECISIONS = Decision.__table__  # type: ignore[attr-defined]
_MEMBERS = DecisionMember.__table__  # type: ignore[attr-defined]
_STANCES = Stance.__table__  # type: ignore[attr-defined]
_REVIEWS = Review.__table__  # type: ignore[attr-defined]
_ASKS = ReviewAsk.__table__  # type: ignore[attr-defined]
_LINKS = DecisionLink.__table__  # type: ignore[attr-defined]
_EVENTS = DecisionEvent.__table__  # type: ignore[attr-defined]

# Built once: an import runs them thousands of times (parameters only, no new statements).
_ADD_DECISION = insert(_DECISIONS).returning(_DECISIONS.c.id)
_ADD_REVIEW = insert(_REVIEWS).returning(_REVIEWS.c.id)
_ADD_EVENT = insert(_EVENTS)
_ADD_MEMBERS = insert(_MEMBERS)
_ADD_STANCES = insert(_STANCES)
_ADD_ASKS = insert(_ASKS)
_ADD_LINK = insert(_LINKS)


class SourceFile(Protocol):
    """What ``adr_files.parse.read_tree`` gives per file."""

    @property
    def path(self) -> Any: ...  # str or Path, relative to the imported folder

    @property
    def sha256(self) -> str: ...

    @property
    def record(self) -> AdrRecord: ...


# -- the import report ----------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do). Paths are relative to the folder."""

    dry_run: bool = False
    created: list[tuple[str, str, int | None]] = field(default_factory=list)  # path, ref, file no.
    renumbered: list[tuple[str, int | None, int]] = field(default_factory=list)  # path, old, new
    unchanged: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # path, reason
    warnings: list[tuple[str, str]] = field(default_factory=list)  # path, what
    skipped: list[tuple[str, str]] = field(default_factory=list)  # an index, a template: why
    decision_ids: list[int] = field(default_factory=list)  # created, in number order

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """The report as printed by `decisionbot import`."""
        out = ["Dry run: nothing was written."] if self.dry_run else []
        new = {path: (old, number) for path, old, number in self.renumbered}
        verb = "would create" if self.dry_run else "created"
        for path, ref, _original in self.created:
            if path in new:
                old, number = new[path]
                why = (
                    f"file number {old} was taken; renumbered {old} -> {number}"
                    if old is not None
                    else "the file has no number"
                )
                out.append(f"{verb} {ref} from {path} ({why})")
            else:
                out.append(f"{verb} {ref} from {path}")
        out += [f"unchanged: {path}" for path in self.unchanged]
        out += [
            f"changed, not overwritten: {path} (imported before from an earlier version; "
            "change the decision in Slack with /adr edit)"
            for path in self.changed
        ]
        out += [f"skipped: {path}: {reason}" for path, reason in self.skipped]
        out += [f"problem: {path}: {reason}" for path, reason in self.problems]
        out += [f"warning: {path}: {what}" for path, what in self.warnings]
        out.append(
            f"{verb} {len(self.created)} ({len(self.renumbered)} renumbered), "
            f"{len(self.unchanged)} unchanged, {len(self.changed)} changed (not overwritten), "
            f"{len(self.problems)} with problems, {len(self.warnings)} warnings"
        )
        return out


class _Refused(Exception):
    """This file cannot be imported; the message says why, for the operator."""


# -- import ---------------------------------------------------------------------------------


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _posix(path: Any) -> str:
    return PurePosixPath(Path(path).as_posix()).as_posix()


_TAG_BAD = re.compile(r"[^a-z0-9_.-]+")


def _tag(raw: str) -> str:
    """A tag as `/adr`'s form keeps it: lower case, no ``#``, letters, digits, ``- _ .``."""
    tag = _TAG_BAD.sub("-", raw.strip().lower().lstrip("#")).strip("-_.")
    return tag[:30].rstrip("-_.")


def _refuse_unless(value: str | None, allowed: Iterable[str], what: str) -> None:
    if value is not None and value not in set(allowed):
        raise _Refused(f"{what} {value!r} is not one of {', '.join(sorted(allowed))}")


def _integrity_reason(exc: sa_exc.IntegrityError) -> str:
    text = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
    for needle, reason in (
        ("review_asks", "the review asks the same person twice in the same role"),
        ("stances", "the same person has two stances"),
        ("decision_members", "the same person is named twice in one role"),
        ("source", "this file was imported meanwhile (run the import again)"),
        ("number", "its number was taken meanwhile (run the import again)"),
    ):
        if needle in text:
            return reason
    return f"the database refused it ({type(exc.orig).__name__ if exc.orig else 'IntegrityError'})"


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


@dataclass
class _Planned:
    path: str
    sha256: str
    record: AdrRecord
    number: int = 0
    decision_id: int | None = None


def _existing(
    session: Session, team_id: str, column: Any, values: Sequence[str]
) -> dict[str, tuple[int, int, str | None, str | None]]:
    """Decisions of the workspace whose ``column`` (source_path or source_hash) is one of
    ``values``: value -> (id, number, source_path, source_hash)."""
    found: dict[str, tuple[int, int, str | None, str | None]] = {}
    for start in range(0, len(values), PAGE):
        rows = session.execute(
            select(
                column, Decision.id, Decision.number, Decision.source_path, Decision.source_hash
            ).where(Decision.team_id == team_id, column.in_(values[start : start + PAGE]))
        ).all()
        for value, *rest in rows:
            found.setdefault(value, tuple(rest))  # type: ignore[arg-type]
    return found


def import_records(
    session: Session,
    *,
    team_id: str,
    channel_id: str,
    channel_private: bool,
    files: Sequence[SourceFile],
    people: PeopleIndex,
    actor_id: str,
    dry_run: bool,
    post: bool = False,
    problems: Iterable[Any] = (),
    enterprise_id: str | None = None,
) -> ImportReport:
    """Turn parsed ADR files into decisions of ``team_id`` in ``channel_id`` (see the module
    docstring for the rules). ``problems``: files the parser refused (objects with ``path``
    and ``reason``), carried into the report. ``post``: schedule each created decision's post
    in its channel. Runs inside the caller's transaction; a dry run leaves it as it found it."""
    report = ImportReport(dry_run=dry_run)
    report.problems += [(_posix(p.path), str(p.reason)) for p in problems]
    outer = session.begin_nested()
    try:
        _import(
            session,
            report,
            team_id=team_id,
            enterprise_id=enterprise_id,
            channel_id=channel_id,
            channel_private=channel_private,
            files=files,
            people=people,
            actor_id=actor_id,
            post=post,
        )
    except BaseException:
        outer.rollback()
        raise
    if dry_run:
        outer.rollback()
    else:
        outer.commit()
    return report


def _import(
    session: Session,
    report: ImportReport,
    *,
    team_id: str,
    enterprise_id: str | None,
    channel_id: str,
    channel_private: bool,
    files: Sequence[SourceFile],
    people: PeopleIndex,
    actor_id: str,
    post: bool,
) -> None:
    # Lock the counter first: no `/adr` takes a number until this transaction ends.
    advance_number(session, team_id=team_id, kind=ADR, past=0)
    items = [_Planned(path=_posix(f.path), sha256=f.sha256, record=f.record) for f in files]
    by_path = _existing(session, team_id, Decision.source_path, [i.path for i in items])
    fresh: list[_Planned] = []
    for item in items:
        known = by_path.get(item.path)
        if known is None:
            fresh.append(item)
        elif known[3] == item.sha256:
            report.unchanged.append(item.path)
        else:
            report.changed.append(item.path)
    by_hash = _existing(session, team_id, Decision.source_hash, [i.sha256 for i in fresh])
    plan: list[_Planned] = []
    for item in fresh:
        same = by_hash.get(item.sha256)
        if same is not None:
            report.unchanged.append(item.path)
            report.warnings.append(
                (item.path, f"the same text as ADR-{same[1]} (imported from {same[2]}); skipped")
            )
        else:
            plan.append(item)
    _number(session, team_id, plan, report)
    earlier = [
        (int(i), str(p))
        for i, p in session.execute(
            select(Decision.id, Decision.source_path).where(
                Decision.team_id == team_id, Decision.source_path.is_not(None)
            )
        ).all()
    ]
    links = _Links(plan, earlier)
    # links written once their target exists: target index -> [(source index, link kind)]
    waiting: dict[int, list[tuple[int, str]]] = defaultdict(list)
    state = _LinkState()
    now = utcnow()
    imported: list[dict[str, Any]] = []  # "imported" history events
    for index in sorted(range(len(plan)), key=lambda i: plan[i].number):
        item = plan[index]
        # A savepoint of the connection: the ORM session holds no objects of this import.
        savepoint = session.connection().begin_nested()
        notes: list[tuple[str, str]] = []
        wait: list[tuple[int, int, str]] = []
        staged = state.stage()
        try:
            decision_id = _insert_decision(
                session,
                item,
                team_id=team_id,
                enterprise_id=enterprise_id,
                channel_id=channel_id,
                channel_private=channel_private,
                people=people,
                actor_id=actor_id,
                now=now,
                notes=notes,
            )
            item.decision_id = decision_id
            for link in item.record.links:
                if link.kind not in LINK_ORDER:
                    notes.append((item.path, f"link of unknown kind {link.kind!r} left out"))
                    continue
                target = links.resolve(link, item.path)
                other = _target_id(plan, target)
                if target is None:
                    shown = link.target or (f"number {link.number}" if link.number else "?")
                    notes.append(
                        (item.path, f"{_said(link.kind)} {shown}: no such record; left out")
                    )
                elif target.index is not None and other is None:
                    wait.append((target.index, index, link.kind))
                elif other == decision_id:
                    notes.append((item.path, f"{_said(link.kind)} itself; left out"))
                else:
                    staged.link(
                        session,
                        team_id,
                        decision_id,
                        other,  # type: ignore[arg-type]
                        link.kind,
                        from_earlier=target.decision_id is not None,
                        path=item.path,
                        actor_id=actor_id,
                        notes=notes,
                    )
            for source, kind in waiting.get(index, []):
                staged.link(
                    session,
                    team_id,
                    plan[source].decision_id,  # type: ignore[arg-type]
                    decision_id,
                    kind,
                    from_earlier=False,
                    path=plan[source].path,
                    actor_id=actor_id,
                    notes=notes,
                )
            if post:
                schedule_post(
                    session,
                    decision=Decision(
                        id=decision_id,
                        team_id=team_id,
                        number=item.number,
                        channel_id=channel_id,
                        title=item.record.title,
                        decision=item.record.decision,
                        author_id=actor_id,
                    ),
                    notify_informed=False,
                )
            savepoint.commit()
        except (_Refused, ValueError, sa_exc.IntegrityError, sa_exc.DataError) as exc:
            savepoint.rollback()
            item.decision_id = None
            if isinstance(exc, sa_exc.IntegrityError):
                reason = _integrity_reason(exc)
            elif isinstance(exc, sa_exc.DataError):
                reason = "a value does not fit (a field too long?)"
            else:
                reason = str(exc)
            report.problems.append((item.path, reason))
            continue
        except BaseException:
            savepoint.rollback()
            raise
        state.keep(staged)
        waiting.pop(index, None)
        for target_index, source, kind in wait:
            waiting[target_index].append((source, kind))
        report.warnings += notes
        report.created.append((item.path, f"ADR-{item.number}", item.record.number))
        report.decision_ids.append(decision_id)
        imported.append(
            {
                "team_id": team_id,
                "decision_id": decision_id,
                "actor_id": actor_id,
                "kind": "imported",
                "detail": json.dumps(
                    {
                        "source_path": item.path,
                        "source_hash": item.sha256,
                        "format": item.record.format,
                        "file_number": item.record.number,
                        "status": item.record.status,
                    }
                ),
                "created_at": now,
            }
        )
        if item.record.number != item.number:
            report.renumbered.append((item.path, item.record.number, item.number))
    for target_index, sources in waiting.items():
        for source, kind in sources:
            report.warnings.append(
                (
                    plan[source].path,
                    f"{_said(kind)} {plan[target_index].path}, which was not imported; left out",
                )
            )
    if imported:
        # the history of every file imported, at once: the import commits as a whole
        session.connection().execute(_ADD_EVENT, imported)
    created = [item.number for item in plan if item.decision_id is not None]
    if created:
        advance_number(session, team_id=team_id, kind=ADR, past=max(created))


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
    return plan[target.index].decision_id  # type: ignore[index]


def _number(session: Session, team_id: str, plan: list[_Planned], report: ImportReport) -> None:
    """Keep each file's number when it is free; the others get numbers after everything."""
    taken = set(
        session.execute(select(Decision.number).where(Decision.team_id == team_id)).scalars()
    )
    counter = session.execute(
        select(Counter.value).where(Counter.team_id == team_id, Counter.kind == ADR)
    ).scalar_one_or_none()
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
            newer = session.execute(
                update(_DECISIONS)
                .where(
                    _DECISIONS.c.id == source,
                    or_(_DECISIONS.c.supersedes_id.is_(None), _DECISIONS.c.supersedes_id == other),
                )
                .values(supersedes_id=other)
            ).rowcount
            older = session.execute(
                update(_DECISIONS)
                .where(
                    _DECISIONS.c.id == other,
                    or_(
                        _DECISIONS.c.superseded_by_id.is_(None),
                        _DECISIONS.c.superseded_by_id == source,
                    ),
                )
                .values(superseded_by_id=source)
            ).rowcount
            # One decision superseding several keeps the first in its own row (``newer`` is
            # 0 for the others); the older rows point at it, and the export reads both ways.
            del newer
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
        select(Decision.status, Decision.number).where(Decision.id == old_id)
    ).one()
    new_number = session.execute(select(Decision.number).where(Decision.id == new_id)).scalar_one()
    if row.status not in (DecisionStatus.PROPOSED, DecisionStatus.ACCEPTED):
        return
    now = utcnow()
    session.execute(
        update(_DECISIONS)
        .where(_DECISIONS.c.id == old_id)
        .values(status=str(DecisionStatus.SUPERSEDED), updated_at=now)
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
    detail: dict[str, Any],
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


def _insert_decision(
    session: Session,
    item: _Planned,
    *,
    team_id: str,
    enterprise_id: str | None,
    channel_id: str,
    channel_private: bool,
    people: PeopleIndex,
    actor_id: str,
    now: datetime,
    notes: list[tuple[str, str]],
) -> int:
    """One file's decision, people, stances, review and history event; its id."""
    record, path = item.record, item.path
    title = record.title.strip()
    if not title:
        raise _Refused("it has no title")
    if len(title) > TITLE_MAX:
        raise _Refused(
            f"its title has {len(title)} characters; at most {TITLE_MAX} fit: shorten it"
        )
    if len(path) > PATH_MAX:
        raise _Refused(f"its path is longer than {PATH_MAX} characters")
    _refuse_unless(record.status, set(DecisionStatus), "status")
    for stance in record.stances:
        _refuse_unless(stance.kind, set(StanceKind), "stance")
    if record.review is not None:
        _refuse_unless(record.review.outcome, set(Outcome), "review outcome")
        for ask in record.review.asks:
            _refuse_unless(ask.outcome, set(Outcome), "review outcome")
            _refuse_unless(ask.dissent_answer, set(DissentAnswer), "dissent answer")
            _refuse_unless(ask.role, {"owner", "dissenter"}, "review role")

    tags: list[str] = []
    for raw in record.tags:
        tag = _tag(raw)
        if tag != raw:
            notes.append((path, f"tag {raw!r} kept as {tag!r}" if tag else f"tag {raw!r} left out"))
        if tag and tag not in tags:
            tags.append(tag)
    tag_text = f" {' '.join(tags)} " if tags else ""
    if len(tag_text) > TAGS_MAX:
        raise _Refused(f"its tags take more than {TAGS_MAX} characters")

    members: list[tuple[str, str]] = []  # (role, user)
    named: dict[str, list[str]] = {}
    for role, attr in ROLES:
        for ref in getattr(record, attr):
            user = people.match(ref)
            if user is None:
                if ref.text.strip() and ref.text not in named.get(role, []):
                    named.setdefault(str(role), []).append(ref.text.strip())
            elif (str(role), user) not in members:
                members.append((str(role), user))
    if named and len(people):
        listed = ", ".join(n for names in named.values() for n in names)
        notes.append((path, f"kept as text (no Slack user matches): {listed}"))
    deciders = [u for r, u in members if r == Role.DECIDER]
    author = deciders[0] if deciders else actor_id
    created = _midnight(record.date) if record.date else now

    conn = session.connection()
    values = {
        "team_id": team_id,
        "enterprise_id": enterprise_id,
        "number": item.number,
        "title": title,
        "context": record.context,
        "options": record.options,
        "decision": record.decision,
        "consequences": record.consequences,
        "success_criteria": record.success_criteria,
        "status": record.status,
        "tags": tag_text,
        "review_date": record.review_date,
        "channel_id": channel_id,
        "channel_private": channel_private,
        "author_id": author,
        "source_path": path,
        "source_hash": item.sha256,
        "extra_sections": json.dumps([[h, b] for h, b in record.extra], ensure_ascii=False),
        "named_people": json.dumps(named, ensure_ascii=False) if named else "{}",
        "created_at": created,
        "updated_at": created,
    }
    decision_id = int(conn.execute(_ADD_DECISION, values).scalar_one())
    if members:
        conn.execute(
            _ADD_MEMBERS,
            [
                {"team_id": team_id, "decision_id": decision_id, "user_id": u, "role": r}
                for r, u in members
            ],
        )
    stance_rows = []
    for stance in record.stances:
        user = people.match(stance.person)
        if user is None:
            notes.append(
                (path, f"stance of {stance.person.text!r} left out: no Slack user matches")
            )
            continue
        stance_rows.append(
            {
                "team_id": team_id,
                "decision_id": decision_id,
                "user_id": user,
                "kind": stance.kind,
                "concern": stance.concern,
                "change_my_mind": stance.change_my_mind,
                "committed": bool(
                    stance.committed or stance.kind == StanceKind.DISAGREE_AND_COMMIT
                ),
                "reason": stance.reason,
                "created_at": created,
                "updated_at": created,
            }
        )
    if stance_rows:
        conn.execute(_ADD_STANCES, stance_rows)
    if record.review is not None:
        _insert_review(session, record.review, team_id, decision_id, created, people, path, notes)
    return decision_id


def _insert_review(
    session: Session,
    review: ReviewRecord,
    team_id: str,
    decision_id: int,
    created: datetime,
    people: PeopleIndex,
    path: str,
    notes: list[tuple[str, str]],
) -> None:
    due = _midnight(review.due) if review.due else created
    asks = []
    outcome_by = None
    for ask in review.asks:
        user = people.match(ask.person)
        if user is None:
            notes.append(
                (path, f"review answer of {ask.person.text!r} left out: no Slack user matches")
            )
            continue
        answered = ask.outcome is not None or ask.dissent_answer is not None
        if ask.outcome is not None and outcome_by is None:
            outcome_by = user
        asks.append(
            {
                "team_id": team_id,
                "user_id": user,
                "role": ask.role,
                "concern": ask.concern,
                "outcome": ask.outcome,
                "what_happened": ask.what_happened,
                "evidence": ask.evidence,
                "learned": ask.learned,
                "dissent_answer": ask.dissent_answer,
                "answered_at": due if answered else None,
            }
        )
    values = {
        "team_id": team_id,
        "decision_id": decision_id,
        "round": 1,
        "due_at": due,
        "timezone": "UTC",
        "state": str(ReviewState.ANSWERED if review.outcome else ReviewState.UNANSWERED),
        "nudges_sent": 0,
        "outcome": review.outcome,
        "outcome_by": outcome_by if review.outcome else None,
        "outcome_at": due if review.outcome else None,
        "created_at": due,
    }
    conn = session.connection()
    review_id = conn.execute(_ADD_REVIEW, values).scalar_one()
    if asks:
        conn.execute(_ADD_ASKS, [{**a, "review_id": review_id} for a in asks])


__all__ = ["ImportReport", "SourceFile", "import_records"]
