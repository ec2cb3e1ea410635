"""`/adr stats [#channel | workspace] [30d | 90d | 1y]` end to end over signed HTTP, on SQLite
and Postgres: each flow figure on a hand-built history, what a private channel's decisions
count for, the team calibration only from 5 forecasters, the one sentence for what it cannot
read, and the digest's health line agreeing with it.

The history is made with the storage layer (``create_decision``) and plain rows for the
reviews, dissent answers, blocks and forecasts, then put in time with UPDATEs; each figure
below is worked out by hand in the comment beside it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bot.core.adr_command import STATS_HELP
from storage import channels
from storage import decisions as decisions_repo
from storage.channels import ChannelFacts
from storage.db import Database
from storage.decisions import DecisionDraft
from storage.digest import Coverage
from storage.models import (
    BlockResolution,
    Decision,
    DecisionBlock,
    DecisionStatus,
    DigestSection,
    Door,
    Forecast,
    ForecastState,
    Review,
    ReviewAsk,
    ReviewState,
    saved_id,
    utcnow,
)
from tests.support import digest as digest_support
from tests.support.adr import Adr, ephemeral, unescaped_markup
from tests.support.harness import Reply

TEAM = "TAAA"
PUBLIC, PRIVATE, OTHER = "CGENERAL", "CPRIV", "COTHER"
ASKER, AUTHOR, GUEST = "UALICE", "UAUTHOR", "UGUEST"
DAY, HOUR = timedelta(days=1), timedelta(hours=1)

# -- the history -------------------------------------------------------------------------------


def _decision(
    db: Database,
    now: datetime,
    *,
    created: timedelta,
    channel: str = PUBLIC,
    private: bool = False,
    author: str = AUTHOR,
    accepted: timedelta | None = None,
    status: DecisionStatus | None = None,
    closed: timedelta | None = None,
    door: Door | None = None,
) -> int:
    """A decision recorded ``created`` ago (accepted and closed that long ago, if given)."""
    with db.session() as s:
        decision = decisions_repo.create_decision(
            s,
            team_id=TEAM,
            author_id=author,
            draft=DecisionDraft(
                title="Use Postgres",
                decision="We do it.",
                channel_id=channel,
                door=door.value if door else None,
            ),
            channel_private=private,
        )
        decision_id = saved_id(decision)
    if status is None:
        status = DecisionStatus.ACCEPTED if accepted is not None else DecisionStatus.PROPOSED
    _move(
        db,
        Decision,
        decision_id,
        created_at=now - created,
        updated_at=now - created,
        status=status.value,
        accepted_at=None if accepted is None else now - accepted,
        closed_at=None if closed is None else now - closed,
    )
    return decision_id


def _move(db: Database, model: Any, row_id: int, **values: Any) -> None:
    with db.session() as s:
        s.execute(update(model).where(model.id == row_id).values(**values))


def _review(
    db: Database,
    now: datetime,
    decision_id: int,
    *,
    due: timedelta,
    outcome: str | None = None,
    answered: timedelta | None = None,
    dissent: tuple[str, str] | None = None,
) -> None:
    """A review due ``due`` ago, answered ``answered`` ago with ``outcome`` (else unanswered),
    and a dissenter's (person, yes/no) answer at the same time."""
    with db.session() as s:
        review = Review(
            team_id=TEAM,
            decision_id=decision_id,
            due_at=now - due,
            state=(ReviewState.ANSWERED if outcome else ReviewState.UNANSWERED).value,
            outcome=outcome,
            outcome_by=AUTHOR if outcome else None,
            outcome_at=None if answered is None else now - answered,
        )
        s.add(review)
        s.flush()
        if dissent is not None:
            assert answered is not None
            s.add(
                ReviewAsk(
                    team_id=TEAM,
                    review_id=saved_id(review),
                    user_id=dissent[0],
                    role="dissenter",
                    concern="Too slow",
                    dissent_answer=dissent[1],
                    answered_at=now - answered,
                )
            )


def _block(
    db: Database, now: datetime, decision_id: int, *, placed: timedelta, held: timedelta | None
) -> None:
    with db.session() as s:
        s.add(
            DecisionBlock(
                team_id=TEAM,
                decision_id=decision_id,
                user_id="UBLOCKER",
                placed_at=now - placed,
                resolved_at=None if held is None else now - placed + held,
                resolution=None if held is None else BlockResolution.WITHDRAWN.value,
            )
        )


