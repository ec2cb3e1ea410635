"""The Alembic migrations build exactly the schema the SQLModel tables describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.db import current_revision, head_revision


def _meaningful(diffs: list) -> list:
    out = []
    for diff in diffs:
        entry = diff[0] if isinstance(diff, list) else diff
        kind = entry[0]
        # Dialect-specific search objects live only in the migration, on purpose.
        text = repr(entry)
        if "decisions_fts" in text or "search_vector" in text or "ix_decisions_search" in text:
            continue
        # Server defaults are declared in migrations for existing-row safety; types compare
        # loosely across dialects (AutoString vs VARCHAR), so only structural diffs count.
        if kind in ("modify_default", "modify_type", "modify_nullable"):
            continue
        out.append(entry)
    return out


def test_migrations_match_models(db):
    assert current_revision(db.engine) == head_revision()
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = compare_metadata(ctx, SQLModel.metadata)
    assert _meaningful(diffs) == []


def test_every_migration_goes_down_and_up_again(any_database):
    """Each migration's downgrade undoes its upgrade: down to nothing and up again gives the
    schema the models describe (on a database of its own)."""
    from alembic import command

    from storage.db import alembic_config

    engine = any_database.engine
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert current_revision(engine) is None
    with engine.connect() as conn:
        left = [t for t in engine.dialect.get_table_names(conn) if t != "alembic_version"]
    assert left == []
    any_database.migrate()
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        assert _meaningful(compare_metadata(ctx, SQLModel.metadata)) == []
