""" "Did this decision work?" end to end, on SQLite and on a real Postgres server.

Decisions are recorded through the real `/adr` modal over signed loopback HTTP; follow-ups are
delivered by ``run_due`` at chosen instants through the app's real WebClient (slack_sdk retry
handlers on) against the Slack emulator. Tests assert on what Slack received and what the
database holds, never on how long anything took.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from sqlmodel import select

from bot.core.dates import review_instant, working_days_later
from bot.core.ids import Action, Callback, Field
from bot.core.slack_api import build_dispatch_client
from bot.runtime.scheduler import SweepResult, run_due
from storage.db import Database
from storage.models import DecisionEvent, DueWork, Review, ReviewAsk, WorkspaceSettings
from tests.e2e.adr import Adr, all_text
from tests.harness import SlackDriver
from tests.slack_emulator import Call, SlackEmulator

BERLIN = "Europe/Berlin"
ANSWER_BLOCK = "decision.review.answer"
DISSENT_BLOCK = "decision.review.dissent"


# -- helpers -------------------------------------------------------------------------------------


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive (stored as UTC); Postgres aware."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def today() -> date:
    return datetime.now(UTC).date()


def next_weekday(weekday: int, *, at_least: int = 7) -> date:
    """The first date ``at_least`` days from now that falls on ``weekday`` (0 = Monday)."""
    day = today() + timedelta(days=at_least)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def next_last_sunday_of(month: int) -> date:
    """The next last-Sunday-of-``month`` at least two days from now (a DST change in the EU)."""
    year = today().year
    while True:
        day = date(year, month, 31 if month in (3, 10) else 30)
        day -= timedelta(days=(day.weekday() - 6) % 7)
        if day >= today() + timedelta(days=2):
            return day
        year += 1


def settle(slack: SlackDriver) -> None:
    """Wait until the app's embedded dispatcher delivered what is due by now."""
    assert slack.server.dispatcher.wait_idle(), "the dispatcher did not settle"


def sweep(slack: SlackDriver, db: Database, now: datetime, **kw: Any) -> SweepResult:
    """One `run-due` sweep at ``now`` (usually ahead of the clock) through a dispatcher
    client, one item at a time so the order of messages is known; before and after it, the
    app's own dispatcher settles (it delivers what is due by the real clock)."""
    settle(slack)
    kw.setdefault("concurrency", 1)
    result = run_due(db, slack.server.dispatch_client, now=now, **kw)
    settle(slack)
    return result


def reviews(db: Database, decision_number: int = 1) -> list[Review]:
    from storage.models import Decision

    with db.read() as s:
        decision = s.exec(
            select(Decision).where(Decision.team_id == "TAAA", Decision.number == decision_number)
        ).one()
        return list(
            s.exec(
                select(Review).where(Review.decision_id == decision.id).order_by(Review.round)
            ).all()
        )


