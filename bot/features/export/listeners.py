"""`/adr export [N] [madr|nygard]` and **Export as ADR file** on `/adr show N`: both ack at
once and schedule the export (``bot.features.export.work``)."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond

from bot.core import people
from bot.core.adr_command import AdrCommand
from bot.core.blocks import ephemeral
from bot.core.commands import Request, SlashCommand
from bot.core.errors import guarded
from bot.core.forms import button_number
from bot.core.ids import Action
from bot.core.payloads import ActionPayload, BlockActionsBody, SlackPayload
from bot.features.export.work import ask
from storage.db import Database
from storage.people import Person


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    adr.add("export", answer=answer_export)


def register(app: App) -> None:
    app.action(Action.EXPORT)(guarded(handle_export_click))


def answer_export(cmd: AdrCommand, request: Request, person: Person) -> SlackPayload:
    viewer = people.viewer_for(person, request.channel)
    return ephemeral(
        ask(
            request.db,
            team=request.team,
            viewer=viewer,
            number=cmd.number,
            fmt=cmd.text,
            trigger_id=request.trigger_id,
        )
    )


def handle_export_click(
    ack: Ack,
    action: ActionPayload,
    body: BlockActionsBody,
    respond: Respond,
    db: Database,
    team: str,
) -> None:
    """**Export as ADR file** on `/adr show N`: as `/adr export N` from that channel."""
    number = button_number(action, "a decision")
    ack()
    person = people.as_known_or_guest(
        db, team=team, user=body["user"]["id"], home_team=people.home_team_of(body)
    )
    viewer = people.viewer_for(person, body.get("channel", {}).get("id"))
    respond(
        replace_original=False,
        response_type="ephemeral",
        text=ask(
            db,
            team=team,
            viewer=viewer,
            number=number,
            fmt="madr",
            trigger_id=str(body.get("trigger_id") or ""),
        ),
    )
