"""Hypothesis: parsers never raise on anything Slack (or an attacker) can send, FTS5 queries are
always valid, and over real HTTP no `/adr` text or modal submission gives a 5xx, an unhandled
exception, or a partially saved decision.

The end-to-end properties run on SQLite and on Postgres (the ``db`` fixture); each example is a
signed request to the real app against the Slack emulator. ``max_examples`` keeps the whole
file well under a minute.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.core.adr_command import parse_adr
from bot.core.ids import Field
from bot.core.render import escape, truncate, truncate_mrkdwn
from bot.features.decisions.forms import parse_decision_form
from bot.features.stances.forms import parse_block_form, parse_disagree_form
from storage import decisions as repo
from storage.db import Database
from storage.decisions import DecisionDraft
from storage.models import Counter, Decision, DecisionEvent, DecisionMember
from storage.search import fts5_query, search_decisions
from storage.visibility import Viewer
from tests.support.harness import SlackDriver, fill_view

NOW = datetime(2025, 6, 10, 9, 0, tzinfo=UTC)
E2E = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FIELDS = {f.value for f in Field}

# -- strategies ------------------------------------------------------------------------------

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
)
json_value = st.recursive(
    json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=20), children, max_size=4),
    ),
    max_leaves=20,
)
block_ids = st.one_of(st.sampled_from(sorted(FIELDS)), st.text(max_size=15))
action_ids = st.one_of(st.just("value"), st.text(max_size=10))
element_keys = st.sampled_from(
    [
        "type",
        "value",
        "selected_users",
        "selected_option",
        "selected_date",
        "selected_conversation",
        "selected_options",
    ]
)
# Right block and action ids, the right keys, anything as values: reaches deep into parsing.
shaped_state = st.dictionaries(
    block_ids,
    st.dictionaries(action_ids, st.dictionaries(element_keys, json_value, max_size=4), max_size=2),
    max_size=len(FIELDS) + 2,
)
# Anything at all where the state dict goes.
raw_state = st.one_of(json_value, st.dictionaries(block_ids, json_value, max_size=8))

VALID_STATE: dict[str, Any] = {
    Field.TITLE: {"value": {"type": "plain_text_input", "value": "Use Postgres"}},
    Field.DECISION: {"value": {"type": "plain_text_input", "value": "We use Postgres."}},
    Field.STATUS: {"value": {"type": "static_select", "selected_option": {"value": "proposed"}}},
    Field.DECIDERS: {"value": {"type": "multi_users_select", "selected_users": ["UBOB"]}},
    Field.REVIEW_DATE: {"value": {"type": "datepicker", "selected_date": "2025-07-10"}},
    Field.CHANNEL: {"value": {"type": "conversations_select", "selected_conversation": "C123"}},
}
leaf_overrides = st.one_of(
    json_value,
    st.text(),
    st.lists(st.one_of(st.from_regex(r"\A[UW][A-Z0-9]{2,12}\Z"), st.text(max_size=5))),
)
# A valid submission with a few blocks or values replaced by anything: often still valid, so
# drafts built from hostile text are exercised too, not only the error paths.
mutated_valid_state = st.builds(
    lambda blocks, values: {
        **VALID_STATE,
        **{
            block: {"value": {**VALID_STATE.get(block, {}).get("value", {}), key: value}}
            for block, (key, value) in values.items()
        },
        **blocks,
    },
    st.dictionaries(block_ids, json_value, max_size=1),
    st.dictionaries(
        st.sampled_from(sorted(FIELDS)), st.tuples(element_keys, leaf_overrides), max_size=3
    ),
)

user_ids = st.one_of(
    st.from_regex(r"\A[UW][A-Z0-9]{2,12}\Z"),
    st.sampled_from(["UBOB", "UCAROL", "<!channel>", "ubob", "U" + "A" * 40, ""]),
    st.text(max_size=40),
)
long_text = st.builds(
    lambda c, n: c * n, st.sampled_from(["x", "&", "<", "é", "🚀"]), st.integers(0, 3100)
)
texts = st.one_of(
    st.text(max_size=300),
    st.none(),
    long_text,
    st.sampled_from(["", "   ", "<!channel> & <@U999>", "Use Postgres", "\x00", "a\x00b"]),
)
valid_users = st.lists(st.sampled_from(["UBOB", "UCAROL", "WDAVE01"]), max_size=4)
adr_verbs = st.sampled_from(
    [
        "new",
        "help",
        "list",
        "search",
        "show",
        "accept",
        "reject",
        "deprecate",
        "supersede",
        "edit",
        "redact",
        "dm",
        "digest",
        "export",
        "ADR",
        "SHOW",
        "",
    ]
)
adr_text = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda verb, arg, rest: f"{verb} {arg} {rest}",
        adr_verbs,
        st.one_of(
            st.sampled_from(["1", "ADR-1", "#1", "2", "999999999", "0", "-1", "#", "accepted"]),
            st.text(max_size=10),
        ),
        st.one_of(st.just(""), st.just("--override because"), st.text(max_size=60)),
    ),
)

# -- pure parsers ----------------------------------------------------------------------------


@given(st.one_of(st.text(), adr_text, st.none()))
def test_parse_adr_never_raises(text: str | None) -> None:
    cmd = parse_adr(text)  # type: ignore[arg-type]
    assert cmd.name in {
        "new",
        "help",
        "list",
        "search",
        "show",
        "accept",
        "reject",
        "deprecate",
        "supersede",
        "edit",
        "unknown",
        "invalid",
        # added by later features; still must not raise
        "review",
        "remind",
        "settings",
        "redact",
        "dm",
        "digest",
        "export",
    }
    if cmd.name == "invalid":
        assert cmd.error
    if cmd.number is not None:
        assert 0 <= cmd.number <= 999_999_999


hostile_text = st.one_of(
    st.text(min_size=1, max_size=200),
    st.sampled_from(["<!channel> & <@U999>", "\x00", "a\x00b", " \x00 ", "é\u0301🚀", "\u202e"]),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "&", "🚀"]), st.integers(190, 210)),
)
# A valid submission whose free text is anything a person could paste.
valid_state_hostile_text = st.builds(
    lambda title, decision, context: {
        **VALID_STATE,
        Field.TITLE: {"value": {"type": "plain_text_input", "value": title}},
        Field.DECISION: {"value": {"type": "plain_text_input", "value": decision}},
        Field.CONTEXT: {"value": {"type": "plain_text_input", "value": context}},
    },
    hostile_text,
    hostile_text,
    st.one_of(st.none(), hostile_text),
)


@given(
    st.one_of(valid_state_hostile_text, mutated_valid_state, shaped_state, raw_state),
    st.booleans(),
)
def test_parse_decision_form_never_raises(values: Any, editing: bool) -> None:
    draft, errors = parse_decision_form(values, now=NOW, editing=editing)
    event("draft" if draft is not None else "errors")
    assert (draft is None) != (errors == {})
    assert set(errors) <= FIELDS
    assert all(isinstance(m, str) and m for m in errors.values())
    if draft is not None:
        assert isinstance(draft, DecisionDraft)
        assert draft.title and len(draft.title) <= 200
        assert draft.decision and len(draft.decision) <= 3000
        assert "\x00" not in draft.title + draft.decision + draft.context
        for people in (draft.deciders, draft.consulted, draft.informed):
            assert len(people) == len(set(people)) <= 30
        assert editing or draft.channel_id


@given(st.one_of(shaped_state, raw_state))
def test_stance_forms_never_raise(values: Any) -> None:
    parsed, errors = parse_disagree_form(values)
    assert (parsed is None) != (errors == {})
    reason, errors = parse_block_form(values)
    assert (reason is None) != (errors == {})


@given(st.text(), st.integers(min_value=1, max_value=400))
def test_truncate_respects_the_limit(text: str, limit: int) -> None:
    for cut in (truncate(text, limit), truncate_mrkdwn(escape(text), limit)):
        assert len(cut) <= limit
    if len(text) <= limit:
        assert truncate(text, limit) == text


@given(st.text())
def test_escaped_text_has_no_markup(text: str) -> None:
    out = escape(text)
    assert "<" not in out and ">" not in out
    assert out.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").count("&") == 0


# -- FTS5 ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fts() -> Any:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(title, decision, tokenize='porter unicode61')"
    )
    conn.executemany(
        "INSERT INTO docs VALUES (?, ?)",
        [("Adopt Kafka", "Events go to Kafka"), ("Use Postgres", "ünïcode 日本語 text")],
    )
    yield conn
    conn.close()


hostile_words = st.sampled_from(
    [
        '"',
        "'",
        "OR",
        "AND",
        "NOT",
        "NEAR(",
        "NEAR",
        ")",
        "(",
        "*",
        "-",
        "^",
        ":",
        "+",
        "{",
        "}",
        "kafka",
        "\x00",
        " ",
    ]
)
search_text = st.one_of(
    st.text(),
    st.lists(st.one_of(hostile_words, st.text(max_size=5)), max_size=30).map("".join),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(search_text)
def test_fts5_query_is_always_valid(fts: Any, text: str) -> None:
    query = fts5_query(text)
    if query is None:
        return
    assert query.count('"') % 2 == 0
    fts.execute("SELECT rowid FROM docs WHERE docs MATCH ?", (query,)).fetchall()


def test_fts5_query_keeps_words_and_phrases(fts: Any) -> None:
    # OR between terms means OR, as Postgres' websearch_to_tsquery reads it; order is kept.
    assert fts5_query('kafka "event store" OR x*') == '"kafka"* "event store" OR "x"*'
    assert fts5_query("OR a OR OR") == '"a"*'
    assert fts5_query("or a") == '"or"* "a"*'
    assert fts5_query('"unbalanced') == '"unbalanced"*'
    assert fts5_query("*** ()") is None
    assert fts5_query("") is None
    rows = fts.execute("SELECT rowid FROM docs WHERE docs MATCH ?", (fts5_query("kaf"),)).fetchall()
    assert rows == [(1,)]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=search_text)
def test_search_decisions_never_raises(db: Database, query: str) -> None:
    with db.session() as s:
        if not s.execute(select(Decision.id)).first():
            for team in ("TAAA", "TBBB"):
                repo.create_decision(
                    s,
                    team_id=team,
                    author_id="UALICE",
                    draft=DecisionDraft(
                        title="Adopt Kafka", decision="Kafka for events", channel_id="C1"
                    ),
                    channel_private=False,
                )
    with db.read() as s:
        found = search_decisions(s, team_id="TAAA", viewer=Viewer("UALICE", "C1"), query=query)
    assert all(d.team_id == "TAAA" for d in found)


# -- end to end over HTTP --------------------------------------------------------------------


def unhandled_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Errors the app's one error handler logged as unexpected (not a user's mistake)."""
    return [
        r.getMessage() + (f"\n{r.exc_text}" if r.exc_text else "")
        for r in caplog.records
        if r.name == "bot.core.errors" and r.levelno >= logging.ERROR
    ]


