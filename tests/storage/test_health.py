"""storage/health.py: every flow measure on a hand-built history, with the expected numbers,
for a channel and the workspace, public and private channels, and a viewer's narrowing.

Against a real, migrated database: SQLite and PostgreSQL (``db``). The history is written
row by row at set times (``history``), so each figure below can be checked by hand against
the table in its docstring; ``t(n)`` is n days before ``END``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.db import Database, is_select, statements_sent
from storage.health import Flow, Period, Scope, flow, scope_clause
from storage.models import (
    BlockResolution,
    Decision,
    DecisionBlock,
    DecisionMember,
    DecisionStatus,
    DissentAnswer,
    Door,
    Forecast,
    ForecastState,
    Outcome,
    Review,
    ReviewAsk,
    ReviewState,
    Role,
)
from storage.reviews import DISSENTER, OWNER
from storage.visibility import Viewer

TEAM, OTHER_TEAM = "T1", "T2"
PUBLIC, OTHER, PRIVATE = "CPUB", "COTHER", "CPRIV"
AUTHOR, PRIVATE_AUTHOR, NAMED = "UAUTHOR", "UPRIVAUTH", "UNAMED"
END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ACCEPTED, SUPERSEDED = DecisionStatus.ACCEPTED, DecisionStatus.SUPERSEDED
DEPRECATED, REJECTED, PROPOSED = (
    DecisionStatus.DEPRECATED,
    DecisionStatus.REJECTED,
    DecisionStatus.PROPOSED,
)
WORKED, PARTLY, DIDNT = Outcome.WORKED.value, Outcome.PARTLY.value, Outcome.DIDNT_WORK.value
DAY = timedelta(days=1)


def t(days: float) -> datetime:
    return END - timedelta(days=days)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def history(db: Database) -> dict[int, int]:
    """The history (``t(n)``: n days before END); returns ADR number -> decision id.

    ===  =======  =========  ========  ==========  ===========  ========
    ADR  channel  created    accepted  status      closed       door
    ===  =======  =========  ========  ==========  ===========  ========
    1    CPUB     t(50)      t(47)     accepted                 one-way
    2    CPUB     t(40)      t(39)     superseded  t(20)        two-way
    3    CPUB     t(30)      t(30)     deprecated  t(10)        two-way   (recorded accepted)
    4    CPUB     t(200)     t(85)     superseded  t(1)
    5    CPUB     t(100)     t(80)     accepted
    6    CPUB     t(10)                proposed                 one-way
    7    CPUB     t(5)                 rejected    t(2)
    8    CPUB     t(20)      t(18)     superseded  END + 1 day
    9    CPUB     t(320)     t(300)    deprecated  t(100)                 (200 days later)
    10   CPUB     t(310)     t(300)    superseded  t(250)
    11   CPRIV    t(60)      t(54)     accepted                 one-way   (private)
    12   CPRIV    t(15)      t(14)     superseded  t(4)                   (private)
    13   COTHER   t(25)      t(21)     accepted                 two-way   (NAMED decider)
    --   CPUB     t(10)      t(5)      accepted                 one-way   (another workspace)
    ===  =======  =========  ========  ==========  ===========  ========

    Reviews (due, state, outcome at): R1 ADR-1 t(20) answered worked t(18); R2 ADR-2 t(30)
    answered didn't work t(25); R3 ADR-5 t(10) open; R4 ADR-4 t(100) answered partly t(80);
    R5 ADR-8 t(5) scheduled; R6 ADR-3 t(8) unanswered; R7 ADR-1 round 2 t(3) cancelled; R8
    ADR-3 round 2 t(2) answered worked an hour before it was due; R9 ADR-11 t(20) answered
    partly t(19); R10 ADR-13 t(10) open.
    Dissenters: R1 yes and no (t(17)); R2 no (t(24)); R4 yes (t(120)); R8 too early (t(2));
    R9 yes (t(18)); R1's owner answered too (not a dissenter).
    Blocks (placed, resolved): ADR-6 t(9)-t(7) and t(9) still standing; ADR-1 t(49)-t(48);
    ADR-7 t(5)-t(2); ADR-5 t(95)-t(81); ADR-8 t(19) resolved an hour after END.
    Forecasts: ADR-1 scored t(18) twice; ADR-2 unscored t(20); ADR-6 pending; ADR-4 scored
    t(95); ADR-7 unscored t(2); ADR-11 scored t(19).
    """
    decisions = [
        # number, channel, created, accepted, status, closed, door
        (1, PUBLIC, t(50), t(47), ACCEPTED, None, Door.ONE_WAY),
        (2, PUBLIC, t(40), t(39), SUPERSEDED, t(20), Door.TWO_WAY),
        (3, PUBLIC, t(30), t(30), DEPRECATED, t(10), Door.TWO_WAY),
        (4, PUBLIC, t(200), t(85), SUPERSEDED, t(1), None),
        (5, PUBLIC, t(100), t(80), ACCEPTED, None, None),
        (6, PUBLIC, t(10), None, PROPOSED, None, Door.ONE_WAY),
        (7, PUBLIC, t(5), None, REJECTED, t(2), None),
        (8, PUBLIC, t(20), t(18), SUPERSEDED, END + DAY, None),
        (9, PUBLIC, t(320), t(300), DEPRECATED, t(100), None),
        (10, PUBLIC, t(310), t(300), SUPERSEDED, t(250), None),
        (11, PRIVATE, t(60), t(54), ACCEPTED, None, Door.ONE_WAY),
        (12, PRIVATE, t(15), t(14), SUPERSEDED, t(4), None),
        (13, OTHER, t(25), t(21), ACCEPTED, None, Door.TWO_WAY),
    ]
    ids: dict[int, int] = {}
    with db.session() as s:
        for number, channel, created, accepted, status, closed, door in decisions:
            row = Decision(
                team_id=TEAM,
                number=number,
                title=f"Decision {number}",
                decision="We do it.",
                channel_id=channel,
                channel_private=channel == PRIVATE,
                author_id=PRIVATE_AUTHOR if channel == PRIVATE else AUTHOR,
                status=status,
                door=door,
                created_at=created,
                updated_at=created,
                accepted_at=accepted,
                closed_at=closed,
            )
            s.add(row)
            s.flush()
            assert row.id is not None
            ids[number] = row.id
        elsewhere = Decision(
            team_id=OTHER_TEAM,
            number=1,
            title="Elsewhere",
            decision="We do it.",
            channel_id=PUBLIC,
            channel_private=False,
            author_id=AUTHOR,
            status=ACCEPTED,
            door=Door.ONE_WAY,
            created_at=t(10),
            accepted_at=t(5),
        )
        s.add(elsewhere)
        s.add(DecisionMember(team_id=TEAM, decision_id=ids[13], user_id=NAMED, role=Role.DECIDER))
        s.flush()
        assert elsewhere.id is not None

        def review(
            number: int,
            due: datetime,
            state: ReviewState,
            outcome: str | None = None,
            at: datetime | None = None,
            round_: int = 1,
            team: str = TEAM,
            decision_id: int | None = None,
        ) -> int:
            row = Review(
                team_id=team,
                decision_id=decision_id or ids[number],
                round=round_,
                due_at=due,
                state=state,
                outcome=outcome,
                outcome_at=at,
            )
            s.add(row)
            s.flush()
            assert row.id is not None
            return row.id

        r1 = review(1, t(20), ReviewState.ANSWERED, WORKED, t(18))
        r2 = review(2, t(30), ReviewState.ANSWERED, DIDNT, t(25))
        review(5, t(10), ReviewState.OPEN)
        r4 = review(4, t(100), ReviewState.ANSWERED, PARTLY, t(80))
        review(8, t(5), ReviewState.SCHEDULED)
        review(3, t(8), ReviewState.UNANSWERED)
        review(1, t(3), ReviewState.CANCELLED, round_=2)
        r8 = review(3, t(2), ReviewState.ANSWERED, WORKED, t(2) - timedelta(hours=1), round_=2)
        r9 = review(11, t(20), ReviewState.ANSWERED, PARTLY, t(19))
        review(13, t(10), ReviewState.OPEN)
        review(0, t(10), ReviewState.ANSWERED, WORKED, t(9), team=OTHER_TEAM,
               decision_id=elsewhere.id)  # fmt: skip

        for review_id, user, role, answer, at in (
            (r1, "UD1", DISSENTER, DissentAnswer.YES, t(17)),
            (r1, "UD2", DISSENTER, DissentAnswer.NO, t(17)),
            (r1, AUTHOR, OWNER, None, t(18)),
            (r2, "UD1", DISSENTER, DissentAnswer.NO, t(24)),
            (r4, "UD3", DISSENTER, DissentAnswer.YES, t(120)),
            (r8, "UD2", DISSENTER, DissentAnswer.TOO_EARLY, t(2)),
            (r9, "UD4", DISSENTER, DissentAnswer.YES, t(18)),
        ):
            s.add(
                ReviewAsk(
                    team_id=TEAM,
                    review_id=review_id,
                    user_id=user,
                    role=role,
                    dissent_answer=answer,
                    answered_at=at,
                )
            )

        for number, user, placed, resolved, how in (
            (6, "UB1", t(9), t(7), BlockResolution.WITHDRAWN),
            (6, "UB2", t(9), None, None),
            (1, "UB1", t(49), t(48), BlockResolution.OVERRIDDEN),
            (7, "UB3", t(5), t(2), BlockResolution.CLOSED),
            (5, "UB1", t(95), t(81), BlockResolution.WITHDRAWN),
            (8, "UB2", t(19), END + timedelta(hours=1), BlockResolution.CLOSED),
        ):
            s.add(
                DecisionBlock(
                    team_id=TEAM,
                    decision_id=ids[number],
                    user_id=user,
                    placed_at=placed,
                    resolved_at=resolved,
                    resolution=how,
                )
            )

        for number, user, state, at in (
            (1, "UF1", ForecastState.SCORED, t(18)),
            (1, "UF2", ForecastState.SCORED, t(18)),
            (2, "UF1", ForecastState.UNSCORED, t(20)),
            (6, "UF1", ForecastState.PENDING, t(9)),
            (4, "UF1", ForecastState.SCORED, t(95)),
            (7, "UF3", ForecastState.UNSCORED, t(2)),
            (11, "UF1", ForecastState.SCORED, t(19)),
        ):
            scored = state == ForecastState.SCORED
            s.add(
                Forecast(
                    team_id=TEAM,
                    decision_id=ids[number],
                    user_id=user,
                    probability=75,
                    state=state,
                    outcome=1.0 if scored else None,
                    brier=0.0625 if scored else None,
                    scored_at=at if scored else None,
                    created_at=t(60),
                    updated_at=at,
                )
            )
        s.add(
            Forecast(
                team_id=OTHER_TEAM,
                decision_id=elsewhere.id,
                user_id="UF1",
                probability=90,
                state=ForecastState.SCORED,
                outcome=1.0,
                brier=0.01,
                scored_at=t(9),
            )
        )
    return ids


def measured(db: Database, scope: Scope, period_days: int = 90) -> Flow:
    with db.read() as s:
        return flow(s, scope=scope, period=Period(period_days, END))


def outcomes(worked: int, partly: int, didnt: int) -> dict[str, int]:
    return {WORKED: worked, PARTLY: partly, DIDNT: didnt}


# The public channel over 90 days: recorded ADR-1,2,3,6,7,8; accepted ADR-1,2,3,4,5,8; lead
# times (ADR-3 recorded accepted: left out) 3, 1, 115, 20, 2 days -> sorted 1 2 [3] 20 115:
# median rank ceil(5/2)=3 is 3 days, p90 rank ceil(4.5)=5 is 115 days; reversed ADR-2 (19
# days after acceptance), ADR-3 (20), ADR-4 (84), not ADR-8 (after END); reviews asked R1 R2
# R3 R6 R8 (R4 due before, R5 scheduled, R7 cancelled), answered R1 R2 R8, in 2 days, 5 days
# and 0 (early): median 2 days; outcomes at R1 R2 R4 R8; doors ADR-1 and 6 one-way, 2 and 3
# two-way; dissent on ADR-1 (came true) and ADR-2 (R4's answer is too old, R8's too early);
# blocks placed 5 (not ADR-5's), resolved 3 before END in 2, 1 and 3 days: median 2 days.
PUBLIC_90 = Flow(
    recorded=6,
    accepted=6,
    lead_median=days(3),
    lead_p90=days(115),
    lead_decisions=5,
    reversed_=3,
    accepted_for_reversal=6,
    reviews_asked=5,
    reviews_answered=3,
    answer_median=days(2),
    outcomes=outcomes(2, 1, 1),
    one_way=2,
    two_way=2,
    dissent_decisions=2,
    dissent_came_true=1,
    blocks=5,
    blocks_resolved=3,
    block_median=days(2),
    forecasts_scored=2,
    forecasts_unscored=2,
)

# Every public channel: the public channel's, and ADR-13 in another one (recorded, accepted
# in 4 days, two-way, asked R10): lead times 1 2 [3] 4 20 115 -> median rank 3, p90 rank 6.
WORKSPACE_90 = Flow(
    **{
        **PUBLIC_90.__dict__,
        "recorded": 7,
        "accepted": 7,
        "lead_decisions": 6,
        "accepted_for_reversal": 7,
        "reviews_asked": 6,
        "two_way": 3,
    }
)

# The private channel (its own digest): ADR-11 (6 days) and ADR-12 (1 day, reversed 10 days
# later); median rank 1 is 1 day, p90 rank 2 is 6 days.
PRIVATE_90 = Flow(
    recorded=2,
    accepted=2,
    lead_median=days(1),
    lead_p90=days(6),
    lead_decisions=2,
    reversed_=1,
    accepted_for_reversal=2,
    reviews_asked=1,
    reviews_answered=1,
    answer_median=days(1),
    outcomes=outcomes(0, 1, 0),
    one_way=1,
    dissent_decisions=1,
    dissent_came_true=1,
    forecasts_scored=1,
)

# The public channel over a year: also ADR-4, 5, 9, 10 recorded; ADR-9 (20 days) and ADR-10
# (10 days) accepted: lead times 1 2 3 [10] 20 20 115 (median rank 4, p90 rank 7); ADR-10
# reversed 50 days after acceptance, not ADR-9 (200 days); R4 asked (answered in 20 days:
# 0 2 5 20, median rank 2); ADR-4's dissent came true; ADR-5's block (14 days); ADR-4's
# forecast scored.
PUBLIC_1Y = Flow(
    **{
        **PUBLIC_90.__dict__,
        "recorded": 10,
        "accepted": 8,
        "lead_median": days(10),
        "lead_decisions": 7,
        "reversed_": 4,
        "accepted_for_reversal": 8,
        "reviews_asked": 6,
        "reviews_answered": 4,
        "dissent_decisions": 3,
        "dissent_came_true": 2,
        "blocks": 6,
        "blocks_resolved": 4,
        "forecasts_scored": 3,
    }
)

# The public channel over 30 days (from t(30), included): recorded ADR-3, 6, 7, 8; accepted
# ADR-3 and ADR-8 (2 days: the only lead time); ADR-3 reversed; asked R1 R2 R3 R6 R8; outcomes
# at R1 R2 R8; doors ADR-6 one-way, ADR-3 two-way; blocks placed t(9) t(9) t(5) t(19), two
# resolved in 2 and 3 days (median rank 1: 2 days).
PUBLIC_30 = Flow(
    **{
        **PUBLIC_90.__dict__,
        "recorded": 4,
        "accepted": 2,
        "lead_median": days(2),
        "lead_p90": days(2),
        "lead_decisions": 1,
        "reversed_": 1,
        "accepted_for_reversal": 2,
        "outcomes": outcomes(2, 0, 1),
        "one_way": 1,
        "two_way": 1,
        "blocks": 4,
        "blocks_resolved": 2,
    }
)


def test_every_measure_of_a_public_channel_over_30_days_90_days_and_a_year(db: Database) -> None:
    history(db)
    channel = Scope(TEAM, PUBLIC)
    assert measured(db, channel) == PUBLIC_90
    assert measured(db, channel, 365) == PUBLIC_1Y
    assert measured(db, channel, 30) == PUBLIC_30
    assert Period(365, END).label == "1y" and Period(30, END).since == t(30)


def test_the_workspace_counts_public_channels_and_a_private_channel_only_its_own(
    db: Database,
) -> None:
    history(db)
    assert measured(db, Scope(TEAM)) == WORKSPACE_90
    assert measured(db, Scope(TEAM, PRIVATE)) == PRIVATE_90
    assert measured(db, Scope(OTHER_TEAM, PUBLIC)).recorded == 1
    assert measured(db, Scope("TNOBODY")) == Flow()
    assert Flow().empty and not WORKSPACE_90.empty


def test_a_viewer_counts_what_they_may_see_from_where_they_ask(db: Database) -> None:
    history(db)
    # from a public channel: the public channels' decisions, even for the private one's
    # author (figures are about channels, not a person's own decisions)
    for who in ("UREADER", PRIVATE_AUTHOR):
        assert measured(db, Scope(TEAM, None, Viewer(who, PUBLIC))) == WORKSPACE_90
    # from the private channel: its decisions join the public ones
    inside = measured(db, Scope(TEAM, None, Viewer("UMEMBER", PRIVATE)))
    assert (inside.recorded, inside.accepted, inside.reversed_) == (9, 9, 4)
    assert (inside.reviews_asked, inside.dissent_decisions, inside.forecasts_scored) == (7, 3, 3)
    assert measured(db, Scope(TEAM, PRIVATE, Viewer("UMEMBER", PRIVATE))) == PRIVATE_90
    # a private channel asked about from elsewhere counts nothing, not even one's own
    assert measured(db, Scope(TEAM, PRIVATE, Viewer(PRIVATE_AUTHOR, PUBLIC))) == Flow()
    # a guest: only the channel they ask from, whatever the scope; from a DM, nothing
    guest = Viewer(NAMED, OTHER, guest=True)
    assert measured(db, Scope(TEAM, None, guest)) == measured(db, Scope(TEAM, OTHER))
    assert measured(db, Scope(TEAM, None, Viewer(NAMED, None, guest=True))) == Flow()
    assert measured(db, Scope(TEAM, PUBLIC, Viewer("UREADER", OTHER))) == PUBLIC_90


def test_scope_clause_selects_the_decisions_flow_counts(db: Database) -> None:
    ids = history(db)
    numbers = {v: k for k, v in ids.items()}
    from sqlalchemy import select
    from sqlmodel import col

    def selected(scope: Scope) -> set[int]:
        with db.read() as s:
            found = s.scalars(select(col(Decision.id)).where(scope_clause(scope))).all()
        return {numbers[i] for i in found}

    public = set(range(1, 11))
    assert selected(Scope(TEAM, PUBLIC)) == public
    assert selected(Scope(TEAM)) == public | {13}
    assert selected(Scope(TEAM, None, Viewer("UMEMBER", PRIVATE))) == public | {11, 12, 13}
    assert selected(Scope(TEAM, None, Viewer(NAMED, OTHER, guest=True))) == {13}


@pytest.mark.parametrize("scope", [Scope(TEAM), Scope(TEAM, PUBLIC, Viewer("U1", PUBLIC))])
def test_three_statements_whatever_the_data(db: Database, scope: Scope) -> None:
    with db.read() as s, statements_sent(db.engine, is_select) as empty:
        flow(s, scope=scope, period=Period(90, END))
    history(db)
    with db.read() as s, statements_sent(db.engine, is_select) as full:
        flow(s, scope=scope, period=Period(90, END))
    assert len(empty) == len(full) == 3
