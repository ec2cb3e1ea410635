"""Every Slack call the bot makes goes over the process's pool of kept-alive connections
(issue 28), through the real path: signed HTTP -> Bolt -> database -> Slack over TLS.

The emulator serves TLS with a certificate that only the installed pool trusts: a call made
any other way (Bolt's own per-request client, a stock ``WebhookClient`` for a response_url, a
stock upload) fails its handshake, and the interaction's own checks fail with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.core import transport
from bot.core.slack_api import REQUEST_TIMEOUT
from bot.core.transport import PooledWebClient, SlackPool
from storage.db import Database
from tests.support.adr import Adr
from tests.support.harness import BOT_TOKEN, SlackDriver
from tests.support.interactions import INTERACTIONS, quiet_adr
from tests.support.slack_emulator import SlackEmulator


@pytest.fixture
def tls(tls_emulator: SlackEmulator) -> Iterator[SlackEmulator]:
    """The process's pool trusts this emulator, and nothing else does."""
    previous = transport.install(SlackPool(ssl_context=tls_emulator.client_context()))
    try:
        yield tls_emulator
    finally:
        transport.shared_pool().clear()
        transport.install(previous)


@pytest.fixture
def tls_adr(db: Database, tls: SlackEmulator) -> Iterator[Adr]:
    with quiet_adr(db, tls) as adr:
        yield adr


@pytest.mark.parametrize("name", list(INTERACTIONS))
def test_every_interaction_works_over_a_few_kept_alive_tls_connections(
    name: str, tls_adr: Adr, tls: SlackEmulator
) -> None:
    interaction = INTERACTIONS[name](tls_adr)  # its setup does it once, and more
    reply = interaction.act()
    assert reply.status == 200, reply.text
    tls_adr.slack.server.drain()
    interaction.check()
    made = len(tls.calls())
    handshakes = tls.connections_opened
    print(f"\n{name}: {made} calls, {handshakes} connections")
    assert made >= 2 * handshakes, (made, handshakes)
    assert handshakes <= 3, (made, handshakes)


def test_the_request_path_the_outbox_and_response_urls_all_use_the_pool(
    tls_adr: Adr, tls: SlackEmulator
) -> None:
    """Agree: views.open and a response_url answer on the request path, then the outbox's
    chat.update and chat.postMessage."""
    agree = INTERACTIONS["agree"](tls_adr)
    agree.act()
    tls_adr.slack.server.drain()
    agree.check()
    methods = {c.method for c in tls.calls()}
    assert {"views.open", "chat.postMessage", "chat.update", "response_url"} <= methods


def test_connections_dropped_by_slack_between_deliveries_cost_no_delivery(
    tls_adr: Adr, tls: SlackEmulator, db: Database
) -> None:
    first = INTERACTIONS["decision_submit"](tls_adr)
    first.act()
    assert tls.drop_connections() >= 1  # Slack ends its idle keep-alives
    tls_adr.slack.server.drain()
    first.check()
    agree = INTERACTIONS["agree"](tls_adr)
    tls.drop_connections()
    agree.act()
    tls.drop_connections()
    tls_adr.slack.server.drain()
    agree.check()
    rows = tls_adr.rows("SELECT kind, state, attempts, last_error FROM due_work")
    assert rows
    # Every row delivered on its first attempt: no failed call was retried.
    assert [r for r in rows if r["attempts"] > 1 or r["last_error"] or r["state"] == "failed"] == []


def test_each_request_gets_a_pooled_client_of_its_own_with_its_token(
    slack: SlackDriver,
) -> None:
    """Bolt's per-request client is replaced after authorization: a new pooled client per
    request, carrying the request's token; no client object is shared between requests."""
    seen: list[WebClient] = []

    def capture(context: BoltContext, next: Callable[[], None]) -> None:
        seen.append(context.client)
        next()

    slack.server.app.middleware(capture)  # runs after the app's own middleware
    for _ in range(3):
        slack.command("list", follow=False)
    slack.listeners_done()
    assert len(seen) == 3
    assert all(type(client) is PooledWebClient for client in seen)
    assert len({id(client) for client in seen}) == 3
    assert all(client is not slack.server.app.client for client in seen)
    assert {client.token for client in seen} == {BOT_TOKEN}
    assert all(client.timeout == REQUEST_TIMEOUT and client.retry_handlers == [] for client in seen)
