"""ADR files, losslessly (issue 22): import each fixture folder into an empty SQLite
workspace, export it in the same format, and compare file names and bytes.

    python -m benchmarks.adr_roundtrip                  # the folders under tests/data/adr_files
    python -m benchmarks.adr_roundtrip --data DIR       # the same folders under another root

Prints one line per folder: files read, files that differ after the round trip (a renamed
file counts as differing), files written under a name the folder did not have, and import
problems. Not a timing: the figure is the number of differing files, 0 when lossless.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from adr_files import parse
from storage.adr_export_files import export_to_dir
from storage.adr_import import import_records
from storage.adr_people import PeopleIndex
from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent / "tests" / "data" / "adr_files"
FOLDERS = [
    ("nygard", "nygard"),
    ("madr2", "madr"),
    ("madr3", "madr"),
    ("madr4", "madr"),
    ("madr-no-front-matter", "madr"),
    ("lossless/nygard", "nygard"),
    ("lossless/madr2", "madr"),
    ("lossless/madr3", "madr"),
    ("lossless/madr4", "madr"),
    ("lossless/madr4-no-front-matter", "madr"),
    ("madr-own", "madr"),
]


def round_trip(source: Path, fmt: str) -> tuple[int, list[str], list[str], int]:
    """(files read, names that differ, names only in the export, import problems)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/db.sqlite")
        db.migrate()
        files, problems = parse.read_tree(source)
        with db.session() as session:
            report = import_records(
                session,
                team_id="T1",
                channel_id="C1",
                channel_private=False,
                files=files,
                people=PeopleIndex(),
                actor_id="UBOT",
                dry_run=False,
                problems=problems,
            )
        out = Path(tmp) / "out"
        with db.session() as session:
            export_to_dir(session, team_id="T1", root=out, fmt=fmt)
        db.dispose()
        given = {p.name: p.read_bytes() for p in source.glob("*.md")}
        written = {p.name: p.read_bytes() for p in out.glob("*.md") if p.name != "README.md"}
    differing = sorted(name for name in given if written.get(name) != given[name])
    extra = sorted(set(written) - set(given))
    return len(given), differing, extra, len(report.problems)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT)
    args = parser.parse_args()
    total = differs = 0
    print(f"{'folder':32} {'format':6} {'files':>5} {'differ':>6} {'renamed':>7} {'problems':>8}")
    for relative, fmt in FOLDERS:
        count, differing, extra, problems = round_trip(args.data / relative, fmt)
        total += count
        differs += len(differing)
        print(f"{relative:32} {fmt:6} {count:5} {len(differing):6} {len(extra):7} {problems:8}")
        for name in differing:
            print(f"    differs: {name}")
    print(f"{'all':32} {'':6} {total:5} {differs:6}")


if __name__ == "__main__":
    main()
