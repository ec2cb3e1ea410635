"""What each section of a weekly digest says: ``storage.digest.gather`` against a real database
(SQLite and Postgres, ``db``), rows made by the real storage functions, then
``bot.features.digest.views`` on what it gathered: decisions and coverage, reviews, estimates,
the parking lot and health. Nothing is mocked.

The week is ``[START, END)`` with END an hour from now, so rows made now fall in it; rows meant
to be elsewhere are moved in time with a plain UPDATE (``move``, tests/support/digest.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from storage import review_answers
from storage import reviews as reviews_repo
from storage.db import Database
from storage.decision_status import change_status
from storage.digest import Coverage
from storage.digest_decisions import DecisionLine
from storage.digest_estimates import Trend
from storage.health import Period, Scope, flow
from storage.models import (
    Decision,
    DecisionStatus,
    DissentAnswer,
    Outcome,
    ParkingEvent,
    ParkingItem,
    ParkingState,
    Review,
    StanceKind,
    utcnow,
)
from storage.stances import set_stance
from tests.support.digest import (
    AUTHOR,
    END,
    OTHER,
    OTHER_TEAM,
    PRIVATE,
    PUBLIC,
    START,
    TEAM,
    TODAY,
    _act,
    _item,
    _round,
    blocks_of,
    decision,
    gathered,
    move,
    text_of,
)


def stance(db: Database, number: int, user: str, kind: StanceKind, team: str = TEAM) -> None:
    with db.session() as s:
        set_stance(s, team_id=team, number=number, user_id=user, kind=kind, concern="too slow")


# -- decisions and coverage ------------------------------------------------------------------


def test_decisions_of_the_week_with_their_stances_and_coverage(db: Database) -> None:
    d1 = decision(db, title="Use Postgres")
    for user, kind in (
        ("U2", StanceKind.AGREE),
        ("U3", StanceKind.AGREE),
        ("U4", StanceKind.DISAGREE_AND_COMMIT),
        ("U5", StanceKind.BLOCK),
    ):
        stance(db, d1.number, user, kind)
    decision(db, title="At the start", created=START)  # the window's first instant: in
    decision(db, title="Just before", created=START - timedelta(seconds=1))
    decision(db, title="At the end", created=END)  # the window ends before END
    decision(db, channel=PRIVATE, private=True, title="Private matter")
    decision(db, channel=OTHER, title="Elsewhere")
    decision(db, team=OTHER_TEAM, title="Another workspace")

    workspace = gathered(db, sections=["decisions"])
    assert workspace.reviews is None and workspace.health is None  # only what was asked
    assert workspace.decisions is not None
    recorded = workspace.decisions.recorded
    assert [d.title for d in recorded.shown] == ["Elsewhere", "At the start", "Use Postgres"]
    assert recorded.total == 3 and recorded.more == 0
    assert recorded.shown[-1] == DecisionLine(d1.number, "Use Postgres", "proposed", 2, 1, 1)

    channel = gathered(db, Coverage(TEAM, PUBLIC), ["decisions"]).decisions
    assert channel is not None
    assert [d.title for d in channel.recorded.shown] == ["At the start", "Use Postgres"]
    private = gathered(db, Coverage(TEAM, PRIVATE), ["decisions"]).decisions
    assert private is not None
    assert [d.title for d in private.recorded.shown] == ["Private matter"]

    fallback, blocks = blocks_of(workspace)
    text = text_of(blocks)
    assert "Private matter" not in text and "Another workspace" not in text
    assert "*ADR-1* Use Postgres" in text and ":white_check_mark: 2" in text
    assert ":handshake: 1 · :no_entry: 1" in text
    assert "3 decisions" in fallback


def test_a_private_channel_made_public_later_is_covered_only_once_public(db: Database) -> None:
    d = decision(db, channel=PRIVATE, private=True, title="Was private")
    assert gathered(db, sections=["decisions"]).quiet
    move(db, Decision, d.id, channel_private=False)
    data = gathered(db, sections=["decisions"])
    assert data.decisions is not None and data.decisions.recorded.total == 1


# -- reviews ---------------------------------------------------------------------------------


def _review(db: Database, d: Decision, due_at: datetime) -> Review:
    with db.session() as s:
        return reviews_repo.schedule_review(
            s, decision=d, due_at=due_at, timezone="UTC", actor_id=AUTHOR
        )


def _open(db: Database, review: Review) -> None:
    with db.session() as s:
        reviews_repo.open_review(
            s,
            team_id=TEAM,
            review_id=review.id,
            now=utcnow(),
            nudge_at=utcnow(),  # type: ignore[arg-type]
        )


def test_reviews_due_overdue_outcomes_and_dissent(db: Database) -> None:
    due_soon = decision(db, title="Due soon")
    _review(db, due_soon, END + timedelta(days=2))
    later = decision(db, title="Due later")
    _review(db, later, END + timedelta(days=8))  # beyond the week ahead

    waiting = decision(db, title="Asked, waiting")
    _open(db, _review(db, waiting, START + timedelta(days=1)))

    expired = decision(db, title="Never answered")
    r = _review(db, expired, START - timedelta(days=20))
    _open(db, r)
    with db.session() as s:
        assert reviews_repo.expire(s, team_id=TEAM, review_id=r.id)  # type: ignore[arg-type]

    ancient = decision(db, title="Asked long ago")
    _open(db, _review(db, ancient, END - timedelta(days=120)))  # outside the quarter

    worked = decision(db, title="It worked")
    stance(db, worked.number, "UDISSENT", StanceKind.DISAGREE_AND_COMMIT)
    stance(db, worked.number, "UWAIT", StanceKind.DISAGREE_AND_COMMIT)
    r_worked = _review(db, worked, START + timedelta(days=2))
    _open(db, r_worked)
    failed = decision(db, title="It failed, weeks ago")
    stance(db, failed.number, "UDISSENT", StanceKind.DISAGREE_AND_COMMIT)
    r_failed = _review(db, failed, START - timedelta(days=30))
    _open(db, r_failed)
    with db.session() as s:
        review_answers.record_outcome(
            s,
            team_id=TEAM,
            review_id=r_worked.id,
            user_id=AUTHOR,
            outcome=Outcome.WORKED,  # type: ignore[arg-type]
        )
        review_answers.record_outcome(
            s,
            team_id=TEAM,
            review_id=r_failed.id,  # type: ignore[arg-type]
            user_id=AUTHOR,
            outcome=Outcome.DIDNT_WORK,
            now=START - timedelta(days=25),
        )
        for review, user, answer in (
            (r_worked, "UDISSENT", DissentAnswer.YES),
            (r_worked, "UWAIT", DissentAnswer.TOO_EARLY),  # no verdict: left out
            (r_failed, "UDISSENT", DissentAnswer.NO),
        ):
            review_answers.record_dissent(
                s,
                team_id=TEAM,
                review_id=review.id,  # type: ignore[arg-type]
                user_id=user,
                answer=answer,
                now=START - timedelta(days=20),
            )
    hidden = decision(db, channel=PRIVATE, private=True, title="Private review")
    _open(db, _review(db, hidden, START + timedelta(days=1)))
    stance(db, hidden.number, "UDISSENT", StanceKind.DISAGREE_AND_COMMIT)

    part = gathered(db, sections=["reviews"]).reviews
    assert part is not None
    assert [(r.title, r.due_at) for r in part.due.shown] == [("Due soon", END + timedelta(days=2))]
    assert [r.title for r in part.overdue.shown] == ["Never answered", "Asked, waiting"]
    assert [(r.title, r.outcome) for r in part.outcomes.shown] == [("It worked", "worked")]
    assert part.outcome_counts == {"worked": 1}
    assert (part.dissent_came_true, part.dissent_decisions) == (1, 2)

    private = gathered(db, Coverage(TEAM, PRIVATE), ["reviews"]).reviews
    assert private is not None
    assert [r.title for r in private.overdue.shown] == ["Private review"]
    assert private.due.total == private.outcomes.total == private.dissent_decisions == 0

    health = gathered(db, sections=["health"]).health
    assert health is not None
    # asked in the quarter: waiting, never answered, worked, failed (not the ancient one)
    assert (health.flow.reviews_asked, health.flow.reviews_answered) == (4, 2)

    _, blocks = blocks_of(gathered(db))
    text = text_of(blocks)
    assert "*Reviews due this week* (1)" in text and "*ADR-1* Due soon · due <!date^" in text
    assert "*Asked, not answered* (2)" in text
    assert ":white_check_mark: worked" in text and "1 worked" in text
    assert "Dissent came true for *1 of 2 decisions* this quarter" in text
    assert "Follow-ups answered: *2 of 4* (50%)" in text
    assert "Private review" not in text


def test_estimates_revealed_actuals_and_the_calibration_trend(db: Database) -> None:
    long_ago = START - timedelta(days=60)
    for n in range(5):  # the 5 before: actuals twice the most likely figure
        _round(
            db,
            topic=f"old {n}",
            actual=10.0,
            revealed_at=long_ago,
            actual_at=long_ago + timedelta(days=n),
        )
    for n in range(4):  # the latest 5 (with this week's): 1.2x
        _round(
            db,
            topic=f"recent {n}",
            actual=6.0,
            revealed_at=long_ago,
            actual_at=START - timedelta(days=5 - n),
        )
    _round(db, topic="Finished this week", actual=6.0, revealed_at=long_ago)
    _round(db, topic="API cache", p50=4.0, p90=7.5)
    _round(db, topic="Still computing", p50=None)
    _round(db, topic="Revealed last week", revealed_at=START - timedelta(seconds=1))
    _round(db, topic="Secret", channel=PRIVATE, private=True, actual=50.0)
    _round(db, topic="Next door", channel=OTHER, unit="points", p50=8.0, p90=13.0)

    part = gathered(db, sections=["estimates"]).estimates
    assert part is not None
    assert [(r.topic, r.p50, r.p90) for r in part.revealed.shown] == [
        ("Next door", 8.0, 13.0),
        ("Still computing", None, None),
        ("API cache", 4.0, 7.5),
    ]
    assert [(r.topic, r.actual, r.ratio) for r in part.actuals.shown] == [
        ("Finished this week", 6.0, pytest.approx(1.2))
    ]
    assert part.trend == Trend(pytest.approx(1.2), 5, pytest.approx(2.0), 5)

    channel = gathered(db, Coverage(TEAM, PRIVATE), ["estimates"]).estimates
    assert channel is not None
    assert [r.topic for r in channel.revealed.shown] == ["Secret"]
    assert channel.trend == Trend(pytest.approx(10.0), 1, None, 0)

    _, blocks = blocks_of(gathered(db, sections=["estimates"]))
    text = text_of(blocks)
    # the headline, as on the round's message: 2..9 days (7.5 x 1.2 rounded up), median 4
    assert "*E-11* API cache · plan 2–9 days (90%), most likely 4" in text
    assert "*E-15* Next door · plan 4–16 points (90%), most likely 8" in text
    assert "_figures on their way_" in text
    assert "actual *6 days* — 1.2x the most likely figure" in text
    assert (
        "*1.2x* the most likely figure over the last 5 rounds, against 2.0x over the 5 before"
        in text
    )
    assert "closer than before" in text
    assert "Secret" not in text


def test_parking_new_top_returning_and_accepted_with_scope_added(db: Database) -> None:
    old = START - timedelta(days=30)
    scored = []
    for n, reach in enumerate((100, 600, 300, 500, 200, 400)):
        it = _item(db, f"scored {reach}")
        _act(db, it, reach=float(reach), impact=1.0, confidence=100, effort=1.0)
        move(db, ParkingItem, it.id, created_at=old + timedelta(minutes=n))
        scored.append(it)
    fresh = _item(db, "Can we also export CSV?")
    a1, a2 = _item(db, "SSO"), _item(db, "Dark mode")
    _act(db, a1, to=ParkingState.ACCEPTED, timeline_days=2.0)
    _act(db, a2, to=ParkingState.ACCEPTED, timeline_days=4.0)
    _act(db, a2, to=ParkingState.DONE)  # still accepted this week
    earlier = _item(db, "Accepted last month")
    _act(db, earlier, to=ParkingState.ACCEPTED, timeline_days=9.0)
    with db.session() as s:
        s.execute(
            update(ParkingEvent)
            .where(ParkingEvent.item_id == earlier.id, ParkingEvent.kind == "accepted")
            .values(created_at=old)
        )
    back_soon, back_later = _item(db, "Back soon"), _item(db, "Back later")
    _act(db, back_soon, to=ParkingState.DEFERRED, deferred_until=TODAY + timedelta(days=3))
    _act(db, back_later, to=ParkingState.DEFERRED, deferred_until=TODAY + timedelta(days=7))
    came_back = _item(db, "Came back")
    _act(db, came_back, to=ParkingState.DEFERRED, deferred_until=TODAY - timedelta(days=1))
    _act(db, came_back, today=TODAY)
    for it in (a1, a2, earlier, back_soon, back_later, came_back):
        move(db, ParkingItem, it.id, created_at=old)
    secret = _item(db, "Secret scope", channel=PRIVATE, private=True)
    _act(db, secret, to=ParkingState.ACCEPTED, timeline_days=30.0)

    part = gathered(db, sections=["parking"]).parking
    assert part is not None
    assert [i.request for i in part.new.shown] == ["Can we also export CSV?"]
    assert [i.rice for i in part.top.shown] == [600, 500, 400, 300, 200]
    assert part.top.total == 6 and part.top.more == 1
    assert [(i.request, i.resurfaced) for i in part.returning.shown] == [
        ("Back soon", False),
        ("Came back", True),
    ]
    assert part.returning.shown[0].deferred_until == TODAY + timedelta(days=3)
    assert [i.request for i in part.accepted.shown] == ["Dark mode", "SSO"]
    assert part.scope_added_days == 6.0
    assert fresh.number not in [i.number for i in part.top.shown]  # unscored

    secret_part = gathered(db, Coverage(TEAM, PRIVATE), ["parking"]).parking
    assert secret_part is not None and secret_part.scope_added_days == 30.0

    _, blocks = blocks_of(gathered(db, sections=["parking"]))
    text = text_of(blocks)
    assert "scope added this week: *+6 working days*" in text
    assert "*P-" in text and "RICE 600" in text and "· back this week" in text
    assert "_… and 1 more — `/parkinglot list`_" in text
    assert "Secret" not in text


# -- health ----------------------------------------------------------------------------------


def accept(db: Database, d: Decision, at: datetime | None = None) -> None:
    """Accept ``d`` now (``change_status``), or say it was accepted at ``at``."""
    with db.session() as s:
        change_status(s, team_id=TEAM, number=d.number, actor_id=AUTHOR, to=DecisionStatus.ACCEPTED)
    if at is not None:
        move(db, Decision, d.id, accepted_at=at)


def quarter(db: Database) -> None:
    """Decisions accepted in the quarter, some reversed soon after, through the real storage
    functions (times moved where the story needs them)."""
    now = utcnow()
    for days in (1, 3, 5):
        accept(db, decision(db, title=f"took {days} days", created=now - timedelta(days=days)))
    decision(db, title="agreed elsewhere", status=DecisionStatus.ACCEPTED)  # no lead time
    rejected = decision(db, title="rejected")
    with db.session() as s:
        change_status(
            s, team_id=TEAM, number=rejected.number, actor_id=AUTHOR, to=DecisionStatus.REJECTED
        )
    reversed_ = decision(db, title="reversed soon", created=now - timedelta(days=20))
    accept(db, reversed_, now - timedelta(days=10))
    decision(db, title="the reversal", supersedes=reversed_.number)
    dropped = decision(db, title="deprecated soon", created=now - timedelta(days=30))
    accept(db, dropped, now - timedelta(days=28))
    with db.session() as s:
        change_status(
            s, team_id=TEAM, number=dropped.number, actor_id=AUTHOR, to=DecisionStatus.DEPRECATED
        )
    stale = decision(db, title="accepted long ago", created=now - timedelta(days=150))
    accept(db, stale, now - timedelta(days=100))  # before the quarter: not counted
    decision(db, title="replaces the stale one", supersedes=stale.number)
    accept(db, decision(db, channel=PRIVATE, private=True, created=now - timedelta(days=9)))


def test_health_reversals_and_median_time_to_accept(db: Database) -> None:
    quarter(db)
    health = gathered(db, sections=["health"]).health
    assert health is not None
    # accepted in the quarter: took 1, 3, 5 days, agreed elsewhere (recorded accepted: no lead
    # time), reversed soon (10 days), deprecated soon (2 days); reversed: superseded or
    # deprecated within 90 days of acceptance (not the one accepted before the quarter)
    assert (health.flow.accepted, health.flow.reversed_) == (6, 2)
    assert health.flow.lead_decisions == 5  # 1 2 [3] 5 10 days
    assert health.flow.lead_median is not None
    assert abs(health.flow.lead_median - timedelta(days=3)) < timedelta(minutes=1)

    private = gathered(db, Coverage(TEAM, PRIVATE), ["health"]).health
    assert private is not None and private.flow.accepted == 1
    assert private.flow.lead_median is not None
    assert abs(private.flow.lead_median - timedelta(days=9)) < timedelta(minutes=1)

    _, blocks = blocks_of(gathered(db))
    text = text_of(blocks)
    assert "Accepted decisions reversed within 90 days (superseded or deprecated): *2 of 6*" in text
    assert "Median time from proposed to accepted: *3 days* (5 decisions)" in text
    assert "Follow-ups answered" not in text  # nothing asked: that line is left out
    assert "Your forecasts and calibration: Decision Bot's Home tab" in text


def test_the_health_line_is_the_flow_of_the_quarter(db: Database) -> None:
    """The digest and ``/adr stats`` count with the same functions: for the same scope and
    period (the digest's coverage, the 90 days ending at its end), the same numbers."""
    quarter(db)
    reviewed, unanswered = decision(db, title="reviewed"), decision(db, title="not yet")
    accept(db, reviewed)
    answered = _review(db, reviewed, START)
    waiting = _review(db, unanswered, START + timedelta(days=1))
    for r in (answered, waiting):
        _open(db, r)
    with db.session() as s:
        review_answers.record_outcome(
            s,
            team_id=TEAM,
            review_id=answered.id,  # type: ignore[arg-type]
            user_id=AUTHOR,
            outcome=Outcome.PARTLY,
        )
    for coverage, scope in (
        (Coverage(TEAM, None), Scope(TEAM, None)),
        (Coverage(TEAM, PUBLIC), Scope(TEAM, PUBLIC)),
        (Coverage(TEAM, PRIVATE), Scope(TEAM, PRIVATE)),
    ):
        with db.read() as s:
            expected = flow(s, scope=scope, period=Period(90, END))
        part = gathered(db, coverage, ["health"]).health
        assert part is not None and part.flow == expected
    with db.read() as s:
        stats = flow(s, scope=Scope(TEAM, None), period=Period(90, END))
    assert (stats.reviews_asked, stats.reviews_answered, stats.accepted) == (2, 1, 7)
    text = text_of(blocks_of(gathered(db))[1])
    assert f"Follow-ups answered: *{stats.reviews_answered} of {stats.reviews_asked}* (50%)" in text
    assert f"(superseded or deprecated): *{stats.reversed_} of {stats.accepted}*" in text
    assert f"({stats.lead_decisions} decisions)" in text


def test_decisions_past_their_decide_by_date_and_the_weeks_reversals(db: Database) -> None:
    # stalled: still proposed, decide-by before the digest's today (a private one left out of
    # the workspace digest; one decided, or not due yet, never listed)
    late = decision(db, title="Pick a queue")
    move(db, Decision, late.id, decide_by=TODAY - timedelta(days=3))
    later = decision(db, title="Pick a cache")
    move(db, Decision, later.id, decide_by=TODAY - timedelta(days=1))
    not_yet = decision(db, title="Pick a CDN")
    move(db, Decision, not_yet.id, decide_by=TODAY)
    decided = decision(db, title="Pick a font", status=DecisionStatus.ACCEPTED)
    move(db, Decision, decided.id, decide_by=TODAY - timedelta(days=5))
    hidden = decision(db, title="Pick a lawyer", channel=PRIVATE, private=True)
    move(db, Decision, hidden.id, decide_by=TODAY - timedelta(days=5))
    # reversals ended in the week: accepted 30 days before (a reversal) or 200 days before
    # (not one: past the 90 days); one ended before the week
    for title, accepted_days, ended in (
        ("Use GraphQL", 30, END - timedelta(days=2)),
        ("Use SOAP", 200, END - timedelta(days=1)),
        ("Use XML", 20, START - timedelta(days=1)),
    ):
        d = decision(db, title=title, status=DecisionStatus.ACCEPTED)
        move(
            db,
            Decision,
            d.id,
            status=DecisionStatus.DEPRECATED,
            accepted_at=ended - timedelta(days=accepted_days),
            closed_at=ended,
        )
    part = gathered(db, sections=["decisions"]).decisions
    assert part is not None
    assert [(d.title, d.day) for d in part.stalled.shown] == [
        ("Pick a queue", TODAY - timedelta(days=3)),
        ("Pick a cache", TODAY - timedelta(days=1)),
    ]
    assert [(d.title, d.day) for d in part.reversed.shown] == [
        ("Use GraphQL", (END - timedelta(days=2)).date())
    ]
    private = gathered(db, Coverage(TEAM, PRIVATE), ["decisions"]).decisions
    assert private is not None and [d.title for d in private.stalled.shown] == ["Pick a lawyer"]

    _, blocks = blocks_of(gathered(db, sections=["decisions"]))
    text = text_of(blocks)
    assert "*Past their decide-by date* (2)" in text
    assert f"*ADR-1* Pick a queue · decide by {TODAY - timedelta(days=3)}" in text
    assert (
        "*Reversed this week* (1): accepted, then superseded or deprecated within 90 days" in text
    )
    ended = (END - timedelta(days=2)).date()
    assert f"*ADR-6* Use GraphQL · :wastebasket: Deprecated on {ended}" in text
    assert "Pick a lawyer" not in text  # private: not in the workspace digest at all
    assert "Use SOAP · :wastebasket: Deprecated on" not in text  # listed as recorded only
