"""The time walker of tests/e2e/test_one_clock.py finds what it must (and only that)."""

from __future__ import annotations

from typing import Any

from tests.support.times import misplaced_times, time_tokens

TOKEN = "<!date^1804496400^{date_short_pretty} {time}|2027-03-08 10:00 Europe/Berlin>"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_a_time_in_mrkdwn_is_fine_only_as_a_date_tokens_fallback() -> None:
    assert misplaced_times({"text": "x", "blocks": [_section(f"Next review: {TOKEN}")]}) == []
    [fault] = misplaced_times({"text": "x", "blocks": [_section("• 2027-03-08 09:00 UTC did")]})
    assert "09:00 outside <!date" in fault
    # a text-only message is mrkdwn too
    assert misplaced_times({"text": f"I'll ask again {TOKEN}"}) == []
    assert misplaced_times({"text": "I'll ask again at 10:00 Europe/Berlin"}) != []


def test_a_date_tokens_fallback_must_name_its_zone() -> None:
    bare = "<!date^1804496400^{date_short_pretty} {time}|2027-03-08 10:00>"
    [fault] = misplaced_times({"blocks": [_section(bare)]})
    assert "names no zone" in fault
    day = "<!date^1804496400^{date_short}|2027-03-08>"  # a day: no time, no zone needed
    assert misplaced_times({"blocks": [_section(day)]}) == []


def test_plain_text_and_notifications_name_a_zone_other_than_utc() -> None:
    button = {"type": "button", "text": {"type": "plain_text", "text": "Ask at 10:00"}}
    assert "no zone named" in misplaced_times({"blocks": [{"elements": [button]}]})[0]
    header = {"type": "header", "text": {"type": "plain_text", "text": "Due 10:00 UTC"}}
    assert "UTC outside a fallback" in misplaced_times({"blocks": [header]})[0]
    assert misplaced_times({"blocks": [header]}, utc_ok=True) == []
    berlin = {"type": "header", "text": {"type": "plain_text", "text": "10:00 Europe/Berlin"}}
    assert misplaced_times({"blocks": [berlin]}) == []
    # a notification (top-level text beside blocks) is plain: no <!date…> there
    assert "raw" in misplaced_times({"text": f"due {TOKEN}", "blocks": [_section("x")]})[0]


def test_what_people_did_not_read_is_not_walked_and_tokens_are_counted() -> None:
    view = {"private_metadata": "10:00", "blocks": [{"value": "10:00", "text": _section(TOKEN)}]}
    assert misplaced_times(view) == []
    assert len(time_tokens(view)) == 1
