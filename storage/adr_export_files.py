"""ADR files out (``storage.adr_export`` reads the records): each decision's file and the
``README.md`` index (``export_files``: what `decisionbot export` writes and a zip for `/adr
export` holds), the file names links point at (``file_names``), and a folder
(``export_to_dir``): ``NNNN-slug.md`` files and ``README.md``, written deterministically, a file
rewritten only when its bytes differ, nothing deleted (files left by a renamed decision are
reported as stale). An imported file keeps its name, and is written back as read while
nothing it shows has changed in Slack (``keep_baselines`` at import, ``write.write_file``)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from adr_files.records import AdrRecord
from storage.adr_export import PAGE, export_records, original_name
from storage.models import Decision
from storage.tables import DECISIONS
from storage.visibility import Viewer, visible_condition

INDEX = "README.md"


@dataclass
class ExportReport:
    """What ``export_to_dir`` did: file names relative to the folder."""

    root: Path
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # numbered files no decision writes any more
    decisions: int = 0

    def lines(self) -> list[str]:
        out = [
            f"exported {self.decisions} decisions to {self.root}: {len(self.written)} files "
            f"written, {len(self.unchanged)} unchanged"
        ]
        out += [f"not ours any more (left in place): {name}" for name in self.stale]
        return out


_NUMBERED = re.compile(r"^\d{4,}-.*\.md$")


def export_files(
    session: Session,
    *,
    team_id: str,
    fmt: str,
    visible_to: Viewer | None = None,
    number: int | None = None,
) -> Iterator[tuple[str, str]]:
    """(file name, text) of every decision ``visible_to`` may see (None: all), in number
    order, then the index (``README.md``): what `decisionbot export` writes and what a zip
    for `/adr export` holds. ``fmt``: madr or nygard. ``number``: only that decision's file
    (nothing if ``visible_to`` may not see it), no index."""
    from adr_files import write

    if number is not None:
        for record in export_records(
            session, team_id=team_id, visible_to=visible_to, number=number
        ):
            # only the names its links point at (the links are to decisions it may show)
            linked = {number, *(link.number for link in record.links if link.number is not None)}
            names = file_names(session, team_id=team_id, visible_to=visible_to, numbers=linked)
            yield _record_file(record, fmt, names)
        return
    names = file_names(session, team_id=team_id, visible_to=visible_to)
    index: list[AdrRecord] = []
    for record in export_records(session, team_id=team_id, visible_to=visible_to):
        yield _record_file(record, fmt, names)
        index.append(_index_entry(record))
    yield INDEX, write.write_index(index, names=names)


def _record_file(record: AdrRecord, fmt: str, names: dict[int, str]) -> tuple[str, str]:
    """(file name, text) of one record; a decision saved since ``names`` were read is added.
    An imported file comes back as read while nothing it shows has changed (``write_file``)."""
    from adr_files.write import file_name, write_file

    number = record.number
    if number is None:  # export_records reads decisions, and every decision has its number
        raise ValueError(f"record {record.title!r} has no number")
    if number not in names:  # saved since the names were read
        names[number] = file_name(number, record.title)
    return names[number], write_file(record, fmt=fmt, names=names)


def keep_baselines(session: Session, *, team_id: str, numbers: Collection[int]) -> None:
    """Remember, for each imported decision of ``numbers``, the sha256 of its house-style file
    in its file's format as it stands now (right after the import): while an export still
    writes that, the file itself is written back (``adr_files.write.write_file``). A page of
    queries per 500 decisions, as an export."""
    from adr_files.original import digest, format_family
    from adr_files.write import write_record

    records = list(export_records(session, team_id=team_id, numbers=numbers))
    linked = {n for r in records for n in (r.number, *(k.number for k in r.links)) if n is not None}
    names = file_names(session, team_id=team_id, numbers={*linked, *numbers})
    baselines = [
        {
            "n": record.number,
            "baseline": digest(write_record(record, fmt=format_family(record.format), names=names)),
        }
        for record in records
    ]
    if baselines:
        session.connection().execute(
            DECISIONS.update()
            .where(DECISIONS.c.team_id == team_id, DECISIONS.c.number == bindparam("n"))
            .values(source_baseline=bindparam("baseline")),
            baselines,
        )


def export_to_dir(
    session: Session,
    *,
    team_id: str,
    root: Path,
    fmt: str,
    visible_to: Viewer | None = None,
) -> ExportReport:
    """Write every decision as ``NNNN-slug.md`` in ``root`` plus the ``README.md`` index;
    a file is rewritten only if its bytes changed, and nothing is deleted."""
    root.mkdir(parents=True, exist_ok=True)
    report = ExportReport(root=root)
    for name, text in export_files(session, team_id=team_id, fmt=fmt, visible_to=visible_to):
        _write_if_changed(root / name, text, report, name)
        report.decisions += name != INDEX
    ours = set(report.written) | set(report.unchanged)
    report.stale = sorted(
        p.name for p in root.iterdir() if _NUMBERED.match(p.name) and p.name not in ours
    )
    return report


def file_names(
    session: Session,
    *,
    team_id: str,
    visible_to: Viewer | None = None,
    numbers: Collection[int] | None = None,
) -> dict[int, str]:
    """number -> file name (``0012-use-postgres.md``) of every decision exported (or of
    those of ``numbers``): links and the index point at these. A file imported since its
    text is kept keeps its name (capitals, long names and all), as read, whatever changed."""
    from adr_files.write import file_name

    stmt = select(
        col(Decision.number),
        col(Decision.title),
        col(Decision.source_path),
        col(Decision.source_text).is_not(None),
    ).where(col(Decision.team_id) == team_id)
    if visible_to is not None:
        stmt = stmt.where(visible_condition(visible_to))

    def name(number: int, title: str, path: str | None, kept: bool) -> str:
        return original_name(path) if kept and path else file_name(number, title)

    if numbers is None:
        return {n: name(n, t, p, k) for n, t, p, k in session.execute(stmt).all()}
    wanted = sorted(numbers)
    names: dict[int, str] = {}
    for start in range(0, len(wanted), PAGE):
        chunk = stmt.where(col(Decision.number).in_(wanted[start : start + PAGE]))
        names.update((n, name(n, t, p, k)) for n, t, p, k in session.execute(chunk).all())
    return names


def _index_entry(record: AdrRecord) -> AdrRecord:
    """What the index needs (not the texts: 100,000 of them would sit in memory)."""
    return AdrRecord(
        title=record.title,
        number=record.number,
        date=record.date,
        status=record.status,
        as_read=record.as_read & {"title"},
    )


def _write_if_changed(path: Path, text: str, report: ExportReport, name: str) -> None:
    data = text.encode("utf-8")
    try:
        same = path.read_bytes() == data
    except FileNotFoundError:
        same = False
    if same:
        report.unchanged.append(name)
    else:
        path.write_bytes(data)
        report.written.append(name)


__all__ = [
    "ExportReport",
    "INDEX",
    "export_files",
    "export_to_dir",
    "file_names",
    "keep_baselines",
]
