"""The claim statement of the outbox (``storage.due_work.claim`` runs it): one atomic
``UPDATE ... RETURNING`` that takes due rows fairly across workspaces, with a lease on the
database's clock. Built once per dialect; kept apart from ``due_work`` because it is the one
long, dialect-specific piece of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    Interval,
    String,
    and_,
    bindparam,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.sql.dml import ReturningUpdate

from storage.models import UTCDateTime, WorkState
from storage.tables import DUE_WORK

# The claim statement: it returns whole `due_work` rows.
Claim = ReturningUpdate[*tuple[object, ...]]
_LIVE = (WorkState.PENDING, WorkState.CLAIMED)


def claim_statement(dialect: str, *, given_clock: bool) -> Claim:
    """The claim as one prebuilt Core statement (it runs for every batch): parameters
    ``now``, ``owner``, ``lim``, ``updated_at`` and either ``lease`` (on the database's clock)
    or ``lease_until`` and ``clock`` (SQLite's clock is this process's; tests give one).

    Fair to every workspace: each due row has a turn within its workspace (1 = its oldest),
    and a claim takes every workspace's first row, then every second, ... — ordered by
    (turn, due_at, id) — so one workspace's backlog never holds up another's new row.

    Cost: a window over every due row would sort the whole backlog on every claim (10,000
    due rows of one workspace: 30-45 ms a claim of 16 on either database, against 5-9 ms
    for the plain oldest-first claim). No workspace can give more than ``lim`` rows to a
    claim, so turns are counted over each workspace's first ``lim`` due rows only: the
    workspaces are found by a loose index scan (one probe each) and each one's first rows
    by a range scan of ``ix_due_work_live_team`` (team_id, due_at, id on pending and claimed
    rows). A claim of 16 with those 10,000 rows and 1,000 other workspaces with live rows:
    SQLite 4.0 ms, Postgres 9.5 ms p50 (the plain claim 3.4 and 6.7 in the same runs); with
    all 1,000 workspaces due at once, 10.3 and 11.3 (6.9 and 6.7). Without that index the
    statement is right but slow (62 ms SQLite, 0.5 s Postgres)."""
    t = DUE_WORK
    if dialect == "postgresql" and not given_clock:
        clock: ColumnElement[datetime] = func.clock_timestamp()
        expires: ColumnElement[datetime] = func.clock_timestamp() + bindparam(
            "lease", type_=Interval()
        )
    else:
        clock = bindparam("clock", type_=UTCDateTime())
        expires = bindparam("lease_until", type_=UTCDateTime())
    now = bindparam("now", type_=UTCDateTime())
    lim = bindparam("lim", type_=Integer())

    def live(w: FromClause) -> ColumnElement[bool]:
        # Literal values: the partial index's own predicate, so both planners may read it.
        return w.c.state.in_([literal_column(f"'{state.value}'") for state in _LIVE])

    def due(w: FromClause) -> ColumnElement[bool]:
        # Pending and due, or claimed by a sweeper whose lease ran out. Never paused (its
        # workspace uninstalled), done, failed or cancelled.
        return or_(
            and_(w.c.state == WorkState.PENDING, w.c.due_at <= now),
            and_(w.c.state == WorkState.CLAIMED, w.c.lease_expires_at <= clock),
        )

    after = t.alias("next_team")
    # A loose index scan: from "" (before every team id), the next team id with live rows,
    # one index probe each. (SQLite takes no LIMIT in a compound's first part: hence "".)
    # SQLite, which has no statistics, would rather scan every live row for `state IN` than
    # seek by team id: there it visits every workspace with any rows, one probe each of an
    # index that starts with team_id.
    teams = select(literal("", String()).label("team_id")).cte("teams", recursive=True)
    next_team = (
        select(after.c.team_id)
        .where(
            after.c.team_id > teams.c.team_id, live(after) if dialect == "postgresql" else true()
        )
        .order_by(after.c.team_id)
        .limit(1)
        .scalar_subquery()
    )
    teams = teams.union_all(select(next_team).where(teams.c.team_id.is_not(None)))
    w = t.alias("w")
    if dialect == "postgresql":
        # Only the `lim` workspaces whose oldest due row is oldest can have a row in the
        # claim (with more workspaces than that, the claim is their first rows): the rest
        # are not locked below.
        h = t.alias("h")
        head = (
            select(h.c.due_at, h.c.id)
            .where(h.c.team_id == teams.c.team_id, live(h), due(h))
            .order_by(h.c.due_at, h.c.id)
            .limit(1)
            .lateral("head")
        )
        heads = (
            select(teams.c.team_id)
            .select_from(teams.join(head, true()))
            .order_by(head.c.due_at, head.c.id)
            .limit(lim)
            .cte("heads")
        )
        # Each of those workspaces' first `lim` rows that no concurrent claim holds (SKIP
        # LOCKED here, not on the outer SELECT: Postgres refuses FOR UPDATE beside a window
        # function, and a row locked by another claim must make room for the next one of its
        # workspace). Rows locked but not taken are free again when this short transaction
        # ends.
        mine = (
            select(w.c.id, w.c.team_id, w.c.due_at)
            .where(w.c.team_id == heads.c.team_id, live(w), due(w))
            .order_by(w.c.due_at, w.c.id)
            .limit(lim)
            .with_for_update(skip_locked=True)
            .lateral("mine")
        )
        pool = select(mine).select_from(heads.join(mine, true())).subquery("pool")
    else:
        # SQLite has no LATERAL: the same rows as a subquery per workspace (and no locks:
        # one writer at a time, BEGIN IMMEDIATE, so there is nothing to skip).
        v = t.alias("v")
        firsts = (
            select(v.c.id)
            .where(v.c.team_id == teams.c.team_id, live(v), due(v))
            .order_by(v.c.due_at, v.c.id)
            .limit(lim)
            .correlate(teams)
        )
        # (`w.id IN`, not a join on team_id: SQLite then reads only the ids it lists.)
        pool = (
            select(w.c.id, w.c.team_id, w.c.due_at)
            .select_from(teams.join(w, true()))
            .where(w.c.id.in_(firsts))
            .subquery("pool")
        )
    turn = func.row_number().over(partition_by=pool.c.team_id, order_by=(pool.c.due_at, pool.c.id))
    ranked = select(pool.c.id, pool.c.due_at, turn.label("turn")).subquery("ranked")
    candidates = (
        select(ranked.c.id).order_by(ranked.c.turn, ranked.c.due_at, ranked.c.id).limit(lim)
    )
    if dialect == "postgresql":
        # A materialized CTE runs once. As `id IN (subquery)` Postgres plans a semi join that
        # re-runs the subquery per row; SKIP LOCKED then skips the rows this statement just
        # updated and the LIMIT is ignored: one sweeper would claim every due row.
        picked = candidates.cte("picked").prefix_with("MATERIALIZED")
        chosen = t.c.id.in_(select(picked.c.id))
    else:
        chosen = t.c.id.in_(candidates.scalar_subquery())
    return (
        update(t)
        .where(chosen, due(t))
        .values(
            state=WorkState.CLAIMED,
            lease_owner=bindparam("owner"),
            lease_expires_at=expires,
            attempts=t.c.attempts + 1,
            updated_at=bindparam("updated_at", type_=UTCDateTime()),
        )
        .returning(*t.c)
    )