def wait_review(db: Database, decision_number: int = 1, *, round_: int = 1) -> Review:
    """Scheduling runs after the ack: wait until the review row is there."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [r for r in reviews(db, decision_number) if r.round == round_]
        if found:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no review round {round_} for ADR-{decision_number}")


def asks(db: Database, review_id: int) -> dict[tuple[str, str], ReviewAsk]:
    with db.read() as s:
        rows = s.exec(select(ReviewAsk).where(ReviewAsk.review_id == review_id)).all()
    return {(a.user_id, a.role): a for a in rows}


def work(db: Database, review_id: int | None = None) -> list[DueWork]:
    """The review outbox rows (of one review)."""
    with db.read() as s:
        stmt = select(DueWork).where(DueWork.kind.like("review.%")).order_by(DueWork.id)
        if review_id is not None:
            stmt = stmt.where(DueWork.subject_id == review_id)
        return list(s.exec(stmt).all())


def events(db: Database, kind: str) -> list[dict[str, Any]]:
    with db.read() as s:
        rows = s.exec(
            select(DecisionEvent).where(DecisionEvent.kind == kind).order_by(DecisionEvent.id)
        ).all()
    return [{"actor": e.actor_id, **json.loads(e.detail)} for e in rows]


def review(db: Database, review_id: int) -> Review:
    with db.read() as s:
        return s.get(Review, review_id)


def posts_to(emulator: SlackEmulator, channel: str) -> list[Call]:
    """Every chat.postMessage to ``channel`` (a user id for DMs), faulted attempts included."""
    return [c for c in emulator.calls("chat.postMessage") if c.args.get("channel") == channel]


def asks_in(calls: list[Call], block_id: str = ANSWER_BLOCK) -> list[Call]:
    return [
        c for c in calls if any(b.get("block_id") == block_id for b in c.args.get("blocks") or [])
    ]


def thread_posts(emulator: SlackEmulator, ts: str, channel: str = "CGENERAL") -> list[Call]:
    return [
        c
        for c in emulator.calls("chat.postMessage")
        if c.args.get("channel") == channel and c.args.get("thread_ts") == ts
    ]


def new_decision(
    adr: Adr,
    *,
    title: str = "Use Postgres",
    decision: str = "We use Postgres.",
    deciders: tuple[str, ...] = ("UBOB",),
    review_date: date | None = None,
    success: str = "",
    author: str = "UALICE",
) -> int:
    values: dict[str, Any] = {
        Field.DECIDERS: list(deciders),
        Field.REVIEW_DATE: (review_date or next_weekday(0)).isoformat(),
    }
    if success:
        values[Field.SUCCESS] = success
    number = adr.new(title, decision=decision, user=author, values=values)
    wait_review(adr.db, number)
    return number


def open_outcome_form(slack: SlackDriver, action: str, review_id: int, user: str) -> dict[str, Any]:
    before = slack.views_opened()
    reply = slack.click(action, str(review_id), user=user, channel="D" + user[1:])
    assert reply.status == 200, reply.text
    return slack.opened_view(after=before)


def submit_outcome(
    slack: SlackDriver,
    view: dict[str, Any],
    user: str,
    what: str,
    evidence: str = "",
    learned: str = "",
) -> None:
    values = {Field.WHAT_HAPPENED: what}
    if evidence:
        values[Field.EVIDENCE] = evidence
    if learned:
        values[Field.LEARNED] = learned
    reply = slack.submit(view, values, user=user)
    assert reply.status == 200 and reply.text == "", (reply.status, reply.text)


def opened(slack: SlackDriver, db: Database, number: int = 1) -> tuple[Review, datetime]:
    """Sweep at ADR-n's due instant (plus a minute): the review opens and the asks go out."""
    r = reviews(db, number)[-1]
    now = aware(r.due_at) + timedelta(minutes=1)
    result = sweep(slack, db, now)
    assert result.failed == 0 and result.retried == 0, result
    return review(db, r.id), now


def disagree(slack: SlackDriver, user: str, concern: str, number: int = 1) -> None:
    before = slack.views_opened()
    assert slack.click(Action.DISAGREE, str(number), user=user).status == 200
    view = slack.opened_view(after=before)
    reply = slack.submit(view, {Field.CONCERN: concern, Field.COMMIT: ["commit"]}, user=user)
    assert reply.status == 200 and reply.text == "", reply.text


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


# -- no answer: nudges ------------------------------------------------------------------------


def test_no_answer_two_nudges_three_working_days_apart_then_unanswered(adr, slack, emulator, db):
    emulator.set_user("UBOB", tz=BERLIN)
    monday = next_weekday(0)
    number = new_decision(adr, review_date=monday)
    r = reviews(db, number)[0]
    due = aware(r.due_at)
    assert due == review_instant(monday, tz=BERLIN, hour=10)
    assert sweep(slack, db, due).sent == 3

    nudge1 = working_days_later(due, 3, tz=BERLIN, hour=10)
    assert nudge1.astimezone(ZoneInfo(BERLIN)).date() == monday + timedelta(days=3)  # Thursday
    assert sweep(slack, db, nudge1 - timedelta(minutes=1)).claimed == 0
    assert sweep(slack, db, nudge1).sent == 2
    for user in ("UALICE", "UBOB"):
        dms = posts_to(emulator, user)
        assert len(dms) == 2
        assert "Reminder 1" in all_text(dms[1].args["blocks"])
        assert asks_in(dms[1:]), "the reminder has the answer buttons"

    nudge2 = working_days_later(nudge1, 3, tz=BERLIN, hour=10)
    assert nudge2.astimezone(ZoneInfo(BERLIN)).date() == monday + timedelta(days=8)  # Tuesday
    assert sweep(slack, db, nudge2 - timedelta(minutes=1)).claimed == 0
    assert sweep(slack, db, nudge2).sent == 2
    assert all(
        "Reminder 2" in all_text(posts_to(emulator, u)[2].args["blocks"])
        for u in ("UALICE", "UBOB")
    )
    assert review(db, r.id).nudges_sent == 2
    assert review(db, r.id).state == "open"

    expiry = working_days_later(nudge2, 3, tz=BERLIN, hour=10)
    assert sweep(slack, db, expiry).sent == 0
    rv = review(db, r.id)
    assert rv.state == "unanswered" and rv.outcome is None
    assert len(events(db, "review_unanswered")) == 1

    # never a third nudge, whatever later instants are swept
    sent = len(emulator.calls("chat.postMessage"))
    instant = expiry
    while instant < expiry + timedelta(days=45):
        instant += timedelta(hours=7)
        assert sweep(slack, db, instant).claimed == 0
    assert len(emulator.calls("chat.postMessage")) == sent
    assert [len(posts_to(emulator, u)) for u in ("UALICE", "UBOB")] == [3, 3]
    assert all(w.state == "done" for w in work(db, r.id))
    assert len(events(db, "review_unanswered")) == 1


