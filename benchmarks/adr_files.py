"""ADR files in and out at size (issue 11, "Speed"): import 5,000 decision records from files,
export 100,000 decisions to files. One process, no Slack.

    python -m benchmarks.adr_files                    # SQLite: import 5,000, export 100,000
    python -m benchmarks.adr_files --quick            # CI size: import 200, export 2,000
    python -m benchmarks.adr_files --postgres auto    # the same on a throwaway Postgres cluster
    python -m benchmarks.adr_files --postgres postgresql+psycopg://...   # an empty database

Import: records generated (seeded) like a real repository's — context, decision and
consequences of a few sentences, 1-3 deciders named as Slack users and sometimes a name that
matches nobody, tags, every tenth superseding the one before, a stance or two and a review on
some — are written as files with ``adr_files.write.write_record`` (half MADR, half Nygard)
into a temp dir. Timed: ``read_tree`` (parse) and ``import_records`` (one transaction, a
savepoint per file, against a ``PeopleIndex`` of 500 users), and their sum.

Export: ``benchmarks.ack_latency.seed.seed_decisions`` bulk-inserts 100,000 decisions of one
workspace (people, stances, history), then names for its 500 people, supersede links on 5%,
amend links on 3% and answered reviews on 5% are added. Timed: ``export_to_dir`` (MADR, the
default) into an empty temp dir (every file written), again (every file compared, none
written), and as Nygard into another empty dir (no YAML front matter: what the MADR writer's
YAML costs shows as the difference).

Floors, measured in the same run on the same data:
- ``import floor``: the same decisions, people and events inserted as multi-row inserts in one
  transaction, with no parsing, no savepoints and no matching: what the database alone costs.
- ``export floor``: one ``SELECT`` of every decision of the workspace plus writing each one's
  decision text to its own file: reading the rows and creating 100,000 files.

Targets (issue 11): import >= 500 records/s, export >= 2,000 records/s, on SQLite. Printed as
PASS/MISS, never asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from adr_files.parse import read_tree
from adr_files.records import AdrRecord, LinkRef, PersonRef, ReviewRecord, StanceRecord
from adr_files.write import file_name, write_record
from storage.adr_export_files import export_files, export_to_dir
from storage.adr_import import import_records
from storage.adr_people import PeopleIndex
from storage.db import Database
from storage.models import (
    Decision,
    DecisionEvent,
    DecisionLink,
    DecisionMember,
    Review,
    ReviewAsk,
    SlackUser,
)

IMPORT_TARGET, EXPORT_TARGET = 500.0, 2_000.0
N_USERS = 500
WORDS = (
    "we need a durable queue for order events and the team knows postgres well "
    "latency matters more than throughput for checkout while reports can wait a minute "
    "the vendor offers a managed service but the contract is yearly and costs more"
).split()


def _sentence(rng: random.Random, lo: int, hi: int) -> str:
    words = rng.choices(WORDS, k=rng.randint(lo, hi))
    return " ".join(words).capitalize() + "."


def _paragraphs(rng: random.Random, n: int) -> str:
    return "\n\n".join(" ".join(_sentence(rng, 6, 16) for _ in range(3)) for _ in range(n))


def users() -> list[dict[str, Any]]:
    """``users.list`` members as Slack gives them."""
    return [
        {
            "id": f"U{n:07d}",
            "name": f"person{n}",
            "profile": {
                "real_name": f"Person {n} Example",
                "display_name": f"person{n}",
                "email": f"person{n}@example.com",
            },
        }
        for n in range(N_USERS)
    ]


def generate_records(n: int, seed: int = 11) -> list[AdrRecord]:
    rng = random.Random(seed)
    people = users()
    records = []
    for number in range(1, n + 1):
        chosen = rng.sample(people, 3)
        deciders = [
            PersonRef(text=u["profile"]["real_name"], user_id=u["id"])
            if rng.random() < 0.5
            else PersonRef(text=rng.choice([u["profile"]["email"], u["profile"]["real_name"]]))
            for u in chosen[: rng.randint(1, 3)]
        ]
        if rng.random() < 0.2:
            deciders.append(PersonRef(text="A Contractor"))
        links = []
        status = rng.choice(("accepted", "accepted", "proposed", "deprecated"))
        if number % 10 == 0:
            links.append(LinkRef("supersedes", number=number - 1))
        if number % 10 == 9 and number < n:
            status = "superseded"
            links.append(LinkRef("superseded_by", number=number + 1))
        stances = [
            StanceRecord("agree", PersonRef(text=u["profile"]["real_name"], user_id=u["id"]))
            for u in chosen[: rng.randint(0, 2)]
        ]
        records.append(
            AdrRecord(
                title=f"{_sentence(rng, 3, 7)[:-1]} {number}",
                number=number,
                date=date(2019, 1, 1) + timedelta(days=number % 2000),
                status=status,
                context=_paragraphs(rng, 2),
                decision=_paragraphs(rng, 1),
                consequences=_paragraphs(rng, 1),
                deciders=deciders,
                consulted=[PersonRef(text=chosen[-1]["profile"]["real_name"])],
                tags=rng.sample(["db", "infra", "api", "ops", "cost"], rng.randint(0, 2)),
                links=links,
                stances=stances,
                review=ReviewRecord(due=date(2024, 1, 1), outcome="worked")
                if rng.random() < 0.05
                else None,
            )
        )
    return records


def write_files(root: Path, records: list[AdrRecord]) -> None:
    names = {r.number: file_name(r.number, r.title) for r in records}  # type: ignore[arg-type]
    for i, record in enumerate(records):
        fmt = "madr" if i % 2 else "nygard"
        (root / names[record.number]).write_text(  # type: ignore[index]
            write_record(record, fmt=fmt, names=names), encoding="utf-8"
        )


@dataclass
class Row:
    label: str
    records: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else float("inf")


def bench_import(db: Database, n: int, tmp: Path) -> list[Row]:
    folder = tmp / "in"
    folder.mkdir()
    records = generate_records(n)
    write_files(folder, records)
    index = PeopleIndex(users())
    team = f"TI{uuid.uuid4().hex[:8]}"

    t0 = time.perf_counter()
    files, problems = read_tree(folder)
    t1 = time.perf_counter()
    with db.session() as session:
        report = import_records(
            session,
            team_id=team,
            channel_id="CBENCH",
            channel_private=False,
            files=files,
            people=index,
            actor_id="UBOT",
            dry_run=False,
        )
    t2 = time.perf_counter()
    if problems or report.problems or len(report.created) != n:
        raise SystemExit(
            f"import went wrong: {len(problems)} unreadable, {report.problems[:3]}, "
            f"{len(report.created)} of {n} created"
        )
    floor = _import_floor(db, records)
    return [
        Row("import: read_tree", n, t1 - t0),
        Row("import: import_records", n, t2 - t1),
        Row("import: total", n, t2 - t0),
        Row("import floor", n, floor),
    ]


def _import_floor(db: Database, records: list[AdrRecord]) -> float:
    """The decisions' rows, people and events as multi-row inserts in one transaction."""
    team = f"TF{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    rows = [
        {
            "team_id": team,
            "number": r.number,
            "title": r.title,
            "context": r.context,
            "options": r.options,
            "decision": r.decision,
            "consequences": r.consequences,
            "success_criteria": "",
            "status": r.status,
            "tags": f" {' '.join(r.tags)} " if r.tags else "",
            "channel_id": "CBENCH",
            "channel_private": False,
            "author_id": "UBOT",
            "source_path": file_name(r.number, r.title),  # type: ignore[arg-type]
            "source_hash": hashlib.sha256(r.title.encode()).hexdigest(),
            "extra_sections": "[]",
            "named_people": "{}",
            "created_at": now,
            "updated_at": now,
        }
        for r in records
    ]
    t0 = time.perf_counter()
    with db.session() as session:
        ids = {
            n: i
            for i, n in session.execute(
                insert(Decision.__table__).returning(  # type: ignore[attr-defined]
                    Decision.__table__.c.id,  # type: ignore[attr-defined]
                    Decision.__table__.c.number,  # type: ignore[attr-defined]
                ),
                rows,
            ).all()
        }
        members = [
            {
                "team_id": team,
                "decision_id": ids[r.number],
                "user_id": f"U{k:07d}",
                "role": "decider",
            }
            for r in records
            for k in range(len(r.deciders))
        ]
        session.execute(insert(DecisionMember.__table__), members)  # type: ignore[attr-defined]
        session.execute(
            insert(DecisionEvent.__table__),  # type: ignore[attr-defined]
            [
                {
                    "team_id": team,
                    "decision_id": i,
                    "actor_id": "UBOT",
                    "kind": "imported",
                    "detail": "{}",
                    "created_at": now,
                }
                for i in ids.values()
            ],
        )
    return time.perf_counter() - t0


