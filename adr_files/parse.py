"""Read architecture decision record files into ``AdrRecord``s (pure: no database, no Slack).

Teams adopt the bot only if the records they already keep come along, so this reads what
adr-tools (Nygard), MADR 2, MADR 3 and MADR 4 write, and everything ``write.py`` writes. It
reads by meaning, not by template, so hand-edited and hybrid files work too:

1. YAML front matter (MADR 3/4): ``status``, ``date``, ``deciders`` / ``decision-makers``,
   ``consulted``, ``informed``, and the bot's own ``tags``, ``review-date``, ``door``
   (one-way / two-way) and ``forecasts`` (scored forecasts: a list of ``{probability: 75,
   outcome: worked}``, or of ``75% worked`` texts; as a bullet or Nygard fact, ``75% worked,
   40% didn't work``; a percent from 1 to 99 and worked, partly or didn't work each, else the
   whole value is kept as an extra section).
2. The title is the first level-1 heading. ``# 12. Title`` (adr-tools) or ``# ADR-12: Title``
   gives the number; a bare ``# 2024: Title`` only when the file name's leading digits
   (``0012-….md``) are the same number or absent (``# 2024: consolidate on AWS`` in
   ``0002-….md`` is ADR-2's title); otherwise the file name's digits do, unless they are a
   date (``2024-03-01-….md``: no number, the import gives the next free one).
3. Lines before the first section: ``Date: 2024-03-01`` (adr-tools), ``* Status: accepted``
   bullets (MADR 2), ``Technical Story: …``.
4. Sections (level-2 headings, and any later level-1 heading) are mapped by name: Status,
   Context (and Problem Statement), Considered Options, Decision (Outcome), Consequences,
   Success Criteria, Links, Stances, Review. Inside Decision (Outcome), ``### Consequences``
   and ``### Positive/Negative Consequences`` become the consequences (keeping those two
   sub-headings in the text), ``### Confirmation`` / ``### Validation`` become extra sections,
   other sub-headings stay in the text they follow. Headings inside code fences are text, and
   so is a line escaped with a backslash (``\\## Phase 1``, ``\\```py``): the backslash is
   taken off (``markdown.unescape``), as ``write.py`` put it on.

Nothing is dropped: a section the record has no field for, a second section of a kind already
read, a Links / Stances / Review section not in the syntax below, an unknown front matter
key, or free text before the first section (heading "Preamble") goes to ``record.extra`` as
(heading, body), in file order. A status that is not one of the five words becomes
"proposed" (or the known word it starts with), and its text is kept as the extra section
"Original status"; a date that cannot be read is kept as an extra section under its key.

Links (``LinkRef``): a line ``Superseded by [13. Use Kafka](0013-use-kafka.md)`` (also
Supersedes, Amends, Amended by, Relates to / Related to; a bare ``ADR-0013`` or ``13`` instead
of a Markdown link) in the Status section or, as a bullet, in a Links section made only of
such lines; and a MADR status ``superseded by [ADR-0013](0013-….md)``. ``target`` is the link
target exactly as written (relative to the linking file, possibly a file that does not exist);
``number`` comes from the target's leading digits, else from the link text.

The syntax of the bot's own sections (Stances, Review) is documented in ``write.py``; the
labels both modules use are in ``vocabulary.py``.

Texts come back as typed: once the record is read whole, ``&#60;`` and ``&#38;`` outside code
(how the writer escapes raw HTML typed in Slack, ``raw_html.py``) become ``<`` and ``&`` again
in the title, the texts, extra sections, stance and review fields and names; everything read
is marked ``as_read`` (a file's text, to be written back as it was).

Here: one file (``parse_text``) and a folder (``read_tree``). Beside this module: the words
(``vocabulary.py``), the front matter and sections (``structure.py``), values such as dates,
people and links (``values.py``), the bot's own sections (``bot_sections.py``), raw HTML
(``raw_html.py``), and which files of a folder are read and how (``folder.py``: links out of
it are not followed, a file over 1 MiB is not read).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from adr_files import folder, raw_html
from adr_files.bot_sections import parse_review, parse_stances
from adr_files.markdown import unescape
from adr_files.raw_html import ITEM, LINE
from adr_files.records import (
    DOOR_LABELS,
    TEXTS,
    AdrRecord,
    AskRecord,
    ForecastRecord,
    LinkRef,
    NotADecisionRecord,
    PersonRef,
    StanceRecord,
)
from adr_files.structure import _front_matter, _join, _key, _Section, _split
from adr_files.values import (
    _date,
    _leading_number,
    _link_line,
    _link_list,
    _link_ref,
    _people,
    _plain,
    _tags,
)
from adr_files.vocabulary import ASK_FIELDS, OUTCOME_LABELS, STANCE_FIELDS, STATUSES

INDEX_OR_TEMPLATE = "not a decision record (index or template)"  # Problem.reason: skip, not fail
_INDEX_STEMS = {"readme", "index", "template", "adr-template"}


_NUMBERED_TITLE = re.compile(r"^(?:ADR[-_ ]?(\d{1,9})\s*[.:-]?|(\d{1,9})([.:]))\s+(\S.*)$", re.I)


_SUPERSEDED_BY = re.compile(r"^superseded\s+by\s+(.+)$", re.I)


_META = {
    "status": "status",
    "date": "date",
    "deciders": "deciders",
    "decision makers": "deciders",
    "consulted": "consulted",
    "informed": "informed",
    "tags": "tags",
    "review date": "review_date",
    "door": "door",
    "forecasts": "forecasts",
}
_PLAIN_KEYS = set(_META) | {"technical story"}  # keys read from lines that are not bullets
_META_LINE = re.compile(
    r"^(?P<bullet>[-*+]\s+)?(?P<key>[A-Za-z][A-Za-z _-]{0,40}?)\s*:(?:\s+(?P<value>.*))?$"
)
_FIELDS = {
    "context": "context",
    "context and problem statement": "context",
    "problem statement": "context",
    "considered options": "options",
    "options": "options",
    "consequences": "consequences",
    "success criteria": "success_criteria",
}
_DECISION = ("decision", "decision outcome")
_SPLIT_CONSEQUENCES = ("positive consequences", "negative consequences")


_DOORS = {_key(label): door for door, label in DOOR_LABELS.items()} | {
    _key(door): door for door in DOOR_LABELS
}
_OUTCOMES = {_key(label): outcome for outcome, label in OUTCOME_LABELS.items()} | {
    _key(outcome): outcome for outcome in OUTCOME_LABELS
}
_FORECAST_TEXT = re.compile(r"^(\d{1,2})\s*%?\s+(\S.*)$")


def _door(text: str) -> str | None:
    """``one-way`` / ``two-way`` (``one way door`` too) as a Door value; None: not one."""
    words = _key(text)
    words = words[: -len(" door")] if words.endswith(" door") else words
    return _DOORS.get(words)


def _forecast(probability: object, outcome: object) -> ForecastRecord | None:
    """One scored forecast: a percent from 1 to 99 and an outcome word; None: not one."""
    if isinstance(probability, bool):
        return None
    if isinstance(probability, str):
        digits = probability.strip().removesuffix("%").strip()
        probability = int(digits) if digits.isdigit() else None
    word = _OUTCOMES.get(_key(_plain(outcome).replace("\u2019", "'")))
    if not isinstance(probability, int) or not 1 <= probability <= 99 or word is None:
        return None
    return ForecastRecord(probability=probability, outcome=word)


def _forecasts(value: object) -> list[ForecastRecord] | None:
    """Scored forecasts: a YAML list of ``{probability: 75, outcome: worked}`` mappings or of
    ``75% worked`` texts, or those texts comma-separated. None when any is not readable (the
    caller keeps the value as an extra section: nothing is dropped)."""
    if value is None or value == "" or value == []:
        return []
    items = value if isinstance(value, list) else _plain(value).split(",")
    forecasts: list[ForecastRecord] = []
    for item in items:
        if isinstance(item, dict):
            forecast = _forecast(item.get("probability"), item.get("outcome"))
            if set(item) - {"probability", "outcome"}:
                forecast = None
        else:
            match = _FORECAST_TEXT.match(_plain(item))
            forecast = _forecast(int(match.group(1)), match.group(2)) if match else None
        if forecast is None:
            return None
        forecasts.append(forecast)
    return forecasts


class _Reader:
    """Fills one record from the parts of a file, in file order."""

    def __init__(self, record: AdrRecord) -> None:
        self.record = record
        self.given: set[str] = set()  # metadata already read (a second one goes to extra)
        self.preamble_keys: set[str] = set()
        self.status_links: list[LinkRef] = []

    def meta(self, key: str, value: object) -> None:
        name = _META.get(_key(key))
        text = _plain(value)
        if name is None or name in self.given:
            self.record.extra.append((key.strip(), text))
            return
        self.given.add(name)
        if name == "status":
            self.status_value(text)
        elif name in ("date", "review_date"):
            setattr(self.record, name, _date(value))
            if getattr(self.record, name) is None and text:
                self.record.extra.append((key.strip(), text))
        elif name == "tags":
            self.record.tags = _tags(value)
        elif name == "door":
            self.record.door = _door(text)
            if self.record.door is None and text:
                self.record.extra.append((key.strip(), text))
        elif name == "forecasts":
            forecasts = _forecasts(value)
            if forecasts is None:
                self.record.extra.append((key.strip(), text))
            else:
                self.record.forecasts = forecasts
        else:
            setattr(self.record, name, _people(value))

    def preamble(self, lines: list[str]) -> None:
        free: list[str] = []
        for line in lines:
            match = _META_LINE.match(line.strip())
            if match and (match["bullet"] or _key(match["key"]) in _PLAIN_KEYS):
                self.preamble_keys.add(_key(match["key"]))
                self.meta(match["key"], match["value"] or "")
            else:
                free.append(line)
        if "\n".join(free).strip():
            self.record.extra.append(("Preamble", "\n".join(free).strip()))

    def status_value(self, text: str) -> None:
        """A MADR status: a word, or ``superseded by [ADR-0013](0013-….md)``."""
        superseded = _SUPERSEDED_BY.match(text)
        link = _link_ref("superseded_by", superseded.group(1)) if superseded else None
        if link is None:
            self.status_text(text)
        else:
            self.record.status = "superseded"
            self.status_links.append(link)

    def status_text(self, text: str) -> None:
        word = _key(text).rstrip(".")
        if word in STATUSES:
            self.record.status = word
            return
        first = re.split(r"\W", word, maxsplit=1)[0]
        self.record.status = first if first in STATUSES else "proposed"
        self.record.extra.append(("Original status", text))

    def status_section(self, body: str) -> None:
        """adr-tools: the status word, then link lines (a superseded record has only those)."""
        self.given.add("status")
        words: list[str] = []
        links: list[LinkRef] = []
        for line in body.split("\n"):
            link = _link_line(line)
            if link is not None:
                links.append(link)
            elif line.strip():
                words.append(line.strip())
        self.record.links.extend(links)
        if words:
            self.status_text("\n".join(words))
        elif any(link.kind == "superseded_by" for link in links):
            self.record.status = "superseded"

    def section(self, section: _Section) -> None:
        record, name, body = self.record, section.name, section.body
        if name == "status" and "status" not in self.given:
            self.status_section(body)
        elif name in _DECISION and not record.decision:
            self.decision_section(section.lines)
        elif name in _FIELDS and not getattr(record, _FIELDS[name]):
            setattr(record, _FIELDS[name], body)
        elif name == "links" and (links := _link_list(body)) is not None:
            record.links.extend(links)
        elif name == "stances" and not record.stances and (stances := parse_stances(body)):
            record.stances = stances
        elif name == "review" and record.review is None and (review := parse_review(body)):
            record.review = review
        else:
            record.extra.append((section.heading, body))

    def decision_section(self, lines: list[str]) -> None:
        """Decision (Outcome): the text, then ### Consequences and ### Confirmation parts."""
        before, subsections = _split(lines, lambda level: level == 3)
        decision = [unescape("\n".join(before)).strip()]
        consequences: list[str] = []
        extras: list[tuple[str, list[str]]] = []
        target = decision  # where a sub-heading the record has no field for goes
        for sub in subsections:
            if sub.name == "consequences":
                target = consequences
                target.append(sub.body)
            elif sub.name in _SPLIT_CONSEQUENCES:
                target = consequences
                target.append(_join(f"### {sub.heading}", sub.body))
            elif sub.name in ("confirmation", "validation"):
                target = [sub.body]
                extras.append((sub.heading, target))
            else:
                target.append(_join(f"### {sub.heading}", sub.body))
        self.record.decision = _join(*decision)
        if _join(*consequences) and self.record.consequences:
            self.record.extra.append(("Consequences", _join(*consequences)))
        elif _join(*consequences):
            self.record.consequences = _join(*consequences)
        self.record.extra.extend((heading, _join(*parts)) for heading, parts in extras)

    def finish(self) -> AdrRecord:
        for link in self.status_links:  # write.py repeats the status link under Links
            if link not in self.record.links:
                self.record.links.append(link)
        return self.record


