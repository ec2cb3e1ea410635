""" "Did this decision work?" end to end, on SQLite and on a real Postgres server: the ask at
10:00 local across DST, dissenters' own question, and the outcome recorded once and shown
(App Home's reviews are in tests/home/, the workspace's settings in tests/workspace/).

Decisions are recorded through the real `/adr` modal over signed loopback HTTP; follow-ups are
delivered by ``run_due`` at chosen instants through the app's real WebClient (slack_sdk retry
handlers on) against the Slack emulator. Tests assert on what Slack received and what the
database holds, never on how long anything took.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from bot.core.dates import review_instant
from bot.core.ids import Action, Callback, Field
from tests.support.adr import all_text
from tests.support.delivery import aware, next_last_sunday_of, posts_to, settle, sweep, thread_posts
from tests.support.reviews import (
    BERLIN,
    asks,
    asks_in,
    disagree,
    events,
    new_decision,
    open_outcome_form,
    opened,
    review,
    reviews,
    submit_outcome,
    work,
)

# -- the ask ---------------------------------------------------------------------------------------


def test_review_dms_the_owners_and_opens_the_thread_at_10_berlin_across_dst(
    adr, slack, emulator, db
):
    emulator.set_user("UBOB", tz=BERLIN)
    emulator.set_user("UCAROL", tz="America/New_York")
    sunday = next_last_sunday_of(3)  # clocks go forward that night: due Monday 10:00 CEST
    number = new_decision(
        adr,
        decision="We use Postgres 16 for every new service.\nThe platform team runs it.\n"
        "Third line: not in the DM.",
        deciders=("UBOB", "UCAROL"),
        review_date=sunday,
        success="p95 < 200 ms & zero data-loss incidents",
    )
    [r] = reviews(db, number)
    assert r.timezone == BERLIN  # the first decider's Slack time zone
    expected = datetime.combine(sunday + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    assert aware(r.due_at) == expected + timedelta(hours=8)  # 10:00 CEST == 08:00Z
    assert aware(r.due_at) == review_instant(sunday, tz=BERLIN, hour=10)
    message_ts = adr.decision(number)["message_ts"]

    # a minute early: nothing
    assert sweep(slack, db, aware(r.due_at) - timedelta(minutes=1)).claimed == 0
    assert all(posts_to(emulator, u) == [] for u in ("UALICE", "UBOB", "UCAROL"))

    result = sweep(slack, db, aware(r.due_at))
    assert (result.sent, result.retried, result.failed) == (4, 0, 0), result
    for user in ("UALICE", "UBOB", "UCAROL"):
        [dm] = posts_to(emulator, user)
        text = all_text(dm.args["blocks"])
        assert "Did this decision work?" in text and f"ADR-{number}: Use Postgres" in text
        assert "> We use Postgres 16 for every new service.\n> The platform team runs it." in text
        assert "Third line" not in text
        assert "What success was supposed to look like" in text
        assert "> p95 &lt; 200 ms &amp; zero data-loss incidents" in text
        assert "Reminder" not in text
        [actions] = [b for b in dm.args["blocks"] if b["type"] == "actions"]
        elements = actions["elements"]
        buttons = [(e["text"]["text"], e["action_id"]) for e in elements if e["type"] == "button"]
        assert buttons == [
            ("Worked", Action.REVIEW_WORKED),
            ("Partly", Action.REVIEW_PARTLY),
            ("Didn't work", Action.REVIEW_DIDNT_WORK),
            ("Supersede it", Action.REVIEW_SUPERSEDE),
        ]
        assert {
            e["value"]
            for e in elements
            if e["type"] == "button" and "supersede" not in e["action_id"]
        } == {str(r.id)}
        [snooze] = [e for e in elements if e["type"] == "static_select"]
        assert snooze["action_id"] == Action.REVIEW_SNOOZE
        assert "Too early" in snooze["placeholder"]["text"]
        assert [o["text"]["text"] for o in snooze["options"]] == ["1 week", "2 weeks", "1 month"]
        assert [o["value"] for o in snooze["options"]] == [f"{r.id}:1w", f"{r.id}:2w", f"{r.id}:1m"]
    [thread] = thread_posts(emulator, message_ts)
    assert all(f"<@{u}>" in thread.args["text"] for u in ("UALICE", "UBOB", "UCAROL"))
    assert f"ADR-{number}" in thread.args["text"]

    # where each DM landed is stored, for updating it later
    stored = asks(db, r.id)
    assert set(stored) == {("UALICE", "owner"), ("UBOB", "owner"), ("UCAROL", "owner")}
    assert {a.channel_id for a in stored.values()} == {"DALICE", "DBOB", "DCAROL"}
    assert all(a.message_ts for a in stored.values())
    assert review(db, r.id).state == "open"

    # a second sweep (or a second process) at the same instant delivers nothing
    assert sweep(slack, db, aware(r.due_at)).claimed == 0
    assert sweep(slack, db, aware(r.due_at) + timedelta(hours=1)).claimed == 0
    assert len(emulator.calls("chat.postMessage")) == 1 + 4  # the decision post + 4


def test_dissenters_get_their_own_question_and_their_answer_is_stored(adr, slack, emulator, db):
    number = new_decision(adr)
    disagree(slack, "UDAN", "Ops load & cost will grow")
    r, _ = opened(slack, db, number)

    [dm] = posts_to(emulator, "UDAN")
    text = all_text(dm.args["blocks"])
    assert "You disagreed because" in text
    assert "> Ops load &amp; cost will grow" in text
    assert "did the concern materialise?" in text
    assert asks_in([dm]) == []  # no outcome buttons for a dissenter
    [actions] = [b for b in dm.args["blocks"] if b["type"] == "actions"]
    assert [(e["text"]["text"], e["action_id"]) for e in actions["elements"]] == [
        ("Yes", Action.DISSENT_YES),
        ("No", Action.DISSENT_NO),
        ("Too early", Action.DISSENT_TOO_EARLY),
    ]
    assert len(asks_in(posts_to(emulator, "UALICE"))) == 1  # owners got the usual question
    assert asks(db, r.id)[("UDAN", "dissenter")].concern == "Ops load & cost will grow"

    before = len(emulator.calls("response_url"))
    assert slack.click(Action.DISSENT_YES, str(r.id), user="UDAN", channel="DDAN").status == 200
    [answer] = emulator.wait_for("response_url", count=before + 1)[before:]
    assert answer.args.get("replace_original") is True
    assert "concern materialised" in answer.args["text"]
    ask = asks(db, r.id)[("UDAN", "dissenter")]
    assert ask.dissent_answer == "yes" and ask.answered_at is not None
    assert ask.outcome is None
    # the same click again records nothing new; a changed mind is recorded with the old answer
    assert slack.click(Action.DISSENT_YES, str(r.id), user="UDAN", channel="DDAN").status == 200
    emulator.wait_for("response_url", count=before + 2)
    assert [e["answer"] for e in events(db, "dissent_answer")] == ["yes"]
    assert slack.click(Action.DISSENT_NO, str(r.id), user="UDAN", channel="DDAN").status == 200
    emulator.wait_for("response_url", count=before + 3)
    assert asks(db, r.id)[("UDAN", "dissenter")].dissent_answer == "no"
    assert [(e["answer"], e["previous"]) for e in events(db, "dissent_answer")] == [
        ("yes", None),
        ("no", "yes"),
    ]
    # the dissent answer is not the review's outcome: the owners are still asked
    assert review(db, r.id).outcome is None and review(db, r.id).state == "open"


def test_only_dissenters_can_answer_the_dissent_question(adr, slack, emulator, db):
    number = new_decision(adr)
    r, _ = opened(slack, db, number)
    before = len(emulator.calls("response_url"))
    assert slack.click(Action.DISSENT_YES, str(r.id), user="UBOB", channel="DBOB").status == 200
    [reply] = emulator.wait_for("response_url", count=before + 1)[before:]
    assert "people who disagreed" in reply.args["text"]
    assert events(db, "dissent_answer") == []


# -- the outcome -------------------------------------------------------------------------------


def test_outcome_is_recorded_once_and_every_askee_sees_who_answered(adr, slack, emulator, db):
    number = new_decision(adr, deciders=("UBOB", "UCAROL"))
    r, now = opened(slack, db, number)
    message_ts = adr.decision(number)["message_ts"]
    dm_ts = {a.user_id: a.message_ts for a in asks(db, r.id).values()}
    assert len(dm_ts) == 3 and all(dm_ts.values())

    view = open_outcome_form(slack, Action.REVIEW_PARTLY, r.id, "UALICE")
    assert view["callback_id"] == Callback.OUTCOME_FORM
    assert "partly" in view["title"]["text"] and len(view["title"]["text"]) <= 24
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
        Field.WHAT_HAPPENED,
        Field.EVIDENCE,
        Field.LEARNED,
    ]
    # what happened is required
    reply = slack.submit(view, {}, user="UALICE")
    assert reply.json()["response_action"] == "errors"
    assert set(reply.json()["errors"]) == {Field.WHAT_HAPPENED}
    assert review(db, r.id).outcome is None

    submit_outcome(
        slack,
        view,
        "UALICE",
        "Fast & boring, <!channel>",
        "p95 900 ms -> 120 ms",
        "Migrate earlier",
    )
    rv = review(db, r.id)
    assert (rv.outcome, rv.outcome_by, rv.state) == ("partly", "UALICE", "answered")
    assert aware(rv.outcome_at) is not None
    ask = asks(db, r.id)[("UALICE", "owner")]
    assert (ask.outcome, ask.what_happened, ask.evidence, ask.learned) == (
        "partly",
        "Fast & boring, <!channel>",
        "p95 900 ms -> 120 ms",
        "Migrate earlier",
    )
    assert aware(ask.answered_at) == aware(rv.outcome_at)
    [event] = events(db, "review_outcome")
    assert event["actor"] == "UALICE" and event["outcome"] == "partly"
    assert event["evidence"] == "p95 900 ms -> 120 ms" and event["learned"] == "Migrate earlier"

    # the thread gets one line; user text is escaped
    [summary] = emulator.wait_for(
        "chat.postMessage",
        where=lambda c: c.args.get("thread_ts") == message_ts and "says" in c.args.get("text", ""),
    )
    assert "<@UALICE> says ADR-1 *partly worked*" in summary.args["text"]
    assert "&lt;!channel&gt;" in summary.args["text"] and "<!channel>" not in summary.args["text"]
    # every askee's DM now says who answered (no buttons left to answer twice by accident)
    for user in ("UBOB", "UCAROL", "UALICE"):
        [update] = emulator.wait_for(
            "chat.update", where=lambda c, u=user: c.args.get("channel") == "D" + u[1:]
        )
        assert update.args["ts"] == dm_ts[user]
        assert "answered by <@UALICE>" in update.args["text"]
        assert "partly worked" in update.args["text"]
        assert not any(b["type"] == "actions" for b in update.args["blocks"])

    # the same person submitting again: nothing new
    submit_outcome(
        slack,
        view,
        "UALICE",
        "Fast & boring, <!channel>",
        "p95 900 ms -> 120 ms",
        "Migrate earlier",
    )
    assert len(events(db, "review_outcome")) == 1
    # Bob answers differently: his answer is his own; the review keeps the first outcome
    view_b = open_outcome_form(slack, Action.REVIEW_DIDNT_WORK, r.id, "UBOB")
    submit_outcome(slack, view_b, "UBOB", "Too slow for analytics")
    emulator.wait_for(
        "chat.postMessage",
        where=lambda c: (
            c.args.get("thread_ts") == message_ts and "<@UBOB> says" in c.args.get("text", "")
        ),
    )
    summaries = [c for c in thread_posts(emulator, message_ts) if "says" in c.args["text"]]
    assert len(summaries) == 2  # Alice's (once, despite two submits) and Bob's
    assert asks(db, r.id)[("UBOB", "owner")].outcome == "didnt_work"
    rv = review(db, r.id)
    assert (rv.outcome, rv.outcome_by) == ("partly", "UALICE")
    assert [e["actor"] for e in events(db, "review_outcome")] == ["UALICE", "UBOB"]

    # answered: no reminders, ever
    settle(slack)
    assert all(w.state in ("done", "cancelled") for w in work(db, r.id)), work(db, r.id)
    sent_before = len(emulator.calls("chat.postMessage"))
    for days in (3, 7, 14, 60):
        assert sweep(slack, db, now + timedelta(days=days)).claimed == 0
    assert len(emulator.calls("chat.postMessage")) == sent_before


def test_people_outside_the_review_cannot_record_an_outcome(adr, slack, emulator, db):
    number = new_decision(adr)
    r, _ = opened(slack, db, number)
    before = slack.views_opened()
    responses = len(emulator.calls("response_url"))
    assert slack.click(Action.REVIEW_WORKED, str(r.id), user="UEVE", channel="DEVE").status == 200
    [reply] = emulator.wait_for("response_url", count=responses + 1)[responses:]
    assert "author and deciders" in reply.args["text"]
    assert slack.views_opened() == before
    assert review(db, r.id).outcome is None


def test_decision_message_gets_an_outcome_badge(adr, slack, emulator, db):
    number = new_decision(adr)
    r, _ = opened(slack, db, number)
    message_ts = adr.decision(number)["message_ts"]
    view = open_outcome_form(slack, Action.REVIEW_WORKED, r.id, "UALICE")
    submit_outcome(slack, view, "UALICE", "It held up")
    update = adr.wait_update(lambda c: c.args.get("channel") == "CGENERAL")
    assert update.args["ts"] == message_ts
    text = all_text(update.args["blocks"])
    assert any("Reviewed:" in line and "worked" in line for line in text.splitlines()), text


def test_show_has_the_outcome_and_the_next_review(adr, slack, emulator, db):
    later = new_decision(adr)
    assert "Next review:" in adr.show(later)
    number = new_decision(adr)
    r, _ = opened(slack, db, number)
    view = open_outcome_form(slack, Action.REVIEW_WORKED, r.id, "UALICE")
    submit_outcome(slack, view, "UALICE", "It held up")
    adr.wait_update(lambda c: c.args.get("channel") == "CGENERAL")
    text = adr.show(number)
    assert "Reviewed: worked" in text
    assert "It held up" in text
    assert "answered the review: worked" in text  # the history says who answered what


def test_two_people_answering_at_once_record_one_outcome_each(adr, slack, emulator, db):
    number = new_decision(adr, deciders=("UBOB", "UCAROL"))
    r, _ = opened(slack, db, number)
    decision_before = adr.decision(number)
    choice = {
        "UALICE": Action.REVIEW_WORKED,
        "UBOB": Action.REVIEW_DIDNT_WORK,
        "UCAROL": Action.REVIEW_PARTLY,
    }
    views = {u: open_outcome_form(slack, a, r.id, u) for u, a in choice.items()}
    barrier = threading.Barrier(6)
    replies: list[tuple[str, int, str]] = []

    def press(user: str) -> None:
        barrier.wait(timeout=10)
        reply = slack.submit(views[user], {Field.WHAT_HAPPENED: f"{user} saw it"}, user=user)
        replies.append((user, reply.status, reply.text))

    threads = [threading.Thread(target=press, args=(u,)) for u in choice for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(replies) == sorted((u, 200, "") for u in choice for _ in range(2)), replies

    outcome_of = {"UALICE": "worked", "UBOB": "didnt_work", "UCAROL": "partly"}
    stored = asks(db, r.id)
    assert {u: stored[(u, "owner")].outcome for u in choice} == outcome_of
    assert all(stored[(u, "owner")].what_happened == f"{u} saw it" for u in choice)
    evs = events(db, "review_outcome")
    assert sorted(e["actor"] for e in evs) == sorted(choice)  # one per person, none doubled
    rv = review(db, r.id)
    first = evs[0]["actor"]
    assert rv.outcome_by == first and rv.outcome == outcome_of[first]
    assert aware(rv.outcome_at) == aware(stored[(first, "owner")].answered_at)
    assert aware(rv.outcome_at) == min(aware(a.answered_at) for a in stored.values())
    assert rv.state == "answered" and len(reviews(db, number)) == 1
    after = adr.decision(number)
    for key in ("status", "title", "decision", "message_ts", "review_date", "author_id"):
        assert after[key] == decision_before[key], key
    message_ts = after["message_ts"]
    emulator.wait_for(
        "chat.postMessage",
        count=3,
        where=lambda c: c.args.get("thread_ts") == message_ts and "says" in c.args.get("text", ""),
    )
    # every asked owner's DM is turned into "answered by" the one who answered first; the
    # updates are coalesced per DM (three answers make one or a few updates each, not nine)
    slack.finish()
    updates = [
        c for c in emulator.calls("chat.update") if str(c.args.get("channel")).startswith("D")
    ]
    assert {u.args["channel"] for u in updates} == {"DALICE", "DBOB", "DCAROL"}
    assert 3 <= len(updates) <= 9
    assert all(f"answered by <@{first}>" in u.args["text"] for u in updates)