# -- moving the review -------------------------------------------------------------------------


def test_snooze_two_weeks_starts_a_new_round_at_10_local(adr, slack, emulator, db):
    emulator.set_user("UBOB", tz=BERLIN)
    # Snoozing counts from the day the button is pressed (the real today), so this review is
    # due today (or on Monday, on a weekend) and is opened at the real time.
    number = new_decision(adr, review_date=today())
    [r] = reviews(db, number)
    now = max(aware(r.due_at), datetime.now(UTC))
    sweep(slack, db, now)  # (the app's own dispatcher may open it first: it is due now)
    assert review(db, r.id).state == "open"
    assert len(asks_in(posts_to(emulator, "UALICE") + posts_to(emulator, "UBOB"))) == 2
    assert len([c for c in emulator.calls("chat.postMessage") if c.args.get("thread_ts")]) == 1

    def local_today() -> date:
        return datetime.now(UTC).astimezone(ZoneInfo(BERLIN)).date()

    pressed = local_today()
    reply = slack.select(Action.REVIEW_SNOOZE, f"{r.id}:2w", user="UBOB", channel="DBOB")
    assert reply.status == 200
    [answer] = emulator.wait_for("response_url", where=lambda c: c.key == slack.last_response_key)
    # two weeks from Bob's today when the bot handled it (either side of a midnight in Berlin)
    days = [d + timedelta(days=14) for d in sorted({pressed, local_today()})]
    assert answer.args.get("replace_original") is True
    said = [d for d in days if f"on {d.isoformat()}" in answer.args["text"]]
    assert said and "2 weeks" in answer.args["text"], (days, answer.args["text"])
    day = said[0]

    first, second = reviews(db, number)
    assert first.state == "cancelled" and second.round == 2 and second.state == "scheduled"
    assert aware(second.due_at) == review_instant(day, tz=BERLIN, hour=10)
    local = aware(second.due_at).astimezone(ZoneInfo(BERLIN))
    assert (local.hour, local.minute) == (10, 0) and local.weekday() < 5
    assert not [w for w in work(db, first.id) if w.state == "pending"]
    assert [e["until"] for e in events(db, "review_snoozed")] == ["2 weeks"]

    # round 1's reminders are gone; round 2 asks again at its time (two weeks from the
    # real today, when the button was pressed)
    dms_before = len(posts_to(emulator, "UBOB"))
    for days in (1, 3, 5, 9):
        assert sweep(slack, db, now + timedelta(days=days)).sent == 0
    assert len(posts_to(emulator, "UBOB")) == dms_before
    assert sweep(slack, db, aware(second.due_at)).sent == 3
    assert len(asks_in(posts_to(emulator, "UBOB"))) == 2
    assert review(db, second.id).state == "open"