def ensure_seeded(db: Database) -> None:
    """ADR-1 by UALICE (whom the requests come from), so numbered commands reach real rows."""
    with db.session() as s:
        if s.execute(select(Decision.id).where(Decision.team_id == "TAAA")).first():
            return
        repo.create_decision(
            s,
            team_id="TAAA",
            author_id="UALICE",
            draft=DecisionDraft(
                title="Adopt Kafka", decision="Kafka for events", channel_id="CGENERAL"
            ),
            channel_private=False,
        )


@E2E
@example(text="list #db\x00")
@example(text="search \x00kafka")
@given(text=adr_text)
def test_any_adr_text_is_answered_without_5xx(
    slack: SlackDriver, db: Database, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    ensure_seeded(db)
    caplog.clear()
    reply = slack.command(text)
    assert reply.status < 500, reply.text
    assert reply.status == 200
    if reply.text:
        body = reply.json()
        assert body["response_type"] == "ephemeral", body
        assert body.get("text")
    assert unhandled_errors(caplog) == []


def _snapshot(db: Database) -> dict[str, Any]:
    with db.read() as s:
        decisions = s.execute(
            select(Decision.id, Decision.number).where(Decision.team_id == "TAAA")
        ).all()
        created = dict(
            s.execute(
                select(DecisionEvent.decision_id, func.count())
                .where(DecisionEvent.team_id == "TAAA", DecisionEvent.kind == "created")
                .group_by(DecisionEvent.decision_id)
            ).all()
        )
        member_count = s.execute(
            select(func.count()).select_from(DecisionMember).where(DecisionMember.team_id == "TAAA")
        ).scalar_one()
        counter = s.execute(
            select(Counter.value).where(Counter.team_id == "TAAA", Counter.kind == "adr")
        ).scalar_one_or_none()
    return {
        "ids": {i for i, _ in decisions},
        "numbers": sorted(n for _, n in decisions),
        "created": created,
        "members": member_count,
        "counter": counter or 0,
    }


def _dedup(users: Any) -> list[str]:
    return list(dict.fromkeys(users or []))


channels = st.one_of(
    st.sampled_from(["CGENERAL", "GPRIVATE", "DDM0001", "CMISSING", "UBOB", "#general"]),
    st.from_regex(r"\A[CGD][A-Z0-9]{2,31}\Z"),
    st.text(max_size=40),
)
dates = st.one_of(
    st.sampled_from(["2025-12-01", "2030-01-01", ""]),
    st.none(),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2035, 1, 1)).map(date.isoformat),
    st.sampled_from(["", "2025-02-30", "tomorrow", "9999-12-31"]),
    st.text(max_size=12),
)
modal_values = st.fixed_dictionaries(
    {},
    optional={
        Field.TITLE.value: texts,
        Field.CONTEXT.value: texts,
        Field.OPTIONS.value: texts,
        Field.DECISION.value: texts,
        Field.CONSEQUENCES.value: texts,
        Field.SUCCESS.value: texts,
        Field.TAGS.value: st.one_of(st.sampled_from(["db, infra", "#DB #db", "a/b"]), texts),
        Field.STATUS.value: st.one_of(
            st.none(), st.sampled_from(["proposed", "accepted", "rejected"]), st.text(max_size=10)
        ),
        Field.DECIDERS.value: st.one_of(valid_users, st.lists(user_ids, max_size=35)),
        Field.CONSULTED.value: st.one_of(valid_users, st.lists(user_ids, max_size=5)),
        Field.INFORMED.value: st.one_of(valid_users, st.lists(user_ids, max_size=5)),
        Field.REVIEW_DATE.value: dates,
        Field.CHANNEL.value: channels,
    },
)
# Valid submissions with hostile free text: what reaches the database.
valid_modal_values = st.fixed_dictionaries(
    {Field.DECISION.value: hostile_text},
    optional={
        Field.TITLE.value: hostile_text,
        Field.CONTEXT.value: st.one_of(hostile_text, long_text),
        Field.CONSEQUENCES.value: hostile_text,
        Field.TAGS.value: st.sampled_from(["", "db, infra", "#DB #db", "v1.2 a_b"]),
        Field.STATUS.value: st.sampled_from(["proposed", "accepted"]),
        Field.DECIDERS.value: valid_users,
        Field.CONSULTED.value: valid_users,
        Field.INFORMED.value: valid_users,
        Field.REVIEW_DATE.value: st.sampled_from([None, "2025-12-01", "2030-01-01"]),
        Field.CHANNEL.value: st.sampled_from(["CGENERAL", "GPRIVATE", "DDM0001", "CMISSING"]),
    },
)
metadata = st.one_of(
    st.none(),  # keep what the bot set
    st.sampled_from(
        [
            "",
            "junk",
            "{}",
            '{"mode": "edit", "number": 424242}',
            '{"mode": "supersede", "number": 424242}',
            '{"mode": "new", "number": -5}',
        ]
    ),
    st.text(max_size=30),
)