def _forecast(
    db: Database,
    now: datetime,
    decision_id: int,
    user: str,
    probability: int,
    *,
    outcome: float | None = 1.0,
    when: timedelta = 10 * DAY,
) -> None:
    """A forecast scored ``when`` ago against ``outcome`` (None: left unscored then)."""
    with db.session() as s:
        s.add(
            Forecast(
                team_id=TEAM,
                decision_id=decision_id,
                user_id=user,
                probability=probability,
                state=(ForecastState.UNSCORED if outcome is None else ForecastState.SCORED).value,
                outcome=outcome,
                brier=None if outcome is None else (probability / 100 - outcome) ** 2,
                scored_at=None if outcome is None else now - when,
                updated_at=now - when,
            )
        )


def _private_channel(adr: Adr) -> None:
    """CPRIV is private, as Slack and the channel cache say."""
    adr.emulator.set_channel(PRIVATE, is_private=True)
    with adr.db.session() as s:
        channels.record(s, team_id=TEAM, channel_id=PRIVATE, facts=ChannelFacts(private=True))


def _history(adr: Adr) -> datetime:
    """#general's last 90 days, and a decision before them; a private decision in #priv that
    the asker wrote, and a public one in #other."""
    db, now = adr.db, utcnow()
    d1 = _decision(db, now, created=80 * DAY, accepted=78 * DAY, door=Door.ONE_WAY)  # lead 2d
    d2 = _decision(  # lead 5d; superseded 25 days after it was accepted: a reversal
        db,
        now,
        created=60 * DAY,
        accepted=55 * DAY,
        status=DecisionStatus.SUPERSEDED,
        closed=30 * DAY,
        door=Door.TWO_WAY,
    )
    d3 = _decision(db, now, created=40 * DAY, accepted=40 * DAY, door=Door.TWO_WAY)  # as accepted
    d4 = _decision(  # lead 3d; deprecated 12 days after: a reversal
        db,
        now,
        created=20 * DAY,
        accepted=17 * DAY,
        status=DecisionStatus.DEPRECATED,
        closed=5 * DAY,
    )
    d5 = _decision(db, now, created=10 * DAY)  # proposed
    before = _decision(db, now, created=200 * DAY, accepted=195 * DAY, door=Door.ONE_WAY)
    # reviews due in the period: 3 asked, 2 answered (in 1 and 3 days), 1 worked, 1 didn't
    _review(db, now, d1, due=32 * DAY, outcome="worked", answered=31 * DAY, dissent=("UBO", "yes"))
    _review(
        db, now, d3, due=20 * DAY, outcome="didnt_work", answered=17 * DAY, dissent=("UCY", "no")
    )
    _review(db, now, d4, due=10 * DAY)
    _review(db, now, before, due=150 * DAY, outcome="worked", answered=149 * DAY)  # before
    # blocks: 2 placed, 1 resolved after 5 hours
    _block(db, now, d5, placed=9 * DAY, held=5 * HOUR)
    _block(db, now, d5, placed=3 * DAY, held=None)
    # forecasts: 3 scored (the asker's 75% on ADR-1, which worked), 1 left unscored
    _forecast(db, now, d1, ASKER, 75)
    _forecast(db, now, d1, "UBO", 60)
    _forecast(db, now, d3, "UCY", 90, outcome=0.0)
    _forecast(db, now, d2, "UDAN", 40, outcome=None, when=35 * DAY)
    # elsewhere: #priv (private, written by the asker) and #other (public)
    _private_channel(adr)
    _decision(
        db, now, created=5 * DAY, accepted=4 * DAY, channel=PRIVATE, private=True, author=ASKER
    )
    _decision(db, now, created=3 * DAY, channel=OTHER)
    return now


GENERAL_90D = [
    ":bar_chart: *Decisions in <#CGENERAL>, last 90 days*",
    "• *Recorded:* 5 decisions, 4 accepted; proposed to accepted in 3 days (median), 5 days (p90)",
    "• *Reversed:* 2 of 4 accepted decisions (superseded or deprecated within 90 days)",
    "• *Reviews:* 2 of 3 answered, in 24 hours (median); outcomes: 1 worked, 1 didn't work",
    "• *Doors:* 1 one-way, 2 two-way",
    "• *Dissent:* the concern came true for 1 of 2 decisions with a disagree-and-commit",
    "• *Blocks:* 2 placed, 1 resolved, in 5 hours (median)",
    "• *Forecasts:* 3 scored, 1 left unscored",
    "• Team calibration shows here once 5 people's forecasts on these decisions are scored.",
]
ASKERS_OWN = (
    "• *Your calibration* (all time: 1 scored forecast; only you see it): "
    "75% → 100% came true (1) · Brier 0.06"
)


def _stats(adr: Adr, text: str = "", *, user: str = ASKER, channel: str = PUBLIC) -> list[str]:
    """The lines of the ephemeral answer to `/adr stats <text>`."""
    reply = adr.slack.command(f"stats {text}".strip(), user=user, channel=channel, team=TEAM)
    ephemeral(reply)
    body = reply.json()
    assert unescaped_markup(body) == []
    [block] = body["blocks"]
    lines = str(block["text"]["text"]).splitlines()
    assert len(lines) <= 10, lines
    assert body["text"] == lines[0]
    return lines


