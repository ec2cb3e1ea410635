"""The weekly digest's outbox work: build this week's digest and post it in its channel, then
plan next week's. Registered with the engine by ``register_work``.

One ``digest.send`` row per (subscription, ISO week) — see ``storage.digest_subscriptions``.
A digest covers the week from the previous instant to its own (the same wall time a week
before, so across a clock change the weeks still meet). It is *late* when it goes out more
than ``LATE_AFTER`` after its instant (the bot was down): it says so, and also covers the
weeks it missed, up to the last instant before now; the next digest is planned from the next
instant after now and starts where the late one ended. A two-week outage gives one late
digest, never a burst, and nothing that happened during it is left out or shown twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.core.dates import next_weekly, week_before, zone
from bot.core.payloads import Blocks
from bot.core.render import channel_link
from bot.core.slack_api import conversation_facts, slack_error
from bot.engine.posting import post_once
from bot.engine.registry import Job, PermanentFailure, Registry, WorkKind
from bot.features.digest.views import digest_blocks, home_link
from storage import channels
from storage import digest_subscriptions as repo
from storage.channels import ChannelFacts
from storage.db import Database
from storage.digest import Coverage, gather
from storage.digest_subscriptions import DigestConfig, DigestWork
from storage.models import DigestScope, DigestSubscription, DueWork, utcnow

log = logging.getLogger(__name__)

LATE_AFTER = timedelta(hours=1)
WEEK = timedelta(days=7)
# the bot can't post there: pause, and tell the person who set the digest up
NOT_THERE = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "shared"}
)
RESUME = (
    "I couldn't post the weekly digest in <#{channel}> (Slack said `{error}`), so I paused it. "
    "Invite me there with `/invite @Decision Bot`, then run `/adr digest on` in that channel "
    "to resume it."
)
RESUME_SHARED = (
    "<#{channel}> is now shared with another organisation, so I paused the workspace-wide "
    "digest there: it would show your internal decisions to outsiders. Run `/adr digest` in "
    "that channel to make it a digest of that channel only, or set the workspace digest up in "
    "an internal channel."
)


def plan(sub: DigestSubscription, after: datetime) -> datetime:
    """When ``sub``'s next digest is due after ``after`` (DST-correct in its zone)."""
    return next_weekly(
        after, weekday=sub.weekday, hour=sub.hour, minute=sub.minute, tz=sub.timezone
    )


def coverage_of(team_id: str, channel_id: str, scope: str) -> Coverage:
    return Coverage(
        team_id=team_id, channel_id=None if scope == DigestScope.WORKSPACE else channel_id
    )


def window_label(start: datetime, end: datetime, tz: str) -> str:
    local_zone = zone(tz)
    first, last = start.astimezone(local_zone), end.astimezone(local_zone)
    return f"{first:%a %-d %b} – {last:%a %-d %b %Y}"


def build(
    db: Database,
    *,
    team_id: str,
    channel_id: str,
    config: DigestConfig,
    configured_by: str,
    start: datetime,
    end: datetime,
    late: bool,
    app_id: str | None = None,
) -> tuple[str, Blocks] | None:
    """The digest for ``[start, end)`` as (fallback text, blocks); None for a quiet week that
    is skipped. Read-only: also what `/adr digest preview` shows."""
    coverage = coverage_of(team_id, channel_id, config.scope)
    with db.read() as session:
        data = gather(
            session,
            coverage=coverage,
            start=start,
            end=end,
            sections=config.sections,
            today=end.astimezone(zone(config.timezone)).date(),
        )
    return digest_blocks(
        data,
        title="Weekly digest",
        coverage_label=(
            "every public channel of this workspace"
            if coverage.channel_id is None
            else channel_link(channel_id)
        ),
        window_label=window_label(start, end, config.timezone),
        late=late,
        configured_by=configured_by,
        quiet_line=config.quiet_line,
        home=home_link(team_id, app_id),
    )


def _load(session: Session, item: DueWork) -> DigestSubscription:
    return repo.get_by_id(session, team_id=item.team_id, subscription_id=item.subject_id)


