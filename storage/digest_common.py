"""What every section of the weekly digest shares: ``Listing`` (the first ``SHOWN`` rows of a
list and how many there are in all) and the pieces of each section's statements: coverage
(``_covers``: one channel's rows, or every public channel's) and windows as bind parameters (their
values: ``storage.digest._params``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, bindparam, false
from sqlmodel import col

from storage.models import Decision

SHOWN = 15  # rows of a list a digest shows; the rest is "… and N more"
QUARTER = timedelta(days=90)  # health, dissent and overdue reviews look this far back


T = TypeVar("T")


@dataclass(frozen=True)
class Listing(Generic[T]):
    """The first rows of a list and how many there are in all ("… and 14 more")."""

    total: int = 0
    shown: tuple[T, ...] = ()

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.shown))


# Built once per shape (channel or workspace coverage) with bind parameters, like the prebuilt
# statements of storage/review_answers.py: building a statement costs more Python than running it
# here. Parameters (``_params``): team, channel, start, end, ahead (end + 7 days), since (end -
# 90 days), today, today_ahead (today + 7 days).

Params = dict[str, str | datetime | date | None]

Where = ColumnElement[bool]
Order = SQLColumnExpression[object]  # what a listing is ordered by (a column, or one's .desc())


def _covers(
    workspace: bool, channel: SQLColumnExpression[str], private: SQLColumnExpression[bool]
) -> Where:
    """Coverage: every public channel's rows, or one channel's (whatever its privacy)."""
    return private == false() if workspace else channel == bindparam("channel")


def _in(column: SQLColumnExpression[T], start: str, end: str) -> Where:
    return and_(column >= bindparam(start), column < bindparam(end))


def _decision_covered(workspace: bool) -> tuple[Where, Where]:
    return (
        col(Decision.team_id) == bindparam("team"),
        _covers(workspace, col(Decision.channel_id), col(Decision.channel_private)),
    )


class Counted(Protocol):
    """A row of a listing's statement: it carries ``total`` (``count() over ()``)."""

    @property
    def total(self) -> int: ...


def _first(rows: Sequence[Counted]) -> int:
    """The ``total`` every row carries (``count() over ()``); no rows: 0."""
    return int(rows[0].total) if rows else 0


__all__ = ["Counted", "Listing", "Order", "Params", "QUARTER", "SHOWN", "Where"]
