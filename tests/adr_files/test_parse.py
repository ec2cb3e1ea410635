"""ADR files in (issue 11), the pure part (adr_files/parse.py): each format's fixture folder,
malformed files reported with a reason, any text refused with a reason or read, and the number
a title or file name gives. No database, no Slack."""

from __future__ import annotations

import hashlib
import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adr_files.parse import INDEX_OR_TEMPLATE, Problem, parse_text, read_tree
from adr_files.records import AdrRecord, LinkRef, NotADecisionRecord, PersonRef
from tests.support.adr_files import FIXTURES


def _records(folder: str) -> dict[str, AdrRecord]:
    files, problems = read_tree(FIXTURES / folder)
    assert problems == []
    return {source.path: source.record for source in files}


def _texts(people: list[PersonRef]) -> list[str]:
    return [person.text for person in people]


# -- each format's fixtures ----------------------------------------------------------------------


def test_adr_tools_files_with_supersede_and_amend_chains() -> None:
    records = _records("nygard")
    assert list(records) == [
        "0001-record-architecture-decisions.md",
        "0002-use-rabbitmq-for-order-events.md",
        "0003-use-postgresql-for-storage.md",
        "0004-use-kafka-for-order-events.md",
        "0005-add-read-replicas-for-reporting.md",
        "0006-cache-sessions-in-memcached.md",
        "0007-split-the-monolith-by-team.md",
    ]
    assert {r.format for r in records.values()} == {"nygard"}
    rabbit = records["0002-use-rabbitmq-for-order-events.md"]
    assert (rabbit.number, rabbit.title) == (2, "Use RabbitMQ for order events")
    assert (rabbit.date, rabbit.status) == (date(2023, 2, 14), "superseded")
    assert rabbit.links == [LinkRef("superseded_by", "0004-use-kafka-for-order-events.md", 4)]
    assert rabbit.context.startswith("The checkout service must tell billing")
    assert rabbit.consequences.endswith("We run and upgrade a RabbitMQ cluster ourselves.")

    kafka = records["0004-use-kafka-for-order-events.md"]
    assert (kafka.number, kafka.date, kafka.status) == (4, date(2024, 3, 1), "accepted")
    assert kafka.links == [
        LinkRef("supersedes", "0002-use-rabbitmq-for-order-events.md", 2),
        LinkRef("relates", "0003-use-postgresql-for-storage.md", 3),
    ]
    # a heading inside a code block is text, not a section
    assert "## not a heading: inside a code block\n```" in kafka.decision
    assert kafka.extra == [("Notes", "Discussed in the architecture guild on 2024-02-27.")]

    postgres = records["0003-use-postgresql-for-storage.md"]
    assert postgres.status == "accepted"
    assert postgres.links == [LinkRef("amended_by", "0005-add-read-replicas-for-reporting.md", 5)]
    replicas = records["0005-add-read-replicas-for-reporting.md"]
    assert replicas.links == [LinkRef("amends", "0003-use-postgresql-for-storage.md", 3)]
    assert records["0006-cache-sessions-in-memcached.md"].status == "deprecated"

    draft = records["0007-split-the-monolith-by-team.md"]
    assert draft.status == "proposed"
    assert draft.extra == [("Original status", "Draft")]


def test_madr2_files_with_status_bullets_and_links() -> None:
    records = _records("madr2")
    first = records["0000-use-markdown-architectural-decision-records.md"]
    assert (first.format, first.number) == ("madr2", 0)
    assert first.title == "Use Markdown Architectural Decision Records"
    assert (first.status, first.date) == ("accepted", date(2020, 5, 1))
    assert first.deciders == [PersonRef("Ana Lima"), PersonRef("Bo Chen")]
    assert first.options.startswith("* [MADR](https://adr.github.io/madr/) 2.1.2")
    assert first.decision.startswith('Chosen option: "MADR 2.1.2"')
    assert first.consequences == (
        "### Positive Consequences\n\n"
        "* Implicit assumptions are made explicit.\n"
        "* The structure is familiar to new team members.\n\n"
        "### Negative Consequences\n\n"
        "* Writing the pros and cons takes time."
    )
    assert [heading for heading, _ in first.extra] == [
        "Technical Story",
        "Decision Drivers",
        "Pros and Cons of the Options",
        "Links",  # not only link lines: kept as written
    ]
    assert first.links == []

    rest = records["0001-use-rest-for-the-public-api.md"]
    assert rest.status == "superseded"
    assert rest.links == [LinkRef("superseded_by", "0003-use-graphql-for-the-public-api.md", 3)]
    graphql = records["0003-use-graphql-for-the-public-api.md"]
    assert graphql.links == [LinkRef("supersedes", "0001-use-rest-for-the-public-api.md", 1)]
    assert _texts(graphql.deciders) == ["Ana Lima", "Cy Okafor", "Dee Park"]
    redis = records["0002-store-sessions-in-redis.md"]
    assert redis.links == [LinkRef("amended_by", "0004-expire-sessions-after-24-hours.md", 4)]
    expiry = records["0004-expire-sessions-after-24-hours.md"]
    assert (expiry.status, expiry.links) == (
        "proposed",
        [LinkRef("amends", "0002-store-sessions-in-redis.md", 2)],
    )


