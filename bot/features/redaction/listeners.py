"""`/adr redact` and `/adr dm` (routed from the `/adr` listener). Each returns the ephemeral
answer; a refusal is raised as a typed error whose sentence the person sees."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.render import mention
from bot.features.decisions.command import AdrCommand
from storage import preferences, redaction
from storage.db import Database
from storage.decisions import Viewer, get_decision

FIELD_LABELS = {
    "title": "title",
    "context": "context",
    "options": "options considered",
    "decision": "decision",
    "consequences": "consequences",
    "success": "success criteria",
    "tags": "tags",
    "sections": "imported file's other sections",
    "names": "names that matched no Slack user",
}


def redact(db: Database, *, team: str, user: str, viewer: Viewer, cmd: AdrCommand) -> str:
    """`/adr redact N <field>` / `/adr redact N stance @person`: one transaction rewrites the
    record, its history and search, and schedules the message and DM updates. Whether the
    person is a workspace admin comes from the user cache (they were looked up if unknown)."""
    assert cmd.number is not None
    with db.session() as session:
        if viewer.guest:  # guests act only on what they can see: their channel's decisions
            get_decision(session, team_id=team, number=cmd.number, viewer=viewer)
        done = redaction.redact(
            session,
            team_id=team,
            number=cmd.number,
            actor_id=user,
            field=cmd.field,
            person=cmd.person,
            viewer=viewer,
            today=datetime.now(UTC).date(),
        )
    what = (
        f"the stance texts of {mention(done.person)}"
        if done.person
        else f"the {FIELD_LABELS[done.field]}"
    )
    where = "its channel message"
    if done.dms:
        where += f" and {done.dms} DM{'s' if done.dms != 1 else ''} I sent about it"
    return (
        f"Redacted {what} of {done.decision.ref} in the record, its history and search; "
        f"{where} will be updated. The history says you did it, not what was there."
    )


def dm_setting(db: Database, *, team: str, user: str, setting: str) -> str:
    """`/adr dm`, `/adr dm off`, `/adr dm on`."""
    if not setting:
        with db.read() as session:
            off = preferences.dms_off(session, team_id=team, user_id=user)
        if off:
            return (
                "My DMs to you are *off*: no review questions, reminders or informed notices. "
                "`/adr dm on` turns them back on."
            )
        return (
            "My DMs to you are *on*: review questions, reminders and informed notices. "
            "`/adr dm off` stops them."
        )
    off = setting == "off"
    with db.session() as session:
        preferences.set_dms_off(session, team_id=team, user_id=user, off=off)
    if off:
        return (
            "OK: I won't DM you review questions, reminders or informed notices any more; "
            "whoever asks will be told. Answers to what you do yourself still reach you. "
            "`/adr dm on` turns them back on."
        )
    return "OK: my DMs to you are back on."
