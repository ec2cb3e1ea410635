"""`/adr` end to end over real HTTP, on SQLite and Postgres: the modal flow and its validation,
reading commands, the message shortcut, and what happens when Slack says no.

Security (signatures, escaping, workspaces, private channels) is in test_e2e_security.py; the
lifecycle is in test_e2e_lifecycle.py, stances in tests/stances/, App Home in tests/home/.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.ids import Action, Callback, Field
from tests.support.adr import (
    Adr,
    all_text,
    ephemeral,
    has_stance_buttons,
    header_text,
    listed_numbers,
)


def _block(view: dict, block_id: str) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


# -- the modal flow ----------------------------------------------------------------------------


def test_adr_opens_the_modal_and_submitting_it_posts_the_record(adr: Adr, slack, emulator):
    before = datetime.now(UTC).date()
    view = adr.open_form("new Use Postgres for events")
    after = datetime.now(UTC).date()  # the form may have been built either side of midnight
    assert view["callback_id"] == Callback.DECISION_FORM
    assert _block(view, Field.TITLE)["element"]["initial_value"] == "Use Postgres for events"
    assert _block(view, Field.CHANNEL)["element"]["initial_conversation"] == "CGENERAL"
    default_review = date.fromisoformat(_block(view, Field.REVIEW_DATE)["element"]["initial_value"])
    assert any(28 <= (default_review - today).days <= 31 for today in (before, after))

    reply = slack.submit(
        view,
        {
            Field.CONTEXT: "Events pile up in three stores.",
            Field.OPTIONS: "Postgres, Kafka, EventStoreDB",
            Field.DECISION: "We keep events in Postgres.",
            Field.CONSEQUENCES: "One more table to vacuum.",
            Field.DECIDERS: ["UBOB"],
            Field.CONSULTED: ["UCAROL"],
            Field.TAGS: "#db, infra",
            Field.SUCCESS: "One store by March.",
        },
    )
    assert reply.status == 200 and reply.text == ""

    post = adr.wait_post("ADR-1: Use Postgres for events", channel="CGENERAL")
    adr.wait_recorded(1)
    text = all_text(post.args["blocks"])  # the card: the short version
    for expected in (
        "Proposed",
        "*Deciders:* <@UBOB>",
        "We keep events in Postgres.",
        f"*Review:* {default_review.isoformat()}",
        "Agree *0*",
    ):
        assert expected in text, expected
    record = adr.show(1)  # the full record: `/adr show`, and Details on the card
    for expected in (
        "<@UALICE>",
        "*Consulted:* <@UCAROL>",
        "`#db`",
        "`#infra`",
        "Events pile up in three stores.",
        "Postgres, Kafka, EventStoreDB",
        "One more table to vacuum.",
        "One store by March.",
        f"*Review on:* {default_review.isoformat()}",
    ):
        assert expected in record, expected
    assert has_stance_buttons(post.args["blocks"])
    assert "ADR-1" in post.args["text"]

    row = adr.decision(1)
    assert row["title"] == "Use Postgres for events"
    assert row["status"] == "proposed"
    assert row["author_id"] == "UALICE"
    assert row["channel_id"] == "CGENERAL"
    assert row["tags"].split() == ["db", "infra"]
    assert row["post_error"] is None
    # the saved message ts is the one Slack gave the post, so chat.update can find it
    assert row["message_ts"] == post.response["ts"]
    assert adr.events(1)[0]["kind"] == "created"
    members = adr.rows("SELECT user_id, role FROM decision_members ORDER BY user_id")
    assert members == [
        {"user_id": "UBOB", "role": "decider"},
        {"user_id": "UCAROL", "role": "consulted"},
    ]


def test_status_accepted_and_another_channel_can_be_chosen(adr: Adr):
    view = adr.open_form("new Ship weekly")
    status = _block(view, Field.STATUS)["element"]
    assert [o["value"] for o in status["options"]] == ["proposed", "accepted"]
    assert status["initial_option"]["value"] == "proposed"
    reply = adr.slack.submit(
        view,
        {Field.DECISION: "Every Tuesday.", Field.STATUS: "accepted", Field.CHANNEL: "CRELEASE"},
    )
    assert reply.status == 200 and reply.text == ""
    post = adr.wait_post("ADR-1: Ship weekly", channel="CRELEASE")
    assert "Accepted" in all_text(post.args["blocks"])
    assert adr.decision(1)["status"] == "accepted"
    assert adr.decision(1)["channel_id"] == "CRELEASE"


def test_concurrent_submissions_get_distinct_numbers(adr: Adr, slack, emulator):
    views = [adr.open_form(f"new Parallel {i}") for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(lambda v: slack.submit(v, {Field.DECISION: "Same time."}), views))
    assert [(r.status, r.text) for r in replies] == [(200, "")] * 6
    rows = adr.rows("SELECT number, title FROM decisions ORDER BY number")
    assert [r["number"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert sorted(r["title"] for r in rows) == [f"Parallel {i}" for i in range(6)]
    posts = emulator.wait_for("chat.postMessage", count=6)
    assert sorted(header_text(c) for c in posts) == sorted(
        f"ADR-{r['number']}: {r['title']}" for r in rows
    )


TOO_LONG = "x" * 3001


@pytest.mark.parametrize(
    ("values", "block"),
    [
        ({Field.TITLE: "", Field.DECISION: "We do it."}, Field.TITLE),
        ({Field.TITLE: "   ", Field.DECISION: "We do it."}, Field.TITLE),
        ({Field.DECISION: ""}, Field.DECISION),
        ({Field.TITLE: "t" * 201, Field.DECISION: "We do it."}, Field.TITLE),
        ({Field.DECISION: TOO_LONG}, Field.DECISION),
        ({Field.DECISION: "We do it.", Field.CONTEXT: TOO_LONG}, Field.CONTEXT),
        ({Field.DECISION: "We do it.", Field.CONSEQUENCES: TOO_LONG}, Field.CONSEQUENCES),
        (
            {
                Field.DECISION: "We do it.",
                Field.REVIEW_DATE: (datetime.now(UTC).date() - timedelta(days=3)).isoformat(),
            },
            Field.REVIEW_DATE,
        ),
        ({Field.DECISION: "We do it.", Field.TAGS: "ok no!pe"}, Field.TAGS),
    ],
    ids=[
        "no-title",
        "blank-title",
        "no-decision",
        "long-title",
        "long-decision",
        "long-context",
        "long-consequences",
        "past-review-date",
        "bad-tag",
    ],
)
def test_invalid_modal_values_come_back_as_errors_on_the_field(adr: Adr, values, block):
    view = adr.open_form("new Something")
    reply = adr.slack.submit(view, values)
    assert reply.status == 200
    body = reply.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {block}, body
    assert body["errors"][block].strip()
    assert adr.count("decisions") == 0
    assert adr.count("decision_events") == 0
    assert adr.emulator.calls("chat.postMessage") == []


def test_several_invalid_fields_are_reported_together(adr: Adr):
    view = adr.open_form("")
    assert _block(view, Field.TITLE)["element"].get("initial_value") is None
    past = (datetime.now(UTC).date() - timedelta(days=30)).isoformat()
    reply = adr.slack.submit(view, {Field.DECISION: "", Field.REVIEW_DATE: past})
    body = reply.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {Field.TITLE, Field.DECISION, Field.REVIEW_DATE}
    assert adr.count("decisions") == 0
    # the same modal, corrected, then saves
    reply = adr.slack.submit(view, {Field.TITLE: "Fixed", Field.DECISION: "Now it is fine."})
    assert reply.status == 200 and reply.text == ""
    adr.wait_post("ADR-1: Fixed", channel="CGENERAL")
    assert adr.count("decisions") == 1


# -- reading -----------------------------------------------------------------------------------


def test_help_and_unknown_subcommands_answer_with_the_help_text(adr: Adr):
    for text in ("help", "?"):
        reply = ephemeral(adr.slack.command(text))
        for command in ("/adr list", "/adr show", "/adr search", "/adr accept", "/adr supersede"):
            assert command in reply, command
    unknown = ephemeral(adr.slack.command("frobnicate the <!here> widgets"))
    assert "I don't know `frobnicate the &lt;!here&gt; widgets`" in unknown
    assert "`/adr help`" in unknown and "/adr search" not in unknown  # a pointer, not all of it
    assert adr.emulator.calls("views.open") == []
    assert adr.count("decisions") == 0


def test_show_of_a_missing_decision_says_so(adr: Adr):
    text = ephemeral(adr.slack.command("show 999"))
    assert "ADR-999 doesn't exist in this workspace" in text
    assert "Sorry, something went wrong" not in text
    for verb in ("accept", "reject", "deprecate"):
        assert "ADR-999 doesn't exist" in ephemeral(adr.slack.command(f"{verb} 999"))
    for verb in ("edit", "supersede"):
        assert "ADR-999 doesn't exist" in ephemeral(adr.slack.command(f"{verb} 999"))
    assert "Which decision?" in ephemeral(adr.slack.command("show"))
    assert adr.emulator.calls("views.open") == []


def test_show_gives_the_full_record(adr: Adr):
    adr.new(
        "Use Postgres",
        values={Field.CONTEXT: "Three stores.", Field.DECIDERS: ["UBOB"], Field.TAGS: "db"},
    )
    text = adr.show(1, user="UCAROL")
    for expected in ("ADR-1: Use Postgres", "Three stores.", "We use Postgres.", "<@UBOB>"):
        assert expected in text
    assert "No stances yet" in text
    assert "*History*" in text and "<@UALICE> recorded it as proposed" in text
    assert "ADR-1: Use Postgres" in adr.run("show ADR-1")


def test_list_is_newest_first_and_filters_by_status_and_tag(adr: Adr):
    adr.new("First", values={Field.TAGS: "db"})
    adr.new("Second", values={Field.TAGS: "ops", Field.STATUS: "accepted"})
    adr.new("Third", values={Field.TAGS: "db ops"})
    assert listed_numbers(adr.run("list")) == [3, 2, 1]
    assert listed_numbers(adr.run("list accepted")) == [2]
    assert listed_numbers(adr.run("list #db")) == [3, 1]
    assert listed_numbers(adr.run("list proposed #ops")) == [3]
    assert "No rejected decisions yet" in adr.run("list rejected")
    assert "takes a status" in adr.run("list banana")


def test_list_pages_through_older_decisions(adr: Adr, slack, emulator):
    for i in range(1, 13):
        adr.new(f"Decision number {i}")
    first = adr.slack.command("list")
    body = first.json()
    assert listed_numbers(all_text(body["blocks"])) == list(range(12, 2, -1))
    assert "(1–10 of 12)" in all_text(body["blocks"])
    [nav] = [b for b in body["blocks"] if b["type"] == "actions"]
    [older] = nav["elements"]
    assert older["text"]["text"] == "Older" and older["action_id"] == Action.LIST_PAGE

    slack.click(Action.LIST_PAGE, older["value"])
    [page] = emulator.wait_for(
        "response_url", where=lambda c: c.key.startswith("act") and c.args.get("blocks")
    )
    assert page.args["replace_original"] is True
    assert page.args["response_type"] == "ephemeral"
    assert listed_numbers(all_text(page.args["blocks"])) == [2, 1]
    [newer] = [b for b in page.args["blocks"] if b["type"] == "actions"][0]["elements"]
    assert newer["text"]["text"] == "Newer"

    # a mangled page value gets a sentence, not silence or a 404
    reply = slack.click(Action.LIST_PAGE, "{not json")
    assert reply.status == 200
    emulator.wait_for(
        "response_url", where=lambda c: "page link is broken" in c.args.get("text", "")
    )


# -- search ------------------------------------------------------------------------------------

AWKWARD_QUERIES = [
    '"event sourcing"',
    "event sourcing",
    "foo OR bar",
    "a*",
    '"',
    '""',
    "NEAR(",
    "NEAR(event sourcing, 3)",
    "'; drop table decisions; --",
    "title:event",
    "-sourcing",
    "event AND NOT",
    "(((",
    "\\",
    "%_",
    "ünïcødé 漢字",
]


def test_search_ranks_title_matches_first_and_survives_any_input(adr: Adr):
    # ADR-1 has the words in its title; ADR-2 only in its body. Newest-first would put ADR-2
    # first, so ADR-1 leading shows the ranking.
    adr.new("Adopt event sourcing for billing", decision="Billing keeps an append-only log.")
    adr.new(
        "Billing storage",
        decision="Billing moves to Postgres; event sourcing was considered.",
        values={Field.CONTEXT: "Someone asked about event sourcing again."},
    )
    adr.new("Lunch on Fridays", decision="Pizza.")

    for query in ('"event sourcing"', "event sourcing", "sourcing"):
        found = listed_numbers(adr.run(f"search {query}"))
        assert found[:2] == [1, 2], (query, found)
        assert 3 not in found

    assert listed_numbers(adr.run("search pizza")) == [3]

    for query in AWKWARD_QUERIES:
        text = adr.run(f"search {query}")
        assert "Sorry, something went wrong" not in text, query
        assert "Best matches" in text or "Nothing matches" in text, (query, text)
    # the "drop table" query did nothing to the data
    assert adr.count("decisions") == 3
    assert "Tell me what to look for" in adr.run("search")


# -- the message shortcut ----------------------------------------------------------------------


def test_log_as_decision_shortcut_keeps_the_message_and_its_permalink(adr: Adr, slack, emulator):
    message = "Let's stop using Mongo for sessions & move them to Redis"
    reply = slack.message_shortcut(
        Callback.LOG_MESSAGE_SHORTCUT,
        text=message,
        channel="CPLATFORM",
        message_ts="1699999999.000200",
    )
    assert reply.status == 200
    opened = slack.opened_view()
    assert opened["callback_id"] == Callback.DECISION_FORM
    view = slack.updated_view()
    permalink = "https://emulated.slack.com/archives/CPLATFORM/p1699999999000200"
    assert _block(view, Field.CONTEXT)["element"]["initial_value"] == message
    assert permalink in view["private_metadata"]
    assert _block(view, Field.CHANNEL)["element"]["initial_conversation"] == "CPLATFORM"

    reply = slack.submit(view, {Field.TITLE: "Sessions move to Redis", Field.DECISION: "Redis."})
    assert reply.status == 200 and reply.text == ""
    post = adr.wait_post("ADR-1: Sessions move to Redis", channel="CPLATFORM")
    row = adr.decision(1)
    assert row["source_permalink"] == permalink
    assert row["context"] == message
    assert post.args["blocks"]
    record = adr.show(1, channel="CPLATFORM")
    assert f"<{permalink}|this message>" in record
    # the message text is user text: escaped in the record's mrkdwn
    assert "Mongo for sessions &amp; move them" in record


def test_shortcut_opens_the_view_it_then_updates(adr: Adr, slack, emulator):
    slack.message_shortcut(Callback.LOG_MESSAGE_SHORTCUT, text="hello")
    [update] = emulator.wait_for("views.update")
    [opened] = emulator.calls("views.open")
    assert opened.args["trigger_id"].startswith("trigger.")
    # the bot updates the view views.open answered with (the emulator gives it id Vn, hash hn)
    assert update.args["view_id"].startswith("V")
    assert update.args["hash"] == "h" + update.args["view_id"][1:]
    assert update.args["view"]["callback_id"] == Callback.DECISION_FORM


# -- when Slack says no ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel_conf", "error"),
    [({"is_member": False}, "not_in_channel"), ({"exists": False}, "channel_not_found")],
)
def test_decision_is_saved_and_author_told_when_it_cannot_be_posted(
    adr: Adr, emulator, channel_conf, error
):
    emulator.set_channel("CLOCKED", **channel_conf)
    number = adr.new("Nobody sees this yet", post_in="CLOCKED", posted=False)
    [dm] = emulator.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == "UALICE")
    row = adr.decision(number)
    assert row["post_error"] == error
    assert row["message_ts"] is None
    assert row["title"] == "Nobody sees this yet"
    assert "ADR-1 is saved" in dm.args["text"]
    assert "/invite" in dm.args["text"]
    assert "<#CLOCKED>" in dm.args["text"]
    # the record is still reachable
    assert "Nobody sees this yet" in adr.show(1)
    attempts = [c for c in emulator.calls("chat.postMessage") if c.args.get("channel") == "CLOCKED"]
    assert len(attempts) == 1  # a permanent error is not retried

    # doing what the DM says (invite the bot, then /adr edit and save) posts it
    emulator.set_channel("CLOCKED")
    view = adr.open_form(f"edit {number}")
    assert adr.slack.submit(view, {}).text == ""
    adr.wait_post(f"ADR-{number}: Nobody sees this yet", channel="CLOCKED", count=2)
    adr.wait_recorded(number)
    row = adr.decision(number)
    assert row["post_error"] is None
    assert row["message_ts"] is not None


def test_informed_people_get_a_dm(adr: Adr, emulator):
    adr.new(
        "Move standup to 10:00",
        values={Field.INFORMED: ["UDAN", "UERIN"], Field.DECIDERS: ["UBOB"]},
    )
    for user in ("UDAN", "UERIN"):
        [dm] = emulator.wait_for(
            "chat.postMessage", where=lambda c, u=user: c.args.get("channel") == u
        )
        assert "ADR-1: Move standup to 10:00" in dm.args["text"]
        assert "listed you as informed" in dm.args["text"]
        assert "https://emulated.slack.com/archives/CGENERAL/p" in dm.args["text"]
    # deciders are not DM'd as informed, and nobody is DM'd twice
    assert [c.args["channel"] for c in emulator.calls("chat.postMessage")].count("UDAN") == 1
    assert not [c for c in emulator.calls("chat.postMessage") if c.args.get("channel") == "UBOB"]


def test_rate_limited_post_is_retried_and_posted_once(adr: Adr, slack, emulator):
    emulator.fail("chat.postMessage", status=429, retry_after=1)
    adr.new("Survive a 429", posted=False)
    posts = emulator.wait_for(
        "chat.postMessage",
        count=2,
        where=lambda c: c.args.get("channel") == "CGENERAL",
    )
    # once the ts is recorded, all posting attempts have happened
    adr.wait_recorded(1)
    posts = [c for c in emulator.calls("chat.postMessage") if c.args.get("channel") == "CGENERAL"]
    assert len(posts) == 2  # the 429, then the one that went through
    assert all(header_text(c) == "ADR-1: Survive a 429" for c in posts)
    row = adr.decision(1)
    assert row["post_error"] is None
    assert row["message_ts"] == posts[1].response["ts"]
    slack.finish()  # nothing more was going to be posted
    assert (
        len([c for c in emulator.calls("chat.postMessage") if c.args["channel"] == "CGENERAL"]) == 2
    )
