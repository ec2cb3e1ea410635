"""Commands the manifest declares whose features have not shipped yet.

They answer honestly instead of leaving Slack with a timeout ("dispatch_failed").
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.errors import guarded


def register(app: App) -> None:
    app.command("/parkinglot")(guarded(handle_not_yet))


def handle_not_yet(ack: Ack, command: dict[str, Any]) -> None:
    ack(
        response_type="ephemeral",
        text=f"`{command.get('command', 'This command')}` isn't available in this version of "
        "Decision Bot yet. `/adr` (the decision log) is ready: try `/adr help`.",
    )
