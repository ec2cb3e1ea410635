"""What every table uses: the one clock (``utcnow``), timezone-aware UTC columns, the id of a
saved row (``saved_id``), and the name for arbitrary JSON (``JsonObject``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol, cast

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field

JsonObject = dict[str, Any]
"""A JSON object as stored or sent (event and round payloads, Slack bodies we keep): its
values really are arbitrary JSON, so this is the one named place ``Any`` stands for them."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every database. Postgres keeps offsets itself; SQLite stores
    text without one, so values are converted to UTC on the way in and marked UTC on the way
    out (a naive value is refused: its zone would be a guess)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        # ``DateTime`` has already parsed the stored value (SQLite's text included).
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts() -> datetime:
    """A ``created_at``/``updated_at`` column: UTC, set to now when the row is built.

    ``Field()`` is typed as returning ``Any`` (its value is a ``FieldInfo`` that SQLModel turns
    into the column); the cast states what the attribute holds on an instance, so the models
    can annotate ``created_at: datetime = _ts()`` without an ignore.
    """
    return cast(datetime, Field(default_factory=utcnow, sa_type=UTCDateTime))


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def saved_id(row: _Row) -> int:
    """The id of a row the database has numbered (added and flushed, or read).

    A table's ``id`` is ``int | None`` because a row built in Python has none until its
    INSERT; code that needs it (a child row's foreign key) reads it through here, and a row
    that was never flushed is a programming error, not a missing value."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet: add and flush it first")
    return row.id