def _sentence(reply: Reply) -> str:
    ephemeral(reply)
    body = reply.json()
    assert "blocks" not in body
    return str(body["text"])


# -- the figures -------------------------------------------------------------------------------


def test_each_figure_matches_the_hand_built_history(adr: Adr) -> None:
    _history(adr)
    assert _stats(adr) == [*GENERAL_90D, ASKERS_OWN]
    assert _stats(adr, "90d") == [*GENERAL_90D, ASKERS_OWN]  # the default, said
    # the last 30 days: ADR-4 and ADR-5 recorded, ADR-4 accepted (3 days) and deprecated; the
    # reviews due 20 days ago (answered in 3 days: didn't work; its dissenter said no) and 10
    # days ago (unanswered); the two blocks; the 3 forecasts scored 10 days ago
    assert _stats(adr, "30d") == [
        ":bar_chart: *Decisions in <#CGENERAL>, last 30 days*",
        "• *Recorded:* 2 decisions, 1 accepted; proposed to accepted in 3 days (median), "
        "3 days (p90)",
        "• *Reversed:* 1 of 1 accepted decision (superseded or deprecated within 90 days)",
        "• *Reviews:* 1 of 2 answered, in 3 days (median); outcomes: 1 didn't work",
        "• *Dissent:* the concern came true for 0 of 1 decision with a disagree-and-commit",
        "• *Blocks:* 2 placed, 1 resolved, in 5 hours (median)",
        "• *Forecasts:* 3 scored, 0 left unscored",
        "• Team calibration shows here once 5 people's forecasts on these decisions are scored.",
        ASKERS_OWN,
    ]
    # a year: the decision recorded 200 days ago counts too (recorded, accepted, its door,
    # its review); its 5-day lead makes the sorted leads 2, 3, 5, 5 days
    year = _stats(adr, "1y")
    assert year[0] == ":bar_chart: *Decisions in <#CGENERAL>, last year*"
    assert year[1] == (
        "• *Recorded:* 6 decisions, 5 accepted; proposed to accepted in 3 days (median), "
        "5 days (p90)"
    )
    assert year[3].startswith("• *Reviews:* 3 of 4 answered, in 24 hours (median); outcomes: 2")
    assert year[4] == "• *Doors:* 2 one-way, 2 two-way"


def test_an_empty_period_says_so_and_points_at_the_app_home(adr: Adr) -> None:
    now = utcnow()
    _decision(adr.db, now, created=200 * DAY)
    assert _stats(adr, "30d", user="UNEW") == [
        ":bar_chart: *Decisions in <#CGENERAL>, last 30 days*",
        "No decisions in this period.",
        "• Your own forecasts and calibration are on my App Home tab.",
    ]


# -- who counts what, from where ---------------------------------------------------------------


def test_a_private_channels_decisions_count_only_asked_from_inside_it(adr: Adr) -> None:
    _history(adr)
    # from #general, naming #priv: refused, in one sentence
    reply = adr.slack.command(f"stats <#{PRIVATE}|priv>", user=ASKER, channel=PUBLIC, team=TEAM)
    assert _sentence(reply) == (
        "Ask from inside <#CPRIV>: its decisions count only for its members."
    )
    # from inside #priv: its decision counts (1 day from proposed to accepted)
    inside = _stats(adr, channel=PRIVATE)
    assert inside[:2] == [
        ":bar_chart: *Decisions in <#CPRIV>, last 90 days*",
        "• *Recorded:* 1 decision, 1 accepted; proposed to accepted in 24 hours (median), "
        "24 hours (p90)",
    ]
    assert _stats(adr, f"<#{PRIVATE}|priv>", channel=PRIVATE) == inside
    # the workspace from #general: public channels only (#general's 5 and #other's 1), even
    # though the asker wrote the private one
    workspace = _stats(adr, "workspace")
    assert workspace[0] == ":bar_chart: *Decisions in the workspace, last 90 days*"
    assert workspace[1].startswith("• *Recorded:* 6 decisions, 4 accepted;")
    # from inside #priv, the workspace counts #priv's too
    assert _stats(adr, "workspace", channel=PRIVATE)[1].startswith(
        "• *Recorded:* 7 decisions, 5 accepted;"
    )
    # another public channel, named from #general
    assert _stats(adr, f"30d <#{OTHER}|other>")[:2] == [
        ":bar_chart: *Decisions in <#COTHER>, last 30 days*",
        "• *Recorded:* 1 decision, 0 accepted",
    ]


