"""What an ADR file says, independent of its format and of the database.

The parser (``parse.py``) turns a file into an ``AdrRecord``; the importer
(``storage/adr_import.py``) turns a record into a decision; the exporter reads decisions into
records and the writer (``write.py``) renders them as MADR or Nygard files.

``as_read`` says which texts are a file's, unchanged since it was read: the writer writes
those as they were, and escapes every other text as typed in Slack (``raw_html.py``). The
parser marks everything it reads; a record built otherwise has nothing marked. It is how a
text is written, not what it says, so records compare equal whatever it holds.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

# A person as written in a file: "Ana Lima", "ana@example.com", "Ana Lima (@U0123ABC)" or
# "@U0123ABC". Exported files always carry the Slack id, so a round trip is exact.
_USER_ID = re.compile(r"@([UW][A-Z0-9]{2,31})\b")


@dataclass(frozen=True)
class PersonRef:
    text: str  # as written (for names that match nobody: kept and shown as text)
    user_id: str | None = None  # a Slack user id, when the text carries one or a match found it
    as_read: bool = field(default=False, compare=False)  # the text is a file's, unchanged

    @classmethod
    def parse(cls, text: str) -> PersonRef:
        text = text.strip()
        match = _USER_ID.search(text)
        return cls(text=text, user_id=match.group(1) if match else None)


@dataclass(frozen=True)
class LinkRef:
    """A link to another record, as a status line or a "Related" line writes it.

    kind: supersedes | superseded_by | amends | amended_by | relates
    target: the file name linked to ("0013-use-kafka.md"), or "" when only a number is given
    number: the number of the record linked to, when the link text or file name says it
    """

    kind: str
    target: str = ""
    number: int | None = None


@dataclass(frozen=True)
class Original:
    """An imported file as read: its exact text, its name, and ``baseline``, the sha256 of
    what the house-style writer gave for its record right after the import (in the file's
    format). While the house style still gives that, nothing the file shows has changed in
    Slack, and the file is written back as it was (``write.write_file``)."""

    text: str
    file_name: str
    baseline: str | None = None


@dataclass
class StanceRecord:
    kind: str  # storage.models.StanceKind value
    person: PersonRef
    concern: str = ""
    change_my_mind: str = ""
    committed: bool = False
    reason: str = ""
    as_read: bool = field(default=False, compare=False)  # its texts are a file's, unchanged


@dataclass
class AskRecord:
    """One person's answer to "did this decision work?"."""

    person: PersonRef
    role: str  # "owner" or "dissenter"
    outcome: str | None = None  # storage.models.Outcome value
    what_happened: str = ""
    evidence: str = ""
    learned: str = ""
    concern: str = ""  # a dissenter's concern, as asked
    dissent_answer: str | None = None  # storage.models.DissentAnswer value
    as_read: bool = field(default=False, compare=False)  # its texts are a file's, unchanged


# How a file writes a decision's door (``storage.models.Door`` values -> words in the file).
DOOR_LABELS = {"one_way": "one-way", "two_way": "two-way"}


@dataclass(frozen=True)
class ForecastRecord:
    """A scored forecast, as an export writes it: nobody's (an export never says who made a
    forecast, and never carries one not scored yet)."""

    probability: int  # percent, 1..99
    outcome: str  # storage.models.Outcome value: what the decision's first review said


@dataclass
class ReviewRecord:
    due: dt.date | None = None
    outcome: str | None = None  # storage.models.Outcome value
    asks: list[AskRecord] = field(default_factory=list)


@dataclass
class AdrRecord:
    title: str
    number: int | None = None
    date: dt.date | None = None
    status: str = "proposed"  # storage.models.DecisionStatus value
    context: str = ""
    options: str = ""
    decision: str = ""
    consequences: str = ""
    success_criteria: str = ""
    deciders: list[PersonRef] = field(default_factory=list)
    consulted: list[PersonRef] = field(default_factory=list)
    informed: list[PersonRef] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    review_date: dt.date | None = None
    links: list[LinkRef] = field(default_factory=list)
    # sections the bot has no field for, in file order: (heading as written, body)
    extra: list[tuple[str, str]] = field(default_factory=list)
    stances: list[StanceRecord] = field(default_factory=list)
    review: ReviewRecord | None = None
    door: str | None = None  # storage.models.Door value (None: not said)
    forecasts: list[ForecastRecord] = field(default_factory=list)  # scored ones only
    format: str = ""  # nygard | madr2 | madr3 | madr4 (what the parser recognised)
    # which of TEXTS are a file's, unchanged since it was read (written as read)
    as_read: frozenset[str] = field(default=frozenset(), compare=False)
    # the file it was imported from, as read (None: made in Slack, or imported before it was kept)
    original: Original | None = field(default=None, compare=False)


# the record's own texts, as ``AdrRecord.as_read`` names them ("extra": every extra section)
TEXTS = ("title", "context", "options", "decision", "consequences", "success_criteria", "extra")


class NotADecisionRecord(ValueError):
    """The file is not a decision record, or is malformed; the message says why."""