@st.composite
def submissions(draw: Any) -> tuple[dict[str, Any], Any, str | None]:
    """(values by block id for fill_view, or raw state instead, private_metadata or None to
    keep the bot's). Mostly valid forms with hostile text, so saves are exercised often."""
    kind = draw(st.sampled_from(["valid", "valid", "valid", "typed", "typed", "raw"]))
    values = draw(valid_modal_values if kind == "valid" else modal_values)
    raw = draw(st.one_of(raw_state, shaped_state)) if kind == "raw" else None
    meta = draw(metadata) if draw(st.integers(0, 3)) == 0 else None
    return values, raw, meta


@E2E
@example(sub=({Field.DECISION.value: "a\x00b", Field.TITLE.value: "<!channel> \x00"}, None, None))
@example(sub=({Field.DECISION.value: "x"}, None, '{"mode": "supersede", "number": 424242}'))
@given(sub=submissions())
def test_any_modal_submission_saves_all_or_nothing(
    slack: SlackDriver,
    db: Database,
    caplog: pytest.LogCaptureFixture,
    sub: tuple[dict[str, Any], Any, str | None],
) -> None:
    values, raw, meta = sub
    # The view the bot really opened for `/adr new` (opened once per test, reused).
    view = getattr(slack, "_prop_view", None)
    if view is None:
        opened = slack.views_opened()
        assert slack.command("new Prefilled title").status == 200
        view = slack.opened_view(after=opened)
        slack._prop_view = view  # type: ignore[attr-defined]
    view = dict(view)
    if meta is not None:
        view["private_metadata"] = meta
    # Mostly typed-but-arbitrary values in the right shapes; sometimes any JSON at all.
    state = fill_view(view, values) if raw is None else raw
    caplog.clear()
    before = _snapshot(db)
    reply = slack.submit(view, state=state)
    assert reply.status < 500, reply.text
    assert reply.status == 200
    after = _snapshot(db)
    body = reply.json()

    new_ids = after["ids"] - before["ids"]
    event("saved" if new_ids else ("errors" if body else "refused"))
    if body is not None:
        # Validation errors go back on fields of this view; nothing is saved.
        assert body["response_action"] == "errors", body
        inputs = {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
        assert body["errors"] and set(body["errors"]) <= inputs, body
        assert new_ids == set()
    assert len(new_ids) <= 1
    if new_ids:
        [new_id] = new_ids
        # A complete decision: the next number, its 'created' event, all its people.
        assert after["numbers"] == before["numbers"] + [before["counter"] + 1]
        assert after["counter"] == before["counter"] + 1
        assert after["created"][new_id] == 1
        assert isinstance(raw, type(None)), "only well-shaped state can be valid"
        submitted = fill_view(view, values)
        expected_members = sum(
            len(_dedup(submitted[f][next(iter(submitted[f]))].get("selected_users")))
            for f in (Field.DECIDERS, Field.CONSULTED, Field.INFORMED)
        )
        assert after["members"] - before["members"] == expected_members
    else:
        # Nothing new: no number used, no orphan members or events.
        assert after["numbers"] == before["numbers"]
        assert after["counter"] == before["counter"]
        assert after["members"] == before["members"]
        assert set(after["created"]) == set(before["created"])
    # Never a decision without its 'created' event.
    assert set(after["created"]) == after["ids"]
    assert all(n == 1 for n in after["created"].values())
    assert unhandled_errors(caplog) == []


def test_modal_strategy_can_produce_a_valid_decision(slack: SlackDriver, db: Database) -> None:
    """Guard for the property above: the happy path through the same view saves one decision
    (so the property is not vacuously passing on errors only)."""
    opened = slack.views_opened()
    slack.command("new Prefilled title")
    view = slack.opened_view(after=opened)
    before = _snapshot(db)
    reply = slack.submit(
        view,
        {Field.DECISION: "We do it.", Field.DECIDERS: ["UBOB", "UBOB"], Field.INFORMED: ["UCAROL"]},
    )
    assert reply.status == 200 and reply.text == "", reply.text
    after = _snapshot(db)
    assert len(after["ids"] - before["ids"]) == 1
    assert after["members"] - before["members"] == 2
    with db.read() as s:
        d = s.execute(select(Decision).where(Decision.team_id == "TAAA")).scalars().one()
    assert (d.title, d.decision) == ("Prefilled title", "We do it.")
