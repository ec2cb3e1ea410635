"""The decision log's outbox work: posting a decision, DMing the informed, refreshing the
posted message, and planning its review. Registered with the engine by ``register_work``.

Every handler runs in a dispatcher after the change it follows was committed, and sends at
most one message; what it learns (the message ts, the permalink, follow-up rows) is written
in the transaction that marks its row done.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.core.dates import review_instant, valid_timezone
from bot.core.redacted import shown
from bot.core.render import channel_link, render
from bot.core.slack_api import HOW_TO_FIX, POST_FAILED_OTHERWISE, conversation_facts, slack_error
from bot.engine.posting import post_once
from bot.engine.registry import Job, PermanentFailure, Registry, WorkKind, raise_if_permanent
from bot.features.decisions.views import build_decision_message, informed_dm_text
from bot.features.reviews import build_review_dm_now
from storage import (
    channels,
    decision_record,
    preferences,
    redaction,
    review_answers,
    review_lists,
    review_settings,
    rules,
)
from storage import decisions as repo
from storage import reviews as reviews_repo
from storage.decision_work import (
    REFRESH_INTERVAL,
    DecisionWork,
    schedule_dms_off_notice,
    schedule_inform,
    schedule_review_planning,
)
from storage.models import Decision, DueWork, Role, saved_id
from storage.notices import schedule_confirmation, schedule_notice

log = logging.getLogger(__name__)


def _load(session: Session, item: DueWork) -> Decision:
    return repo.get_decision_by_id(session, team_id=item.team_id, decision_id=item.subject_id)


def _record(job: Job) -> tuple[decision_record.DecisionRecord, review_lists.ReviewSummary]:
    with job.db.read() as session:
        decision = _load(session, job.item)
        record = decision_record.load_record(session, decision=decision, with_history=False)
        return record, review_lists.review_summary(
            session, decision=decision, any_rounds=record.reviews
        )


def handle_post(job: Job) -> bool:
    """Post ADR-n in its channel with the stance buttons; then DM the informed.

    The decision was saved as private; the channel's privacy is read here (conversations.info)
    and recorded with the post, so a private decision is never visible workspace-wide, even
    for a moment."""
    record, review = _record(job)
    d = record.decision
    if d.message_ts:
        # Posted by an earlier attempt that died before finishing: don't post twice, but
        # make sure the informed hear about it (their rows' keys make this idempotent).
        _after_post(job, record, d.channel_id, d.message_ts)
        return False
    facts = conversation_facts(job.client, d.channel_id)
    text, blocks = build_decision_message(record, review)
    try:
        # once: after a lost answer it looks for the earlier post before posting again
        resp = post_once(job, channel=d.channel_id, text=text, blocks=blocks)
    except SlackApiError as exc:
        raise_if_permanent(exc, f"post it in {channel_link(d.channel_id)}")
        raise
    # Recorded at once, not with the row's "done": a repeat of this row then finds the
    # message and never posts it twice.
    with job.db.session() as session:
        private = channels.privacy_after_post(
            session, team_id=d.team_id, channel_id=d.channel_id, facts=facts
        )
        repo.set_post_result(
            session, decision=d, message_ts=resp["ts"], error=None, private=private
        )
    _after_post(job, record, resp["channel"], resp["ts"])
    return True


def _after_post(job: Job, record: decision_record.DecisionRecord, channel: str, ts: str) -> None:
    """Confirm the new decision to its author; DM the informed, with a link to the post
    (scheduled with the row's "done")."""
    _confirm(job, record.decision)
    if job.payload.get("plan_review"):
        _plan_review(
            job,
            record.decision,
            record.members.get(Role.DECIDER, []),
            actor=str(job.payload["plan_review"]),
        )
    if not job.payload.get("notify_informed"):
        return
    informed = record.members.get(Role.INFORMED, [])
    if not informed:
        return
    try:
        permalink = job.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
    except Exception:  # noqa: BLE001 - posted: the DMs go out without a link
        permalink = None
    d = record.decision

    job.after_send.append(lambda session: schedule_informed_dms(session, d, informed, permalink))


def _confirm(job: Job, d: Decision) -> None:
    """ "Posted ADR-7 in #general" to whoever saved it, where they asked (the command's
    response_url, carried by the form) or by DM."""
    confirm = job.payload.get("confirm")
    if not isinstance(confirm, dict):
        return
    asked = confirm.get("asked_at")
    text = render(
        "decisions/posted.md.j2", number=d.number, title=shown(d.title), channel=d.channel_id
    )

    def tell(session: Session) -> None:
        schedule_confirmation(
            session,
            team_id=d.team_id,
            user_id=d.author_id,
            text=text,
            key=f"decision:{d.id}:confirm",
            subject_id=saved_id(d),
            response_url=str(confirm.get("response_url") or "") or None,
            asked_at=datetime.fromtimestamp(asked, UTC) if isinstance(asked, int) else None,
        )

    job.after_send.append(tell)


def schedule_informed_dms(
    session: Session, decision: Decision, users: list[str], permalink: str | None
) -> None:
    """Schedule the informed DMs, except to people who turned DMs off (`/adr dm off`); the
    author is told in this transaction who those are."""
    muted = preferences.muted(session, team_id=decision.team_id, user_ids=users)
    for user in users:
        if user not in muted:
            schedule_inform(session, decision=decision, user_id=user, permalink=permalink)
    skipped = [u for u in users if u in muted and u != decision.author_id]
    if skipped:
        schedule_dms_off_notice(
            session,
            decision=decision,
            about="inform",
            text=render("decisions/dms_off_informed.md.j2", number=decision.number, people=skipped),
        )


def post_failed(session: Session, job: Job, failure: PermanentFailure) -> None:
    """The decision stays saved; the error is stored on it, the author is told in one
    sentence how to fix it, and the informed still hear about it."""
    d = _load(session, job.item)
    repo.set_post_result(session, decision=d, message_ts=None, error=failure.error)
    reason = HOW_TO_FIX.get(failure.error, POST_FAILED_OTHERWISE).format(
        n=d.number, e=failure.error
    )
    schedule_notice(
        session,
        team_id=d.team_id,
        user_id=d.author_id,
        text=render(
            "decisions/post_failed.md.j2", number=d.number, channel=d.channel_id, reason=reason
        ),
    )
    if job.payload.get("notify_informed"):
        schedule_informed_dms(
            session, d, repo.members(session, decision=d).get(Role.INFORMED, []), None
        )
    if job.payload.get("plan_review"):  # not posted: its review is still planned
        schedule_review_planning(session, decision=d, actor_id=str(job.payload["plan_review"]))


def handle_inform(job: Job[Decision]) -> bool:
    """One informed DM, unless that person turned DMs off since it was scheduled; where it
    landed is kept (in its own row) so a redaction can edit it."""
    d = job.subject
    assert d is not None  # its kind loads the decision
    user = job.payload["user"]
    with job.db.read() as session:
        if preferences.dms_off(session, team_id=d.team_id, user_id=user):
            return False
    resp = job.client.chat_postMessage(
        channel=user,
        text=informed_dm_text(d, job.payload.get("permalink") or ""),
        unfurl_links=False,
    )
    job.landed(str(resp["channel"]), str(resp["ts"]))
    return True


def handle_redact_dm(job: Job) -> bool:
    """Rewrite one DM about a decision with its current (redacted) text: an informed DM, or a
    review question as it should read now."""
    p = job.payload
    with job.db.read() as session:
        d = _load(session, job.item)
        asked = (
            review_answers.ask_with_review(session, team_id=d.team_id, ask_id=int(p["ask_id"]))
            if p.get("ask_id")
            else None
        )
    if asked is None:
        text = informed_dm_text(d, str(p.get("permalink") or ""))
        job.client.chat_update(channel=p["channel"], ts=p["ts"], text=text)
        return True
    ask, review, d = asked
    text, blocks = build_review_dm_now(d, review, ask, int(p.get("nudge") or 0))
    job.client.chat_update(channel=p["channel"], ts=p["ts"], text=text, blocks=blocks)
    return True


def handle_refresh(job: Job) -> bool:
    """chat.update the posted message with the state committed now (coalesced: clicks
    that arrive meanwhile mark the row to run once more)."""
    record, review = _record(job)
    d = record.decision
    if not d.message_ts:
        return False  # not posted (yet): the post will show the current state
    text, blocks = build_decision_message(record, review)
    job.client.chat_update(channel=d.channel_id, ts=d.message_ts, text=text, blocks=blocks)
    return True


def handle_thread_note(job: Job[Decision]) -> bool:
    """One line in the decision's thread (a status change). Nothing if it was never posted:
    then its card, once posted, already shows the change."""
    d = job.subject
    assert d is not None  # its kind loads the decision
    if not d.message_ts:
        return False
    try:
        job.client.chat_postMessage(
            channel=d.channel_id,
            thread_ts=d.message_ts,
            text=str(job.payload.get("text") or ""),
            unfurl_links=False,
        )
    except SlackApiError as exc:
        raise_if_permanent(exc, f"tell the thread of {d.ref} what changed")
        raise
    return True


def handle_purge_search(job: Job) -> bool:
    """No message: after a redaction, rewrite the search index without the removed terms,
    in the transaction that marks the row done (``redaction.purge_search_index``)."""
    job.after_send.append(redaction.purge_search_index)
    return False


def handle_plan_review(job: Job) -> bool:
    """Turn the review date into a scheduled review (after an edit of the date, or a post
    that failed; a new decision's post plans it itself)."""
    with job.db.read() as session:
        decision = _load(session, job.item)
        deciders = repo.members(session, decision=decision)[Role.DECIDER]
    _plan_review(job, decision, deciders, actor=str(job.payload.get("actor") or ""))
    return False


def _plan_review(job: Job, decision: Decision, deciders: list[str], *, actor: str) -> None:
    """Schedule the review at the review hour in the workspace's time zone, else the first
    decider's (or the author's) Slack time zone, else UTC, in the transaction that marks the
    job done, if the decision still has that review date and is live then."""
    if decision.review_date is None:
        return
    settings = review_settings.cached_settings(job.db, team_id=decision.team_id)
    people = [*deciders, decision.author_id]
    tz = resolve_timezone(job.client, configured=settings.timezone, people=people)
    due_at = review_instant(decision.review_date, tz=tz, hour=settings.review_hour)
    decision_id, review_date = saved_id(decision), decision.review_date

    def schedule(session: Session) -> None:
        current = repo.get_decision_by_id(
            session, team_id=decision.team_id, decision_id=decision_id, for_update=True
        )
        if current.review_date == review_date and rules.is_live(current.status):
            reviews_repo.schedule_review(
                session,
                decision=current,
                due_at=due_at,
                timezone=tz,
                actor_id=actor or current.author_id,
            )

    job.after_send.append(schedule)


def resolve_timezone(client: WebClient, *, configured: str | None, people: list[str]) -> str:
    if configured:
        return configured
    for user in people:
        try:
            tz = client.users_info(user=user)["user"].get("tz")
        except SlackApiError as exc:
            log.info("users.info %s failed: %s", user, slack_error(exc))
            continue
        if tz and valid_timezone(str(tz)):
            return str(tz)
        if tz:
            log.warning(
                "users.info %s: unknown time zone %r; trying the next person", user, str(tz)[:64]
            )
    return "UTC"


# -- decide-by nudges (issue 26) ----------------------------------------------------------------


def register_work(registry: Registry) -> None:
    registry.register(
        WorkKind(DecisionWork.POST, handle_post, load=_load, on_failure=post_failed),
        WorkKind(DecisionWork.INFORM, handle_inform, load=_load),
        WorkKind(DecisionWork.THREAD_NOTE, handle_thread_note, load=_load),
        WorkKind(DecisionWork.REFRESH, handle_refresh, load=_load, rerun_after=REFRESH_INTERVAL),
        WorkKind(DecisionWork.PLAN_REVIEW, handle_plan_review, load=_load, scheduled=True),
        WorkKind(DecisionWork.REDACT_DM, handle_redact_dm, load=_load),
        WorkKind(DecisionWork.PURGE_SEARCH, handle_purge_search, load=_load),
    )
