"""Full-text search over decisions, behind one function (``search_decisions``): SQLite FTS5
(bm25) and Postgres full-text (tsvector + GIN), over what the viewer may see
(``storage.visibility``), ranking only the newest matches so a common word costs what a rare one
does.
"""

from __future__ import annotations

import json
import re

from sqlalchemy import ColumnClause, Integer, any_, bindparam, func, literal_column, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import column
from sqlmodel import Session, col

from storage.models import Decision
from storage.visibility import Viewer, _visible_to

_PHRASE = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"\w+", re.UNICODE)


_TERM = re.compile(r'"([^"]*)"|(\w+)', re.UNICODE)


def fts5_query(text_: str) -> str | None:
    """Turn arbitrary user text into a safe FTS5 query: quoted phrases stay phrases, other
    words become prefix terms, an upper-case OR between terms means OR (as Postgres'
    websearch_to_tsquery reads it), everything else (operators, stray quotes, punctuation) is
    dropped. Adjacent terms must all match."""
    parts: list[str] = []
    for phrase, word in _TERM.findall(text_):
        if word == "OR":
            if parts and parts[-1] != "OR":
                parts.append("OR")
            continue
        if phrase:
            words = _WORD.findall(phrase)
            if words:
                parts.append('"' + " ".join(words) + '"')
        elif word:
            parts.append(f'"{word}"*')
        if len(parts) >= 63:
            break
    while parts and parts[-1] == "OR":
        parts.pop()
    return " ".join(parts) or None


# How many of the newest matches are ranked, widening when a workspace gets too few (-1: all).
SEARCH_CANDIDATES = (500, 20_000, -1)


# Postgres finds the newest matches one of two ways: walking the table newest-first, testing each
# row, until `cap` match (cost: cap / share of rows matching), or reading every match through the
# GIN index and sorting them (cost: matches, each a heap visit in table order, ~6x a walked row at
# 1,000,000 decisions). Its planner picks by its estimate of the matches, but it guesses a word its
# statistics don't list (a missing or rare word) at up to 0.5% of the rows (DEFAULT_TS_MATCH_SEL)
# and rates the walk's per-row test too cheap, so for a word found nowhere it walked the whole table.
_GIN_ROW_COST = 6
_UNLISTED_WORD_SHARE = 0.005
_MATCH_ESTIMATE = text(
    "EXPLAIN (FORMAT JSON) SELECT id FROM decisions "
    "WHERE team_id = :team AND search_vector @@ websearch_to_tsquery('english', :query)"
)
_TABLE_ROWS = text("SELECT reltuples FROM pg_class WHERE oid = 'decisions'::regclass")


def _pg_match_estimate(session: Session, *, team_id: str, query: str) -> tuple[float, float]:
    """The planner's estimate of a search's matches in a workspace, and of the table's rows."""
    plan = session.scalars(_MATCH_ESTIMATE, {"team": team_id, "query": query}).one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    matches = float(plan[0]["Plan"]["Plan Rows"])
    rows = float(session.scalars(_TABLE_ROWS).one() or 0)  # -1: never analysed
    return matches, max(rows, matches)


def _read_all_matches(matches: float, rows: float, cap: int) -> bool:
    """Whether reading every match through the GIN index beats walking newest-first to `cap`."""
    if cap < 0:
        return False  # ranking them all: no order to walk in; the planner chooses
    return matches <= _UNLISTED_WORD_SHARE * rows or _GIN_ROW_COST * matches * matches <= cap * rows


def search_decisions(
    session: Session, *, team_id: str, viewer: Viewer, query: str, limit: int = 10
) -> list[Decision]:
    """Ranked full-text search over title, decision, context and consequences.

    SQLite uses the FTS5 index (bm25, title weighted highest); Postgres uses the generated
    ``search_vector`` column with ``websearch_to_tsquery`` (which accepts any input).
    """
    base = select(Decision).where(col(Decision.team_id) == team_id, _visible_to(viewer))
    if session.get_bind().dialect.name == "postgresql":
        # Postgres text cannot hold NUL; a NUL in the query would raise instead of matching.
        words = query[:500].replace("\x00", " ")
        tsq = func.websearch_to_tsquery("english", words)
        vector: ColumnClause[object] = literal_column("decisions.search_vector")
        matching = select(col(Decision.id)).where(
            col(Decision.team_id) == team_id, vector.op("@@")(tsq)
        )
        matches, rows = _pg_match_estimate(session, team_id=team_id, query=words)
        for cap in SEARCH_CANDIDATES:
            # As on SQLite, rank only the newest matches (ts_rank_cd reads every candidate's
            # vector); the cap bounds the ranking work.
            complete = cap < 0  # whether a wider cap could add candidates
            if _read_all_matches(matches, rows, cap):
                # Few matches expected: a materialized CTE hides the ORDER BY/LIMIT from the
                # match query, so the planner cannot walk the table newest-first; the GIN index
                # finds every match and the newest `cap` (+1: are there more?) are sorted out.
                fenced = matching.cte("matches").prefix_with("MATERIALIZED")
                ids = list(
                    session.scalars(select(fenced.c.id).order_by(fenced.c.id.desc()).limit(cap + 1))
                )
                complete = len(ids) <= cap
                if not ids:
                    return []
                ids_param = bindparam("candidate_ids", ids[:cap], type_=postgresql.ARRAY(Integer))
                candidates = col(Decision.id) == any_(ids_param)
            else:
                newest = matching.order_by(col(Decision.id).desc())
                if cap > 0:
                    newest = newest.limit(cap)
                candidates = col(Decision.id).in_(newest.scalar_subquery())
            stmt = (
                base.where(candidates)
                .order_by(func.ts_rank_cd(vector, tsq).desc(), col(Decision.number).desc())
                .limit(limit)
            )
            found = list(session.scalars(stmt))
            if len(found) >= limit or complete:
                break
        return found
    match = fts5_query(query)
    if match is None:
        return []
    # Rank only the newest matches: FTS5 walks its index newest-first and stops at the cap,
    # so a word found in 40% of 100,000 decisions costs about what a rare one does. The index
    # spans workspaces, so if the cap left this workspace short of results, widen it.
    for cap in SEARCH_CANDIDATES:
        ranked = (
            text(
                "SELECT rowid AS id, bm25(decisions_fts, 10.0, 5.0, 2.0, 2.0) AS score "
                "FROM decisions_fts WHERE decisions_fts MATCH :match ORDER BY rowid DESC LIMIT :cap"
            )
            .columns(column("id"), column("score"))
            .subquery("candidates")
        )
        stmt = (
            base.join(ranked, ranked.c.id == col(Decision.id))
            .order_by(ranked.c.score, col(Decision.number).desc())
            .limit(limit)
        )
        found = list(session.scalars(stmt, {"match": match, "cap": cap}))
        if len(found) >= limit:
            break
    return found


__all__ = ["SEARCH_CANDIDATES", "fts5_query", "search_decisions"]
