"""Which texts of an exported decision are an ADR file's, unchanged since it was imported
(``AdrRecord.as_read`` and the ``as_read`` of its people, stances and review answers): the
writer writes those as they were read, and every other text as typed in Slack, with raw HTML
escaped (``adr_files/raw_html.py``).

A decision keeps no mark on each text saying where it came from, so the rule is read from its
history (``decision_events``), which records every change made in Slack:

- A decision made in Slack (no ``source_path``): nothing is as read.
- An imported decision: its title, context, options, decision, consequences and success
  criteria each stay as read until an ``edited`` event changes that field or a ``redacted``
  event replaces it; its extra sections until they are redacted.
- Names kept as text (people of the file who match no Slack user) are the file's; the name
  of a Slack user comes from Slack.
- A stance stays as read while its person has no ``stance`` event on the decision (a stance
  set in Slack, even the same one again, is typed there) and it was not redacted.
- A review answer stays as read when it belongs to the round the import made (the
  ``imported`` event's ``review_round``; an import from before that was recorded has none,
  and its answers are escaped) and its person neither answered in Slack
  (``review_outcome``, ``dissent_answer``) nor had their stance (and so the concern the
  review asked about) redacted.

When in doubt a text is escaped: that is safe, and reads back the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Connection, select

from storage.models import JsonObject
from storage.redaction import FIELDS, REDACTED_EVENT, STANCE
from storage.tables import EVENTS

# what the history calls a decision's texts -> what AdrRecord.as_read calls them
_TEXTS = {
    "title": "title",
    "context": "context",
    "options": "options",
    "decision": "decision",
    "consequences": "consequences",
    "success_criteria": "success_criteria",
    "extra_sections": "extra",
}
_KINDS = ("imported", "edited", REDACTED_EVENT, "stance", "review_outcome", "dissent_answer")


@dataclass
class AsRead:
    """One decision's texts that are still an imported file's."""

    imported: bool = True
    texts: set[str] = field(default_factory=lambda: set(_TEXTS.values()))
    review_round: int | None = None  # the round the import made, if any
    stance_changed: set[str] = field(default_factory=set)  # users whose stance is Slack's
    answered: set[str] = field(default_factory=set)  # users whose review answer is Slack's

    def stance(self, user_id: str) -> bool:
        return self.imported and user_id not in self.stance_changed

    def answer(self, review_round: int, user_id: str) -> bool:
        fresh = user_id not in self.answered and user_id not in self.stance_changed
        return self.imported and self.review_round == review_round and fresh


TYPED = AsRead(imported=False, texts=set())  # a decision made in Slack: every text typed there


class Exported(Protocol):
    """A decision row being exported: its id, and the file it was imported from (None: made in
    Slack)."""

    id: int
    source_path: str | None


def as_read(conn: Connection, rows: Sequence[Exported]) -> dict[int, AsRead]:
    """decision id -> what is still as read, for the imported decisions of ``rows`` (each
    with ``id`` and ``source_path``); one query for the page."""
    imported = [r.id for r in rows if r.source_path is not None]
    if not imported:
        return {}
    found = {decision_id: AsRead() for decision_id in imported}
    for decision_id, kind, actor, detail in conn.execute(
        select(EVENTS.c.decision_id, EVENTS.c.kind, EVENTS.c.actor_id, EVENTS.c.detail)
        .where(EVENTS.c.decision_id.in_(imported), EVENTS.c.kind.in_(_KINDS))
        .order_by(EVENTS.c.id)
    ).all():
        _apply(found[decision_id], kind, actor, _detail(detail))
    return found


def _apply(state: AsRead, kind: str, actor: str, detail: JsonObject) -> None:
    if kind == "imported":
        review_round = detail.get("review_round")
        state.review_round = review_round if isinstance(review_round, int) else None
    elif kind == "edited":
        changes = detail.get("changes")
        state.texts -= {_TEXTS[name] for name in changes or () if name in _TEXTS}
    elif kind == REDACTED_EVENT and detail.get("field") == STANCE:
        state.stance_changed.add(str(detail.get("person")))
    elif kind == REDACTED_EVENT:
        state.texts.discard(_TEXTS.get(FIELDS.get(str(detail.get("field")), ""), ""))
    elif kind == "stance":
        state.stance_changed.add(actor)
    else:  # an answer given in Slack
        state.answered.add(actor)


def _detail(text: str | None) -> JsonObject:
    try:
        detail = json.loads(text or "{}")
    except ValueError:
        return {}
    return detail if isinstance(detail, dict) else {}


__all__ = ["TYPED", "AsRead", "as_read"]
