"""What the help tests share: a help text's words as a person reads them, and what each
command's help said before it was cut short (all of which `help all` must still say)."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.support.blocks import text_objects

HELP_WORDS_MAX = 120

# mrkdwn markers and the bullets and separators between commands are not words.
_MARKERS = re.compile(r"[*_`~•·—→…|]")


def words_read(mrkdwn: str) -> int:
    """The words a person reads in ``mrkdwn``: entities decoded, markers aside, and a token
    counts only if it has a letter or digit (``ADR-7``, ``2w``, ``@ana`` are words)."""
    text = _MARKERS.sub(" ", html.unescape(mrkdwn))
    return sum(1 for token in text.split() if re.search(r"\w", token))


def shown(answer: dict[str, Any] | list[dict[str, Any]]) -> str:
    """The text a person reads in a message (``{"text", "blocks"}``) or a list of blocks: the
    blocks' text objects; a message's ``text`` only when it has no blocks (otherwise it is the
    notification's fallback)."""
    if isinstance(answer, dict):
        if not answer.get("blocks"):
            return str(answer["text"])
        answer = answer["blocks"]
    return "\n".join(str(obj["text"]) for obj in text_objects(answer))


# Every command (in backticks, as shown) and every rule the old `/adr help` gave.
OLD_ADR_HELP = (
    *(
        f"`{c}`"
        for c in (
            "/adr",
            "/adr new [title]",
            "/adr list [status] [#tag]",
            "/adr show 7",
            "/adr search event sourcing",
            "/adr accept 7",
            "/adr reject 7",
            "/adr deprecate 7",
            "/adr accept 7 --override &lt;why&gt;",
            "/adr supersede 7",
            "/adr edit 7",
            "/adr review 7",
            "/adr remind 7 2w",
            "10d",
            "3m",
            "/adr settings",
            "timezone Europe/Berlin",
            "hour 10",
            "nudge 3",
            "/adr settings managers add @someone",
            "/adr redact 7 context",
            "/adr redact 7 stance @ana",
            "/adr dm off",
            "/adr dm on",
            "/adr dm",
            "/adr digest",
            "/adr digest preview",
            "/adr digest off",
            "/adr digest on",
            "/adr export",
            "/adr export 7",
            "/adr export nygard",
            "/adr help",
        )
    ),
    "More actions → Log as decision",
    "author and deciders",
    "a decider when the block was placed",
    "while a block stands, only deciders can change who decides",
    "workspace admins",
    "any channel member",
    "Guests see a decision only in the channel it was posted in",
)

OLD_ESTIMATE_HELP = (
    *(
        f"`{c}`"
        for c in (
            "/estimate API cache",
            "/estimate Checkout redesign: API; UI; data migration",
            "… in hours",
            "in days",
            "in weeks",
            "in points",
            "… @ana @bo",
            "… by Friday 15:00",
            "by tomorrow 9:00",
            "by 2026-12-04 15:00",
            "… phase requirements",
            "/estimate ADR-12 Migration to Postgres",
            "/estimate list",
            "/estimate show E-3",
            "/estimate reveal E-3",
            "/estimate cancel E-3",
            "/estimate actual E-3 7d",
            "/estimate calibration",
            "/estimate calibration @ana",
            "/estimate help",
        )
    ),
    "the facilitator's buttons",
    "More actions → Estimate this",
)

OLD_PARKING_HELP = (
    *(
        f"`{c}`"
        for c in (
            "/parkinglot Export the report to CSV for finance",
            "@ana",
            "/parkinglot",
            "/parkinglot ADR-12 …",
            "/parkinglot E-3 …",
            "/parkinglot list",
            "list accepted|deferred|declined|done|withdrawn|all",
            "by rice|by age",
            "/parkinglot show P-12",
            "/parkinglot watch on|off",
            "/parkinglot help",
        )
    ),
    "*Park it*",
    "More actions → Add to parking lot",
    "RICE = reach × impact × confidence ÷ effort (person-weeks)",
)
