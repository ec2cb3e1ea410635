"""Matching the people an ADR file names to Slack users (storage/adr_people.py): by email, name
or id, never by a guess. Pure: no database, no Slack."""

from __future__ import annotations

from adr_files.records import PersonRef
from storage.adr_people import PeopleIndex
from tests.support.adr_import import ANA, BOB, CARL, USERS


def test_people_index_matches_by_email_name_or_id_and_never_guesses():
    index = PeopleIndex(USERS)
    match = lambda text: index.match(PersonRef.parse(text))  # noqa: E731
    assert match("ana@example.com") == ANA
    assert match("Ana Lima <ANA@example.com>") == ANA
    assert match("ana lima") == ANA and match("@ana.l") == ANA
    assert match("Bob  Builder") == BOB
    assert match("Carl Jones") == CARL
    assert match("Sam") is None  # two people are called Sam
    assert match("Nobody Known") is None
    assert match("Gone Person") is None and match("gone@example.com") is None
    assert match("Whoever (@U0GONE)") == "U0GONE"  # a known id, even of someone who left
    assert match("Zed (@U0ZED)") is None  # an id this workspace does not have
    assert match("Bob Builder (@U0OTHERORG)") == BOB  # ...falls back to the name
    assert PeopleIndex().match(PersonRef.parse("Zed (@U0ZED)")) == "U0ZED"  # no list: trusted
    assert PeopleIndex().match(PersonRef.parse("Ana Lima")) is None
