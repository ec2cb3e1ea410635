"""What a weekly digest says: ``storage.digest.gather`` against a real database (SQLite and
Postgres, ``db``), rows made by the real storage functions, then ``bot.features.digest.views`` on what
it gathered. Nothing is mocked.

The week is ``[START, END)`` with END an hour from now, so rows made now fall in it; rows meant
to be elsewhere are moved in time with a plain UPDATE (``move``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.core.render import channel_link
from bot.features.digest.views import digest_blocks
from storage import decisions as decisions_repo
from storage import estimates as estimates_repo
from storage import parking as parking_repo
from storage import reviews as reviews_repo
from storage.db import Database, is_select, statements_sent
from storage.decisions import DecisionDraft, Viewer
from storage.digest import (
    QUERIES,
    SHOWN,
    Coverage,
    DecisionLine,
    DecisionsPart,
    DigestData,
    EstimatesPart,
    HealthPart,
    ItemLine,
    Listing,
    ParkingPart,
    ReviewLine,
    ReviewsPart,
    RoundLine,
    Trend,
    gather,
)
from storage.estimates import RoundDraft
from storage.models import (
    Counter,
    Decision,
    DecisionEvent,
    DecisionStatus,
    DigestSection,
    DissentAnswer,
    EstimateRound,
    Outcome,
    ParkingEvent,
    ParkingItem,
    ParkingState,
    Review,
    ReviewAsk,
    Stance,
    StanceKind,
    utcnow,
)

TEAM, OTHER_TEAM = "T1", "T2"
PUBLIC, PRIVATE, OTHER = "CPUB", "CPRIV", "COTHER"
AUTHOR, FACILITATOR, CONFIGURER = "UAUTHOR", "UFAC", "U0CONF"
END = utcnow().replace(microsecond=0) + timedelta(hours=1)
START = END - timedelta(days=7)
TODAY = END.date()
WORKSPACE = Coverage(TEAM, None)
EVERYTHING = tuple(DigestSection)
NASTY = "<!channel> *bold* <@U1> & <https://evil.example|click>"


# -- making rows -----------------------------------------------------------------------------


def decision(
    db: Database,
    *,
    channel: str = PUBLIC,
    private: bool = False,
    title: str = "Use Postgres",
    team: str = TEAM,
    status: DecisionStatus = DecisionStatus.PROPOSED,
    created: datetime | None = None,
    supersedes: int | None = None,
) -> Decision:
    with db.session() as s:
        d = decisions_repo.create_decision(
            s,
            team_id=team,
            author_id=AUTHOR,
            draft=DecisionDraft(
                title=title, decision="We do it.", channel_id=channel, status=status
            ),
            channel_private=private,
            supersedes_number=supersedes,
        )
    if created is not None:
        move(db, Decision, d.id, created_at=created)
    return d


def move(db: Database, model: Any, row_id: int | None, **values: Any) -> None:
    """Put a row somewhere else in time (or state) than the storage function left it."""
    with db.session() as s:
        s.execute(update(model).where(model.id == row_id).values(**values))


def stance(db: Database, number: int, user: str, kind: StanceKind, team: str = TEAM) -> None:
    with db.session() as s:
        decisions_repo.set_stance(
            s, team_id=team, number=number, user_id=user, kind=kind, concern="too slow"
        )


def gathered(
    db: Database, coverage: Coverage = WORKSPACE, sections: Any = EVERYTHING
) -> DigestData:
    with db.read() as s:
        return gather(s, coverage=coverage, start=START, end=END, sections=sections, today=TODAY)


def blocks_of(data: DigestData, *, late: bool = False, quiet_line: bool = False) -> Any:
    return digest_blocks(
        data,
        title="Weekly digest",
        coverage_label=channel_link(PUBLIC),
        window_label="last week",
        late=late,
        configured_by=CONFIGURER,
        quiet_line=quiet_line,
    )


def text_of(blocks: list[dict[str, Any]]) -> str:
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(out)


def assert_within_limits(fallback: str, blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= 50
    assert len(fallback) <= 3000
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
    assert len(json.dumps(blocks, ensure_ascii=False)) < 40_000


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
        reviews_repo.record_outcome(
            s,
            team_id=TEAM,
            review_id=r_worked.id,
            user_id=AUTHOR,
            outcome=Outcome.WORKED,  # type: ignore[arg-type]
        )
        reviews_repo.record_outcome(
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
            reviews_repo.record_dissent(
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
    assert (part.dissent_right, part.dissent_answered) == (1, 2)

    private = gathered(db, Coverage(TEAM, PRIVATE), ["reviews"]).reviews
    assert private is not None
    assert [r.title for r in private.overdue.shown] == ["Private review"]
    assert private.due.total == private.outcomes.total == private.dissent_answered == 0

    health = gathered(db, sections=["health"]).health
    assert health is not None
    # asked in the quarter: waiting, never answered, worked, failed (not the ancient one)
    assert (health.reviews_asked, health.reviews_answered) == (4, 2)

    _, blocks = blocks_of(gathered(db))
    text = text_of(blocks)
    assert "*Reviews due this week* (1)" in text and "*ADR-1* Due soon · due <!date^" in text
    assert "*Asked, not answered* (2)" in text
    assert ":white_check_mark: worked" in text and "1 worked" in text
    assert "Dissent was right *1 of 2* times this quarter" in text
    assert "Follow-ups answered: *2 of 4* (50%)" in text
    assert "Private review" not in text


# -- estimates -------------------------------------------------------------------------------


def _round(
    db: Database,
    *,
    topic: str,
    channel: str = PUBLIC,
    private: bool = False,
    p50: float | None = 5.0,
    p90: float = 8.0,
    actual: float | None = None,
    revealed_at: datetime | None = None,
    actual_at: datetime | None = None,
    unit: str = "days",
) -> EstimateRound:
    with db.session() as s:
        rnd = estimates_repo.create_round(
            s,
            team_id=TEAM,
            facilitator_id=FACILITATOR,
            draft=RoundDraft(
                topic=topic, unit=unit, phase="design", channel_id=channel, tasks=[], invitees=[]
            ),
            viewer=Viewer(user_id=FACILITATOR, channel_id=channel),
        )
        estimates_repo.set_post_result(s, rnd=rnd, message_ts="1.1", error=None, private=private)
        estimates_repo.submit_estimate(
            s,
            rnd=rnd,
            user_id=FACILITATOR,
            ranges=[(3.0, 5.0, 9.0)],
            confidence=80,
            familiarity="similar",
            assumptions="",
        )
        estimates_repo.reveal(s, rnd=rnd, actor_id=FACILITATOR, why="facilitator")
        if p50 is not None:
            estimates_repo.set_result(s, rnd=rnd, result={"p50": p50, "p90": p90, "likely": p50})
        if actual is not None:
            estimates_repo.record_actual(s, rnd=rnd, actor_id=FACILITATOR, value=actual)
        s.flush()
    values: dict[str, Any] = {}
    if revealed_at is not None:
        values["revealed_at"] = revealed_at
    if actual_at is not None:
        values["actual_at"] = actual_at
    if values:
        move(db, EstimateRound, rnd.id, **values)
    return rnd


def test_estimates_revealed_actuals_and_the_calibration_trend(db: Database) -> None:
    long_ago = START - timedelta(days=60)
    for n in range(5):  # the 5 before: actuals twice the 50% figure
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
    assert "*E-11* API cache · 50%: *4 days*, 90%: *7.5 days*" in text
    assert "*E-15* Next door · 50%: *8 points*, 90%: *13 points*" in text
    assert "_figures on their way_" in text
    assert "actual *6 days* — 1.2x the 50% figure" in text
    assert "*1.2x* the 50% figure over the last 5 rounds, against 2.0x over the 5 before" in text
    assert "closer than before" in text
    assert "Secret" not in text


# -- the parking lot -------------------------------------------------------------------------


def _item(
    db: Database, request: str, *, channel: str = PUBLIC, private: bool = False
) -> ParkingItem:
    with db.session() as s:
        item = parking_repo.create_item(
            s,
            team_id=TEAM,
            parked_by=AUTHOR,
            request=request,
            requester_id="UREQ",
            why="",
            channel_id=channel,
            thread_ts=None,
            scores=parking_repo.Scores(),
            decision_number=None,
            round_number=None,
            viewer=Viewer(user_id=AUTHOR, channel_id=channel),
        )
        parking_repo.set_post_result(s, item=item, private=private)
    return item


def _act(db: Database, item: ParkingItem, **kw: Any) -> None:
    with db.session() as s:
        current = parking_repo.get_item_by_id(s, team_id=TEAM, item_id=item.id)  # type: ignore[arg-type]
        if "reach" in kw:
            parking_repo.score(s, item=current, actor_id=AUTHOR, scores=parking_repo.Scores(**kw))
        elif "today" in kw:
            parking_repo.resurface(s, item=current, today=kw["today"])
        else:
            parking_repo.transition(s, item=current, actor_id=AUTHOR, **kw)


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


def test_health_reversals_and_median_time_to_accept(db: Database) -> None:
    now = utcnow()
    for days in (1, 3, 5):
        d = decision(db, title=f"took {days} days", created=now - timedelta(days=days))
        with db.session() as s:
            decisions_repo.change_status(
                s, team_id=TEAM, number=d.number, actor_id=AUTHOR, to=DecisionStatus.ACCEPTED
            )
    decision(db, title="agreed elsewhere", status=DecisionStatus.ACCEPTED)  # left out
    rejected = decision(db, title="rejected")
    with db.session() as s:
        decisions_repo.change_status(
            s, team_id=TEAM, number=rejected.number, actor_id=AUTHOR, to=DecisionStatus.REJECTED
        )
    reversed_ = decision(db, title="reversed soon", created=now - timedelta(days=20))
    decision(db, title="the reversal", supersedes=reversed_.number)
    ancient = decision(db, title="from last year", created=now - timedelta(days=200))
    decision(db, title="replaces last year's", supersedes=ancient.number)
    stale = decision(db, title="accepted long ago", created=now - timedelta(days=150))
    with db.session() as s:
        decisions_repo.change_status(
            s, team_id=TEAM, number=stale.number, actor_id=AUTHOR, to=DecisionStatus.ACCEPTED
        )
        s.execute(
            update(DecisionEvent)
            .where(DecisionEvent.decision_id == stale.id, DecisionEvent.kind == "status_changed")
            .values(created_at=now - timedelta(days=100))
        )
    hidden = decision(
        db, channel=PRIVATE, private=True, title="private", created=now - timedelta(days=9)
    )
    with db.session() as s:
        decisions_repo.change_status(
            s, team_id=TEAM, number=hidden.number, actor_id=AUTHOR, to=DecisionStatus.ACCEPTED
        )

    health = gathered(db, sections=["health"]).health
    assert health is not None
    # in the quarter: 3 accepted + agreed elsewhere + rejected + reversed soon + the reversal
    # + replaces last year's = 8
    assert (health.decisions_recorded, health.decisions_reversed) == (8, 1)
    assert health.accepted == 3
    assert health.median_to_accept is not None
    assert abs(health.median_to_accept - timedelta(days=3)) < timedelta(minutes=1)

    private = gathered(db, Coverage(TEAM, PRIVATE), ["health"]).health
    assert private is not None and private.accepted == 1
    assert private.median_to_accept is not None
    assert abs(private.median_to_accept - timedelta(days=9)) < timedelta(minutes=1)

    _, blocks = blocks_of(gathered(db))
    text = text_of(blocks)
    assert "Decisions reversed (superseded within 90 days): *1 of 8*" in text
    assert "Median time from proposed to accepted: *3 days* (3 decisions)" in text
    assert "Follow-ups answered" not in text  # nothing asked: that line is left out


# -- rendering: quiet weeks, empty sections, lateness, escaping, limits -----------------------


def test_a_quiet_week_is_skipped_or_one_line(db: Database) -> None:
    standing = _item(db, "Old but high")  # standing content only: still a quiet week
    _act(db, standing, reach=900.0, impact=3.0, confidence=100, effort=1.0)
    move(db, ParkingItem, standing.id, created_at=START - timedelta(days=40))
    data = gathered(db)
    assert data.quiet
    assert data.parking is not None and data.parking.top.total == 1
    assert blocks_of(data) is None
    quiet = blocks_of(data, quiet_line=True, late=True)
    assert quiet is not None
    fallback, blocks = quiet
    assert len(blocks) == 1 and blocks[0]["type"] == "section"
    assert "*Weekly digest*: a quiet week in <#CPUB> (last week)" in blocks[0]["text"]["text"]
    assert "Late" in blocks[0]["text"]["text"] and "quiet week" in fallback

    decision(db, title="Now something happened")
    assert not gathered(db).quiet
    assert gathered(db, sections=["parking", "health"]).quiet  # the decision isn't asked for


def test_empty_sections_are_left_out_and_late_digests_say_so(db: Database) -> None:
    decision(db, title="Only this")
    rendered = blocks_of(gathered(db, sections=["decisions", "reviews", "estimates", "parking"]))
    assert rendered is not None
    fallback, blocks = rendered
    text = text_of(blocks)
    assert "Decisions recorded" in text
    for heading in ("Reviews due", "Asked, not answered", "Estimates revealed", "Parked this"):
        assert heading not in text
    assert "Late" not in text
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Weekly digest", "emoji": True},
    }
    assert blocks[-1]["type"] == "context"
    assert blocks[-1]["elements"][0]["text"] == (
        "Digest set up by <@U0CONF> · change it with `/adr digest`"
    )
    assert sum(b["type"] == "divider" for b in blocks) == 1

    late = blocks_of(gathered(db), late=True)
    assert late is not None
    assert late[1][1]["text"]["text"] == (
        ":hourglass: *Late:* I was down when this was due; it covers last week."
    )
    assert "(late)" in late[0]


def test_user_text_is_inert(db: Database) -> None:
    decision(db, title=NASTY)
    _item(db, NASTY)
    _round(db, topic=NASTY)
    rendered = digest_blocks(
        gathered(db),
        title="<!here> digest",
        coverage_label="#general <!everyone>",
        window_label="<@U2> week",
        late=True,
        configured_by="<!channel>",
        quiet_line=False,
    )
    assert rendered is not None
    fallback, blocks = rendered
    body = [b for b in blocks if b["type"] != "header"]  # plain text: Slack shows it as typed
    mrkdwn = text_of(body)
    for markup in ("<!channel>", "<!here>", "<!everyone>", "<@U1>", "<@U2>", "<https://evil"):
        assert markup not in text_of(body), markup
        assert markup not in fallback, markup
    assert "&lt;!channel&gt; *bold* &lt;@U1&gt; &amp; &lt;https://evil.example|click&gt;" in mrkdwn
    assert "Digest set up by &lt;!channel&gt;" in mrkdwn  # not a user id: shown, not a mention


def test_500_decisions_stay_within_limits_and_say_how_many_more(db: Database) -> None:
    _bulk_decisions(db, 500, PUBLIC)
    data = gathered(db)
    assert data.decisions is not None
    assert data.decisions.recorded.total == 500 and len(data.decisions.recorded.shown) == SHOWN
    rendered = blocks_of(data)
    assert rendered is not None
    fallback, blocks = rendered
    assert_within_limits(fallback, blocks)
    assert f"_… and {500 - SHOWN} more — `/adr list`_" in text_of(blocks)
    assert "500 decisions" in fallback


def _long(n: int) -> str:
    return (f"<!channel> {n} " + "ü<" * 1500)[:3000]


def test_everything_at_once_with_3000_character_texts_stays_within_limits() -> None:
    """Pure: the view alone, every section full, every text as long as it can be."""
    when = END - timedelta(days=1)
    reviews = Listing(500, tuple(ReviewLine(n, _long(n), when, None) for n in range(SHOWN)))
    outcomes = Listing(500, tuple(ReviewLine(n, _long(n), when, "partly") for n in range(SHOWN)))
    rounds = Listing(
        500, tuple(RoundLine(n, _long(n), "weeks", 1e9, 2e9, 3e9) for n in range(SHOWN))
    )
    items = Listing(
        500,
        tuple(
            ItemLine(n, _long(n), "accepted", 1e12, 1e6, TODAY, n % 2 == 0) for n in range(SHOWN)
        ),
    )
    data = DigestData(
        start=START,
        end=END,
        decisions=DecisionsPart(
            Listing(
                500,
                tuple(DecisionLine(n, _long(n), "accepted", 999, 999, 999) for n in range(SHOWN)),
            )
        ),
        reviews=ReviewsPart(reviews, reviews, outcomes, {"partly": 500}, 10**6, 10**6),
        estimates=EstimatesPart(rounds, rounds, Trend(123.4, 5, 0.01, 5)),
        parking=ParkingPart(items, items, items, items, 1e6),
        health=HealthPart(10**6, 10**5, 10**6, 10**5, 10**6, timedelta(days=4000)),
    )
    rendered = digest_blocks(
        data,
        title="T" * 3000,
        coverage_label=_long(1),
        window_label=_long(2),
        late=True,
        configured_by="U" + "A" * 31,
        quiet_line=True,
    )
    assert rendered is not None
    fallback, blocks = rendered
    assert_within_limits(fallback, blocks)
    text = text_of(blocks)
    assert "<!channel>" not in text and "<!channel>" not in fallback
    for command in ("/adr list", "/estimate list", "/parkinglot list"):
        assert f"485 more — `{command}`" in text


# -- the number of statements does not grow with the data ------------------------------------


def _bulk_decisions(db: Database, count: int, channel: str) -> None:
    """``count`` decisions in the week with stances, reviews and dissent (bulk inserts)."""
    now = utcnow()
    with db.session() as s:
        first = decisions_repo.next_number(s, team_id=TEAM, kind="adr")
        rows = [
            {
                "team_id": TEAM,
                "number": first + n,
                "title": f"Decision {n} <!channel>",
                "decision": "x",
                "status": "proposed",
                "tags": "",
                "channel_id": channel,
                "channel_private": False,
                "author_id": AUTHOR,
                "created_at": now - timedelta(minutes=n),
                "updated_at": now,
            }
            for n in range(count)
        ]
        s.execute(Decision.__table__.insert(), rows)  # type: ignore[attr-defined]
        s.execute(
            update(Counter)
            .where(Counter.team_id == TEAM, Counter.kind == "adr")
            .values(value=first + count)
        )
    with db.session() as s:
        ids = list(
            s.execute(
                select(Decision.id).where(Decision.team_id == TEAM, Decision.channel_id == channel)
            ).scalars()
        )
        s.execute(
            Stance.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "team_id": TEAM,
                    "decision_id": i,
                    "user_id": u,
                    "kind": k,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in ids
                for u, k in (("U2", "agree"), ("U3", "disagree_and_commit"))
            ],
        )
        s.execute(
            Review.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "team_id": TEAM,
                    "decision_id": i,
                    "round": 1,
                    "due_at": now - timedelta(days=2),
                    "timezone": "UTC",
                    "state": "answered",
                    "outcome": "worked",
                    "outcome_at": now - timedelta(days=1),
                    "created_at": now,
                    "nudges_sent": 0,
                }
                for i in ids
            ],
        )
        review_ids = list(
            s.execute(select(Review.id).where(Review.decision_id.in_(ids))).scalars()  # type: ignore[union-attr]
        )
        s.execute(
            ReviewAsk.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "team_id": TEAM,
                    "review_id": r,
                    "user_id": "U3",
                    "role": "dissenter",
                    "dissent_answer": "yes",
                    "answered_at": now - timedelta(days=1),
                }
                for r in review_ids
            ],
        )


def _statements(db: Database, coverage: Coverage) -> tuple[int, DigestData]:
    with db.read() as s:
        with statements_sent(db.engine, is_select) as seen:
            data = gather(
                s, coverage=coverage, start=START, end=END, sections=EVERYTHING, today=TODAY
            )
    return len(seen), data


def test_the_number_of_statements_does_not_grow_with_the_digest(db: Database) -> None:
    _bulk_decisions(db, 5, "CFEW")
    _bulk_decisions(db, 500, "CMANY")
    few, few_data = _statements(db, Coverage(TEAM, "CFEW"))
    many, many_data = _statements(db, Coverage(TEAM, "CMANY"))
    assert few_data.decisions is not None and few_data.decisions.recorded.total == 5
    assert many_data.decisions is not None and many_data.decisions.recorded.total == 500
    assert many_data.reviews is not None and many_data.reviews.dissent_answered == 500
    assert few == many == sum(QUERIES.values())
    with db.read() as s, statements_sent(db.engine, is_select) as seen:
        gather(s, coverage=WORKSPACE, start=START, end=END, sections=["decisions"], today=TODAY)
    assert len(seen) == QUERIES[DigestSection.DECISIONS]


def test_an_unknown_section_is_refused(db: Database) -> None:
    with db.read() as s, pytest.raises(ValueError):
        gather(s, coverage=WORKSPACE, start=START, end=END, sections=["gossip"], today=TODAY)
