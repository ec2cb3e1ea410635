"""The rules for who a person is (storage/people.py: person_from, is_outsider): pure, no
database."""

from __future__ import annotations

import pytest

from storage.models import SlackUser
from storage.people import is_outsider, person_from


def user(**flags: object) -> SlackUser:
    return SlackUser(team_id="TAAA", user_id="U1", **flags)


@pytest.mark.parametrize(
    ("row", "home", "known", "admin", "guest", "outsider"),
    [
        (None, None, False, False, True, False),  # unknown: a guest, not an admin
        (user(), None, True, False, False, False),
        (user(is_admin=True), None, True, True, False, False),
        (user(is_owner=True), None, True, True, False, False),
        (user(is_restricted=True), None, True, False, True, False),
        (user(is_ultra_restricted=True), None, True, False, True, False),
        # an admin of another organisation (Slack Connect): a guest here, no admin
        (user(is_admin=True, home_team_id="TOTHER"), None, True, False, True, True),
        # the request says so even when the cache does not
        (user(is_admin=True), "TOTHER", True, False, True, True),
        (None, "TOTHER", False, False, True, True),
        # the same Enterprise Grid organisation is not outside
        (user(is_admin=True, home_team_id="EORG"), None, True, True, False, False),
        (user(is_admin=True, deleted=True), None, False, False, True, False),
        (user(is_admin=True, is_bot=True), None, True, False, False, False),
    ],
)
def test_person_from(row, home, known, admin, guest, outsider) -> None:  # noqa: ANN001
    p = person_from(row, "U1", team_id="TAAA", enterprise_id="EORG", home_team_id=home)
    assert (p.known, p.admin, p.guest, p.outsider) == (known, admin, guest, outsider)


def test_is_outsider() -> None:
    assert not is_outsider(None, team_id="TAAA", enterprise_id=None)
    assert not is_outsider("TAAA", team_id="TAAA", enterprise_id=None)
    assert is_outsider("TBBB", team_id="TAAA", enterprise_id=None)
    assert not is_outsider("E1", team_id="TAAA", enterprise_id="E1")
