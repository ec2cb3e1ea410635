"""ADR files out (issue 11), the pure part (adr_files/write.py): the MADR and adr-tools layouts,
file names, Slack ids, a deterministic index, and write -> parse round trips of each fixture and
of any record (hypothesis). No database, no Slack.

The round trips compare whole records, with two normalisations that are part of the format:
``format`` is what the parser recognised (the written layout), and a person whose Slack id is
not in their text comes back as ``"Text (@U…)"`` (that is how the id is written). ``as_read``
(how a text is written: as read, or escaped as typed in Slack) is not compared: both ways read
back the same, and the generated records mix them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adr_files.parse import parse_text, read_tree, title_number
from adr_files.records import (
    TEXTS,
    AdrRecord,
    AskRecord,
    LinkRef,
    PersonRef,
    ReviewRecord,
    StanceRecord,
)
from adr_files.write import file_name, write_index, write_record
from tests.support.adr_files import _LETTERS, FIXTURES, people

FORMATS = {"madr": "madr4", "nygard": "nygard"}  # written layout -> what the parser calls it


def _names(records: list[AdrRecord]) -> dict[int, str]:
    return {r.number: file_name(r.number, r.title) for r in records if r.number is not None}


def _round_trip(record: AdrRecord, fmt: str, names: dict[int, str]) -> AdrRecord:
    name = names.get(record.number, "decision.md") if record.number is not None else "x.md"
    return parse_text(write_record(record, fmt=fmt, names=names), file_name=name)


# -- writing -------------------------------------------------------------------------------------


def test_file_names() -> None:
    assert file_name(12, "Use Postgres for storage") == "0012-use-postgres-for-storage.md"
    assert file_name(3, "Café: crème brûlée?!") == "0003-cafe-creme-brulee.md"
    assert file_name(7, "日本語") == "0007-decision.md"
    assert file_name(12345, "x") == "12345-x.md"
    long = file_name(1, "Use a very long title " * 6)
    assert long == "0001-use-a-very-long-title-use-a-very-long-title-use-a-very-long.md"


FULL = AdrRecord(
    title="Use Kafka for order events",
    number=13,
    date=date(2024, 3, 1),
    status="accepted",
    context="Analytics wants to **replay** events.\n\n- RabbitMQ deletes consumed messages\n- ...",
    options="* Kafka\n* RabbitMQ streams",
    decision="We use Kafka:\n\n```yaml\nretention: 30d  # a comment\n```",
    consequences="* Good: replay\n* Bad: new to us",
    success_criteria="Replay of 30 days works by June.",
    deciders=[PersonRef.parse("Ana Lima (@U0123ABC)"), PersonRef("Bo")],
    consulted=[PersonRef.parse("@U0456DEF"), PersonRef("Dee: lead")],
    informed=[PersonRef("#platform")],
    tags=["events", "yes", "2024-01-01"],
    review_date=date(2024, 9, 1),
    links=[
        LinkRef("supersedes", "0002-use-rabbitmq.md", 2),
        LinkRef("amended_by", "", 15),  # its file is not exported: a bare ADR-0015
        LinkRef("relates", "0003-use-postgres.md", 3),
    ],
    extra=[("Decision Drivers", "* replay\n* cost"), ("Notes", "Guild, 2024-02-27.")],
    stances=[
        StanceRecord("agree", PersonRef.parse("Ana Lima (@U0123ABC)")),
        StanceRecord(
            "disagree_and_commit",
            PersonRef.parse("Bo"),
            concern="Kafka is new to us,\nand on-call is thin.\n\n  - even: this line",
            change_my_mind="A load test at 2x peak.",
            committed=True,
        ),
        StanceRecord(
            "block", PersonRef.parse("Cy (@U0789GHI)"), reason="No budget.", committed=True
        ),
        StanceRecord("block", PersonRef.parse("Eve"), reason="## not a heading here"),
    ],
    review=ReviewRecord(
        due=date(2024, 9, 1),
        outcome="partly",
        asks=[
            AskRecord(
                PersonRef.parse("Ana Lima (@U0123ABC)"),
                "owner",
                outcome="didnt_work",
                what_happened="Lag at peak.\nTwice.",
                evidence="Grafana: [board](https://g.example.com/d/1)",
                learned="Load test first.",
            ),
            AskRecord(
                PersonRef.parse("Bo"),
                "dissenter",
                concern="Kafka is new to us.",
                dissent_answer="too_early",
            ),
        ],
    ),
)
NAMES = {2: "0002-use-rabbitmq.md", 3: "0003-use-postgres.md", 13: file_name(13, FULL.title)}


@pytest.mark.parametrize("fmt", ["madr", "nygard"])
def test_write_then_parse_gives_the_record_back(fmt: str) -> None:
    assert _round_trip(FULL, fmt, NAMES) == replace(FULL, format=FORMATS[fmt])


def test_madr_layout() -> None:
    text = write_record(FULL, names=NAMES)
    assert text.startswith(
        "---\n"
        "status: accepted\n"
        "date: 2024-03-01\n"
        "decision-makers:\n"
        "- Ana Lima (@U0123ABC)\n"
        "- Bo\n"
        "consulted:\n"
        "- '@U0456DEF'\n"
        "- 'Dee: lead'\n"
        "informed:\n"
        "- '#platform'\n"
        "tags:\n"
        "- events\n"
        "- 'yes'\n"
        "- '2024-01-01'\n"
        "review-date: 2024-09-01\n"
        "---\n\n"
        "# Use Kafka for order events\n\n"
        "## Context and Problem Statement\n"
    )
    headings = re.findall(r"^#+ .*$", text.split("```")[0] + text.split("```")[2], re.M)
    assert headings == [
        "# Use Kafka for order events",
        "## Context and Problem Statement",
        "## Considered Options",
        "## Decision Outcome",
        "### Consequences",
        "## Success Criteria",
        "## Decision Drivers",
        "## Notes",
        "## Links",
        "## Stances",
        "## Review",
    ]
    assert (
        "## Links\n\n"
        "- Supersedes [ADR-0002](0002-use-rabbitmq.md)\n"
        "- Amended by ADR-0015\n"
        "- Relates to [ADR-0003](0003-use-postgres.md)\n"
    ) in text
    assert (
        "## Stances\n\n"
        "- Agree: Ana Lima (@U0123ABC)\n"
        "- Disagree & commit: Bo\n"
        "  - Concern: Kafka is new to us,\n"
        "    and on-call is thin.\n"
        "\n"
        "      - even: this line\n"
        "  - Would change my mind: A load test at 2x peak.\n"
        "- Block: Cy (@U0789GHI)\n"
        "  - Reason: No budget.\n"
        "  - Committed: yes\n"
        "- Block: Eve\n"
        "  - Reason: ## not a heading here\n"
    ) in text
    assert text.endswith(
        "## Review\n\n"
        "- Due: 2024-09-01\n"
        "- Outcome: partly\n"
        "- Owner: Ana Lima (@U0123ABC)\n"
        "  - Outcome: didn't work\n"
        "  - What happened: Lag at peak.\n"
        "    Twice.\n"
        "  - Evidence: Grafana: [board](https://g.example.com/d/1)\n"
        "  - Learned: Load test first.\n"
        "- Dissenter: Bo\n"
        "  - Concern: Kafka is new to us.\n"
        "  - Concern came true: too early to tell\n"
    )


def test_nygard_layout_is_adr_tools() -> None:
    superseded = replace(
        FULL, status="superseded", links=[LinkRef("superseded_by", "", 14), *FULL.links]
    )
    names = NAMES | {14: "0014-use-pulsar.md"}
    text = write_record(superseded, fmt="nygard", names=names)
    assert text.startswith(
        "# 13. Use Kafka for order events\n\n"
        "Date: 2024-03-01\n\n"
        "- Deciders: Ana Lima (@U0123ABC), Bo\n"
        "- Consulted: @U0456DEF, Dee: lead\n"
        "- Informed: #platform\n"
        "- Tags: events, yes, 2024-01-01\n"
        "- Review date: 2024-09-01\n\n"
        "## Status\n\n"
        "Superseded by [ADR-0014](0014-use-pulsar.md)\n\n"  # adr-tools: no status word
        "Supersedes [ADR-0002](0002-use-rabbitmq.md)\n\n"
        "Amended by ADR-0015\n\n"
        "Relates to [ADR-0003](0003-use-postgres.md)\n\n"
        "## Context\n\n"
    )
    assert (
        "\n## Consequences\n\n* Good: replay\n* Bad: new to us\n\n## Considered Options\n" in text
    )
    reread = parse_text(text, file_name="0013-use-kafka-for-order-events.md")
    written_link = LinkRef("superseded_by", "0014-use-pulsar.md", 14)  # the target from names
    assert reread == replace(superseded, format="nygard", links=[written_link, *FULL.links])
    assert write_record(superseded, fmt="madr", names=names).startswith(
        "---\nstatus: superseded by [ADR-0014](0014-use-pulsar.md)\n"
    )


def test_people_get_their_slack_id_written() -> None:
    record = AdrRecord(
        title="T",
        number=1,
        decision="x",
        deciders=[PersonRef("Ana", "U0123ABC"), PersonRef("", "U0456DEF")],
        stances=[StanceRecord("agree", PersonRef("Bo (@U0789GHI)", "U0789GHI"))],
    )
    reread = _round_trip(record, "madr", {})
    assert reread.deciders == [
        PersonRef("Ana (@U0123ABC)", "U0123ABC"),
        PersonRef("@U0456DEF", "U0456DEF"),
    ]
    assert reread.stances[0].person == PersonRef("Bo (@U0789GHI)", "U0789GHI")


def test_writing_is_deterministic_and_the_index_sorted() -> None:
    for fmt in FORMATS:
        text = write_record(FULL, fmt=fmt, names=NAMES)
        same = write_record(replace(FULL), fmt=fmt, names=dict(reversed(NAMES.items())))
        assert text.encode() == same.encode()
        assert text.endswith("\n") and not text.endswith("\n\n")
    records = [
        AdrRecord("Use Kafka | streams", 13, date(2024, 3, 1), "accepted"),
        AdrRecord("Record decisions", 1, date(2023, 1, 9), "accepted"),
        AdrRecord("Use [RabbitMQ]", 2, None, "superseded"),
    ]
    index = write_index(records, names=NAMES)
    assert index == write_index(list(reversed(records)), names=NAMES)
    assert index == (
        "# Architecture Decision Records\n"
        "\n"
        "| Number | Title | Status | Date |\n"
        "| --- | --- | --- | --- |\n"
        "| 1 | [Record decisions](0001-record-decisions.md) | accepted | 2023-01-09 |\n"
        "| 2 | [Use \\[RabbitMQ\\]](0002-use-rabbitmq.md) | superseded |  |\n"
        "| 13 | [Use Kafka \\| streams](0013-use-kafka-for-order-events.md) | accepted | 2024-03-01 |\n"
    )


SCRIPT, IMG = "<script>alert(1)</script>", "<img src=x onerror=alert(1)>"
HOSTILE = AdrRecord(
    title=f"Use {SCRIPT}",
    number=4,
    context=f"{IMG} & R&D &lt;b&gt;\n\nin code: `<b>` and\n\n```html\n<p>kept</p>\n```",
    options=f"- {IMG}",
    decision=f"We do {SCRIPT}.\n\n### Phase 1 {IMG}",
    consequences=IMG,
    success_criteria=SCRIPT,
    deciders=[PersonRef.parse(f"Eve {IMG} (@U0EVE)"), PersonRef(f"Mallory {SCRIPT}")],
    extra=[("Notes", f"{SCRIPT}\n<!-- hidden -->")],
    stances=[
        StanceRecord("block", PersonRef.parse("@U0EVE"), reason=f"```\n{IMG}\n```"),
        StanceRecord("disagree_and_commit", PersonRef("Bo"), concern=SCRIPT, committed=True),
    ],
    review=ReviewRecord(
        outcome="worked",
        asks=[AskRecord(PersonRef("Bo"), "owner", outcome="worked", learned=f"- {IMG}")],
    ),
)


@pytest.mark.parametrize("fmt", ["madr", "nygard"])
def test_html_typed_in_slack_is_shown_not_run_and_reads_back_as_typed(fmt: str) -> None:
    text = write_record(HOSTILE, fmt=fmt, names={})
    assert "<script" not in text and "<img" not in text
    assert "&#60;script>alert(1)&#60;/script>" in text and "R&D &#38;lt;b&#38;gt;" in text
    assert "in code: `<b>` and\n\n```html\n<p>kept</p>\n```" in text  # code is as typed
    names = {4: "0004-use-script.md"}
    assert _round_trip(HOSTILE, fmt, names) == replace(HOSTILE, format=FORMATS[fmt])
    index = write_index([HOSTILE], names=names)
    assert "<script" not in index and "[Use &#60;script>" in index


@pytest.mark.parametrize("fmt", ["madr", "nygard"])
def test_a_files_own_html_is_written_as_read(fmt: str) -> None:
    read = parse_text(write_record(HOSTILE, fmt=fmt, names={}), file_name="0004-x.md")
    assert read.as_read == frozenset(TEXTS)  # what the parser read is the file's
    assert all(person.as_read for person in read.deciders)
    assert all(stance.as_read for stance in read.stances)
    details = "<details><summary>More</summary>\n\nIt &lt;really&gt; works: &#60;.\n\n</details>"
    as_read = replace(read, context=details, as_read=frozenset(TEXTS))
    text = write_record(as_read, fmt=fmt, names={})
    assert "<details><summary>More</summary>\n\nIt &lt;really&gt; works: &#38;#60;." in text
    assert f"{SCRIPT}\n<!-- hidden -->" in text  # the extra section, as the file had it
    assert parse_text(text, file_name="0004-x.md") == replace(as_read, format=FORMATS[fmt])


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown ADR file format"):
        write_record(FULL, fmt="asciidoc", names={})


FIXTURE_FILES = [
    (folder, source.path)
    for folder in ("nygard", "madr2", "madr3", "madr4", "madr-no-front-matter", "mixed")
    for source in read_tree(FIXTURES / folder)[0]
]


@pytest.mark.parametrize("fmt", ["madr", "nygard"])
@pytest.mark.parametrize(("folder", "path"), FIXTURE_FILES)
def test_parse_write_parse_keeps_every_field_of_each_fixture(
    folder: str, path: str, fmt: str
) -> None:
    files = read_tree(FIXTURES / folder)[0]
    names = _names([source.record for source in files])
    record = next(source.record for source in files if source.path == path)
    assert _round_trip(record, fmt, names) == replace(record, format=FORMATS[fmt])


# -- properties ----------------------------------------------------------------------------------
# What a Markdown file can carry, and so what the generated records are restricted to: text is
# stripped and has no trailing spaces on a line (lines that read as headings or code fences,
# "## Phase 1", "```", "\\# x", are generated on purpose: the writer escapes them); titles and
# headings are one line (a title may start like "12. " or "ADR-12:"); extra sections are not
# named like a section the record has a field for; names have no commas (adr-tools layout
# lists people comma-separated); a link's target is the exported file of its number.

_MARKUP = st.sampled_from(["# ", "## ", "### ", "#### ", "```", "~~~", "\\# ", "  ## ", "\\```"])
# raw HTML and what could pass for the writer's escapes, in and out of code
_HTML = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<details>",
        "&lt;b&gt;",
        "&#60;",
        "&#38;#60;",
        "R&D",
        "`<b>`",
        "``a`<b>``",
        "| `<b>`",
    ]
)
_LINE = (
    st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), max_size=30)
    | st.builds(lambda mark, rest: mark + rest, _MARKUP, st.text("abc xyz#`~", max_size=8))
    | st.lists(_HTML | st.text("ab <&;`", max_size=4), min_size=1, max_size=3).map(" ".join)
)
TEXT = st.lists(_LINE, max_size=4).map(
    lambda lines: "\n".join(line.rstrip() for line in lines).strip()
)
_WORDS = st.builds(
    lambda first, rest: (first + rest).strip(),
    st.sampled_from(_LETTERS),
    st.text(_LETTERS + "0123456789 .,'()!?&/-", max_size=30),
)
TITLE = (
    _WORDS
    | st.builds(lambda words, html: f"{words} {html}", _WORDS, _HTML)
    | st.builds(
        lambda form, n, words: form.format(n=n, words=words),
        st.sampled_from(["{n}. {words}", "{n}: {words}", "ADR-{n}: {words}", "ADR {n} {words}"]),
        st.integers(0, 99_999),
        _WORDS,
    )
)
_SECTIONS_WITH_FIELDS = {
    "context",
    "context and problem statement",
    "problem statement",
    "considered options",
    "options",
    "decision",
    "decision outcome",
    "consequences",
    "success criteria",
    "links",
    "stances",
    "review",
}
HEADING = _WORDS.filter(lambda h: " ".join(h.lower().split()) not in _SECTIONS_WITH_FIELDS)


DATES = st.none() | st.dates(date(1900, 1, 1), date(2100, 12, 31))
OUTCOMES = st.none() | st.sampled_from(["worked", "partly", "didnt_work"])


@st.composite
def stances(draw: st.DrawFn) -> StanceRecord:
    return StanceRecord(
        kind=draw(st.sampled_from(["agree", "disagree_and_commit", "block"])),
        person=draw(people()),
        concern=draw(TEXT),
        change_my_mind=draw(TEXT),
        committed=draw(st.booleans()),
        reason=draw(TEXT),
        as_read=draw(st.booleans()),
    )


@st.composite
def asks(draw: st.DrawFn) -> AskRecord:
    return AskRecord(
        person=draw(people()),
        role=draw(st.sampled_from(["owner", "dissenter"])),
        outcome=draw(OUTCOMES),
        what_happened=draw(TEXT),
        evidence=draw(TEXT),
        learned=draw(TEXT),
        concern=draw(TEXT),
        dissent_answer=draw(st.none() | st.sampled_from(["yes", "no", "too_early"])),
        as_read=draw(st.booleans()),
    )


@st.composite
def records_and_names(draw: st.DrawFn) -> tuple[AdrRecord, dict[int, str]]:
    numbers = st.integers(0, 99999)
    title, own_number = draw(TITLE.filter(bool)), draw(st.none() | numbers)
    # a record without a number (never one the bot exports) takes its title's, as a file
    # named without one would
    assume(own_number is not None or title_number(title) is None)
    titles = draw(st.dictionaries(numbers, TITLE, min_size=1, max_size=3))
    if own_number is not None:
        titles[own_number] = title
    names = {number: file_name(number, title) for number, title in titles.items()}
    links = []
    for kind, number, own_target in draw(
        st.lists(
            st.tuples(
                st.sampled_from(["supersedes", "superseded_by", "amends", "amended_by", "relates"]),
                st.sampled_from(sorted(names)) | numbers,
                st.booleans(),
            ),
            max_size=4,
        )
    ):
        target = file_name(number, "other") if own_target else ""
        links.append(LinkRef(kind, names.get(number, target), number))
    record = AdrRecord(
        title=title,
        number=own_number,
        date=draw(DATES),
        status=draw(
            st.sampled_from(["proposed", "accepted", "rejected", "superseded", "deprecated"])
        ),
        context=draw(TEXT),
        options=draw(TEXT),
        decision=draw(TEXT),
        consequences=draw(TEXT),
        success_criteria=draw(TEXT),
        deciders=draw(st.lists(people(), max_size=3)),
        consulted=draw(st.lists(people(), max_size=2)),
        informed=draw(st.lists(people(), max_size=2)),
        tags=draw(
            st.lists(st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1), max_size=3)
        ),
        review_date=draw(DATES),
        links=links,
        extra=draw(st.lists(st.tuples(HEADING, TEXT), max_size=3)),
        stances=draw(st.lists(stances(), max_size=3)),
        review=draw(
            st.none() | st.builds(ReviewRecord, DATES, OUTCOMES, st.lists(asks(), max_size=2))
        ),
        as_read=draw(st.frozensets(st.sampled_from(TEXTS))),
    )
    return record, names


@pytest.mark.parametrize("fmt", ["madr", "nygard"])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=records_and_names())
def test_any_record_survives_write_then_parse(
    fmt: str, generated: tuple[AdrRecord, dict[int, str]]
) -> None:
    record, names = generated
    text = write_record(record, fmt=fmt, names=names)
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert _round_trip(record, fmt, names) == replace(record, format=FORMATS[fmt])
