"""The transactional outbox: ordering lanes, coalesced re-runs, host names of any length in
lease owners, and an index for the backlog the metrics report.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot ALTER a column's type in place (the table is copied).
    with op.batch_alter_table("due_work") as batch:
        batch.add_column(sa.Column("lane", sa.String(120)))
        batch.add_column(sa.Column("rerun", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.alter_column(
            "lease_owner", existing_type=sa.String(64), type_=sa.String(255), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("due_work") as batch:
        batch.alter_column(
            "lease_owner", existing_type=sa.String(255), type_=sa.String(64), existing_nullable=True
        )
        batch.drop_column("rerun")
        batch.drop_column("lane")