def test_madr3_files_with_front_matter() -> None:
    records = _records("madr3")
    actions = records["0001-use-github-actions-for-ci.md"]
    assert (actions.format, actions.number, actions.title) == (
        "madr3",
        1,
        "Use GitHub Actions for CI",
    )
    assert (actions.status, actions.date) == ("superseded", date(2022, 4, 11))
    assert actions.links == [LinkRef("superseded_by", "0002-use-buildkite-for-ci.md", 2)]
    assert _texts(actions.deciders) == ["Ana Lima", "Bo Chen"]  # a YAML list
    assert (_texts(actions.consulted), _texts(actions.informed)) == (
        ["Platform team"],
        ["All engineers"],
    )
    assert actions.consequences.startswith("* Good, because nobody patches Jenkins")
    assert [heading for heading, _ in actions.extra] == [
        "Decision Drivers",
        "Validation",
        "Pros and Cons of the Options",
        "More Information",
    ]

    buildkite = records["0002-use-buildkite-for-ci.md"]
    assert _texts(buildkite.deciders) == ["Ana Lima", "Dee Park"]  # a comma-separated string
    assert _texts(buildkite.consulted) == ["Platform team", "Security team"]
    assert buildkite.links == [
        LinkRef("supersedes", "0001-use-github-actions-for-ci.md", 1),
        LinkRef("amended_by", "0003-cache-dependencies-between-builds.md", 3),
    ]
    cache = records["0003-cache-dependencies-between-builds.md"]
    assert (cache.status, cache.date) == ("proposed", date(2023, 5, 17))  # a YAML datetime
    assert cache.extra == [("Original status", "draft")]
    assert cache.links == [LinkRef("amends", "0002-use-buildkite-for-ci.md", 2)]
    assert records["0004-run-ci-on-developer-laptops.md"].status == "rejected"


def test_madr4_files_with_decision_makers_and_confirmation() -> None:
    records = _records("madr4")
    otel = records["0001-use-opentelemetry-for-tracing.md"]
    assert (otel.format, otel.number, otel.date, otel.status) == (
        "madr4",
        1,
        date(2024, 1, 22),  # a quoted string in the YAML
        "accepted",
    )
    assert otel.deciders == [
        PersonRef("Ana Lima (@U0123ABC)", "U0123ABC"),
        PersonRef("@U0456DEF", "U0456DEF"),
    ]
    assert _texts(otel.consulted) == ["Platform team", "SRE guild"]
    assert [heading for heading, _ in otel.extra] == [
        "Decision Drivers",
        "Confirmation",
        "Pros and Cons of the Options",
        "More Information",
    ]
    assert otel.consequences == (
        "* Good, because traces cross every service.\n"
        "* Bad, because the collector is one more thing to run."
    )

    sampling = records["0002-sample-traces-at-ten-percent.md"]
    assert sampling.status == "superseded"
    assert sampling.links == [LinkRef("superseded_by", "0004-use-tail-based-sampling.md", 4)]
    tail = records["0004-use-tail-based-sampling.md"]
    assert tail.links == [
        LinkRef("supersedes", "0002-sample-traces-at-ten-percent.md", 2),
        LinkRef("amended_by", "0003-keep-traces-for-fourteen-days.md", 3),
    ]
    retention = records["0003-keep-traces-for-fourteen-days.md"]
    assert (retention.status, retention.date) == ("proposed", date(2024, 3, 11))
    assert retention.extra[0] == ("Original status", "In review")
    assert retention.informed == []
    assert retention.links == [LinkRef("amends", "0004-use-tail-based-sampling.md", 4)]


def test_madr_files_without_front_matter() -> None:
    records = _records("madr-no-front-matter")
    flags = records["0001-use-feature-flags-for-releases.md"]
    assert (flags.number, flags.status, flags.date, flags.deciders) == (1, "proposed", None, [])
    assert flags.format == "madr4"
    assert flags.options.startswith("* Feature flags in a hosted service")
    assert [heading for heading, _ in flags.extra] == ["Confirmation", "More Information"]
    cleanup = records["0002-remove-stale-feature-flags-monthly.md"]
    assert cleanup.format == "madr3"  # ## Validation
    assert cleanup.links == [LinkRef("amends", "0001-use-feature-flags-for-releases.md", 1)]


