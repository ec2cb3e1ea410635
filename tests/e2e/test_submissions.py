"""Nothing a person typed is lost, nothing is recorded twice (issue 7, items 5 and 6), on
SQLite and on a real Postgres server: a modal that cannot be saved stays open with a sentence
on its first field; pressing Submit again on the same modal records once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.core.ids import Action, Field
from tests.support.adr import Adr


def test_the_same_submit_twice_records_one_decision_and_posts_it_once(adr: Adr, slack, emulator):
    view = adr.open_form("new Submit twice")
    values = {Field.DECISION: "Once.", Field.INFORMED: ["UDAN"]}
    with ThreadPoolExecutor(max_workers=2) as pool:  # both at once, as an impatient double press
        replies = list(pool.map(lambda _: slack.submit(view, values), range(2)))
    assert [(r.status, r.text) for r in replies] == [(200, "")] * 2  # both close the modal
    again = slack.submit(view, values)  # and once more, later
    assert (again.status, again.text) == (200, "")
    assert adr.count("decisions") == 1
    # a new modal is a new decision
    adr.new("Submit twice", decision="Another one.")
    assert adr.count("decisions") == 2
    slack.finish()
    posts = [c for c in emulator.calls("chat.postMessage") if c.args.get("channel") == "CGENERAL"]
    assert len(posts) == 2  # one per decision
    assert len([c for c in emulator.calls("chat.postMessage") if c.args["channel"] == "UDAN"]) == 1


def test_the_same_stance_and_outcome_submit_twice_record_once(adr: Adr, slack):
    adr.new("Disagree twice")
    before = slack.views_opened()
    assert slack.click(Action.DISAGREE, "1", user="UBOB").status == 200
    view = slack.opened_view(after=before)
    values = {Field.CONCERN: "Too slow.", Field.COMMIT: ["commit"]}
    assert slack.submit(view, values, user="UBOB").text == ""
    # Bob changes it in another modal, then his first modal's Submit arrives again (a retry)
    before = slack.views_opened()
    assert slack.click(Action.DISAGREE, "1", user="UBOB").status == 200
    second = slack.opened_view(after=before)
    assert (
        slack.submit(second, {**values, Field.CONCERN: "Too slow and costly."}, user="UBOB").text
        == ""
    )
    assert slack.submit(view, values, user="UBOB").text == ""
    assert adr.stances(1)["UBOB"]["concern"] == "Too slow and costly."  # the retry changed nothing
    assert len(adr.events(1, kind="stance")) == 2


def test_a_failure_before_the_ack_keeps_the_modal_open_and_submit_works_again(
    adr: Adr, slack, emulator, monkeypatch: pytest.MonkeyPatch
):
    view = adr.open_form("new Keep what I typed")
    values = {Field.DECISION: "Everything I wrote."}
    monkeypatch.setenv("DECISIONBOT_FAULT", "decision.saving:raise")  # the database goes away
    reply = slack.submit(view, values)
    assert reply.status == 200
    body = reply.json()
    assert body["response_action"] == "errors"  # the modal stays open with what was typed
    [(field, sentence)] = body["errors"].items()
    assert field == Field.TITLE  # the first field
    assert "couldn't save" in sentence and "ref " in sentence and "Submit again" in sentence
    assert adr.count("decisions") == 0
    assert adr.count("due_work") == 0  # nothing half-written

    monkeypatch.delenv("DECISIONBOT_FAULT")  # the cause is gone
    assert slack.submit(view, values).text == ""
    assert adr.count("decisions") == 1
    adr.wait_recorded(1)


def test_a_domain_error_before_the_ack_is_shown_in_the_modal(adr: Adr, slack):
    adr.new("Old way")
    first = adr.open_form("supersede 1")
    second = adr.open_form("supersede 1")
    assert slack.submit(first, {Field.TITLE: "New way"}).text == ""
    reply = slack.submit(second, {Field.TITLE: "Newer way"})
    body = reply.json()
    assert body["response_action"] == "errors"
    [sentence] = body["errors"].values()
    assert "ADR-1" in sentence and "superseded" in sentence
    assert adr.count("decisions") == 2
