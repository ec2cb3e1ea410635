"""`/adr redact N <field>` and `/adr redact N stance @person`. The answer is ephemeral; a
refusal is raised as a typed error whose sentence the person sees."""

from __future__ import annotations

from bot.core import people
from bot.core.adr_command import AdrCommand
from bot.core.blocks import ephemeral
from bot.core.commands import Request, SlashCommand
from bot.core.payloads import SlackPayload
from bot.core.render import counted, mention
from storage import redaction
from storage.db import Database
from storage.decisions import get_decision
from storage.models import utcnow
from storage.people import Person
from storage.visibility import Viewer


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    adr.add("redact", answer=answer_redact)


def answer_redact(cmd: AdrCommand, request: Request, person: Person) -> SlackPayload:
    viewer = people.viewer_for(person, request.channel)
    return ephemeral(
        redact(request.db, team=request.team, user=person.user_id, viewer=viewer, cmd=cmd)
    )


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
            today=utcnow().date(),
        )
    what = (
        f"the stance texts of {mention(done.person)}"
        if done.person
        else f"the {FIELD_LABELS[done.field]}"
    )
    where = "its channel message"
    if done.dms:
        where += f" and {counted(done.dms, 'DM')} I sent about it"
    return (
        f"Redacted {what} of {done.decision.ref} in the record, its history and search; "
        f"{where} will be updated. The history says you did it, not what was there."
    )
