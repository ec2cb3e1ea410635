"""The interactions with a statement budget (issue 27), driven as Slack sends them, each with
its setup and what it must have done: used by ``tests/e2e/test_statement_budgets.py`` (counts)
and ``benchmarks/interaction_profile.py`` (profiles).

Each interaction runs against a ``BotServer`` started with ``dispatch=False``: the request is
sent, its listeners finish, then its outbox work is delivered with ``BotServer.drain()``, so the
request path and the work it causes can be counted apart with nothing else running. Its setup
does the same interaction once first (unmeasured), so that what a process keeps after its first
request (compiled templates, the workspace's settings) is warm, as it is for a team on its
second click.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bot.core.ids import Action, EstimateField, Field
from storage.db import Database
from tests.support.adr import Adr, ephemeral
from tests.support.harness import BotServer, SlackDriver
from tests.support.slack_emulator import SlackEmulator


@dataclass
class Interaction:
    """``act`` sends the request (and waits for its listeners); ``check`` asserts what it did
    once its outbox work is delivered."""

    act: Callable[[], Any]
    check: Callable[[], None]


@contextmanager
def quiet_adr(db: Database, emulator: SlackEmulator) -> Iterator[Adr]:
    """`/adr` over real HTTP with no background dispatcher: outbox work runs in
    ``BotServer.drain()``, as every interaction here expects."""
    server = BotServer(db, emulator, dispatch=False).start()
    try:
        yield Adr(SlackDriver(server, emulator), emulator, db)
    finally:
        server.stop()


def _settled(slack: SlackDriver) -> None:
    slack.listeners_done()
    slack.server.drain()


def _new_decision(adr: Adr, title: str, *, user: str = "UALICE") -> int:
    number = adr.new(
        title,
        user=user,
        values={Field.DECIDERS: ["UALICE", "UBOB"], Field.CONSULTED: ["UCAROL"]},
        posted=False,
    )
    _settled(adr.slack)
    return number


def _submitted(adr: Adr, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    view = adr.open_form(f"new Decision {n}")
    _settled(adr.slack)
    values = {
        Field.DECISION: f"We do thing {n}.",
        Field.CONTEXT: "Because of reasons.",
        Field.DECIDERS: ["UALICE", "UBOB"],
        Field.CONSULTED: ["UCAROL"],
        Field.INFORMED: ["UDAN"],
        Field.TAGS: "infra db",
    }
    return view, values


def adr_modal(adr: Adr) -> Interaction:
    """`/adr`: the decision form opens (views.open)."""
    slack = adr.slack
    slack.command("", follow=False)
    _settled(slack)
    before = slack.views_opened()

    def act() -> Any:
        reply = slack.command("", follow=False)
        slack.listeners_done()
        return reply

    def check() -> None:
        assert slack.views_opened() == before + 1

    return Interaction(act, check)


def decision_submit(adr: Adr) -> Interaction:
    """The decision form's Submit: saved, posted in the channel, its review planned, the
    informed person told, the author confirmed."""
    slack = adr.slack
    view, values = _submitted(adr, 1)
    slack.submit(view, values)
    _settled(slack)
    view, values = _submitted(adr, 2)
    posts = len(adr.posts("CGENERAL"))

    def act() -> Any:
        reply = slack.submit(view, values)
        slack.listeners_done()
        return reply

    def check() -> None:
        row = adr.decision(2)
        assert row["message_ts"], row
        assert len(adr.posts("CGENERAL")) == posts + 1
        assert adr.rows("SELECT id FROM reviews WHERE decision_id = :d", d=row["id"])
        assert any(c.args.get("channel") == "UDAN" for c in adr.posts())

    return Interaction(act, check)


def agree(adr: Adr) -> Interaction:
    """Agree on a posted decision: the stance is kept and the card refreshed (chat.update)."""
    slack = adr.slack
    # The same person agrees on another decision first: what is warm after one click (the
    # person's cached profile among it) is warm here.
    first = _new_decision(adr, "Use MySQL")
    slack.click(Action.AGREE, str(first), user="UBOB", message_ts=adr.decision(first)["message_ts"])
    _settled(slack)
    number = _new_decision(adr, "Use Postgres")
    ts = adr.decision(number)["message_ts"]
    slack.click(Action.AGREE, str(number), user="UCAROL", message_ts=ts)
    _settled(slack)
    updates = len(adr.emulator.calls("chat.update"))

    def act() -> Any:
        reply = slack.click(Action.AGREE, str(number), user="UBOB", message_ts=ts)
        slack.listeners_done()
        return reply

    def check() -> None:
        assert adr.stances(number)["UBOB"]["kind"] == "agree"
        assert len(adr.emulator.calls("chat.update")) == updates + 1

    return Interaction(act, check)


def _disagree(concern: str) -> dict[str, Any]:
    return {Field.CONCERN: concern, Field.COMMIT: ["commit"]}


def stance_submit(adr: Adr) -> Interaction:
    """Disagree and commit, with a concern, submitted from its form."""
    slack = adr.slack

    def open_disagree(number: int, user: str) -> dict[str, Any]:
        before = slack.views_opened()
        ts = adr.decision(number)["message_ts"]
        slack.click(Action.DISAGREE, str(number), user=user, message_ts=ts)
        view = slack.opened_view(after=before)
        _settled(slack)
        return view

    # The same person disagrees on another decision first (see agree).
    first = _new_decision(adr, "Use RabbitMQ")
    slack.submit(open_disagree(first, "UBOB"), _disagree("Ops load."), user="UBOB")
    _settled(slack)
    number = _new_decision(adr, "Use Kafka")
    slack.submit(open_disagree(number, "UCAROL"), _disagree("Ops load."), user="UCAROL")
    _settled(slack)
    view = open_disagree(number, "UBOB")
    updates = len(adr.emulator.calls("chat.update"))

    def act() -> Any:
        reply = slack.submit(view, _disagree("Nobody here runs it."), user="UBOB")
        slack.listeners_done()
        return reply

    def check() -> None:
        stance = adr.stances(number)["UBOB"]
        assert (stance["kind"], stance["concern"]) == (
            "disagree_and_commit",
            "Nobody here runs it.",
        )
        assert len(adr.emulator.calls("chat.update")) == updates + 1

    return Interaction(act, check)


def search(adr: Adr) -> Interaction:
    """`/adr search <words>`, answered in the ack."""
    slack = adr.slack
    for title in ("Use Postgres for billing", "Use Redis for sessions", "Retire the cron box"):
        _new_decision(adr, title)
    adr.run("search postgres")
    _settled(slack)
    replies: list[str] = []

    def act() -> Any:
        reply = slack.command("search postgres billing", follow=False)
        replies.append(ephemeral(reply))
        slack.listeners_done()
        return reply

    def check() -> None:
        assert "ADR-1" in replies[0] and "ADR-2" not in replies[0], replies[0]

    return Interaction(act, check)


def estimate_submit(adr: Adr) -> Interaction:
    """An estimate submitted in an open round's form: kept hidden, the round's message says
    one more person estimated."""
    slack = adr.slack
    for topic in ("API", "UI"):
        slack.command(f"{topic} in days <@UANA> <@UBO> <@UCY>", command="/estimate", user="UFAC")
        _settled(slack)

    def form(user: str, number: int = 2) -> dict[str, Any]:
        before = slack.views_opened()
        slack.click(Action.ESTIMATE_ADD, str(number), user=user)
        view = slack.opened_view(after=before)
        _settled(slack)
        return view

    def numbers(best: str, likely: str, worst: str) -> dict[str, Any]:
        return {
            "t0_best": best,
            "t0_likely": likely,
            "t0_worst": worst,
            EstimateField.CONFIDENCE: "80",
            EstimateField.FAMILIARITY: "similar",
            EstimateField.ASSUMPTIONS: "",
        }

    # The same person estimates in another round first (see agree).
    slack.submit(form("UBO", 1), numbers("2", "3", "5"), user="UBO")
    _settled(slack)
    slack.submit(form("UANA"), numbers("2", "3", "5"), user="UANA")
    _settled(slack)
    view = form("UBO")
    updates = len(adr.emulator.calls("chat.update"))

    def act() -> Any:
        reply = slack.submit(view, numbers("3", "5", "8"), user="UBO")
        slack.listeners_done()
        return reply

    def check() -> None:
        [row] = adr.rows("SELECT count(*) AS n FROM estimates")
        assert row["n"] == 3
        calls = adr.emulator.calls("chat.update")
        assert len(calls) == updates + 1, [c.args.get("text") for c in calls]

    return Interaction(act, check)


def park(adr: Adr) -> Interaction:
    """`/parkinglot <text>`: P-n parked, answered at once."""
    slack = adr.slack
    slack.command("Dark mode", command="/parkinglot")
    _settled(slack)
    replies: list[str] = []

    def act() -> Any:
        reply = slack.command("Export to CSV", command="/parkinglot", follow=False)
        replies.append(ephemeral(reply) if reply.text else "")
        slack.listeners_done()
        return reply

    def check() -> None:
        [row] = adr.rows("SELECT request FROM parking_items WHERE number = 2")
        assert row["request"] == "Export to CSV"

    return Interaction(act, check)


INTERACTIONS: dict[str, Callable[[Adr], Interaction]] = {
    "adr": adr_modal,
    "decision_submit": decision_submit,
    "agree": agree,
    "stance_submit": stance_submit,
    "search": search,
    "estimate_submit": estimate_submit,
    "park": park,
}