def test_a_guest_may_ask_only_about_the_channel_they_are_in(adr: Adr) -> None:
    _history(adr)
    adr.emulator.set_user(GUEST, is_restricted=True)
    for text in ("workspace", f"<#{OTHER}|other>", f"<#{PRIVATE}|priv> 30d"):
        reply = adr.slack.command(f"stats {text}", user=GUEST, channel=PUBLIC, team=TEAM)
        assert _sentence(reply).startswith("As a guest you can ask only about this channel's")
    assert _stats(adr, user=GUEST) == [
        *GENERAL_90D,
        "• Your own forecasts and calibration are on my App Home tab.",
    ]


def test_team_calibration_shows_only_from_five_forecasters_the_asker_may_see(adr: Adr) -> None:
    db, now = adr.db, utcnow()
    _private_channel(adr)
    public = _decision(db, now, created=30 * DAY, accepted=29 * DAY)
    private = _decision(db, now, created=30 * DAY, accepted=29 * DAY, channel=PRIVATE, private=True)
    for user in ("U1", "U2", "U3", "U4"):
        _forecast(db, now, public, user, 75)
    _forecast(db, now, private, "U5", 50)
    waiting = (
        "• Team calibration shows here once 5 people's forecasts on these decisions are scored."
    )
    # 4 people's on what #general sees, in the channel and in the workspace
    assert waiting in _stats(adr)
    assert waiting in _stats(adr, "workspace")
    # from inside #priv, the workspace has 5 people's; #priv alone 1 person's
    assert (
        "• *Team calibration* (all time: 5 forecasts by 5 people): "
        "50% → 100% came true (1) · 75% → 100% (4) · Brier 0.10"
    ) in _stats(adr, "workspace", channel=PRIVATE)
    assert waiting in _stats(adr, channel=PRIVATE)
    # a fifth person's forecast on a public decision: #general has 5 people's too
    _forecast(db, now, public, "U6", 60)
    assert (
        "• *Team calibration* (all time: 5 forecasts by 5 people): "
        "60% → 100% came true (1) · 75% → 100% (4) · Brier 0.08"
    ) in _stats(adr)
    assert (
        "• *Team calibration* (all time: 6 forecasts by 6 people): "
        "50% → 100% came true (1) · 60% → 100% (1) · 75% → 100% (4) · Brier 0.11"
    ) in _stats(adr, "workspace", channel=PRIVATE)


# -- what it cannot read ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["7d", "#general", "30d workspace 90d"])
def test_bad_arguments_get_the_one_sentence_and_nothing_is_stored(adr: Adr, text: str) -> None:
    tables = ("decisions", "due_work", "slack_users", "command_invocations", "channels")
    before = {table: adr.count(table) for table in tables}
    reply = adr.slack.command(f"stats {text}", user=ASKER, channel=PUBLIC, team=TEAM, follow=False)
    assert reply.status == 200
    assert _sentence(reply) == STATS_HELP
    assert "`/adr stats [#channel | workspace] [30d | 90d | 1y]`" in STATS_HELP
    assert {table: adr.count(table) for table in tables} == before
    # answered in the ack: not even a users.info
    assert [c.method for c in adr.emulator.calls() if c.method != "auth.test"] == []


# -- the digest agrees -------------------------------------------------------------------------


def test_the_digests_health_line_agrees_with_stats_for_the_same_channel_and_period(
    adr: Adr,
) -> None:
    now = _history(adr)
    # news for the week, so that the digest is not a quiet one: a review due in the week
    # ahead (scheduled: not yet asked, so it counts nowhere in the flow)
    [d5] = adr.rows("SELECT id FROM decisions WHERE team_id = :t AND number = 5", t=TEAM)
    with adr.db.session() as s:
        s.add(Review(team_id=TEAM, decision_id=d5["id"], due_at=now + 3 * DAY))
    stats = _stats(adr, "90d")
    assert stats == [*GENERAL_90D, ASKERS_OWN]
    data = digest_support.gathered(
        adr.db, Coverage(TEAM, PUBLIC), sections=(DigestSection.REVIEWS, DigestSection.HEALTH)
    )
    digest = digest_support.blocks_of(data)
    assert digest is not None
    text = digest_support.text_of(digest[1])
    health = text[text.index("*Health, last 90 days*") :].splitlines()
    # the same figures: reviews answered of asked, reversals of accepted, the median lead
    assert health[1:4] == [
        "• Follow-ups answered: *2 of 3* (67%)",
        "• Accepted decisions reversed within 90 days (superseded or deprecated): *2 of 4*",
        "• Median time from proposed to accepted: *3 days* (3 decisions)",
    ]
    assert stats[1].endswith("4 accepted; proposed to accepted in 3 days (median), 5 days (p90)")
    assert stats[2].startswith("• *Reversed:* 2 of 4 accepted decisions")
    assert stats[3].startswith("• *Reviews:* 2 of 3 answered,")
