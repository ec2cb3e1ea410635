"""Decision log: decisions, people, stances, history, counters, event de-duplication, search.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.String(32)),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("context", sa.Text, nullable=False, server_default=""),
        sa.Column("options", sa.Text, nullable=False, server_default=""),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("consequences", sa.Text, nullable=False, server_default=""),
        sa.Column("success_criteria", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tags", sa.String(600), nullable=False, server_default=""),
        sa.Column("review_date", sa.Date),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("channel_private", sa.Boolean, nullable=False),
        sa.Column("message_ts", sa.String(32)),
        sa.Column("post_error", sa.String(200)),
        sa.Column("author_id", sa.String(32), nullable=False),
        sa.Column("source_permalink", sa.String(500)),
        sa.Column("supersedes_id", sa.Integer, sa.ForeignKey("decisions.id")),
        sa.Column("superseded_by_id", sa.Integer, sa.ForeignKey("decisions.id")),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("team_id", "number", name="uq_decisions_team_number"),
    )
    op.create_index("ix_decisions_team_status", "decisions", ["team_id", "status"])
    op.create_table(
        "decision_members",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.UniqueConstraint("decision_id", "role", "user_id", name="uq_decision_members"),
    )
    op.create_index("ix_decision_members_decision_id", "decision_members", ["decision_id"])
    op.create_index("ix_decision_members_user", "decision_members", ["team_id", "user_id", "role"])
    op.create_table(
        "stances",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("concern", sa.Text, nullable=False, server_default=""),
        sa.Column("change_my_mind", sa.Text, nullable=False, server_default=""),
        sa.Column("committed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("decision_id", "user_id", name="uq_stances_decision_user"),
    )
    op.create_index("ix_stances_user", "stances", ["team_id", "user_id"])
    op.create_table(
        "decision_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("actor_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_decision_events_decision", "decision_events", ["decision_id", "id"])
    op.create_table(
        "processed_events",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("created_at", TS, nullable=False),
    )

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            """
            ALTER TABLE decisions ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
                setweight(to_tsvector('english', coalesce(decision, '')), 'B') ||
                setweight(to_tsvector('english', coalesce(context, '')), 'C') ||
                setweight(to_tsvector('english', coalesce(consequences, '')), 'C')
            ) STORED
            """
        )
        op.execute("CREATE INDEX ix_decisions_search ON decisions USING GIN (search_vector)")
    elif bind.dialect.name == "sqlite":
        # External-content FTS5 index kept in step by triggers; rowid = decisions.id.
        op.execute(
            """
            CREATE VIRTUAL TABLE decisions_fts USING fts5(
                title, decision, context, consequences,
                content='decisions', content_rowid='id', tokenize='porter unicode61'
            )
            """
        )
        cols = "title, decision, context, consequences"
        op.execute(
            f"""CREATE TRIGGER decisions_fts_ai AFTER INSERT ON decisions BEGIN
                INSERT INTO decisions_fts(rowid, {cols})
                VALUES (new.id, new.title, new.decision, new.context, new.consequences);
            END"""
        )
        op.execute(
            f"""CREATE TRIGGER decisions_fts_ad AFTER DELETE ON decisions BEGIN
                INSERT INTO decisions_fts(decisions_fts, rowid, {cols})
                VALUES ('delete', old.id, old.title, old.decision, old.context,
                        old.consequences);
            END"""
        )
        op.execute(
            f"""CREATE TRIGGER decisions_fts_au AFTER UPDATE OF {cols} ON decisions BEGIN
                INSERT INTO decisions_fts(decisions_fts, rowid, {cols})
                VALUES ('delete', old.id, old.title, old.decision, old.context,
                        old.consequences);
                INSERT INTO decisions_fts(rowid, {cols})
                VALUES (new.id, new.title, new.decision, new.context, new.consequences);
            END"""
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trig in ("decisions_fts_ai", "decisions_fts_ad", "decisions_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trig}")
        op.execute("DROP TABLE IF EXISTS decisions_fts")
    for table in (
        "processed_events",
        "decision_events",
        "stances",
        "decision_members",
        "decisions",
        "counters",
    ):
        op.drop_table(table)
