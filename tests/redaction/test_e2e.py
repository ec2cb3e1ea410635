"""`/adr redact` end to end over signed HTTP, on SQLite and Postgres: a pasted secret leaves the
record, its history, the search index, the channel message and the DMs the bot can edit; the
redaction itself is in the history without the old text; only the author, the deciders,
workspace admins (and, for a stance, its person) may do it.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.ids import Action, Field
from storage.people import upsert_users
from tests.support.adr import Adr, all_text
from tests.support.delivery import posts_to, settle
from tests.support.reviews import asks_in, disagree

SECRET = "hunter2zebra"


_STARTED: dict[str, date] = {}


@pytest.fixture(autouse=True)
def _note_the_day() -> None:
    _STARTED["day"] = datetime.now(UTC).date()


def _days() -> list[str]:
    """The dates the bot may have stamped a redaction with: any from the test's start to now
    (a test can run across midnight UTC)."""
    day, last = _STARTED["day"], datetime.now(UTC).date()
    days = []
    while day <= last:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def _markers(user: str) -> list[str]:
    return [f"redacted by <@{user}> on {day}" for day in _days()]


def _everything(adr: Adr, number: int) -> str:
    """Every value the database keeps about ADR-n: the record, stances, history, review asks."""
    d = adr.decision(number)
    rows = [d]
    for table in ("stances", "decision_events", "decision_members"):
        rows += adr.rows(f"SELECT * FROM {table} WHERE decision_id = :d", d=d["id"])
    rows += adr.rows(
        "SELECT a.* FROM review_asks a JOIN reviews r ON r.id = a.review_id "
        "WHERE r.decision_id = :d",
        d=d["id"],
    )
    return "\n".join(str(v) for row in rows for v in row.values())


def _index_finds(adr: Adr, word: str) -> list[int]:
    """What the search index itself (not the table) returns for ``word``."""
    if adr.db.dialect == "sqlite":
        sql = "SELECT rowid AS id FROM decisions_fts WHERE decisions_fts MATCH :w"
    else:
        sql = "SELECT id FROM decisions WHERE search_vector @@ plainto_tsquery('english', :w)"
    return [r["id"] for r in adr.rows(sql, w=word)]


def _index_holds(adr: Adr, word: str) -> bool:
    """Whether SQLite's FTS5 index still holds ``word`` in its segments (a search can't find a
    deleted term, but until segments merge its bytes are still in the file)."""
    if adr.db.dialect != "sqlite":
        return False  # Postgres: search_vector is regenerated with the row
    found = adr.rows(
        "SELECT count(*) AS n FROM decisions_fts_data WHERE instr(block, CAST(:w AS BLOB)) > 0",
        w=word,
    )
    return bool(found[0]["n"])


def _updates(adr: Adr, channel: str, ts: str) -> list:
    return [
        c
        for c in adr.emulator.calls("chat.update")
        if c.args.get("channel") == channel and c.args.get("ts") == ts
    ]


def test_redacting_a_field_removes_it_from_record_history_search_message_and_dms(
    adr: Adr, slack, emulator
):
    number = adr.new(
        f"Rotate the key {SECRET}",
        decision="We rotate keys monthly.",
        values={
            Field.CONTEXT: f"The admin password is {SECRET}, pasted by mistake.",
            Field.DECIDERS: ["UBOB"],
            Field.INFORMED: ["UIAN"],
        },
    )
    message_ts = adr.decision(number)["message_ts"]
    [informed] = emulator.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "UIAN")
    assert SECRET in informed.args["text"]
    # an edit keeps the old context (with the secret) and the new one in the history
    view = adr.open_form(f"edit {number}")
    reply = slack.submit(view, {Field.CONTEXT: f"Still {SECRET}, sorry."})
    assert reply.status == 200 and reply.text == ""
    settle(slack)
    assert SECRET in json.dumps([e["detail"] for e in adr.events(number, kind="edited")])
    assert _index_finds(adr, SECRET) == [adr.decision(number)["id"]]
    assert _index_holds(adr, SECRET) or adr.db.dialect != "sqlite"

    title_answer = adr.run(f"redact {number} title")
    assert f"Redacted the title of ADR-{number}" in title_answer
    assert "1 DM" in title_answer  # the informed DM
    context_answer = adr.run(f"redact ADR-{number} context", user="UBOB")  # a decider
    assert f"Redacted the context of ADR-{number}" in context_answer

    # the database keeps no trace of it; the history says who redacted what, not the text
    row = adr.decision(number)
    assert row["title"] in _markers("UALICE")
    assert row["context"] in _markers("UBOB")
    assert row["decision"] == "We rotate keys monthly."
    assert SECRET not in _everything(adr, number)
    [edit] = adr.events(number, kind="edited")
    assert edit["detail"]["changes"]["context"] == [row["context"], row["context"]]
    redactions = adr.rows(
        "SELECT * FROM decision_events WHERE decision_id = :d AND kind = 'redacted' ORDER BY id",
        d=row["id"],
    )
    assert [(e["actor_id"], json.loads(e["detail"])) for e in redactions] == [
        ("UALICE", {"field": "title"}),
        ("UBOB", {"field": "context"}),
    ]
    # neither the search index nor /adr search finds it
    assert _index_finds(adr, SECRET) == []
    assert "Nothing matches" in adr.run(f"search {SECRET}")
    assert _index_finds(adr, "rotate") == [row["id"]]  # the rest is still searchable

    # Slack: the channel message and the informed DM were rewritten without it; and (after
    # the ack) the index was rewritten without its bytes
    settle(slack)
    assert not _index_holds(adr, SECRET)
    channel_updates = _updates(adr, "CGENERAL", message_ts)
    assert channel_updates and SECRET not in all_text(channel_updates[-1].args)
    newest = all_text(channel_updates[-1].args["blocks"])
    # the card shows no context; the full record shows the marker with a real mention
    assert f"_{row['context']}_" in adr.show(number)
    # the header is plain text
    assert any(f"ADR-{number}: (redacted on {day})" in newest for day in _days()), newest
    dm_updates = _updates(adr, informed.response["channel"], informed.response["ts"])
    assert dm_updates  # one per redaction, or one for both if the second came before it ran
    assert all(SECRET not in all_text(u.args) for u in dm_updates)
    assert f"_{row['title']}_" in dm_updates[-1].args["text"]
    shown = adr.show(number)
    assert SECRET not in shown
    assert "redacted title" in shown and "redacted context" in shown


def test_redacting_a_stance_reaches_its_events_and_the_review_dms(adr: Adr, slack, emulator):
    number = adr.new("Use Postgres", values={Field.DECIDERS: ["UBOB"]})
    # Dan blocks with the secret in his reason, then disagrees and commits with it in his
    # concern: the second stance event keeps the first as "previous".
    before = slack.views_opened()
    assert slack.click(Action.BLOCK, str(number), user="UDAN").status == 200
    view = slack.opened_view(after=before)
    assert slack.submit(view, {Field.REASON: f"token {SECRET}"}, user="UDAN").text == ""
    disagree(slack, "UDAN", f"It leaks {SECRET}", number)
    assert adr.run(f"review {number}").startswith("Asking")
    [dan_dm] = emulator.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "UDAN")
    assert SECRET in all_text(dan_dm.args["blocks"])
    for owner in ("UALICE", "UBOB"):
        emulator.wait_for(
            "chat.postMessage", where=lambda c, u=owner: c.args["channel"] == u and asks_in([c])
        )
    settle(slack)

    refused = adr.run(f"redact {number} stance <@UDAN|dan>", user="UEVE")
    assert "Only the author, the deciders of ADR-1, workspace admins and the person" in refused
    assert SECRET in _everything(adr, number)

    answer = adr.run(f"redact {number} concern <@UDAN|dan>", user="UBOB")
    assert f"Redacted the stance texts of <@UDAN> of ADR-{number}" in answer
    assert SECRET not in _everything(adr, number)
    stance = adr.stances(number)["UDAN"]
    assert stance["kind"] == "disagree_and_commit" and stance["concern"] in _markers("UBOB")
    [ask] = adr.rows("SELECT * FROM review_asks WHERE user_id = 'UDAN'")
    assert ask["concern"] == stance["concern"]

    settle(slack)
    [update] = _updates(adr, dan_dm.response["channel"], dan_dm.response["ts"])
    text = all_text(update.args["blocks"])
    assert SECRET not in text and f"> _{stance['concern']}_" in text
    assert any(b["type"] == "actions" for b in update.args["blocks"])  # still answerable
    shown = adr.show(number)
    assert SECRET not in shown and "redacted the stance texts of <@UDAN>" in shown
    # the owners' questions were rewritten too (same text: nothing of Dan's was in them)
    for owner in ("UALICE", "UBOB"):
        [asked] = asks_in(posts_to(emulator, owner))
        assert _updates(adr, asked.response["channel"], asked.response["ts"])


def test_who_may_redact_and_what_people_are_told(adr: Adr, slack, db):
    number = adr.new("Use Postgres", values={Field.CONTEXT: SECRET, Field.TAGS: "db infra"})

    refused = adr.run(f"redact {number} context", user="UEVE")
    assert refused == ("Only the author, the deciders of ADR-1 and workspace admins can redact it.")
    assert adr.decision(number)["context"] == SECRET
    # a workspace admin may (as the bot's cache of Slack users knows them)
    with db.session() as session:
        upsert_users(session, team_id="TAAA", users=[{"id": "UADMIN", "is_admin": True}])
    assert "Redacted the context" in adr.run(f"redact {number} context", user="UADMIN")
    assert adr.decision(number)["context"] in _markers("UADMIN")
    # tags can't hold a sentence: they are cleared
    assert "Redacted the tags" in adr.run(f"redact {number} tags")
    assert adr.decision(number)["tags"] == ""
    assert "#db" not in adr.run("list")

    unknown = adr.run(f"redact {number} password")
    assert "I can't redact “password”" in unknown
    assert "title, context, options, decision, consequences, success, tags" in unknown
    assert "Which field of ADR-1?" in adr.run(f"redact {number}")
    assert "Whose stance?" in adr.run(f"redact {number} stance @dan")
    assert "has no stance on ADR-1" in adr.run(f"redact {number} stance <@UDAN>")
    assert "ADR-9 doesn't exist" in adr.run("redact 9 title")
    # a private decision someone may neither see nor redact does not show that it exists
    adr.emulator.set_channel("CSECRET", is_private=True)
    private = adr.new("Quiet plan", post_in="CSECRET")
    assert f"ADR-{private} doesn't exist" in adr.run(f"redact {private} title", user="UEVE")
