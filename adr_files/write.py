"""Write decision records as Markdown files: MADR 4 (default) or adr-tools (Nygard), plus the
``README.md`` index that log4brains and Backstage read beside ``NNNN-title.md`` files.

Teams trust the bot only if its log can go back into their repository as ordinary files, so
the output follows the templates, and ``parse.py`` reads it back to the same record. Writing
is deterministic: the same record and names give the same bytes (no clock, no set order).

MADR: front matter (``status``, ``date``, ``decision-makers``, ``consulted``, ``informed``,
and the bot's ``tags``, ``review-date``, ``door`` and ``forecasts``; empty ones left out),
``# Title``, Context and
Problem Statement, Considered Options, Decision Outcome with ``### Consequences``, then the
bot's sections. A superseded record's status is ``superseded by [ADR-0013](0013-….md)``, and
every link is also a line of a ``## Links`` section, so it points at the other file.

Nygard: exactly the adr-tools layout (``# 12. Title``, ``Date: 2024-03-01``, ``## Status``
with the status word and link lines such as ``Superseded by [ADR-0013](0013-….md)``, Context,
Decision, Consequences), so ``adr list`` and ``adr link`` work on it. People, tags and the
review date are bullets under the date (``- Deciders: Ana Lima (@U0123ABC), Bo``: names are
comma-separated there); Considered Options and the bot's sections follow Consequences.

Decision health (issue 25): the door is ``door: one-way`` or ``door: two-way``; the scored
forecasts are ``forecasts:``, a list of ``{probability: 75, outcome: worked}`` (a percent, and
the first review's outcome: worked, partly or didn't work), by probability then outcome, and
never who made them. A forecast not scored yet is never written: a record has none. Nygard
writes them as bullets under the date like the other facts (``- Door: one-way``,
``- Forecasts: 40% didn't work, 75% worked, 75% partly``).

The bot's sections, in this order: Success Criteria, the extra sections as read, (MADR) Links,
Stances, Review. Stances and Review are lists of ``- Label: value`` items, each with optional
``  - Field: text`` fields; a field's further lines are indented four spaces, so multi-line
text (even text with headings or lists in it) stays inside its field::

    ## Stances

    - Agree: Ana Lima (@U0123ABC)
    - Disagree & commit: Bo (@U0456DEF)
      - Concern: Kafka is new to us,
        and the on-call rota is thin.
      - Would change my mind: a load test at twice today's peak
    - Block: Cy (@U0789GHI)
      - Reason: no budget for the cluster
      - Committed: yes

    ## Review

    - Due: 2024-09-01
    - Outcome: partly
    - Owner: Ana Lima (@U0123ABC)
      - Outcome: worked
      - What happened: …
      - Evidence: …
      - Learned: …
    - Dissenter: Bo (@U0456DEF)
      - Concern: …
      - Concern came true: yes | no | too early to tell

Stance labels: Agree, Disagree & commit (read as well: Disagree and commit, as files written
before said), Block; fields Concern, Would change my mind, Reason, and Committed (yes/no,
written only when it differs from the kind: disagree-and-commit is committed, the others are
not). Review items: Due, Outcome (worked / partly / didn't
work), then Owner or Dissenter per person asked, with fields Concern, Concern came true,
Outcome, What happened, Evidence, Learned. Empty values are left out.

Text: a line that would read as a section heading (``## Phase 1``, or ``### …`` in Decision and
MADR's Consequences, which the reader splits on ``###``) or open a code fence that never closes gets
Markdown's backslash escape (``markdown.escape``), so pasted Markdown stays in its field. Raw
HTML typed in Slack is not run by a doc site: outside code, ``<`` and a character reference's
``&`` are written ``&#60;`` and ``&#38;`` (``raw_html.escape``) in titles, texts, extra
sections, stance and review fields and names, except those ``record.as_read`` marks as a
file's, unchanged: those are written as read. A
MADR title that starts like a number (``2024: consolidate``) is written after the record's
own (``# 2. 2024: consolidate``), so it reads back as a title, not as ADR-2024.

An imported record (``record.original``: its file as read and the baseline, the sha256 of
this writer's file for it right after the import) is written as read by ``write_file`` while
the house style still gives the baseline in the file's format; else in house style with the
file's front-matter keys in order (unknown ones too), its link lines' text and its trailing
whitespace.

People: ``PersonRef.text`` as is, plus `` (@U…)`` when it has a user id its text lacks.
Link targets: ``names[number]`` when the record linked to is exported, else the link's own
target, else a bare ``ADR-0013``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date

import yaml

from adr_files import raw_html
from adr_files.markdown import escape
from adr_files.original import (
    digest,
    file_front_matter,
    foreign_keys,
    in_file_order,
    kept,
    link_labels,
    trailing,
)
from adr_files.parse import title_number
from adr_files.raw_html import ITEM, LINE
from adr_files.records import (
    DOOR_LABELS,
    AdrRecord,
    AskRecord,
    ForecastRecord,
    LinkRef,
    PersonRef,
    ReviewRecord,
    StanceRecord,
)
from adr_files.vocabulary import (
    ASK_FIELDS,
    DISSENT_LABELS,
    LINK_LABELS,
    OUTCOME_LABELS,
    STANCE_FIELDS,
    STANCE_LABELS,
)

_SLUG_MAX = 60
FORMATS = ("madr", "nygard")


def file_name(number: int, title: str) -> str:
    """``0012-use-postgres-for-storage.md``, as adr-tools and MADR name their files."""
    return f"{number:04d}-{_slug(title)}.md"


def _slug(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    if len(slug) > _SLUG_MAX:  # cut at a word's end when there is one
        cut = slug[: _SLUG_MAX + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else slug[:_SLUG_MAX]
    return slug.strip("-") or "decision"


def write_record(record: AdrRecord, *, fmt: str = "madr", names: Mapping[int, str]) -> str:
    """The file for ``record`` in house style; ``names`` maps record numbers to file names
    (link targets). An imported record (``record.original``) written in its file's format
    keeps what it can of the file: its front-matter keys in order (unknown ones too), its
    link lines' text and its trailing whitespace."""
    if fmt == "madr":
        blocks = _madr(record, names)
    elif fmt == "nygard":
        blocks = _nygard(record, names)
    else:
        raise ValueError(f"unknown ADR file format {fmt!r}; use one of {', '.join(FORMATS)}")
    text = "\n\n".join(blocks) + "\n"
    original = kept(record, fmt)
    if original is not None:  # its file's trailing blank lines and spaces
        text = text.rstrip("\n") + trailing(original.text)
    return text


