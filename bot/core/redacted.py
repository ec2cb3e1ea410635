"""How a redacted field reads. Storage writes ``redacted by <@U1> on 2026-05-01`` in place of
the text; in mrkdwn it is shown with a real mention of who redacted it, and where Slack shows
plain text (headers, notification text) without one. Anything else passes through unchanged
(and is escaped by the template, as always)."""

from __future__ import annotations

from bot.core.render import Mrkdwn, mention
from storage.redaction import parse_marker


def shown(text: str) -> str:
    """``text`` for a mrkdwn template: a redaction marker as safe mrkdwn, else ``text``."""
    found = parse_marker(text)
    if found is None:
        return text
    actor, day = found
    return Mrkdwn(f"_redacted by {mention(actor)} on {day}_")


def shown_plain(text: str) -> str:
    """``text`` for plain text: a redaction marker without the mention, else ``text``."""
    found = parse_marker(text)
    return text if found is None else f"(redacted on {found[1]})"


def redacted(text: str) -> str:
    """The marker as mrkdwn if ``text`` is one, else "" (for templates that quote text)."""
    return shown(text) if parse_marker(text) else ""