def test_remind_moves_the_review(adr, slack, emulator, db):
    number = new_decision(adr, review_date=next_weekday(2))
    [r] = reviews(db, number)
    old_due = aware(r.due_at)

    sent = today()
    text = adr.run(f"remind {number} 2w")
    settle(slack)  # the new date becomes a scheduled review after the ack
    # two weeks from the bot's today (either side of midnight UTC)
    said = [
        day
        for day in sorted({sent, today()})
        if f"ADR-{number} on {(day + timedelta(days=14)).isoformat()}" in text
    ]
    assert said, text
    day = said[0] + timedelta(days=14)
    assert adr.decision(number)["review_date"] in (day, day.isoformat())
    [moved] = reviews(db, number)
    assert moved.id == r.id and moved.state == "scheduled"
    assert aware(moved.due_at) == review_instant(day, tz="UTC", hour=10)
    [open_row] = [w for w in work(db, r.id) if w.kind == "review.open"]
    assert aware(open_row.due_at) == aware(moved.due_at)

    assert old_due < aware(moved.due_at)
    assert sweep(slack, db, old_due).claimed == 0  # the old date passes quietly
    assert sweep(slack, db, aware(moved.due_at)).sent == 3

    # clear sentences for what it can't do
    assert "2w" in adr.run(f"remind {number} someday")
    assert "past" in adr.run(f"remind {number} 2020-01-01")
    assert "When?" in adr.run(f"remind {number}")
    assert "Only the author and the deciders" in adr.run(f"remind {number} 3m", user="UEVE")
    assert "ADR-99 doesn't exist" in adr.run("remind 99 2w")


def test_review_now_asks_right_away(adr, slack, emulator, db):
    number = new_decision(adr)
    [r] = reviews(db, number)
    message_ts = adr.decision(number)["message_ts"]
    assert "Only the author and the deciders" in adr.run(f"review {number}", user="UEVE")
    assert reviews(db, number)[0].state == "scheduled"

    text = adr.run(f"review {number}")
    assert f"ADR-{number} now" in text
    for user in ("UALICE", "UBOB"):
        emulator.wait_for(
            "chat.postMessage",
            where=lambda c, u=user: c.args.get("channel") == u and bool(asks_in([c])),
        )
    emulator.wait_for("chat.postMessage", where=lambda c: c.args.get("thread_ts") == message_ts)
    # the background sweep finishes its rows
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(
        w.state != "done" for w in work(db, r.id) if w.kind != "review.nudge"
    ):
        time.sleep(0.02)
    [moved] = reviews(db, number)
    assert moved.id == r.id and moved.state == "open"  # the scheduled round, asked now
    assert aware(moved.due_at) < aware(r.due_at)
    assert [w.state for w in work(db, r.id) if w.kind != "review.nudge"] == ["done"] * 4
    # the original date passing asks nothing new (only reminders of this round may follow)
    sweep(slack, db, aware(r.due_at) + timedelta(minutes=1))
    for user in ("UALICE", "UBOB"):
        first, reminder = asks_in(posts_to(emulator, user))
        assert "Reminder" not in all_text(first.args["blocks"])
        assert "Reminder 1" in all_text(reminder.args["blocks"])
    assert len(reviews(db, number)) == 1


def test_reject_deprecate_and_supersede_cancel_pending_follow_ups(adr, slack, emulator, db):
    d0 = next_weekday(0, at_least=40)  # after the superseding decision's default review
    one = new_decision(adr, title="Reject me", review_date=d0 + timedelta(days=7))
    two = new_decision(adr, title="Deprecate me", review_date=d0)
    three = new_decision(adr, title="Supersede me", review_date=d0)
    assert (one, two, three) == (1, 2, 3)

    assert "rejected" in adr.run("reject 1")
    [r1] = reviews(db, 1)
    assert r1.state == "cancelled"
    assert {w.state for w in work(db, r1.id)} == {"cancelled"}

    due = aware(reviews(db, 2)[0].due_at) + timedelta(minutes=1)
    result = sweep(slack, db, due)
    assert result.sent == 6  # ADR-2 and ADR-3: two DMs and a thread note each
    [r2], [r3] = reviews(db, 2), reviews(db, 3)
    assert r2.state == r3.state == "open"

    assert "deprecated" in adr.run("deprecate 2")
    assert review(db, r2.id).state == "cancelled"

    # "Supersede it" in the review DM opens the decision form for the successor
    before = slack.views_opened()
    assert slack.click(Action.REVIEW_SUPERSEDE, "3", user="UBOB", channel="DBOB").status == 200
    view = slack.opened_view(after=before)
    assert view["callback_id"] == Callback.DECISION_FORM
    reply = slack.submit(view, {Field.TITLE: "Use Postgres 17"}, user="UBOB")
    assert reply.status == 200 and reply.text == "", reply.text
    assert adr.decision(3)["status"] == "superseded"
    wait_review(db, 4)  # ADR-4 is posted (and its own review scheduled) after the ack
    assert review(db, r3.id).state == "cancelled"
    for r in (r1, r2, r3):
        assert not [w for w in work(db, r.id) if w.state in ("pending", "claimed")], r

    # nothing about ADR-1..3 is ever sent again
    mark = len(emulator.calls("chat.postMessage"))
    instant = due
    while instant < due + timedelta(days=60):
        instant += timedelta(hours=12)
        sweep(slack, db, instant)
    later = emulator.calls("chat.postMessage")[mark:]
    about_old = [
        c
        for c in later
        if re.search(
            r"ADR-[123](?!\d)", c.args.get("text", "") + all_text(c.args.get("blocks") or [])
        )
    ]
    assert about_old == []
    assert {r.state for r in reviews(db, 1) + reviews(db, 2) + reviews(db, 3)} == {"cancelled"}
    # rejecting a decision with no review left is fine; reviewing it says why not
    assert "nothing to review" in adr.run("review 1")


