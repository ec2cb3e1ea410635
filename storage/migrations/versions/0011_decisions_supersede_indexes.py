"""Who supersedes a decision, found by index: `/adr export N` and every page of an export look
up the decisions whose ``supersedes_id`` or ``superseded_by_id`` is one of theirs, so the file
links both ways even when only one side was written (an import of a chain whose files
disagree).

Without these, each lookup reads every decision of the workspace: about 36 ms for one
decision's export at 100,000 decisions on SQLite, and once per page of the whole log
(``python -m benchmarks.adr_files --drop-index``). Partial: most decisions supersede nothing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_decisions_supersedes": "supersedes_id",
    "ix_decisions_superseded_by": "superseded_by_id",
}


def upgrade() -> None:
    for name, column in INDEXES.items():
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "decisions", [column], postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="decisions")
