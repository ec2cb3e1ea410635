"""People and channels: the Slack user cache (admins, guests, outsiders), settings managers,
per-person DM preference, and what each channel is (private, shared, archived).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _flag(name: str, default: bool = False) -> sa.Column:
    return sa.Column(
        name, sa.Boolean(), nullable=False, server_default=sa.false() if not default else sa.true()
    )


def upgrade() -> None:
    op.create_table(
        "slack_users",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("home_team_id", sa.String(32), nullable=True),
        _flag("is_admin"),
        _flag("is_owner"),
        _flag("is_restricted"),
        _flag("is_ultra_restricted"),
        _flag("is_bot"),
        _flag("deleted"),
        sa.Column("tz", sa.String(64), nullable=True),
        _ts("updated_at"),
    )
    op.create_table(
        "settings_managers",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("named_by", sa.String(32), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "user_preferences",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
        _flag("dms_off"),
        _ts("updated_at"),
    )
    op.create_table(
        "channels",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("channel_id", sa.String(32), primary_key=True),
        _flag("is_private", True),
        _flag("is_shared"),
        _flag("is_archived"),
        _ts("updated_at"),
    )


def downgrade() -> None:
    for table in ("channels", "user_preferences", "settings_managers", "slack_users"):
        op.drop_table(table)
