"""The parking lot's list order as an index: `/parkinglot list by rice` reads it in order.

``list_items`` orders by ``rice DESC NULLS LAST, created_at, number``. On Postgres the
(team_id, state, rice) index can't give that order (a backward scan puts NULLs first), so the
list read every parked item of the workspace and sorted it (about 22 ms at 25,000 parked);
with this index it stops after the first 25 visible rows. SQLite can't declare NULLS LAST in
an index, and needs none: its NULLs sort first, so ``rice DESC`` already puts them last.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    nulls_last = " NULLS LAST" if op.get_bind().dialect.name == "postgresql" else ""
    op.create_index(
        "ix_parking_items_list",
        "parking_items",
        ["team_id", "state", sa.text(f"rice DESC{nulls_last}"), "created_at", "number"],
    )


def downgrade() -> None:
    op.drop_index("ix_parking_items_list", table_name="parking_items")