def parse_text(text: str, *, file_name: str) -> AdrRecord:
    """One decision record file's text as a record.

    Raises ``NotADecisionRecord`` with a short reason ("empty file", "no title heading",
    "no Decision section", "front matter is not valid YAML: …") and nothing else.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise NotADecisionRecord("empty file")
    front, lines = _front_matter(text.split("\n"))
    before, sections = _split(lines, lambda level: level <= 2)
    title = next((section for section in sections if section.level == 1), None)
    if title is None or not title.heading:
        raise NotADecisionRecord("no title heading")
    sections = [section for section in sections if section is not title]
    if not any(section.name in _DECISION for section in sections):
        raise NotADecisionRecord("no Decision section")
    number, title_text = _number_and_title(title.heading, file_name)
    reader = _Reader(AdrRecord(title=title_text, number=number))
    for key, value in (front or {}).items():
        reader.meta(str(key), value)
    reader.preamble(before + title.lines)
    for section in sections:
        reader.section(section)
    record = _as_typed(reader.finish())
    record.format = _format(front, reader.preamble_keys, lines)
    return record


def _as_typed(record: AdrRecord) -> AdrRecord:
    """``record`` with what the writer escaped (``raw_html``) unescaped, each text read the
    way it is written (a title and names as one line, stance and review fields as list
    items), and every text marked as read."""
    record.title = raw_html.unescape(record.title, where=LINE)
    for name in ("context", "options", "decision", "consequences", "success_criteria"):
        setattr(record, name, raw_html.unescape(getattr(record, name)))
    record.extra = [(heading, raw_html.unescape(body)) for heading, body in record.extra]
    for role in ("deciders", "consulted", "informed"):
        setattr(record, role, [_person_as_typed(person) for person in getattr(record, role)])
    answers = record.review.asks if record.review is not None else []
    items: list[tuple[StanceRecord | AskRecord, dict[str, str]]] = [
        *((stance, STANCE_FIELDS) for stance in record.stances),
        *((ask, ASK_FIELDS) for ask in answers),
    ]
    for item, names in items:
        item.person = _person_as_typed(item.person)
        for name in names:
            setattr(item, name, raw_html.unescape(getattr(item, name), where=ITEM))
        item.as_read = True
    record.as_read = frozenset(TEXTS)
    return record


def _person_as_typed(person: PersonRef) -> PersonRef:
    return replace(PersonRef.parse(raw_html.unescape(person.text, where=LINE)), as_read=True)


def title_number(heading: str) -> tuple[int, str] | None:
    """(number, the rest) when a title heading starts with a number: ``12. Use Kafka``,
    ``ADR-12: Use Kafka``, ``2024: consolidate``."""
    match = _NUMBERED_TITLE.match(heading)
    return (int(match.group(1) or match.group(2)), match.group(4).strip()) if match else None


def _number_and_title(heading: str, file_name: str) -> tuple[int | None, str]:
    """The record's number and title. A heading's ``12.`` (adr-tools) or ``ADR-12`` says the
    number; a bare ``2024:`` does only when the file name has no number or the same one (in
    ``0002-….md``, ``# 2024: consolidate on AWS`` is ADR-2's title). Otherwise the file name's
    leading digits give the number; a date there (``2024-03-01-….md``) gives none."""
    in_name = _leading_number(PurePosixPath(file_name).name)
    match = _NUMBERED_TITLE.match(heading)
    if match is not None:
        number, rest = int(match.group(1) or match.group(2)), match.group(4).strip()
        bare = match.group(3) == ":"
        if not bare or in_name in (None, number):
            return number, rest
    return in_name, heading


def _format(front: dict[object, object] | None, preamble_keys: set[str], lines: list[str]) -> str:
    """Which template the file follows: nygard | madr2 | madr3 | madr4."""
    names = {section.name for section in _split(lines, lambda level: True)[1]}
    if front is not None:
        keys = {_key(str(key)) for key in front}  # MADR 3 says deciders, MADR 4 decision-makers
        return "madr3" if "deciders" in keys and "decision makers" not in keys else "madr4"
    if "status" in names:
        return "nygard"
    if "status" in preamble_keys or names & set(_SPLIT_CONSEQUENCES):
        return "madr2"
    if "validation" in names and "confirmation" not in names:
        return "madr3"
    if names & {"context and problem statement", "decision outcome", "considered options"}:
        return "madr4"
    return "nygard"


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to the folder read, with "/"
    sha256: str  # hex digest of the file's bytes
    record: AdrRecord
    text: str = ""  # the file's text, exactly as read


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str
    warning: bool = False  # not an error: left alone on purpose (a link out of the folder)


def read_tree(root: Path) -> tuple[list[SourceFile], list[Problem]]:
    """Every ``*.md`` / ``*.markdown`` file under ``root``, sorted by path: the records, and
    the files that are not records with the reason. One bad file never stops the others.
    Symbolic links that leave the folder, and links to folders, are not followed: each is a
    ``warning`` problem; a file over 1 MiB is a problem, not read (``folder.py``)."""
    found, links = folder.markdown_files(root)
    problems = [Problem(relative, why, warning=True) for relative, why in links]
    files: list[SourceFile] = []
    for relative, path in found:
        result = _read_file(path, relative)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            files.append(result)
    return files, sorted(problems, key=lambda problem: problem.path)


def _read_file(path: Path, relative: str) -> SourceFile | Problem:
    name = path.name.lower()
    if PurePosixPath(name).stem in _INDEX_STEMS or name.startswith("template"):
        return Problem(relative, INDEX_OR_TEMPLATE)
    try:
        data = folder.read_file(path)
    except folder.TooLarge as exc:
        return Problem(relative, str(exc))
    except OSError as exc:
        return Problem(relative, f"cannot be read: {exc.strerror or exc}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Problem(relative, "not UTF-8 text")
    try:
        record = parse_text(text, file_name=path.name)
    except NotADecisionRecord as exc:
        return Problem(relative, str(exc))
    return SourceFile(relative, hashlib.sha256(data).hexdigest(), record, text)
