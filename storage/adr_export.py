"""ADR files out (`decisionbot export`, `/adr export`): decisions become decision records
again, and records become files.

The writer (``adr_files/write.py``) knows the file formats; this module knows the tables. It
imports the record types of ``adr_files/records.py`` and the writer: both pure (no Slack, no
database), so storage still never speaks Slack. The way in is ``storage/adr_import.py``; the
two share only the constants below (``PAGE``, ``ROLES``, ``LINK_ORDER``), kept here so the
app, which exports but never imports, loads only this module.

Export (``export_records``; ``export_files`` for the files with the index, which a zip for
`/adr export` can use; ``export_to_dir``): decisions in number order, read a page of 500
at a time with one query per table per page (members, stances, reviews and their asks, links,
linked decisions, people's names) — never per decision. ``visible_to`` narrows the export to
what one person may see from one channel (``storage.visibility.Viewer``, the rule of `/adr
list`); links to decisions they may not see are left out (a file name would reveal a title).
``number`` narrows it to one decision, in the WHERE clause (one page of queries for it, the
names of its own people only): ``export_files`` then gives just its file, no index, and reads
the file names of the decisions it links to only.
Supersede and amend are written on both decisions' files (as adr-tools' `adr link` does), so
a link one file stated comes back on the other file too; relates-to only on the file that
said it. The exported review is the newest answered round, else the newest unanswered one
(scheduled and open rounds are not history yet; the review date carries the plan, as the day
it is asked: a weekend date is written as the Monday after, as the card shows it). People
named on a decision come first as Slack users (in the order they were added), then the names
kept as text (decided: the order of a file mixing the two is not kept).
``export_to_dir`` writes ``NNNN-slug.md`` files and ``README.md``, deterministically, and
rewrites a file only when its bytes differ; it deletes nothing (files left by a renamed
decision are reported as stale). Each record says which of its texts are an imported file's,
unchanged since (``as_read``, from the history: ``storage.adr_export_origin``): the writer
writes those as read and escapes raw HTML in every other text, typed in Slack.

Decision health (issue 25): a record carries its decision's door and its scored forecasts
(probability and outcome only: never who made them); a forecast not scored yet is never read
here, so no export carries one.

An imported decision's record carries its file as read (``AdrRecord.original``: text, name,
baseline), so the writer can give the file back unchanged (issue 22).

Here: decisions read into records (``export_records``). The files, their names and the folder
(``export_files``, ``file_names``, ``export_to_dir``) are ``storage.adr_export_files``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, Connection, Select, or_, select
from sqlmodel import Session, col

from adr_files.records import (
    AdrRecord,
    AskRecord,
    ForecastRecord,
    LinkRef,
    Original,
    PersonRef,
    ReviewRecord,
    StanceRecord,
)
from storage import rules
from storage.adr_export_origin import TYPED, as_read
from storage.models import (
    Forecast,
    ForecastState,
    LinkKind,
    Outcome,
    ReviewState,
    Role,
    SlackUser,
)
from storage.tables import ASKS, DECISIONS, LINKS, MEMBERS, REVIEWS, STANCES, table_of
from storage.visibility import Viewer, visible_condition

PAGE = 500  # decisions read per page on export; ids per IN (...) list
ROLES = ((Role.DECIDER, "deciders"), (Role.CONSULTED, "consulted"), (Role.INFORMED, "informed"))
LINK_ORDER = ("supersedes", "superseded_by", "amends", "amended_by", "relates")


_RECORD_COLUMNS = [
    DECISIONS.c[name]
    for name in (
        "id",
        "number",
        "title",
        "context",
        "options",
        "decision",
        "consequences",
        "success_criteria",
        "status",
        "tags",
        "review_date",
        "created_at",
        "supersedes_id",
        "superseded_by_id",
        "named_people",
        "extra_sections",
        "source_path",
        "source_text",
        "source_format",
        "source_baseline",
        "door",
    )
]
FORECASTS = table_of(Forecast)
# a scored forecast's outcome (1, 0.5, 0) as the Outcome a file names
_OUTCOME_OF = {1.0: Outcome.WORKED.value, 0.5: Outcome.PARTLY.value, 0.0: Outcome.DIDNT_WORK.value}
_HISTORY = (ReviewState.ANSWERED, ReviewState.UNANSWERED)


# The rows the export reads, by column name (the statements below select these columns).


class _DecisionRow(Protocol):
    """A decision: ``_RECORD_COLUMNS``."""

    id: int
    number: int
    title: str
    context: str
    options: str
    decision: str
    consequences: str
    success_criteria: str
    status: str
    tags: str
    review_date: date | None
    created_at: datetime
    supersedes_id: int | None
    superseded_by_id: int | None
    named_people: str
    extra_sections: str
    source_path: str | None
    source_text: str | None
    source_format: str | None
    source_baseline: str | None
    door: str | None


class _StanceRow(Protocol):
    decision_id: int
    user_id: str
    kind: str
    concern: str
    change_my_mind: str
    committed: bool
    reason: str


class _ReviewRow(Protocol):
    id: int
    decision_id: int
    round: int
    due_at: datetime
    timezone: str
    outcome: str | None


class _AskRow(Protocol):
    """A review ask (every column of ``review_asks``; these are read)."""

    review_id: int
    user_id: str
    role: str
    outcome: str | None
    what_happened: str
    evidence: str
    learned: str
    concern: str
    dissent_answer: str | None


def export_records(
    session: Session,
    *,
    team_id: str,
    visible_to: Viewer | None = None,
    number: int | None = None,
    numbers: Collection[int] | None = None,
    page: int = PAGE,
) -> Iterator[AdrRecord]:
    """Every decision of the workspace as a record, in number order; ``visible_to``: only
    what that viewer may see from their channel (`/adr list`'s rule), and only links to
    decisions they may see. None: everything (the operator's CLI). ``number``: only that
    decision (nothing if there is none, or ``visible_to`` may not see it); ``numbers``: only
    those (a page of queries per ``page`` of them: what an import just created)."""
    visible: ColumnElement[bool] | None = (
        visible_condition(visible_to) if visible_to is not None else None
    )
    conn = session.connection()
    scope = [DECISIONS.c.team_id == team_id]
    if number is not None:
        scope.append(DECISIONS.c.number == number)
    if numbers is not None:
        wanted = sorted(set(numbers))
        for start in range(0, len(wanted), page):
            chunk = [*scope, DECISIONS.c.number.in_(wanted[start : start + page])]
            yield from _records(conn, team_id, chunk, visible, None, page)
        return
    # the whole export: every cached name at once; one decision: its people's, once read
    names = _names(conn, team_id) if number is None else None
    yield from _records(conn, team_id, scope, visible, names, page)


def _records(
    conn: Connection,
    team_id: str,
    scope: list[ColumnElement[bool]],
    visible: ColumnElement[bool] | None,
    names: Mapping[str, str] | None,
    page: int,
) -> Iterator[AdrRecord]:
    """The decisions of ``scope`` as records, a page at a time, in number order."""
    after = -1  # numbers start at 1; an imported 0000-….md keeps 0
    while True:
        stmt = select(*_RECORD_COLUMNS).where(*scope, DECISIONS.c.number > after)
        if visible is not None:
            stmt = stmt.where(visible)
        rows = conn.execute(stmt.order_by(DECISIONS.c.number).limit(page)).all()
        if not rows:
            return
        # the page's decisions, by their numbers (no list of ids to send)
        in_page = select(DECISIONS.c.id).where(
            *scope,
            DECISIONS.c.number > after,
            DECISIONS.c.number <= rows[-1].number,
        )
        yield from _page_records(conn, team_id, rows, in_page, visible, names)
        if len(rows) < page:
            return
        after = rows[-1].number


def _names(conn: Connection, team_id: str, users: Collection[str] | None = None) -> dict[str, str]:
    """user id -> name from the user cache: of ``users``, or (None) of everyone."""
    stmt = select(col(SlackUser.user_id), col(SlackUser.name)).where(
        col(SlackUser.team_id) == team_id, col(SlackUser.name).is_not(None)
    )
    if users is None:
        return {user: name for user, name in conn.execute(stmt).all() if name is not None}
    wanted = sorted(users)
    names: dict[str, str] = {}
    for start in range(0, len(wanted), PAGE):
        chunk = wanted[start : start + PAGE]
        names.update(
            (user, name)
            for user, name in conn.execute(stmt.where(col(SlackUser.user_id).in_(chunk))).all()
            if name is not None
        )
    return names


def _page_records(
    conn: Connection,
    team_id: str,
    rows: Sequence[_DecisionRow],
    in_page: Select[int],
    visible: ColumnElement[bool] | None,
    names: Mapping[str, str] | None,
) -> Iterator[AdrRecord]:
    """The page's decisions as records; ``names`` None: read the names of its people."""
    members: dict[tuple[int, str], list[str]] = defaultdict(list)  # (decision, role) -> users
    for decision_id, role, user in conn.execute(
        select(MEMBERS.c.decision_id, MEMBERS.c.role, MEMBERS.c.user_id)
        .where(MEMBERS.c.decision_id.in_(in_page))
        .order_by(MEMBERS.c.id)
    ).all():
        members[decision_id, role].append(user)
    stances: dict[int, list[_StanceRow]] = defaultdict(list)
    for s in conn.execute(
        select(
            STANCES.c.decision_id,
            STANCES.c.user_id,
            STANCES.c.kind,
            STANCES.c.concern,
            STANCES.c.change_my_mind,
            STANCES.c.committed,
            STANCES.c.reason,
        )
        .where(STANCES.c.decision_id.in_(in_page))
        .order_by(STANCES.c.updated_at, STANCES.c.id)
    ).all():
        stances[s.decision_id].append(s)
    reviews = _page_reviews(conn, in_page)
    forecasts = _page_forecasts(conn, in_page)
    links = _page_links(conn, team_id, rows, in_page, visible)
    origins = as_read(conn, rows)  # which texts are still an imported file's
    if names is None:
        users = {u for people in members.values() for u in people}
        users |= {s.user_id for page_stances in stances.values() for s in page_stances}
        users |= {a.user_id for _rv, asks in reviews.values() for a in asks}
        names = _names(conn, team_id, users)
    known: Mapping[str, str] = names
    refs: dict[str, PersonRef] = {}

    def person(user: str) -> PersonRef:
        ref = refs.get(user)
        if ref is None:  # frozen: one per person, shared
            ref = refs[user] = PersonRef(text=known.get(user) or user, user_id=user)
        return ref

    for r in rows:
        origin = origins.get(r.id, TYPED)
        named = json.loads(r.named_people) if r.named_people not in ("{}", "") else {}
        people: dict[str, list[PersonRef]] = {}
        for role, attr in ROLES:
            people[attr] = [person(u) for u in members.get((r.id, role), ())]
            # names kept as text are the file's (only an import keeps any)
            people[attr] += [PersonRef(text=t, as_read=True) for t in named.get(role, ())]
        review = None
        if r.id in reviews:
            rv, asks = reviews[r.id]
            review = ReviewRecord(
                due=_local_date(rv.due_at, rv.timezone),
                outcome=rv.outcome,
                asks=[
                    AskRecord(
                        person=person(a.user_id),
                        role=a.role,
                        outcome=a.outcome,
                        what_happened=a.what_happened,
                        evidence=a.evidence,
                        learned=a.learned,
                        concern=a.concern,
                        dissent_answer=a.dissent_answer,
                        as_read=origin.answer(rv.round, a.user_id),
                    )
                    for a in asks
                ],
            )
        extra = json.loads(r.extra_sections) if r.extra_sections not in ("[]", "") else ()
        yield AdrRecord(
            title=r.title,
            number=r.number,
            date=r.created_at.date(),  # UTC: UTCDateTime reads every time as UTC
            status=r.status,
            context=r.context,
            options=r.options,
            decision=r.decision,
            consequences=r.consequences,
            success_criteria=r.success_criteria,
            deciders=people["deciders"],
            consulted=people["consulted"],
            informed=people["informed"],
            tags=r.tags.split(),
            # the day it is asked (a weekend date moves to Monday), as the card shows it
            review_date=rules.review_day(r.review_date) if r.review_date else None,
            links=links.get(r.id, []),
            extra=[(h, b) for h, b in extra],
            stances=[
                StanceRecord(
                    kind=s.kind,
                    person=person(s.user_id),
                    concern=s.concern,
                    change_my_mind=s.change_my_mind,
                    committed=bool(s.committed),
                    reason=s.reason,
                    as_read=origin.stance(s.user_id),
                )
                for s in stances.get(r.id, ())
            ],
            review=review,
            door=r.door,
            forecasts=forecasts.get(r.id, []),
            as_read=frozenset(origin.texts),
            format=r.source_format or "",
            original=_original(r),
        )


def _original(r: _DecisionRow) -> Original | None:
    """The imported file as read (None: made in Slack, or imported before it was kept)."""
    if r.source_text is None or r.source_path is None:
        return None
    return Original(
        text=r.source_text, file_name=original_name(r.source_path), baseline=r.source_baseline
    )


def original_name(source_path: str) -> str:
    """An imported file's name, as exports write it: its base name (a folder's files are
    written side by side)."""
    return source_path.rsplit("/", 1)[-1]


def _local_date(moment: datetime, zone: str) -> date:
    """The day a review was due where it was asked: 09:00 on the 5th in Sydney is 22:00 on
    the 4th in UTC, and the file says the 5th, as the person who set it chose."""
    try:
        return moment.astimezone(ZoneInfo(zone)).date()
    except (ZoneInfoNotFoundError, ValueError):  # a zone this machine no longer knows
        return moment.astimezone(UTC).date()


def _page_reviews(
    conn: Connection, in_page: Select[int]
) -> dict[int, tuple[_ReviewRow, list[_AskRow]]]:
    """Per decision: its newest answered review round, else its newest unanswered one."""
    rounds = (
        select(REVIEWS.c.id)
        .where(REVIEWS.c.decision_id.in_(in_page), REVIEWS.c.state.in_(_HISTORY))
        .scalar_subquery()
    )
    chosen: dict[int, _ReviewRow] = {}
    for rv in conn.execute(
        select(
            REVIEWS.c.id,
            REVIEWS.c.decision_id,
            REVIEWS.c.round,
            REVIEWS.c.due_at,
            REVIEWS.c.timezone,
            REVIEWS.c.outcome,
        )
        .where(REVIEWS.c.decision_id.in_(in_page), REVIEWS.c.state.in_(_HISTORY))
        .order_by(REVIEWS.c.round)
    ).all():
        best = chosen.get(rv.decision_id)
        if best is None or rv.outcome is not None or best.outcome is None:
            chosen[rv.decision_id] = rv
    if not chosen:
        return {}
    asks: dict[int, list[_AskRow]] = defaultdict(list)
    for a in conn.execute(
        select(ASKS).where(ASKS.c.review_id.in_(rounds)).order_by(ASKS.c.id)
    ).all():
        asks[a.review_id].append(a)
    return {d: (rv, asks.get(rv.id, [])) for d, rv in chosen.items()}


def _page_forecasts(conn: Connection, in_page: Select[int]) -> dict[int, list[ForecastRecord]]:
    """Per decision: its scored forecasts, probability and outcome only (who made them, and
    any forecast not scored yet, stay out of every file)."""
    out: dict[int, list[ForecastRecord]] = defaultdict(list)
    for decision_id, probability, outcome in conn.execute(
        select(FORECASTS.c.decision_id, FORECASTS.c.probability, FORECASTS.c.outcome)
        .where(
            FORECASTS.c.decision_id.in_(in_page),
            FORECASTS.c.state == ForecastState.SCORED.value,
            FORECASTS.c.outcome.is_not(None),
        )
        .order_by(FORECASTS.c.decision_id, FORECASTS.c.probability, FORECASTS.c.outcome.desc())
    ).all():
        word = _OUTCOME_OF.get(float(outcome))
        if word is not None:
            out[decision_id].append(ForecastRecord(probability=int(probability), outcome=word))
    return out


def _page_links(
    conn: Connection,
    team_id: str,
    rows: Sequence[_DecisionRow],
    in_page: Select[int],
    visible: ColumnElement[bool] | None,
) -> dict[int, list[LinkRef]]:
    """Each decision's links, both ways, to decisions the export may show."""
    page = {r.id for r in rows}
    pairs: set[tuple[int, str, int]] = set()  # (decision, kind, other)
    for r in rows:
        if r.supersedes_id:
            pairs.add((r.id, "supersedes", r.supersedes_id))
        if r.superseded_by_id:
            pairs.add((r.id, "superseded_by", r.superseded_by_id))
    for other, sup, sup_by in conn.execute(
        select(DECISIONS.c.id, DECISIONS.c.supersedes_id, DECISIONS.c.superseded_by_id).where(
            DECISIONS.c.team_id == team_id,
            or_(
                DECISIONS.c.supersedes_id.in_(in_page),
                DECISIONS.c.superseded_by_id.in_(in_page),
            ),
        )
    ).all():
        if sup in page:
            pairs.add((sup, "superseded_by", other))
        if sup_by in page:
            pairs.add((sup_by, "supersedes", other))
    for source, other, kind in conn.execute(
        select(LINKS.c.decision_id, LINKS.c.other_id, LINKS.c.kind).where(
            or_(LINKS.c.decision_id.in_(in_page), LINKS.c.other_id.in_(in_page))
        )
    ).all():
        # amends is written on both files (as `adr link` does); relates-to only on the file
        # that said it, so an imported file comes back as it was
        if source in page:
            pairs.add((source, "amends" if kind == LinkKind.AMENDS else "relates", other))
        if other in page and kind == LinkKind.AMENDS:
            pairs.add((other, "amended_by", source))
    others = sorted({o for _d, _k, o in pairs})
    numbers: dict[int, int] = {}
    for start in range(0, len(others), PAGE):
        stmt = select(DECISIONS.c.id, DECISIONS.c.number).where(
            DECISIONS.c.team_id == team_id, DECISIONS.c.id.in_(others[start : start + PAGE])
        )
        if visible is not None:
            stmt = stmt.where(visible)
        numbers.update(dict(conn.execute(stmt).all()))
    out: dict[int, list[LinkRef]] = defaultdict(list)
    for decision, kind, other in sorted(
        pairs, key=lambda p: (p[0], LINK_ORDER.index(p[1]), numbers.get(p[2], 0))
    ):
        if other in numbers:
            out[decision].append(LinkRef(kind=kind, number=numbers[other]))
    return out


__all__ = ["LINK_ORDER", "PAGE", "ROLES", "export_records", "original_name"]