def write_file(record: AdrRecord, *, fmt: str = "madr", names: Mapping[int, str]) -> str:
    """The file for ``record``: an imported file as read, byte for byte, while the house-style
    rendering of its record is still the one made right after the import (nothing the file
    shows has changed in Slack) and ``fmt`` is its format; else ``write_record``."""
    text = write_record(record, fmt=fmt, names=names)
    original = kept(record, fmt)
    if original is not None and original.baseline == digest(text):
        return original.text
    return text


def write_index(records: Sequence[AdrRecord], *, names: Mapping[int, str]) -> str:
    """``README.md``: a table of number, linked title, status and date, by number."""
    lines = [
        "# Architecture Decision Records",
        "",
        "| Number | Title | Status | Date |",
        "| --- | --- | --- | --- |",
    ]
    ordered = sorted(records, key=lambda r: (r.number is None, r.number or 0, r.title))
    for record in ordered:
        title = _table_text(_text(" ".join(record.title.split()), "title" in record.as_read, LINE))
        if record.number is not None:
            name = names.get(record.number) or file_name(record.number, record.title)
            title = f"[{title}]({name})"
        number = "" if record.number is None else str(record.number)
        lines.append(f"| {number} | {title} | {record.status} | {_iso(record.date)} |")
    return "\n".join(lines) + "\n"


def _table_text(text: str) -> str:
    text = " ".join(text.split())
    return re.sub(r"([\\|\[\]])", r"\\\1", text)


# -- the two layouts ---------------------------------------------------------------------------


def _madr(record: AdrRecord, names: Mapping[int, str]) -> list[str]:
    labels = link_labels(record)
    title = _title(record)
    if record.number is not None and title_number(_one_line(record.title)) is not None:
        # "12. Retry" as ADR-3's title would read back as ADR-12: say the number first
        title = f"{record.number}. {title}"
    texts = _texts(record)
    # an imported file's own front-matter keys: back in the front matter, not as sections
    foreign, extra = foreign_keys(record, _extra(record))
    blocks = [_front_matter(record, names, labels, foreign), f"# {title}"]
    if record.context:
        blocks += _section("Context and Problem Statement", texts["context"])
    if record.options:
        blocks += _section("Considered Options", texts["options"])
    # the reader splits Decision (Outcome) on ### headings: a ### line in this text is escaped
    blocks += _section("Decision Outcome", texts["decision"], splits=3)
    if record.consequences:
        blocks += _section("Consequences", texts["consequences"], level=3, splits=3)
    blocks += _section("Success Criteria", texts["success_criteria"], optional=True)
    for heading, body in extra:
        blocks += _section(heading, body)
    links = [
        f"- {_label(LINK_LABELS, link.kind)} {_link_ref(link, names, labels)}"
        for link in _links(record)
    ]
    blocks += _section("Links", "\n".join(links), optional=True)
    return blocks + _stances_and_review(record)


