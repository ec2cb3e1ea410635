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
- A decision keeps its file's exact text and format, and the sha256 of the house-style file
  written for it once the whole import is in (its links too): the baseline. An export in the
  same format gives the file back byte for byte while the house style still gives the
  baseline (``adr_files.write.write_file``, ``storage.adr_export_files.keep_baselines``), and
  under the file's own name. Only when no other decision's export already has that name (a
  second folder's ``0001-record-architecture-decisions.md``): else the text is not kept, the
  file is exported in the bot's style, and a warning says so.
- Every created decision gets an ``imported`` history event (path, hash, format, file number,
  and the review round its file's Review section became, so an export can tell those answers
  from ones given in Slack: ``storage.adr_export_origin``), written for all files at the end
  of the import: the import commits as a whole.
- Files the parser left out are carried into the report: a problem each (a malformed file,
  YAML aliases, over 1 MiB), or a warning (a symbolic link out of the folder, not followed).
- ``post=True`` schedules the normal ``decision.post`` outbox row for each created decision
  (the informed are not DMed: these are old decisions); without it nothing reaches Slack.

Here: the import as a whole (``import_records``) and its report. Beside this module: the plan
(``storage.adr_import_plan``: which files, which numbers), one file's rows
(``storage.adr_import_rows``) and the links (``storage.adr_import_links``).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlmodel import Session, col

from adr_files.records import AdrRecord
from storage.adr_export import LINK_ORDER, original_name
from storage.adr_export_files import file_names, keep_baselines
from storage.adr_import_links import _Links, _LinkState, _said, _target_id
from storage.adr_import_plan import ADR, _existing, _number, _Planned, _posix
from storage.adr_import_report import ImportReport
from storage.adr_import_rows import (
    _ADD_EVENT,
    IMPORTED_ROUND,
    _insert_decision,
    _integrity_reason,
    _Refused,
)
from storage.adr_people import PeopleIndex
from storage.decision_work import schedule_post
from storage.models import Decision, utcnow
from storage.numbers import advance_number


class SourceFile(Protocol):
    """What ``adr_files.parse.read_tree`` gives per file."""

    @property
    def path(self) -> str | os.PathLike[str]: ...  # relative to the imported folder

    @property
    def sha256(self) -> str: ...

    @property
    def record(self) -> AdrRecord: ...

    @property
    def text(self) -> str: ...  # the file's text as read, kept to be exported back as is


class ParseProblem(Protocol):
    """What ``adr_files.parse.read_tree`` gives per file it refused (or, with a true
    ``warning`` attribute, left alone on purpose)."""

    @property
    def path(self) -> str | os.PathLike[str]: ...

    @property
    def reason(self) -> str: ...


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
    problems: Iterable[ParseProblem] = (),
    enterprise_id: str | None = None,
) -> ImportReport:
    """Turn parsed ADR files into decisions of ``team_id`` in ``channel_id`` (see the module
    docstring for the rules). ``problems``: files the parser refused (objects with ``path``
    and ``reason``), carried into the report; one whose ``warning`` is true was left alone on
    purpose (a link out of the folder) and is a warning. ``post``: schedule each created
    decision's post in its channel. Runs inside the caller's transaction; a dry run leaves it
    as it found it."""
    report = ImportReport(dry_run=dry_run)
    for problem in problems:
        listed = report.warnings if getattr(problem, "warning", False) else report.problems
        listed.append((_posix(problem.path), str(problem.reason)))
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
    items = [
        _Planned(path=_posix(f.path), sha256=f.sha256, record=f.record, text=f.text) for f in files
    ]
    by_path = _existing(session, team_id, col(Decision.source_path), [i.path for i in items])
    fresh: list[_Planned] = []
    for item in items:
        known = by_path.get(item.path)
        if known is None:
            fresh.append(item)
        elif known[3] == item.sha256:
            report.unchanged.append(item.path)
        else:
            report.changed.append(item.path)
    by_hash = _existing(session, team_id, col(Decision.source_hash), [i.sha256 for i in fresh])
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
            select(col(Decision.id), col(Decision.source_path)).where(
                col(Decision.team_id) == team_id, col(Decision.source_path).is_not(None)
            )
        ).all()
    ]
    taken = set(file_names(session, team_id=team_id).values())  # the exports' file names
    links = _Links(plan, earlier)
    # links written once their target exists: target index -> [(source index, source's
    # decision, link kind)]
    waiting: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    state = _LinkState()
    now = utcnow()
    imported: list[dict[str, object]] = []  # "imported" history events
    for index in sorted(range(len(plan)), key=lambda i: plan[i].number):
        item = plan[index]
        # A savepoint of the connection: the ORM session holds no objects of this import.
        savepoint = session.connection().begin_nested()
        notes: list[tuple[str, str]] = []
        wait: list[tuple[int, int, int, str]] = []
        staged = state.stage()
        _claim_name(item, taken, notes)
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
                elif other is None:
                    if target.index is not None:  # a file of this import not imported (yet)
                        wait.append((target.index, index, decision_id, link.kind))
                elif other == decision_id:
                    notes.append((item.path, f"{_said(link.kind)} itself; left out"))
                else:
                    staged.link(
                        session,
                        team_id,
                        decision_id,
                        other,
                        link.kind,
                        from_earlier=target.decision_id is not None,
                        path=item.path,
                        actor_id=actor_id,
                        notes=notes,
                    )
            for source, source_id, kind in waiting.get(index, []):
                staged.link(
                    session,
                    team_id,
                    source_id,
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
        for target_index, source, source_id, kind in wait:
            waiting[target_index].append((source, source_id, kind))
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
                        # the review round read from the file (its answers are the file's)
                        "review_round": (
                            IMPORTED_ROUND if item.record.review is not None else None
                        ),
                    }
                ),
                "created_at": now,
            }
        )
        if item.record.number != item.number:
            report.renumbered.append((item.path, item.record.number, item.number))
    for target_index, sources in waiting.items():
        for source, _source_id, kind in sources:
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
    # once every file's links are in: the house-style file of each record as it now stands
    kept = [item.number for item in plan if item.decision_id is not None and item.text]
    if kept:
        keep_baselines(session, team_id=team_id, numbers=kept)


def _claim_name(item: _Planned, taken: set[str], notes: list[tuple[str, str]]) -> None:
    """Keep the file's text (and so its name on export) only if no other decision's file has
    that name: two files of one name would overwrite each other in a folder."""
    from adr_files.write import file_name

    if item.text and original_name(item.path) in taken:
        item.text = ""
        notes.append(
            (item.path, "another decision's file has this name: exported in the bot's style")
        )
    taken.add(original_name(item.path) if item.text else file_name(item.number, item.record.title))


__all__ = ["SourceFile", "import_records"]