def test_malformed_files_are_reported_and_the_others_read() -> None:
    files, problems = read_tree(FIXTURES / "mixed")
    assert [source.path for source in files] == [
        "0001-log-in-json.md",
        "0002-keep-logs-for-thirty-days.md",
        "0009-name-services-after-their-domain.markdown",
        "notes/0008-alert-on-error-rate.md",
    ]
    assert INDEX_OR_TEMPLATE == "not a decision record (index or template)"
    assert problems == [
        Problem("0003-empty.md", "empty file"),
        Problem("0004-no-title.md", "no title heading"),
        Problem("0005-meeting-notes.md", "no Decision section"),
        Problem(
            "0006-broken-front-matter.md",
            "front matter is not valid YAML: expected ',' or ']', but got ':' (line 3)",
        ),
        Problem("0007-cafe-latin1.md", "not UTF-8 text"),
        Problem("README.md", INDEX_OR_TEMPLATE),
        Problem("adr-template.md", INDEX_OR_TEMPLATE),
        Problem("template-madr.md", INDEX_OR_TEMPLATE),
    ]
    first = files[0]
    data = (FIXTURES / "mixed" / first.path).read_bytes()
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    assert files[3].record.number == 8


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty file"),
        ("\ufeff \n\n", "empty file"),
        ("## Decision\n\nx\n", "no title heading"),
        ("# Title\n\n## Context\n\nx\n", "no Decision section"),
        ("---\nstatus: accepted\n# T\n## Decision\n", "front matter has no closing ---"),
        ("---\n- a\n---\n# T\n## Decision\n", "front matter is not a YAML mapping"),
        (
            "---\ndate: 2024-13-45\n---\n# T\n## Decision\n",
            "not valid YAML: a value cannot be read (month",
        ),
        ("---\nstatus: !!float\n---\n# T\n## Decision\n", "front matter is not valid YAML"),
    ],
)
def test_parse_text_says_why_a_file_is_refused(text: str, reason: str) -> None:
    with pytest.raises(NotADecisionRecord, match=re.escape(reason)):
        parse_text(text, file_name="0001-x.md")


def test_a_hand_written_review_section_is_kept_as_text() -> None:
    text = "# 3. T\n\n## Status\n\nAccepted\n\n## Decision\n\nx\n\n## Review\n\nIt went well.\n"
    record = parse_text(text, file_name="0003-t.md")
    assert record.review is None
    assert record.extra == [("Review", "It went well.")]


_MARKDOWNISH = st.sampled_from(
    [
        "---",
        "...",
        "# 12. Title",
        "# ",
        "## Status",
        "## Decision",
        "## Decision Outcome",
        "### Consequences",
        "## Links",
        "## Stances",
        "## Review",
        "```",
        "status: superseded by [ADR-0005](0005-x.md)",
        "date: 2024-99-01",
        "deciders: [a, b",
        "- Agree: Ana",
        "  - Concern: x",
        "    more",
        "- Due: 2024-02-30",
        "Superseded by [ADR-1](0001-x.md)",
        "* Status: draft",
        "Date: 2024-03-01T10:00",
        "{a: [b, {c: d}]}",
        "!!binary x",
        "status: !!float ",
        "date: !!timestamp x",
        "tags: !!bool ",
        "? [a]\n: b",
        "",
    ]
)


@settings(max_examples=500, deadline=None)
@given(text=st.lists(_MARKDOWNISH | st.text(max_size=20), max_size=12).map("\n".join))
def test_parse_text_refuses_with_a_reason_or_reads(text: str) -> None:
    try:
        record = parse_text(text, file_name="0001-x.md")
    except NotADecisionRecord as exc:
        assert str(exc)
    else:
        assert record.title


def test_a_title_number_and_the_file_names() -> None:
    text = "# {}\n\n## Decision\n\nx\n"

    def read(title: str, name: str) -> tuple[int | None, str]:
        record = parse_text(text.format(title), file_name=name)
        return record.number, record.title

    # a bare "2024:" is a title when the file name says another number
    assert read("2024: consolidate", "0002-c.md") == (2, "2024: consolidate")
    assert read("2024: consolidate", "c.md") == (2024, "consolidate")
    # adr-tools' "12." and an explicit ADR-12 say the number, whatever the file is called
    assert read("12. Use Kafka", "0013-use-kafka.md") == (12, "Use Kafka")
    assert read("ADR-7: Use Kafka", "20240301-use-kafka.md") == (7, "Use Kafka")
    # a date at the start of a file name is not a number
    assert read("Use Kafka", "2024-03-01-use-kafka.md") == (None, "Use Kafka")
    assert read("Use Kafka", "20240301-use-kafka.md") == (None, "Use Kafka")
    assert read("Use Kafka", "0012-use-kafka.md") == (12, "Use Kafka")


def test_disagree_and_commit_reads_as_now_written_and_as_files_written_before_say_it() -> None:
    from adr_files.bot_sections import parse_stances

    for label in ("Disagree & commit", "Disagree and commit"):
        [stance] = parse_stances(f"- {label}: Bo (@U0456DEF)\n  - Concern: Kafka is new") or []
        assert (stance.kind, stance.committed, stance.concern) == (
            "disagree_and_commit",
            True,
            "Kafka is new",
        )