def _chain(job: Job, due: datetime, end: datetime) -> None:
    """In the transaction that marks this digest done: it covered up to ``end``; plan next
    week's."""

    def next_week(session: Session) -> None:
        repo.mark_covered(session, subscription_id=job.item.subject_id, until=end)
        current = session.get(DigestSubscription, job.item.subject_id)
        if current is not None and current.enabled and not current.paused_reason:
            repo.schedule_next(session, sub=current, after=max(due, job.now), plan=plan)

    job.after_send.append(next_week)


def _pause(job: Job, sub: DigestSubscription, error: str) -> bool:
    text = (RESUME_SHARED if error == "shared" else RESUME).format(
        channel=sub.channel_id, error=error
    )
    log.info("digest %s in %s paused: %s", sub.id, sub.channel_id, error)
    job.after_send.append(lambda session: repo.pause(session, sub=sub, reason=error, text=text))
    return False


def handle_send(job: Job) -> bool:
    with job.db.read() as session:
        sub = _load(session, job.item)
    if not sub.enabled or sub.paused_reason:
        return False  # turned off or paused meanwhile: configuring it again plans the next one
    due = repo.instant_of(job.item)
    late = job.now - due > LATE_AFTER
    # From where the previous digest ended (else the same wall time a week before: DST-
    # correct); a late digest also covers the weeks it missed, up to the last instant before
    # now, where the next digest's week begins.
    start = repo.week_start(
        sub, due, week_before(due, hour=sub.hour, minute=sub.minute, tz=sub.timezone)
    )
    end = due
    while late and (following := plan(sub, end)) <= job.now:
        end = following
    facts = conversation_facts(job.client, sub.channel_id)
    if facts is not None:
        seen = facts

        def record(session: Session) -> None:
            channels.record(session, team_id=sub.team_id, channel_id=sub.channel_id, facts=seen)

        job.after_send.append(record)
        if facts.archived:
            return _pause(job, sub, "is_archived")
    if sub.scope == DigestScope.WORKSPACE and _maybe_shared(job, sub, facts):
        return _pause(job, sub, "shared")
    built = build(
        job.db,
        team_id=sub.team_id,
        channel_id=sub.channel_id,
        config=DigestConfig.of(sub),
        configured_by=sub.configured_by,
        app_id=sub.app_id,
        start=start,
        end=end,
        late=late,
    )
    if built is None:  # a quiet week, skipped
        _chain(job, due, end)
        return False
    text, blocks = built
    try:
        # once: after a lost answer it looks for the earlier post (from when the digest fell
        # due, not from when its row was planned a week before) before posting again
        post_once(job, channel=sub.channel_id, text=text, blocks=blocks, since=min(due, utcnow()))
    except SlackApiError as exc:
        error = slack_error(exc)
        if error in NOT_THERE:
            return _pause(job, sub, error)
        raise
    _chain(job, due, end)
    return True


class ChannelUnknown(Exception):
    """Slack could not say whether the channel is shared, and nothing stored says it is not:
    the workspace digest waits (the engine retries) rather than risk posting outside."""


def _maybe_shared(job: Job, sub: DigestSubscription, facts: ChannelFacts | None) -> bool:
    """Whether a workspace digest's channel is (or may be) shared with another organisation.
    When Slack can't say, what is stored decides; when nothing is stored either, raise
    ``ChannelUnknown`` so the row is retried later: never post in doubt."""
    if facts is not None and facts.shared is not None:
        return facts.shared
    with job.db.read() as session:
        known = channels.get(session, team_id=sub.team_id, channel_id=sub.channel_id)
    if known is None:
        raise ChannelUnknown(f"conversations.info failed for {sub.channel_id}")
    return known.is_shared


def keep_going(session: Session, job: Job, failure: PermanentFailure) -> None:
    """This week's digest failed for good (not a removal, which pauses): next week's is still
    planned, and starts after this one's week, so one bad week (content Slack refuses, say)
    does not come back in every digest after it and end the digest."""
    log.warning("digest %s failed: %s", job.item.subject_id, failure.error)
    due = repo.instant_of(job.item)
    repo.mark_covered(session, subscription_id=job.item.subject_id, until=due)
    sub = session.get(DigestSubscription, job.item.subject_id)
    if sub is not None and sub.enabled and not sub.paused_reason:
        repo.schedule_next(session, sub=sub, after=max(due, job.now), plan=plan)


def register_work(registry: Registry) -> None:
    registry.register(
        WorkKind(DigestWork.SEND, handle_send, load=_load, on_failure=keep_going, scheduled=True)
    )
