"""Every statement an interaction sends, on the request path and in the outbox work it
causes, within its budget (issue 27; the budgets and how they were set: benchmarks/README.md).

Counts are deterministic: the server runs without its background dispatcher and the outbox is
delivered row by row by ``BotServer.drain()`` (one claim per row, and a last empty one), so
nothing else runs while an interaction is counted. A budget is an upper bound; the test prints
what was sent, so a change that adds a statement shows which one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storage.db import Database
from tests.support.adr import Adr
from tests.support.interactions import INTERACTIONS, quiet_adr
from tests.support.slack_emulator import SlackEmulator
from tests.support.statements import counting

# (request path, outbox work) per interaction and store: what each sends today (issue 27;
# before it, and how each was set: benchmarks/README.md). Lower them when a change sends fewer.
BUDGETS: dict[str, dict[str, tuple[int, int]]] = {
    "sqlite": {
        "adr": (0, 3),
        "decision_submit": (9, 46),
        "agree": (10, 16),
        "stance_submit": (10, 16),
        "search": (8, 3),
        "estimate_submit": (16, 25),
        "park": (11, 16),
    },
    "postgresql": {
        "adr": (0, 3),
        "decision_submit": (10, 47),
        "agree": (11, 16),
        "stance_submit": (11, 16),
        "search": (9, 3),
        "estimate_submit": (17, 25),
        "park": (12, 16),
    },
}


@pytest.fixture(name="quiet_adr")
def quiet_adr_fixture(db: Database, emulator: SlackEmulator) -> Iterator[Adr]:
    with quiet_adr(db, emulator) as adr:
        yield adr


@pytest.mark.parametrize("name", list(INTERACTIONS))
def test_an_interaction_sends_no_more_statements_than_its_budget(
    name: str, quiet_adr: Adr, db: Database
) -> None:
    interaction = INTERACTIONS[name](quiet_adr)
    with counting() as request:
        reply = interaction.act()
    assert reply.status == 200, reply.text
    with counting() as outbox:
        quiet_adr.slack.server.drain()
    interaction.check()
    budget_request, budget_outbox = BUDGETS[db.dialect][name]
    print(f"\n{db.dialect} {name}: request {request.total} {dict(request.kinds())}")
    print(request.describe())
    print(f"{db.dialect} {name}: outbox {outbox.total} {dict(outbox.kinds())}")
    print(outbox.describe())
    assert request.total <= budget_request, request.describe()
    assert outbox.total <= budget_outbox, outbox.describe()
