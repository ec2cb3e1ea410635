"""Outbox rows for the decision log: kinds, keys and lanes in one place.

Each function is called inside the transaction that made the change the work follows, so the
change and its Slack side effects commit together or not at all.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from sqlmodel import Session

from storage import due_work
from storage.decisions import saved_id
from storage.models import Decision, JsonObject, utcnow
from storage.notices import NoticeWork

# A decision message is refreshed at most this often (a burst of clicks makes a few
# chat.update calls; the last one shows every click).
REFRESH_INTERVAL = timedelta(milliseconds=500)


class DecisionWork(StrEnum):
    POST = "decision.post"  # post the record in its channel (subject: decision id)
    INFORM = "decision.inform"  # one DM to one informed person
    REFRESH = "decision.refresh"  # chat.update the posted message (coalesced)
    PLAN_REVIEW = "decision.plan_review"  # turn the review date into a scheduled review
    REDACT_DM = "decision.redact_dm"  # chat.update one DM about it after a redaction (coalesced)
    PURGE_SEARCH = "decision.purge_search"  # drop redacted terms from the index (no message)
    THREAD_NOTE = "decision.thread_note"  # one line in the post's thread: a change of status


def channel_lane(channel_id: str) -> str:
    """Work posting in one channel (or one thread of it) is delivered in order."""
    return f"channel:{channel_id}"


def dm_lane(user_id: str) -> str:
    return f"dm:{user_id}"


def _key(decision: Decision, *parts: object) -> str:
    return ":".join(["decision", str(decision.id), *map(str, parts)])


def _coalesced(
    session: Session,
    decision: Decision,
    kind: DecisionWork,
    part: str,
    *,
    payload: JsonObject | None = None,
    lane: str | None = None,
    min_interval: timedelta = timedelta(0),
    insert_first: bool = False,
) -> None:
    """One live row of ``kind`` for this decision (see ``due_work.schedule_coalesced``)."""
    due_work.schedule_coalesced(
        session,
        team_id=decision.team_id,
        kind=kind,
        subject_id=saved_id(decision),
        key=_key(decision, part),
        now=utcnow(),
        min_interval=min_interval,
        payload=payload,
        lane=lane,
        insert_first=insert_first,
    )


def schedule_post(
    session: Session,
    *,
    decision: Decision,
    notify_informed: bool = True,
    confirm: JsonObject | None = None,
    plan_review_by: str | None = None,
    new: bool = False,
) -> None:
    """Post the decision (again, if an earlier post failed); DM the informed after it, with
    ``confirm`` ({"response_url", "asked_at"}) confirm it to its author, and with
    ``plan_review_by`` (who saved it) plan its review from its review date in the same job,
    instead of a ``decision.plan_review`` row of its own (a new decision: one row, not two).
    ``new``: the decision was made in this transaction (it has no post row yet)."""
    payload: JsonObject = {"notify_informed": notify_informed}
    if confirm is not None:
        payload["confirm"] = confirm
    if plan_review_by is not None:
        payload["plan_review"] = plan_review_by
    _coalesced(
        session,
        decision,
        DecisionWork.POST,
        "post",
        payload=payload,
        lane=channel_lane(decision.channel_id),
        insert_first=new,
    )


def schedule_inform(
    session: Session, *, decision: Decision, user_id: str, permalink: str | None
) -> None:
    due_work.schedule(
        session,
        team_id=decision.team_id,
        kind=DecisionWork.INFORM,
        subject_id=saved_id(decision),
        key=_key(decision, "inform", user_id),
        due_at=utcnow(),
        payload={"user": user_id, "permalink": permalink or ""},
        lane=dm_lane(user_id),
    )


def schedule_refresh(session: Session, *, decision: Decision) -> None:
    """Refresh the posted message with the state committed by now (coalesced: one live
    refresh per message)."""
    _coalesced(
        session,
        decision,
        DecisionWork.REFRESH,
        "refresh",
        lane=channel_lane(decision.channel_id),
        min_interval=REFRESH_INTERVAL,
    )


def schedule_thread_note(session: Session, *, decision: Decision, part: str, text: str) -> None:
    """One ready line in the decision's thread, once per ``part`` (the change it tells of),
    after the post in the same lane, so a new decision's post comes first."""
    due_work.schedule(
        session,
        team_id=decision.team_id,
        kind=DecisionWork.THREAD_NOTE,
        subject_id=saved_id(decision),
        key=_key(decision, "note", part),
        due_at=utcnow(),
        payload={"text": text},
        lane=channel_lane(decision.channel_id),
    )


def schedule_review_planning(session: Session, *, decision: Decision, actor_id: str) -> None:
    """(Re)schedule the decision's review from its review date; the time zone lookup
    (users.info) happens in the dispatcher, not on the request path."""
    _coalesced(
        session, decision, DecisionWork.PLAN_REVIEW, "plan-review", payload={"actor": actor_id}
    )


def schedule_redact_dm(
    session: Session,
    *,
    decision: Decision,
    user_id: str,
    channel_id: str,
    message_ts: str,
    ask_id: int | None = None,
    nudge: int = 0,
    permalink: str = "",
) -> None:
    """Rewrite one DM the bot sent about ``decision`` (an informed DM, or a review question
    when ``ask_id`` is given) with the record's current, redacted text. One live row per
    message: a second redaction meanwhile is shown by the same update."""
    payload: JsonObject = {"user": user_id, "channel": channel_id, "ts": message_ts}
    if ask_id is not None:
        payload.update(ask_id=ask_id, nudge=nudge)
    else:
        payload["permalink"] = permalink
    _coalesced(
        session,
        decision,
        DecisionWork.REDACT_DM,
        f"redact-dm:{channel_id}:{message_ts}",
        payload=payload,
        lane=dm_lane(user_id),
    )


def schedule_search_purge(session: Session, *, decision: Decision) -> None:
    """After a redaction: rewrite the search index without the removed terms, after the ack
    (see ``storage.redaction.purge_search_index``)."""
    _coalesced(session, decision, DecisionWork.PURGE_SEARCH, "purge-search")


def schedule_dms_off_notice(session: Session, *, decision: Decision, about: str, text: str) -> bool:
    """Tell the author, once per ``about`` ("inform", or a review round), whom the bot did
    not DM because they turned DMs off. A ``notice.dm`` row with a key of its own: the work
    that writes it may run again after a crash, and the author hears it once."""
    return due_work.schedule(
        session,
        team_id=decision.team_id,
        kind=NoticeWork.DM,
        subject_id=0,
        key=_key(decision, "dms-off", about),
        due_at=utcnow(),
        payload={"user": decision.author_id, "text": text},
        lane=dm_lane(decision.author_id),
    )