def seed_export(db: Database, n: int) -> tuple[str, float]:
    """``n`` decisions of one workspace with people, stances, links, reviews and names."""
    from benchmarks.ack_latency.config import TEAM
    from benchmarks.ack_latency.seed import seed_decisions

    t0 = time.perf_counter()
    with db.read() as session:
        present = session.execute(
            select(Decision.id).where(Decision.team_id == TEAM).limit(1)
        ).first()
    if present:
        return TEAM, 0.0
    seed_decisions(db, n)
    rng = random.Random(5)
    ids = list(range(1, n + 1))  # seed_decisions gives decision ADR-k the id k
    with db.engine.begin() as conn:
        conn.execute(
            insert(SlackUser.__table__),  # type: ignore[attr-defined]
            [
                {
                    "team_id": TEAM,
                    "user_id": f"U{i:05d}",
                    "name": f"Person {i}",
                    "updated_at": datetime.now(UTC),
                }
                for i in range(1, N_USERS + 1)
            ],
        )
        superseded = rng.sample(ids[1:], n // 20)
        for old in superseded:
            conn.execute(
                text("UPDATE decisions SET superseded_by_id = :new WHERE id = :old"),
                {"new": old - 1 if old > 1 else 2, "old": old},
            )
        conn.execute(
            insert(DecisionLink.__table__),  # type: ignore[attr-defined]
            [
                {
                    "team_id": TEAM,
                    "decision_id": d,
                    "other_id": d - 1,
                    "kind": "amends",
                    "created_at": datetime.now(UTC),
                }
                for d in rng.sample(ids[1:], n * 3 // 100)
            ],
        )
        reviewed = rng.sample(ids, n // 20)
        due = datetime(2024, 1, 1, tzinfo=UTC)
        review_rows = [
            {
                "id": 10_000_000 + d,
                "team_id": TEAM,
                "decision_id": d,
                "round": 1,
                "due_at": due,
                "timezone": "UTC",
                "state": "answered",
                "nudges_sent": 0,
                "outcome": "worked",
                "outcome_by": "U00001",
                "outcome_at": due,
                "created_at": due,
            }
            for d in reviewed
        ]
        conn.execute(insert(Review.__table__), review_rows)  # type: ignore[attr-defined]
        conn.execute(
            insert(ReviewAsk.__table__),  # type: ignore[attr-defined]
            [
                {
                    "team_id": TEAM,
                    "review_id": r["id"],
                    "user_id": "U00001",
                    "role": "owner",
                    "concern": "",
                    "outcome": "worked",
                    "what_happened": "It held up.",
                    "evidence": "",
                    "learned": "Measure first.",
                    "answered_at": due,
                }
                for r in review_rows
            ],
        )
    return TEAM, time.perf_counter() - t0


def bench_export(db: Database, n: int, tmp: Path) -> tuple[list[Row], float, list[float]]:
    team, seeded = seed_export(db, n)
    with db.read() as session:
        count = session.execute(
            text("SELECT count(*) FROM decisions WHERE team_id = :t"), {"t": team}
        ).scalar_one()
    out = tmp / "out"
    t0 = time.perf_counter()
    with db.read() as session:
        first = export_to_dir(session, team_id=team, root=out, fmt="madr")
    t1 = time.perf_counter()
    with db.read() as session:
        again = export_to_dir(session, team_id=team, root=out, fmt="madr")
    t2 = time.perf_counter()
    with db.read() as session:
        export_to_dir(session, team_id=team, root=tmp / "nygard", fmt="nygard")
    t3 = time.perf_counter()
    if first.decisions != count or again.written:
        raise SystemExit(f"export went wrong: {first.decisions} of {count}, {again.written[:3]}")
    floor = _export_floor(db, team, tmp / "floor")
    one = _export_one(db, team, count)
    return (
        [
            Row("export: export_to_dir", count, t1 - t0),
            Row("export again (unchanged)", count, t2 - t1),
            Row("export as nygard", count, t3 - t2),
            Row("export floor", count, floor),
            Row("export one (/adr export N)", len(one), sum(one)),
        ],
        seeded,
        one,
    )


def _export_one(db: Database, team: str, count: int, times: int = 50) -> list[float]:
    """What `/adr export N` reads and writes for one decision, for ``times`` numbers."""
    numbers = random.Random(11).sample(range(1, count + 1), min(times, count))
    took = []
    for number in numbers:
        t0 = time.perf_counter()
        with db.read() as session:
            [(_, body)] = list(export_files(session, team_id=team, fmt="madr", number=number))
        took.append(time.perf_counter() - t0)
    return sorted(took)


def _export_floor(db: Database, team: str, root: Path) -> float:
    root.mkdir()
    t0 = time.perf_counter()
    with db.read() as session:
        rows = session.execute(
            text("SELECT * FROM decisions WHERE team_id = :t ORDER BY number"), {"t": team}
        ).all()
    for row in rows:
        (root / f"{row.number:04d}.md").write_bytes(row.decision.encode())
    return time.perf_counter() - t0


@contextmanager
def store(postgres: str | None, tmp: Path) -> Iterator[Database]:
    if postgres is None:
        db = Database(f"sqlite:///{tmp / 'adr.db'}")
        db.migrate()
        yield db
        db.dispose()
        return
    if postgres != "auto":
        db = Database(postgres)
        db.migrate()
        yield db
        db.dispose()
        return
    from tests.support.pg import PostgresServer

    server = PostgresServer().start()
    try:
        db = Database(server.url)
        db.migrate()
        yield db
        db.dispose()
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=5_000, help="files to import")
    parser.add_argument("--decisions", type=int, default=100_000, help="decisions to export")
    parser.add_argument(
        "--postgres", default=None, help="a Postgres URL, or auto (a throwaway cluster)"
    )
    parser.add_argument("--quick", action="store_true", help="CI size: 200 files, 2,000 decisions")
    parser.add_argument(
        "--drop-index",
        action="store_true",
        help="drop the supersede indexes (migration 0011) first, to see what they are for",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.records, args.decisions = 200, 2_000
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, store(args.postgres, Path(tmp)) as db:
        if args.drop_index:
            with db.engine.begin() as conn:
                for name in ("ix_decisions_supersedes", "ix_decisions_superseded_by"):
                    conn.exec_driver_sql(f"DROP INDEX {name}")
        # export first: its seed gives decision ADR-k the id k
        exported, seeded, one = bench_export(db, args.decisions, Path(tmp))
        imported = bench_import(db, args.records, Path(tmp))
    print(
        f"adr files: {db.dialect}, import {args.records:,} files, export {args.decisions:,} "
        f"decisions (seeded in {seeded:.1f} s); {os.cpu_count()} cores, load {load:.1f} -> "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(f"{'row':28} {'records':>8} {'seconds':>8} {'records/s':>10}")
    for row in imported + exported:
        print(f"{row.label:28} {row.records:8d} {row.seconds:8.2f} {row.rate:10.0f}")
    print(
        f"export one decision: p50 {one[len(one) // 2] * 1000:.1f} ms, "
        f"p95 {one[int(len(one) * 0.95)] * 1000:.1f} ms ({len(one)} numbers)"
    )
    for label, rate, target in (
        ("import", imported[2].rate, IMPORT_TARGET),
        ("export", exported[0].rate, EXPORT_TARGET),
    ):
        verdict = "PASS" if rate >= target else "MISS"
        print(f"{verdict} {label} >= {target:,.0f} records/s: {rate:,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
