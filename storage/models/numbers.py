"""The per-workspace counters behind human numbers (``storage.numbers``)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Counter(SQLModel, table=True):
    """Per-workspace human numbers (ADR-7, E-3, P-12), allocated atomically."""

    __tablename__ = "counters"
    team_id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(primary_key=True, max_length=16)
    value: int = 0
