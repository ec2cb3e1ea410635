"""The `/estimate` parser and its deadlines (bot/features/estimates/command.py). Pure: no Slack,
no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features.estimates.command import EstimateCommand, parse_deadline, parse_estimate
from storage.models import ConePhase, EstimateUnit

# -- the command -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", EstimateCommand("help")),
        ("   ", EstimateCommand("help")),
        ("help", EstimateCommand("help")),
        ("list", EstimateCommand("list")),
        ("show E-3", EstimateCommand("show", number=3)),
        ("show e3", EstimateCommand("show", number=3)),
        ("reveal 3", EstimateCommand("reveal", number=3)),
        ("cancel #4", EstimateCommand("cancel", number=4)),
        ("actual E-3 7d", EstimateCommand("actual", number=3, text="7d")),
        ("actual E-3 1.5 weeks", EstimateCommand("actual", number=3, text="1.5 weeks")),
        ("calibration", EstimateCommand("calibration")),
        ("calibration <@U1|ana>", EstimateCommand("calibration", invitees=("U1",))),
        ("API cache", EstimateCommand("new", topic="API cache")),
        (
            "Checkout redesign: API; UI; data migration",
            EstimateCommand(
                "new", topic="Checkout redesign", tasks=("API", "UI", "data migration")
            ),
        ),
        (
            "API cache <@U1|ana> <@U2> in hours",
            EstimateCommand(
                "new", topic="API cache", unit=EstimateUnit.HOURS, invitees=("U1", "U2")
            ),
        ),
        (
            "<@U2|bo> API <@U1|ana> cache <@U2|bo>",
            EstimateCommand("new", topic="API cache", invitees=("U2", "U1")),
        ),
        ("Index rebuild in points", EstimateCommand("new", topic="Index rebuild", unit="points")),
        ("Index rebuild in w", EstimateCommand("new", topic="Index rebuild", unit="weeks")),
        (
            "API cache by Friday 15:00",
            EstimateCommand("new", topic="API cache", deadline="Friday 15:00"),
        ),
        (
            "API cache by 2026-12-04 15:00 in weeks",
            EstimateCommand("new", topic="API cache", unit="weeks", deadline="2026-12-04 15:00"),
        ),
        (
            "API cache in weeks by tomorrow 9:00 phase design",
            EstimateCommand(
                "new",
                topic="API cache",
                unit="weeks",
                deadline="tomorrow 9:00",
                phase=ConePhase.DESIGN,
            ),
        ),
        (
            "API cache --phase requirements",
            EstimateCommand("new", topic="API cache", phase=ConePhase.REQUIREMENTS),
        ),
        (
            "ADR-12 Migration to Postgres",
            EstimateCommand("new", topic="Migration to Postgres", decision_number=12),
        ),
        (
            "adr12: Migration: schema; data",
            EstimateCommand("new", topic="Migration", tasks=("schema", "data"), decision_number=12),
        ),
        # words that look like options but aren't stay in the topic
        ("Move billing by hand", EstimateCommand("new", topic="Move billing by hand")),
        ("Rewrite search in Rust", EstimateCommand("new", topic="Rewrite search in Rust")),
        ("Redesign phase two", EstimateCommand("new", topic="Redesign phase two")),
        ("show page redesign", EstimateCommand("new", topic="show page redesign")),
        ("list view filters", EstimateCommand("new", topic="list view filters")),
        # an unreadable deadline is kept raw for the listener to report
        (
            "API cache by next Friday",
            EstimateCommand("new", topic="API cache", deadline="next Friday"),
        ),
        # a URL is not a task separator; Slack's escaping is undone, mentions typed as text don't count
        (
            "see <https://x.io/a|x>: one; two",
            EstimateCommand("new", topic="see https://x.io/a", tasks=("one", "two")),
        ),
        (
            "&lt;!channel&gt; &amp; &lt;@UEVIL&gt;",
            EstimateCommand("new", topic="<!channel> & <@UEVIL>"),
        ),
        ("API\x00 cache", EstimateCommand("new", topic="API cache")),
        ("a: x; x; y", EstimateCommand("new", topic="a", tasks=("x", "y"))),
    ],
)
def test_parse_estimate(text: str, expected: EstimateCommand) -> None:
    assert parse_estimate(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("show", "Which round"),
        ("show E3x", "Which round"),
        ("reveal", "Which round"),
        ("cancel E-3 now", "Just the round"),
        ("actual", "Which round"),
        ("actual E-3", "How long"),
        ("calibration <@U1> <@U2>", "One person"),
        ("ADR-12", "What should we estimate for ADR-12"),
        ("<@U1>", "What should we estimate"),
        ("in days", "What should we estimate"),
        ("API --phase later", "phase is one of"),
        ("Big: " + "; ".join(f"t{i}" for i in range(16)), "At most 15 tasks"),
        ("Big: " + "x" * 201, "200 characters"),
        ("t" * 201, "200 characters"),
        ("API " + " ".join(f"<@U{i:03d}>" for i in range(51)), "At most 50 people"),
    ],
)
def test_parse_estimate_invalid_gives_a_sentence(text: str, says: str) -> None:
    cmd = parse_estimate(text)
    assert cmd.name == "invalid"
    assert says in cmd.error and cmd.error.endswith(".")


def test_limits_are_inclusive() -> None:
    cmd = parse_estimate("Big: " + "; ".join("x" * 198 + f"{i:02d}" for i in range(15)))
    assert cmd.name == "new" and len(cmd.tasks) == 15
    cmd = parse_estimate("API " + " ".join(f"<@U{i:03d}|n>" for i in range(50)))
    assert cmd.name == "new" and len(cmd.invitees) == 50
    assert parse_estimate("t" * 200).topic == "t" * 200


@given(st.text(max_size=600))
@settings(max_examples=400, deadline=None)
def test_parse_estimate_never_raises(text: str) -> None:
    cmd = parse_estimate(text)
    assert cmd.name in {
        "new",
        "help",
        "list",
        "sizes",
        "show",
        "reveal",
        "cancel",
        "actual",
        "calibration",
        "invalid",
    }
    if cmd.name == "invalid":
        assert cmd.error
    if cmd.name == "new":
        assert cmd.topic and len(cmd.topic) <= 200 and "\x00" not in cmd.topic
        assert len(cmd.tasks) <= 15 and all(0 < len(t) <= 200 for t in cmd.tasks)
        assert len(cmd.invitees) <= 50 and len(set(cmd.invitees)) == len(cmd.invitees)


mention_or_word = st.one_of(
    st.sampled_from(
        ["<@U1|a>", "<@W2>", "in", "hours", "by", "Friday", "15:00", "phase", "design", ":", ";"]
    ),
    st.sampled_from(["--phase", "ADR-3", "E-3", "show", "actual", "&lt;", "<!here>", "x"]),
)


@given(st.lists(mention_or_word, max_size=30))
@settings(max_examples=300, deadline=None)
def test_parse_estimate_never_raises_on_option_soup(words: list[str]) -> None:
    cmd = parse_estimate(" ".join(words))
    assert cmd.name == "invalid" or cmd.name != "new" or cmd.topic


# -- deadlines -----------------------------------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")
FRIDAY_10 = datetime(2026, 11, 27, 10, 0, tzinfo=BERLIN)  # a Friday


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("Friday 15:00", datetime(2026, 11, 27, 15, 0, tzinfo=BERLIN)),  # later today
        ("Friday 9:00", datetime(2026, 12, 4, 9, 0, tzinfo=BERLIN)),  # past today: next week
        ("fri 3pm", datetime(2026, 11, 27, 15, 0, tzinfo=BERLIN)),
        ("Monday at 9am", datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)),
        ("Tuesday", datetime(2026, 12, 1, 17, 0, tzinfo=BERLIN)),
        ("tomorrow 9:00", datetime(2026, 11, 28, 9, 0, tzinfo=BERLIN)),
        ("today 17:30", datetime(2026, 11, 27, 17, 30, tzinfo=BERLIN)),
        ("15:00", datetime(2026, 11, 27, 15, 0, tzinfo=BERLIN)),
        ("9:00", datetime(2026, 11, 28, 9, 0, tzinfo=BERLIN)),  # past: tomorrow's
        ("12am", datetime(2026, 11, 28, 0, 0, tzinfo=BERLIN)),
        ("noon", datetime(2026, 11, 27, 12, 0, tzinfo=BERLIN)),
        ("2026-12-04 15:00", datetime(2026, 12, 4, 15, 0, tzinfo=BERLIN)),
        ("2026-12-04", datetime(2026, 12, 4, 17, 0, tzinfo=BERLIN)),
        ("2026-01-04 15:00", datetime(2026, 1, 4, 15, 0, tzinfo=BERLIN)),  # past: caller says so
    ],
)
def test_parse_deadline(phrase: str, expected: datetime) -> None:
    got = parse_deadline(phrase, FRIDAY_10)
    assert got == expected
    assert got is not None and got.tzinfo is BERLIN


@pytest.mark.parametrize(
    "phrase",
    ["", "hand", "13pm", "25:00", "Friday 3", "2026-02-30 10:00", "Friday 9:75"],
)
def test_unreadable_deadline_is_none(phrase: str) -> None:
    assert parse_deadline(phrase, FRIDAY_10) is None


def test_deadlines_read_the_phrases_every_command_reads() -> None:
    # the one parser (bot.core.dates.read_instant): "next friday" is a week on, never today
    assert parse_deadline("next Friday", FRIDAY_10) == datetime(2026, 12, 4, 17, 0, tzinfo=BERLIN)
    assert parse_deadline("in 2 weeks", FRIDAY_10) == datetime(2026, 12, 11, 17, 0, tzinfo=BERLIN)
    assert parse_deadline("2w", FRIDAY_10) == datetime(2026, 12, 11, 17, 0, tzinfo=BERLIN)


def test_deadline_across_a_dst_change_keeps_the_wall_clock() -> None:
    before = datetime(2026, 10, 23, 12, 0, tzinfo=BERLIN)  # CEST; clocks go back on the 25th
    got = parse_deadline("Monday 9:00", before)
    assert got is not None and (got.hour, got.utcoffset()) == (9, timedelta(hours=1))


def test_naive_now_reads_as_utc() -> None:
    got = parse_deadline("tomorrow 9:00", datetime(2026, 11, 27, 10, 0))
    assert got == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_parse_deadline_never_raises(phrase: str) -> None:
    got = parse_deadline(phrase, FRIDAY_10)
    assert got is None or got.tzinfo is not None


def test_every_parsed_deadline_phrase_reads() -> None:
    for text in ("API by Friday 15:00", "API by tomorrow 9:00", "API by 2026-12-04 15:00"):
        assert parse_deadline(parse_estimate(text).deadline, FRIDAY_10) is not None


@pytest.mark.parametrize(
    ("text", "quick", "topic"),
    [
        ("API cache quick", True, "API cache"),
        ("API cache in hours quick by Friday 15:00", True, "API cache"),
        ("API --quick cache", True, "API cache"),
        ("quick", False, "quick"),  # the topic itself
        ("Quick wins in days", False, "Quick wins"),
    ],
)
def test_quick_rounds(text: str, quick: bool, topic: str) -> None:
    cmd = parse_estimate(text)
    assert (cmd.name, cmd.quick, cmd.topic) == ("new", quick, topic)


@pytest.mark.parametrize(
    ("text", "name", "rest"),
    [
        ("sizes", "sizes", ""),
        ("sizes points", "sizes", "points"),
        ("sizes M 2d 3d 5d", "sizes", "M 2d 3d 5d"),
        ("sizes XXL 1 2 3", "sizes", "XXL 1 2 3"),  # refused as a size, never a round
        ("sizes of the buttons", "new", ""),  # a topic
    ],
)
def test_sizes_verb(text: str, name: str, rest: str) -> None:
    cmd = parse_estimate(text)
    assert cmd.name == name and (cmd.text == rest or name == "new")
