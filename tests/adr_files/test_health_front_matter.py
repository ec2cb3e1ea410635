"""Decision health in ADR files (issue 25): a record's door and scored forecasts (nobody's)
are written in MADR's front matter (``door: one-way``, ``forecasts:`` a list of
``{probability: 75, outcome: worked}``) and as Nygard facts under the date (``- Door:
one-way``, ``- Forecasts: 75% worked, …``), and read back to the same record. What cannot be
read is kept, as every unknown value is: an extra section under its key."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adr_files.parse import parse_text
from adr_files.records import AdrRecord, ForecastRecord
from adr_files.write import write_record
from tests.adr_files.test_write import _round_trip, records_and_names

FORECASTS = [
    ForecastRecord(probability=75, outcome="worked"),
    ForecastRecord(probability=40, outcome="didnt_work"),
    ForecastRecord(probability=75, outcome="partly"),
    ForecastRecord(probability=10, outcome="didnt_work"),
]
# by probability, then worked, partly, didn't work
SORTED = [FORECASTS[3], FORECASTS[1], FORECASTS[0], FORECASTS[2]]


def _record(*, door: str | None = None, forecasts: list[ForecastRecord] | None = None) -> AdrRecord:
    return AdrRecord(
        title="Use Kafka",
        number=7,
        date=date(2026, 3, 1),
        status="accepted",
        decision="We use Kafka.",
        door=door,
        forecasts=list(forecasts or []),
    )


def test_madr_writes_door_and_forecasts_in_the_front_matter() -> None:
    text = write_record(_record(door="one_way", forecasts=FORECASTS), fmt="madr", names={})
    assert text.startswith(
        "---\n"
        "status: accepted\n"
        "date: 2026-03-01\n"
        "door: one-way\n"
        "forecasts:\n"
        "- probability: 10\n"
        "  outcome: didn't work\n"
        "- probability: 40\n"
        "  outcome: didn't work\n"
        "- probability: 75\n"
        "  outcome: worked\n"
        "- probability: 75\n"
        "  outcome: partly\n"
        "---\n"
        "\n"
        "# Use Kafka\n"
    )
    back = parse_text(text, file_name="0007-use-kafka.md")
    assert (back.door, back.forecasts, back.extra) == ("one_way", SORTED, [])


def test_nygard_writes_them_as_facts_under_the_date() -> None:
    text = write_record(_record(door="two_way", forecasts=FORECASTS), fmt="nygard", names={})
    assert text.startswith(
        "# 7. Use Kafka\n"
        "\n"
        "Date: 2026-03-01\n"
        "\n"
        "- Door: two-way\n"
        "- Forecasts: 10% didn't work, 40% didn't work, 75% worked, 75% partly\n"
        "\n"
        "## Status\n"
        "\n"
        "Accepted\n"
    )
    back = parse_text(text, file_name="0007-use-kafka.md")
    assert (back.door, back.forecasts, back.extra) == ("two_way", SORTED, [])


@pytest.mark.parametrize("fmt", ["madr", "nygard"])
def test_a_record_without_them_is_written_as_before(fmt: str) -> None:
    text = write_record(_record(), fmt=fmt, names={})
    assert "door" not in text.lower() and "forecast" not in text.lower()
    back = parse_text(text, file_name="0007-use-kafka.md")
    assert (back.door, back.forecasts) == (None, [])


@pytest.mark.parametrize(
    ("front_matter", "door", "forecasts"),
    [
        # the other ways a person may write them by hand
        (
            'door: One-way door\nforecasts:\n- probability: "75%"\n  outcome: didnt_work\n',
            "one_way",
            [ForecastRecord(75, "didnt_work")],
        ),
        (
            "door: two_way\nforecasts: [75% worked, 5 % partly, '60% didn\u2019t work']\n",
            "two_way",
            [
                ForecastRecord(75, "worked"),
                ForecastRecord(5, "partly"),
                ForecastRecord(60, "didnt_work"),
            ],
        ),
        (
            "forecasts: 90% worked, 25% Didn't work\n",
            None,
            [ForecastRecord(90, "worked"), ForecastRecord(25, "didnt_work")],
        ),
        ("forecasts: []\ndoor:\n", None, []),
    ],
)
def test_hand_written_forms_are_read(
    front_matter: str, door: str | None, forecasts: list[ForecastRecord]
) -> None:
    text = (
        f"---\nstatus: accepted\n{front_matter}---\n\n# Use Kafka\n\n## Decision Outcome\n\nYes.\n"
    )
    record = parse_text(text, file_name="0007-use-kafka.md")
    assert (record.door, record.forecasts, record.extra) == (door, forecasts, [])


def test_madr2_and_nygard_bullets_are_read() -> None:
    madr2 = (
        "# Use Kafka\n\n* Status: accepted\n* Door: one-way\n* Forecasts: 95% worked\n\n"
        "## Decision Outcome\n\nYes.\n"
    )
    record = parse_text(madr2, file_name="0007-use-kafka.md")
    assert (record.door, record.forecasts, record.extra) == (
        "one_way",
        [ForecastRecord(95, "worked")],
        [],
    )


@pytest.mark.parametrize(
    ("front_matter", "kept"),
    [
        ("door: revolving\n", ("door", "revolving")),
        # 100% is no forecast; one unreadable item keeps the whole value, nothing is dropped
        (
            "forecasts:\n- probability: 75\n  outcome: worked\n- probability: 100\n"
            "  outcome: worked\n",
            (
                "forecasts",
                "{probability: 75, outcome: worked}, {probability: 100, outcome: worked}",
            ),
        ),
        ("forecasts: 75% maybe\n", ("forecasts", "75% maybe")),
        (
            "forecasts:\n- probability: 75\n  outcome: worked\n  by: Ana\n",
            ("forecasts", "{probability: 75, outcome: worked, by: Ana}"),
        ),
        ("forecasts:\n- probability: true\n  outcome: worked\n", None),
    ],
)
def test_what_cannot_be_read_is_kept_as_an_extra_section(
    front_matter: str, kept: tuple[str, str] | None
) -> None:
    text = (
        f"---\nstatus: accepted\n{front_matter}---\n\n# Use Kafka\n\n## Decision Outcome\n\nYes.\n"
    )
    record = parse_text(text, file_name="0007-use-kafka.md")
    assert (record.door, record.forecasts) == (None, [])
    assert len(record.extra) == 1
    if kept is not None:
        assert record.extra == [kept]


@st.composite
def health_records(draw: st.DrawFn) -> tuple[AdrRecord, dict[int, str]]:
    record, names = draw(records_and_names())
    forecasts = draw(
        st.lists(
            st.builds(
                ForecastRecord,
                st.integers(1, 99),
                st.sampled_from(["worked", "partly", "didnt_work"]),
            ),
            max_size=6,
        )
    )
    door = draw(st.none() | st.sampled_from(["one_way", "two_way"]))
    return replace(record, door=door, forecasts=forecasts), names


@pytest.mark.parametrize("fmt", ["madr", "nygard"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=health_records())
def test_any_door_and_forecasts_survive_write_then_parse(
    fmt: str, generated: tuple[AdrRecord, dict[int, str]]
) -> None:
    record, names = generated
    back = _round_trip(record, fmt, names)
    assert back.door == record.door
    # written in one order (by probability, then outcome): the same forecasts, that order
    order = ["worked", "partly", "didnt_work"]
    assert back.forecasts == sorted(
        record.forecasts, key=lambda f: (f.probability, order.index(f.outcome))
    )
    # and the rest of the record as before
    assert replace(back, door=None, forecasts=[]) == replace(
        record, door=None, forecasts=[], format=back.format
    )
