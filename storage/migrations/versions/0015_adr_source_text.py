"""ADR files, losslessly (issue 22): an imported decision keeps its file's exact text, the
format it was read in, and the sha256 of the house-style file written for it right after the
import, so an export gives the file back byte for byte until something it shows changes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("source_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("source_format", sa.String(8), nullable=True))
        batch.add_column(sa.Column("source_baseline", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("source_baseline")
        batch.drop_column("source_format")
        batch.drop_column("source_text")