# -- sweepers and leases ------------------------------------------------------------------------


class _GatedClient:
    """The app's client, but the first chat.postMessage waits until the test opens the gate
    (a sweeper stuck in a slow Slack call while its lease runs out)."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self.entered = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def chat_postMessage(self, **kwargs: Any) -> Any:  # noqa: N802 - slack_sdk's name
        if not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(timeout=60)
        return self._client.chat_postMessage(**kwargs)


def test_a_sweeper_whose_lease_ran_out_does_not_resend_what_another_took_over(
    adr, slack, emulator, db
):
    number = new_decision(adr, deciders=("UBOB", "UCAROL"))
    now = aware(reviews(db, number)[0].due_at)
    # the lease-length setting, short so that it runs out here, yet long enough that it can't
    # run out on a stalled machine before B's first sweep below
    lease = timedelta(seconds=10)
    settle(slack)
    # Only A and B sweep here (the app's own dispatcher would also take A's expired rows).
    slack.server.dispatcher.stop(grace=5)
    slow = _GatedClient(slack.server.dispatch_client)
    results: list[SweepResult] = []
    sweeper_a = threading.Thread(
        target=lambda: results.append(
            run_due(db, slow, now=now, owner="A", lease=lease, concurrency=1, capacity=50)  # type: ignore[arg-type]
        )
    )
    sweeper_a.start()
    try:
        # A claimed the asks and the thread note and is stuck sending the first of them
        assert slow.entered.wait(timeout=20)
        # While A's lease runs (on the database's clock), B takes nothing of A's, even
        # sweeping at an instant far ahead: `now` says what is due, never when leases end.
        early = run_due(
            db, slack.server.dispatch_client, now=now + timedelta(days=1), owner="B", lease=lease
        )
        assert early.claimed == 0, early
        time.sleep(lease.total_seconds() + 0.2)
        # A's lease has run out: B takes over every item A holds
        taken = run_due(
            db, slack.server.dispatch_client, now=now, owner="B", lease=timedelta(minutes=5)
        )
        assert taken.claimed == 4 and taken.sent == 4, taken
    finally:
        slow.release.set()
        sweeper_a.join(timeout=60)
    [done_a] = results
    # A finishes only its in-flight message; the items B took over are not sent again
    for user in ("UBOB", "UCAROL"):
        assert len(posts_to(emulator, user)) == 1, user
    assert len([c for c in emulator.calls("chat.postMessage") if c.args.get("thread_ts")]) == 1
    assert len(posts_to(emulator, "UALICE")) <= 2  # the in-flight item is the only repeat
    assert done_a.sent <= 1, done_a
    assert all(w.state in ("done", "pending") for w in work(db))
    assert {w.lease_owner for w in work(db)} == {None}


# -- Slack failures -----------------------------------------------------------------------------


def test_rate_limited_dm_is_delivered_once_after_waiting(adr, slack, emulator, db):
    number = new_decision(adr)
    r = reviews(db, number)[0]
    emulator.fail("chat.postMessage", status=429, retry_after=1)  # the first DM (Alice's)
    result = sweep(slack, db, aware(r.due_at))
    # Alice's DM is put back until Retry-After has passed, without spending an attempt; the
    # sweep goes on with the others (no thread sleeps on Retry-After)
    assert (result.sent, result.retried, result.failed, result.deferred) == (2, 0, 0, 1), result
    ask = asks(db, r.id)[("UALICE", "owner")]
    [row] = [w for w in work(db, r.id) if w.key.endswith(f":ask:{ask.id}:0")]
    assert (row.state, row.attempts) == ("pending", 0)
    assert aware(row.due_at) == aware(r.due_at) + timedelta(seconds=1)
    time.sleep(1.1)  # the Retry-After window this process remembers
    result = sweep(slack, db, aware(r.due_at) + timedelta(seconds=1))
    assert (result.claimed, result.sent) == (1, 1), result
    attempts = posts_to(emulator, "UALICE")
    assert len(attempts) == 2  # refused once with Retry-After, then delivered
    assert attempts[0].args["text"] == attempts[1].args["text"]
    ask = asks(db, r.id)[("UALICE", "owner")]
    assert ask.message_ts and ask.channel_id == "DALICE"
    [row] = [w for w in work(db, r.id) if w.key.endswith(f":ask:{ask.id}:0")]
    assert (row.state, row.attempts) == ("done", 1)
    assert sweep(slack, db, aware(r.due_at) + timedelta(minutes=5)).claimed == 0
    assert len(posts_to(emulator, "UALICE")) == 2


def test_server_errors_beyond_the_client_retries_are_retried_by_a_later_sweep(
    adr, slack, emulator, db
):
    number = new_decision(adr)
    r = reviews(db, number)[0]
    now = aware(r.due_at)
    # the app's client retries 5xx twice: three 503s exhaust it for Alice's DM
    emulator.fail("chat.postMessage", status=503, times=3)
    result = sweep(slack, db, now)
    assert (result.sent, result.retried, result.failed) == (2, 1, 0), result
    assert len(posts_to(emulator, "UALICE")) == 3
    ask = asks(db, r.id)[("UALICE", "owner")]
    assert ask.message_ts is None
    [row] = [w for w in work(db, r.id) if w.key.endswith(f":ask:{ask.id}:0")]
    assert (row.state, row.attempts) == ("pending", 1)
    assert "internal_error" in row.last_error
    assert aware(row.due_at) == now + timedelta(seconds=30)

    assert sweep(slack, db, now + timedelta(seconds=29)).claimed == 0  # backing off
    result = sweep(slack, db, now + timedelta(seconds=30))
    assert (result.claimed, result.sent) == (1, 1), result
    assert len(posts_to(emulator, "UALICE")) == 4  # three refused, one delivered
    assert asks(db, r.id)[("UALICE", "owner")].message_ts
    assert sweep(slack, db, now + timedelta(hours=1)).claimed == 0
    assert len(posts_to(emulator, "UALICE")) == 4 and len(posts_to(emulator, "UBOB")) == 1


def test_a_timeout_is_retried_later_and_delivered(adr, slack, emulator, db):
    number = new_decision(adr)
    r = reviews(db, number)[0]
    now = aware(r.due_at)
    client: WebClient = build_dispatch_client(slack.server.settings)
    # Short enough that the test waits it out once; long enough that no answer in time is
    # missed on a slow machine. The timed-out call is not waited for (the emulator answers it
    # to nobody, later).
    client.timeout = 5  # type: ignore[assignment]
    assert [type(h) for h in client.retry_handlers] == [
        type(h) for h in slack.server.dispatch_client.retry_handlers
    ]
    # Alice's DM: Slack answers (with an error, so nothing was posted) only after 30 s
    emulator.fail("chat.postMessage", status=500, delay=30.0)
    settle(slack)
    result = run_due(db, client, now=now, concurrency=1)
    assert (result.sent, result.retried, result.failed) == (2, 1, 0), result
    ask = asks(db, r.id)[("UALICE", "owner")]
    [row] = [w for w in work(db, r.id) if w.key.endswith(f":ask:{ask.id}:0")]
    assert row.state == "pending" and "timed out" in (row.last_error or "").lower()

    result = run_due(db, client, now=now + timedelta(minutes=1), concurrency=1)
    assert (result.claimed, result.sent) == (1, 1), result
    attempts = posts_to(emulator, "UALICE")
    assert len(attempts) == 2  # one timed out (refused by the emulator), one delivered
    assert asks(db, r.id)[("UALICE", "owner")].message_ts
    assert run_due(db, client, now=now + timedelta(hours=1)).claimed == 0


def test_permanent_error_is_recorded_not_retried_and_the_author_is_told(adr, slack, emulator, db):
    number = new_decision(adr, deciders=("UBOB", "UCAROL"))
    r = reviews(db, number)[0]
    now = aware(r.due_at)
    # The asks go out in order Alice, Bob, Carol: let two through, then Carol's is refused.
    emulator.fail("chat.postMessage", times=2)
    emulator.fail("chat.postMessage", error="account_inactive")
    result = sweep(slack, db, now)
    # two asks and the thread note; the notice to the author is outbox work of its own,
    # delivered by this sweep or by the app's dispatcher, whichever claims it first
    assert (result.failed, result.retried) == (1, 0) and result.sent in (3, 4), result
    carol = asks(db, r.id)[("UCAROL", "owner")]
    [row] = [w for w in work(db, r.id) if w.key.endswith(f":ask:{carol.id}:0")]
    assert (row.state, row.last_error) == ("failed", "account_inactive")
    assert len(posts_to(emulator, "UCAROL")) == 1

    told = [c for c in posts_to(emulator, "UALICE") if "account_inactive" in c.args.get("text", "")]
    assert len(told) == 1
    assert "<@UCAROL>" in told[0].args["text"]  # a real mention, not escaped markup
    assert f"ADR-{number}" in told[0].args["text"]

    # later sweeps never retry it — the reminders go to the others only
    for hours in (1, 24):
        assert sweep(slack, db, now + timedelta(hours=hours)).claimed == 0
    nudge1 = working_days_later(now, 3, tz="UTC", hour=10)
    result = sweep(slack, db, nudge1)
    assert result.failed == 0, result
    assert len(posts_to(emulator, "UCAROL")) == 1
    assert len(asks_in(posts_to(emulator, "UBOB"))) == 2
    assert [w.state for w in work(db, r.id) if w.key.endswith(f":ask:{carol.id}:0")] == ["failed"]
    told = [c for c in posts_to(emulator, "UALICE") if "account_inactive" in c.args.get("text", "")]
    assert len(told) == 1  # told once


def test_thread_note_in_an_archived_channel_fails_once_and_the_author_is_told(
    adr, slack, emulator, db
):
    number = new_decision(adr)
    r = reviews(db, number)[0]
    emulator.set_channel("CGENERAL", is_archived=True)
    result = sweep(slack, db, aware(r.due_at))
    # two asks (and maybe the notice to the author, see above); the thread note failed
    assert (result.failed, result.retried) == (1, 0) and result.sent in (2, 3), result
    [thread_row] = [w for w in work(db, r.id) if w.kind == "review.thread"]
    assert (thread_row.state, thread_row.last_error) == ("failed", "is_archived")
    told = [c for c in posts_to(emulator, "UALICE") if "is_archived" in c.args.get("text", "")]
    assert len(told) == 1 and "archived" in told[0].args["text"]
    assert sweep(slack, db, aware(r.due_at) + timedelta(hours=2)).claimed == 0
    assert len([c for c in emulator.calls("chat.postMessage") if c.args.get("thread_ts")]) == 1


def test_downtime_catch_up_delivers_each_follow_up_once(adr, slack, emulator, db):
    monday = next_weekday(0)
    new_decision(adr, title="First", review_date=monday)
    new_decision(adr, title="Second", review_date=monday + timedelta(days=2))
    latest = max(aware(reviews(db, n)[0].due_at) for n in (1, 2))
    late = latest + timedelta(days=7)  # nothing ran for a week

    result = sweep(slack, db, late)
    assert (result.sent, result.retried, result.failed) == (6, 0, 0), result
    for user in ("UALICE", "UBOB"):
        dms = asks_in(posts_to(emulator, user))
        assert sorted(re.search(r"ADR-(\d)", c.args["text"])[1] for c in dms) == ["1", "2"]
        assert not any("Reminder" in all_text(c.args["blocks"]) for c in dms)
    assert sweep(slack, db, late).claimed == 0
    assert sweep(slack, db, late + timedelta(minutes=1)).claimed == 0

    # down again for three weeks: the missed reminders come once, not once per missed slot
    later = late + timedelta(weeks=3)
    result = sweep(slack, db, later)
    assert result.sent == 4, result  # one reminder per person per decision
    for user in ("UALICE", "UBOB"):
        reminders = [
            c for c in asks_in(posts_to(emulator, user)) if "Reminder" in all_text(c.args["blocks"])
        ]
        assert len(reminders) == 2 and all(
            "Reminder 1" in all_text(c.args["blocks"]) for c in reminders
        )
    assert sweep(slack, db, later).claimed == 0


# -- settings -------------------------------------------------------------------------------------


def test_settings_time_zone_and_hour(adr, slack, emulator, db):
    emulator.set_user("UALICE", is_admin=True)  # only admins change the settings
    emulator.set_user("UBOB", tz="America/New_York")
    shown = adr.run("settings")
    assert "10:00" in shown and "deciders' own" in shown

    assert "Saved" in adr.run("settings timezone Europe/Berlin")
    assert "Saved" in adr.run("settings hour 9")
    with db.read() as s:
        stored = s.get(WorkspaceSettings, "TAAA")
    assert (stored.timezone, stored.review_hour) == (BERLIN, 9)
    shown = adr.run("settings")
    assert "09:00" in shown and BERLIN in shown

    bad_zone = adr.run("settings timezone Mars/Olympus_Mons")
    assert "I don't know the time zone 'Mars/Olympus_Mons'" in bad_zone
    assert "Europe/Berlin" in bad_zone  # an example of what works
    for bad in ("hour 24", "hour nine", "hour -1"):
        text = adr.run(f"settings {bad}")
        assert "0 to 23" in text, text
    assert "1 to 30" in adr.run("settings nudge 0")
    assert "Saved" not in adr.run("settings colour blue")
    with db.read() as s:
        stored = s.get(WorkspaceSettings, "TAAA")
    assert (stored.timezone, stored.review_hour, stored.nudge_after_days) == (BERLIN, 9, 3)
    assert "Saved" in adr.run("settings nudge 5")
    with db.read() as s:
        assert s.get(WorkspaceSettings, "TAAA").nudge_after_days == 5

    # reviews scheduled from now on use the workspace zone and hour, not the decider's zone
    day = next_weekday(1)
    number = new_decision(adr, review_date=day)
    [r] = reviews(db, number)
    assert r.timezone == BERLIN
    assert aware(r.due_at) == review_instant(day, tz=BERLIN, hour=9)

    assert "Saved" in adr.run("settings timezone auto")
    with db.read() as s:
        assert s.get(WorkspaceSettings, "TAAA").timezone is None


def test_app_home_shows_reviews_waiting_outcomes_and_next_reviews(adr, slack, emulator, db):
    upcoming = new_decision(
        adr, title="Later one", review_date=datetime.now(UTC).date() + timedelta(days=200)
    )
    number = new_decision(adr, title="Reviewed now")
    r, _ = opened(slack, db, number)

    def home(user: str) -> str:
        before = len(emulator.calls("views.publish"))
        slack.event({"type": "app_home_opened", "user": user, "tab": "home"})
        [*_, call] = emulator.wait_for("views.publish", count=before + 1)
        return all_text(call.args["view"]["blocks"])

    bob = home("UBOB")
    waiting = bob.split("Reviews waiting for your answer", 1)[1].split("Decisions you own", 1)[0]
    assert f"ADR-{number}" in waiting and f"ADR-{upcoming}" not in waiting
    assert f"ADR-{upcoming}" in bob.split("Outcomes and next reviews", 1)[1]

    view = open_outcome_form(slack, Action.REVIEW_DIDNT_WORK, r.id, "UBOB")
    submit_outcome(slack, view, "UBOB", "Too slow")
    adr.wait_update(lambda c: c.args.get("channel") == "CGENERAL")
    bob = home("UBOB")
    waiting = bob.split("Reviews waiting for your answer", 1)[1].split("Decisions you own", 1)[0]
    assert f"ADR-{number}" not in waiting
    assert "didn't work" in bob.split("Outcomes and next reviews", 1)[1]
