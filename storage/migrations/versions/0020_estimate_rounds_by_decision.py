"""A decision's estimate rounds found by index (issue 27): every card refresh asks whether its
decision has any (``storage.decision_record._present``), which read the workspace's rounds
without it.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_estimate_rounds_decision", "estimate_rounds", ["decision_id"])


def downgrade() -> None:
    op.drop_index("ix_estimate_rounds_decision", table_name="estimate_rounds")