def _front_matter(
    record: AdrRecord,
    names: Mapping[int, str],
    labels: Mapping[str, str],
    foreign: Mapping[str, object],
) -> str:
    data: dict[str, object] = {"status": _madr_status(record, names, labels)}
    if record.date:
        data["date"] = record.date
    people = (
        ("decision-makers", record.deciders),
        ("consulted", record.consulted),
        ("informed", record.informed),
    )
    for key, persons in people:
        if persons:
            data[key] = [_person(person) for person in persons]
    if record.tags:
        data["tags"] = list(record.tags)
    if record.review_date:
        data["review-date"] = record.review_date
    if record.door:
        data["door"] = DOOR_LABELS.get(record.door, record.door)
    if record.forecasts:
        data["forecasts"] = [
            {"probability": forecast.probability, "outcome": _outcome_label(forecast.outcome)}
            for forecast in _forecasts(record)
        ]
    original = kept(record, "madr")
    if original is not None:
        data = in_file_order(data, file_front_matter(original.text), foreign)
    dumped = yaml.dump(
        data,
        Dumper=_DUMPER,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=2**31 - 1,
    )
    return f"---\n{dumped}---"


# libyaml's safe dumper writes the same bytes as PyYAML's pure-Python one, five times faster
# (the MADR export's cost is mostly this); PyYAML's wheels ship it, a source build may not.
_DUMPER: type[yaml.SafeDumper | yaml.CSafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _madr_status(record: AdrRecord, names: Mapping[int, str], labels: Mapping[str, str]) -> str:
    replaced_by = next((link for link in _links(record) if link.kind == "superseded_by"), None)
    if record.status == "superseded" and replaced_by is not None:
        return f"superseded by {_link_ref(replaced_by, names, labels)}"
    return record.status


def _nygard(record: AdrRecord, names: Mapping[int, str]) -> list[str]:
    title = _title(record)
    texts = _texts(record)
    blocks = [f"# {record.number}. {title}" if record.number is not None else f"# {title}"]
    if record.date:
        blocks.append(f"Date: {record.date.isoformat()}")
    facts = _nygard_facts(record)
    if facts:
        blocks.append("\n".join(facts))
    blocks += ["## Status", *_nygard_status(record, names, link_labels(record))]
    blocks += _section("Context", texts["context"])
    blocks += _section("Decision", texts["decision"], splits=3)
    blocks += _section("Consequences", texts["consequences"])
    blocks += _section("Considered Options", texts["options"], optional=True)
    blocks += _section("Success Criteria", texts["success_criteria"], optional=True)
    for heading, body in _extra(record):
        blocks += _section(heading, body)
    return blocks + _stances_and_review(record)


def _nygard_facts(record: AdrRecord) -> list[str]:
    """What adr-tools has no place for, as bullets under the date."""
    facts = [
        ("Deciders", ", ".join(_person(person) for person in record.deciders)),
        ("Consulted", ", ".join(_person(person) for person in record.consulted)),
        ("Informed", ", ".join(_person(person) for person in record.informed)),
        ("Tags", ", ".join(record.tags)),
        ("Review date", _iso(record.review_date)),
        ("Door", DOOR_LABELS.get(record.door, record.door) if record.door else ""),
        (
            "Forecasts",
            ", ".join(
                f"{forecast.probability}% {_outcome_label(forecast.outcome)}"
                for forecast in _forecasts(record)
            ),
        ),
    ]
    return [f"- {label}: {value}" for label, value in facts if value]


def _nygard_status(
    record: AdrRecord, names: Mapping[int, str], labels: Mapping[str, str]
) -> list[str]:
    """adr-tools writes a superseded record's status as its "Superseded by" line alone."""
    links = _links(record)
    kinds = {link.kind for link in links}
    replaced = record.status == "superseded" and "superseded_by" in kinds
    words = [] if replaced else [record.status.capitalize()]
    return words + [
        f"{_label(LINK_LABELS, link.kind)} {_link_ref(link, names, labels)}" for link in links
    ]


# -- parts -------------------------------------------------------------------------------------


_OUTCOME_ORDER = tuple(OUTCOME_LABELS)


def _forecasts(record: AdrRecord) -> list[ForecastRecord]:
    """The scored forecasts by probability, then outcome (worked, partly, didn't work): an
    order that says nothing about who made which, and the same whatever order they came in."""
    return sorted(
        record.forecasts,
        key=lambda forecast: (
            forecast.probability,
            _OUTCOME_ORDER.index(forecast.outcome)
            if forecast.outcome in _OUTCOME_ORDER
            else len(_OUTCOME_ORDER),
            forecast.outcome,
        ),
    )


def _outcome_label(outcome: str) -> str:
    return OUTCOME_LABELS.get(outcome, outcome)


def _section(
    heading: str, body: str, *, level: int = 2, optional: bool = False, splits: int = 2
) -> list[str]:
    """A heading and its text; lines of the text that a reader would take for a heading of
    level <= ``splits`` (or an unclosed code fence) get Markdown's backslash escape."""
    body = body.strip()
    if optional and not body:
        return []
    heading_line = f"{'#' * level} {_one_line(heading)}".rstrip()
    return [heading_line] + ([escape(body, levels=splits)] if body else [])


def _one_line(text: str) -> str:
    return " ".join(text.strip().split("\n"))


def _text(text: str, as_read: bool, where: str = raw_html.BLOCK) -> str:
    """A text as written: escaped as typed in Slack, unless it is a file's, unchanged."""
    return raw_html.escape(text.strip(), where=where, as_read=as_read)


def _title(record: AdrRecord) -> str:
    return _text(_one_line(record.title), "title" in record.as_read, LINE)


def _texts(record: AdrRecord) -> dict[str, str]:
    """The record's section texts as written, by field name."""
    names = ("context", "options", "decision", "consequences", "success_criteria")
    return {name: _text(getattr(record, name), name in record.as_read) for name in names}


def _extra(record: AdrRecord) -> list[tuple[str, str]]:
    """The extra sections: headings as read (only a file has them), bodies as written."""
    as_read = "extra" in record.as_read
    return [(heading, _text(body, as_read)) for heading, body in record.extra]


def _person(person: PersonRef) -> str:
    text = _one_line(person.text)
    written = _text(text, person.as_read, LINE)
    if person.user_id and f"@{person.user_id}" not in text:
        return f"{written} (@{person.user_id})" if text else f"@{person.user_id}"
    return written


def _links(record: AdrRecord) -> list[LinkRef]:
    """The links that can be written: with a number or a target."""
    return [link for link in record.links if link.number is not None or link.target]


def _label(labels: Mapping[str, str], value: str) -> str:
    """The word a file uses for a stored value (a link or stance kind)."""
    if value not in labels:
        raise ValueError(f"cannot write {value!r}: expected one of {', '.join(labels)}")
    return labels[value]


def _link_ref(link: LinkRef, names: Mapping[int, str], labels: Mapping[str, str]) -> str:
    """``[ADR-0013](0013-use-kafka.md)``, or ``ADR-0013`` when there is no file to point at;
    an imported file's own text for a link it had (``labels``: by target file name)."""
    target = link.target
    if link.number is not None:
        target = names.get(link.number, target)
        label = labels.get(target, f"ADR-{link.number:04d}")
    else:
        label = target
    return f"[{label}]({target})" if target else label


def _stances_and_review(record: AdrRecord) -> list[str]:
    blocks: list[str] = []
    if record.stances:
        blocks += ["## Stances", "\n".join(_stance_lines(record.stances))]
    if record.review is not None:
        blocks += _section("Review", "\n".join(_review_lines(record.review)))
    return blocks


def _stance_lines(stances: list[StanceRecord]) -> list[str]:
    lines: list[str] = []
    for stance in stances:
        lines.append(f"- {_label(STANCE_LABELS, stance.kind)}: {_person(stance.person)}")
        for attribute, label in STANCE_FIELDS.items():
            lines += _field(label, _text(getattr(stance, attribute), stance.as_read, ITEM))
        if stance.committed != (stance.kind == "disagree_and_commit"):
            lines += _field("Committed", "yes" if stance.committed else "no")
    return lines


def _review_lines(review: ReviewRecord) -> list[str]:
    lines: list[str] = []
    if review.due:
        lines.append(f"- Due: {_iso(review.due)}")
    if review.outcome:
        lines.append(f"- Outcome: {OUTCOME_LABELS.get(review.outcome, review.outcome)}")
    for ask in review.asks:
        lines += _ask_lines(ask)
    return lines


def _ask_lines(ask: AskRecord) -> list[str]:
    answer = DISSENT_LABELS.get(ask.dissent_answer or "", ask.dissent_answer or "")
    outcome = OUTCOME_LABELS.get(ask.outcome or "", ask.outcome or "")
    lines = [f"- {ask.role.capitalize()}: {_person(ask.person)}"]
    lines += _field(ASK_FIELDS["concern"], _text(ask.concern, ask.as_read, ITEM))
    lines += _field("Concern came true", answer) + _field("Outcome", outcome)
    for attribute in ("what_happened", "evidence", "learned"):
        lines += _field(ASK_FIELDS[attribute], _text(getattr(ask, attribute), ask.as_read, ITEM))
    return lines


def _field(label: str, text: str) -> list[str]:
    """``  - Label: first line`` and the further lines indented four spaces."""
    text = text.strip()
    if not text:
        return []
    first, *rest = text.split("\n")
    return [f"  - {label}: {first}"] + [f"    {line}" if line else "" for line in rest]


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""
