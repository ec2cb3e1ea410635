"""Drive the real app the way Slack does: signed HTTP requests over loopback.

``BotServer`` serves ``bot.runtime.web.create_wsgi_app(create_app(...))`` on 127.0.0.1 in a thread;
``SlackDriver`` signs and sends slash commands, button clicks, view submissions, shortcuts and
events, and fills a modal the bot opened by block and action id (``fill_view``), exactly as a
person's Slack client would submit it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from itertools import count
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bot.app import create_app, work_registry
from bot.engine.dispatcher import Dispatcher
from bot.engine.registry import OneClient
from bot.runtime.clients import build_dispatch_client, dispatch_clients
from bot.runtime.config import Settings
from bot.runtime.web import create_wsgi_app
from storage import due_work
from storage.db import Database
from storage.models import utcnow
from tests.support.slack_emulator import Call, SlackEmulator

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "test-client-secret"
# A fixed Fernet key for distributed-mode tests (32 url-safe base64 bytes).
ENCRYPTION_KEY = "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdDE="
_ids = count(1)


class _CountingExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, counting listeners still running after their ack, so a test can
    wait for what a listener does after it (lookups, a views.update) before going on."""

    def __init__(self) -> None:
        super().__init__(max_workers=32, thread_name_prefix="listener")
        self._running = 0
        self._idle = threading.Condition()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._running += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future[Any]) -> None:
        with self._idle:
            self._running -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout=timeout)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 256


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class BotServer:
    """The WSGI app on a loopback port, in a background thread."""

    def __init__(
        self,
        db: Database,
        emulator: SlackEmulator,
        *,
        distributed: bool = False,
        retention_days: int = 30,
        dispatch: bool = True,
    ) -> None:
        # Bound first: distributed mode's redirect URI names the port.
        self.httpd = make_server(
            "127.0.0.1",
            0,
            self._serve,
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        if distributed:
            # "Add to Slack": client credentials, no bot token; Slack's authorize page is
            # the emulator's.
            self.settings = Settings(
                database_url=db.url,
                slack_signing_secret=SIGNING_SECRET,
                slack_api_url=emulator.url,
                slack_client_id=CLIENT_ID,
                slack_client_secret=CLIENT_SECRET,
                encryption_keys=(ENCRYPTION_KEY,),
                retention_days=retention_days,
                slack_authorize_url=emulator.authorize_url,
                slack_redirect_uri=f"{self.url}/slack/oauth_redirect",
            )
        else:
            self.settings = Settings(
                database_url=db.url,
                slack_bot_token=BOT_TOKEN,
                slack_signing_secret=SIGNING_SECRET,
                slack_api_url=emulator.url,
            )
        self.app = create_app(self.settings, db)
        # Bolt answers 404 ("unhandled request") when a listener has not called ack() within
        # its ack_timeout (3 s of wall clock); on a stalled CI machine a listener can be that
        # late without being wrong. Tests prove the ack comes first structurally
        # (test_ack_under_latency), not by the clock, so give every listener a minute.
        # Global middleware registers no listener: every listener is in app._listeners.
        for listener in self.app._listeners:
            listener.ack_timeout = 60
        self.listeners = _CountingExecutor()
        self.app.listener_runner.listener_executor = self.listeners  # type: ignore[attr-defined]
        # The embedded dispatcher, as `decisionbot serve` runs it: woken by the app's own
        # commits; a short idle wait stands in for the ticker.
        self.dispatch_client = build_dispatch_client(self.settings)
        # What a `run-due` sweep of this deployment calls Slack with (a token per workspace
        # in distributed mode).
        self.clients = (
            dispatch_clients(self.settings, db) if distributed else OneClient(self.dispatch_client)
        )
        # Without the background dispatcher, delivery is drain()'s, on the dispatcher's own
        # engine as `decisionbot serve` builds it (Database.for_dispatch).
        self.db = db
        self._dispatch_db = db if dispatch else db.for_dispatch()
        self.dispatcher = Dispatcher(
            self._dispatch_db, self.clients, work_registry(), idle_wait=0.5
        )
        # dispatch=False: no background dispatcher; the test delivers with drain(), so that
        # nothing else touches the database meanwhile (statement budgets).
        self.dispatch = dispatch
        self._wsgi = create_wsgi_app(self.app, db, retention_days=retention_days)
        self._stopped = False
        # A short poll interval: stop() (shutdown) returns within 50 ms, not 500 ms per test.
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _serve(self, environ: Any, start_response: Any) -> Any:
        return self._wsgi(environ, start_response)

    def start(self) -> BotServer:
        if self.dispatch:
            self.dispatcher.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wait for listeners still running after their ack, then for the
        outbox work due by now to be delivered (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self.httpd.shutdown()
        self.httpd.server_close()
        # Listeners run on Bolt's executor; wait for them, so no work from one test writes to
        # (or locks) the database while the next one starts.
        self.app.listener_runner.listener_executor.shutdown(wait=True)  # type: ignore[attr-defined]
        if self.dispatch:
            self.dispatcher.wait_idle()
        self.dispatcher.stop(grace=10)
        if self._dispatch_db is not self.db:
            self._dispatch_db.dispose()

    def drain(self, ahead: timedelta = timedelta(seconds=1)) -> int:
        """Deliver every outbox row due now (or within ``ahead``: a card's refresh waits out
        its interval), one at a time, in this thread, until none is left (rows it schedules
        included): one claim per row plus a last empty one. Returns how many rows were
        delivered. For servers started with ``dispatch=False``."""
        delivered = 0
        while True:
            now = utcnow() + ahead
            with self.dispatcher.db.session() as session:
                items = due_work.claim(
                    session,
                    now=now,
                    owner=self.dispatcher.owner,
                    limit=1,
                    lease=self.dispatcher.lease,
                )
            if not items:
                return delivered
            self.dispatcher._deliver(items[0], now)
            delivered += 1


@dataclass
class Reply:
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


def sign(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def _state_for(element: dict[str, Any], value: Any) -> dict[str, Any]:
    kind = element.get("type")
    if kind == "plain_text_input":
        return {"type": kind, "value": value}
    if kind == "users_select":
        return {"type": kind, "selected_user": value}
    if kind in ("multi_users_select",):
        return {"type": kind, "selected_users": list(value or [])}
    if kind == "radio_buttons":
        return {"type": kind, "selected_option": None if value is None else {"value": value}}
    if kind == "static_select":
        return {
            "type": kind,
            "selected_option": None
            if value is None
            else {"text": {"type": "plain_text", "text": str(value)}, "value": value},
        }
    if kind == "datepicker":
        return {"type": kind, "selected_date": value}
    if kind == "timepicker":
        return {"type": kind, "selected_time": value}
    if kind == "conversations_select":
        return {"type": kind, "selected_conversation": value}
    if kind == "checkboxes":
        return {"type": kind, "selected_options": [{"value": v} for v in (value or [])]}
    return {"type": kind, "value": value}


def _initial(element: dict[str, Any]) -> Any:
    kind = element.get("type")
    if kind == "plain_text_input":
        return element.get("initial_value")
    if kind == "multi_users_select":
        return element.get("initial_users", [])
    if kind == "users_select":
        return element.get("initial_user")
    if kind in ("static_select", "radio_buttons"):
        opt = element.get("initial_option")
        return opt["value"] if opt else None
    if kind == "datepicker":
        return element.get("initial_date")
    if kind == "timepicker":
        return element.get("initial_time")
    if kind == "conversations_select":
        return element.get("initial_conversation")
    if kind == "checkboxes":
        return [o["value"] for o in element.get("initial_options", [])]
    return None


def fill_view(view: dict[str, Any], values: dict[str, Any] | None = None) -> dict[str, Any]:
    """``view["state"]["values"]`` as Slack builds it: the user's entries by block id, and the
    view's initial values for every input the user left alone."""
    values = values or {}
    unknown = set(values) - {b.get("block_id") for b in view["blocks"] if b["type"] == "input"}
    assert not unknown, f"the view has no input blocks {unknown}"
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        value = values[block["block_id"]] if block["block_id"] in values else _initial(element)
        state[block["block_id"]] = {element["action_id"]: _state_for(element, value)}
    return state


# `/adr` verbs whose empty ack is the whole answer (they open a modal).
MODAL_VERBS = frozenset({"", "new", "edit", "supersede"})


class SlackDriver:
    """Sends what Slack would send, signed, to a BotServer; reads what the bot sent back."""

    def __init__(self, server: BotServer, emulator: SlackEmulator) -> None:
        self.server = server
        self.emulator = emulator

    # -- raw -------------------------------------------------------------------------------
    def post(
        self,
        body: str,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        headers: dict[str, str] | None = None,
        signed: bool = True,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        path: str = "/slack/events",
        timeout: float = 15,
    ) -> Reply:
        """POST as Slack does; ``timeout``: how long to wait for the answer (Slack itself gives
        up after 3 s)."""
        all_headers = {"Content-Type": content_type}
        if signed:
            all_headers.update(sign(body, secret=secret, timestamp=timestamp))
        all_headers.update(headers or {})
        req = urllib.request.Request(
            self.server.url + path, data=body.encode(), headers=all_headers, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Reply(resp.status, resp.read().decode())
        except urllib.error.HTTPError as err:
            return Reply(err.code, err.read().decode())

    def get(self, path: str) -> Reply:
        try:
            with urllib.request.urlopen(self.server.url + path, timeout=10) as resp:
                return Reply(resp.status, resp.read().decode())
        except urllib.error.HTTPError as err:
            return Reply(err.code, err.read().decode())

    def _interactive(self, payload: dict[str, Any], **kw: Any) -> Reply:
        return self.post(urlencode({"payload": json.dumps(payload)}), **kw)

    # -- what people do --------------------------------------------------------------------
    def command(
        self,
        text: str,
        *,
        command: str = "/adr",
        user: str = "UALICE",
        channel: str = "CGENERAL",
        team: str = "TAAA",
        follow: bool = True,
        **kw: Any,
    ) -> Reply:
        """A slash command; with ``follow``, an empty ack of an `/adr` command that answers
        later is followed to its `response_url` message, which is returned instead."""
        n = next(_ids)
        body = urlencode(
            {
                "token": "legacy",
                "team_id": team,
                "team_domain": team.lower(),
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": user.lower(),
                "command": command,
                "text": text,
                "api_app_id": "A0001",
                "is_enterprise_install": "false",
                "response_url": self.emulator.response_url(f"cmd{n}"),
                "trigger_id": f"trigger.{n}",
            }
        )
        reply = self.post(body, **kw)
        verb = text.split(" ", 1)[0].lower() if text.strip() else ""
        followed = ("/adr", "/estimate", "/parkinglot")
        if follow and command in followed and reply.status == 200 and not reply.text:
            # Acked empty: the answer is a modal, or comes through response_url (the bot
            # looked the person up after the ack). What the person sees is that message.
            modal = (command == "/adr" and (verb in MODAL_VERBS or text.strip() == "digest")) or (
                command == "/parkinglot" and verb == ""
            )
            answer = self._followed(f"cmd{n}", f"trigger.{n}", modal=modal)
            if answer is not None:
                return Reply(200, json.dumps(answer.args))
        return reply

    def _followed(self, key: str, trigger_id: str, *, modal: bool) -> Call | None:
        """The response_url message of an empty ack; None once a modal opened instead."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for call in self.emulator.calls():
                if call.method == "response_url" and call.key == key:
                    return call
                if (
                    modal
                    and call.method == "views.open"
                    and call.args.get("trigger_id") == trigger_id
                ):
                    return None
            time.sleep(0.01)
        raise AssertionError(f"neither a modal nor a response_url answer for {key}")

    def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "UALICE",
        channel: str = "CGENERAL",
        team: str = "TAAA",
        message_ts: str = "1700000000.000001",
        user_team: str | None = None,
        **kw: Any,
    ) -> Reply:
        """A button click; ``user_team``: the clicker's own organisation when it is not the
        workspace's (a Slack Connect outsider)."""
        n = next(_ids)
        payload = {
            "type": "block_actions",
            "team": {"id": team, "domain": team.lower()},
            "user": {"id": user, "username": user.lower(), "team_id": user_team or team},
            "api_app_id": "A0001",
            "trigger_id": f"trigger.{n}",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "channel": {"id": channel, "name": "general"},
            "message": {"ts": message_ts, "text": ""},
            "response_url": self.emulator.response_url(f"act{n}"),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "action_ts": str(time.time()),
                }
            ],
        }
        return self._interactive(payload, **kw)

    def submit(
        self,
        view: dict[str, Any],
        values: dict[str, Any] | None = None,
        *,
        user: str = "UALICE",
        team: str = "TAAA",
        state: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Reply:
        n = next(_ids)
        submitted = dict(view)
        submitted["id"] = view.get("id", f"V{n}")
        submitted["team_id"] = team
        submitted["state"] = {"values": state if state is not None else fill_view(view, values)}
        payload = {
            "type": "view_submission",
            "team": {"id": team, "domain": team.lower()},
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "api_app_id": "A0001",
            "trigger_id": f"trigger.{n}",
            "view": submitted,
        }
        return self._interactive(payload, **kw)

    def message_shortcut(
        self,
        callback_id: str,
        *,
        text: str,
        user: str = "UALICE",
        channel: str = "CGENERAL",
        team: str = "TAAA",
        message_ts: str = "1700000001.000100",
    ) -> Reply:
        n = next(_ids)
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "team": {"id": team, "domain": team.lower()},
            "user": {"id": user, "name": user.lower(), "team_id": team},
            "channel": {"id": channel, "name": "general"},
            "message": {"type": "message", "user": "UBOB", "ts": message_ts, "text": text},
            "message_ts": message_ts,
            "response_url": self.emulator.response_url(f"sc{n}"),
            "trigger_id": f"trigger.{n}",
        }
        return self._interactive(payload)

    def event(
        self,
        event: dict[str, Any],
        *,
        team: str = "TAAA",
        event_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": team,
                "api_app_id": "A0001",
                "event": event,
                "type": "event_callback",
                "event_id": event_id or f"Ev{next(_ids):08d}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": team, "user_id": "UBOT", "is_bot": True}],
            }
        )
        return self.post(body, content_type="application/json", headers=headers)

    def finish(self) -> None:
        """Stop the app and wait for everything it still had to do after its acks: afterwards
        every Web API call the bot was going to make has been made, so counts are final."""
        self.server.stop()

    # -- reading what the bot did ----------------------------------------------------------
    def listeners_done(self) -> None:
        """Wait until every listener has returned (what it does after its ack is done)."""
        assert self.server.listeners.wait_idle(), "a listener is still running after 30 s"

    def views_opened(self) -> int:
        return len(self.emulator.calls("views.open"))

    def opened_view(self, after: int = 0, *, timeout: float = 20.0) -> dict[str, Any]:
        """The view the bot opened (views.open) once more than ``after`` views were opened.

        Returns the view as the bot sent it, with the id the emulator gave it, ready to fill."""
        calls = self.emulator.wait_for("views.open", count=after + 1, timeout=timeout)
        call = calls[after]
        view = dict(call.args["view"])
        view.setdefault("id", f"V{after + 1}")
        return view

    def updated_view(self, after: int = 0, *, timeout: float = 20.0) -> dict[str, Any]:
        """The view the bot sent with views.update once more than ``after`` were sent, with
        the view id it updated, ready to fill and submit."""
        calls = self.emulator.wait_for("views.update", count=after + 1, timeout=timeout)
        call = calls[after]
        view = dict(call.args["view"])
        view.setdefault("id", call.args.get("view_id") or f"VU{after + 1}")
        return view

    def select(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "UALICE",
        channel: str = "CGENERAL",
        team: str = "TAAA",
        message_ts: str = "1700000000.000001",
        **kw: Any,
    ) -> Reply:
        """Pick the option ``value`` in a static_select inside a message (block_actions).

        The interaction's response_url key is left in ``self.last_response_key``."""
        n = next(_ids)
        self.last_response_key = f"sel{n}"
        payload = {
            "type": "block_actions",
            "team": {"id": team, "domain": team.lower()},
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "api_app_id": "A0001",
            "trigger_id": f"trigger.{n}",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "channel": {"id": channel, "name": "general"},
            "message": {"ts": message_ts, "text": ""},
            "response_url": self.emulator.response_url(self.last_response_key),
            "actions": [
                {
                    "type": "static_select",
                    "action_id": action_id,
                    "block_id": "b",
                    "selected_option": {
                        "text": {"type": "plain_text", "text": value},
                        "value": value,
                    },
                    "action_ts": str(time.time()),
                }
            ],
        }
        return self._interactive(payload, **kw)

    # -- inside an open modal (the emulator keeps what the person entered) ------------------
    def enter(self, view_id: str, values: dict[str, Any]) -> None:
        """Type or pick in the open modal ``view_id`` without submitting: ``{block_id: value}``
        as for :func:`fill_view`. Slack keeps it in the view's state, across a views.update
        that keeps the input's block and action ids."""
        view = self.emulator.view(view_id)
        inputs = {b["block_id"]: b for b in view["blocks"] if b.get("type") == "input"}
        unknown = set(values) - set(inputs)
        assert not unknown, f"the view has no input blocks {unknown}"
        for block_id, value in values.items():
            element = inputs[block_id]["element"]
            self.emulator.enter(view_id, block_id, element["action_id"], _state_for(element, value))

    def modal_state(self, view_id: str) -> dict[str, Any]:
        """``state.values`` of the open modal as Slack would send it now: what the person
        entered (and Slack kept), and the initial value of every input left alone."""
        view = self.emulator.view(view_id)
        entered = view["state"]["values"]
        state: dict[str, Any] = {}
        for block in view["blocks"]:
            if block.get("type") != "input":
                continue
            element = block["element"]
            state[block["block_id"]] = entered.get(block["block_id"]) or {
                element["action_id"]: _state_for(element, _initial(element))
            }
        return state

    def submit_modal(self, view_id: str, *, user: str = "UALICE", team: str = "TAAA") -> Reply:
        """Submit the open modal ``view_id`` as the person sees it now (see :meth:`modal_state`)."""
        view = self.emulator.view(view_id)
        return self.submit(view, user=user, team=team, state=self.modal_state(view_id))

    def pick_in_modal(
        self, view_id: str, block_id: str, value: str, *, user: str = "UALICE", team: str = "TAAA"
    ) -> Reply:
        """Pick ``value`` in the select of input block ``block_id`` of the open modal: Slack
        keeps it in the view's state and, as the block has ``dispatch_action: true`` (else
        Slack sends nothing: asserted), sends ``block_actions`` with the view as it is now."""
        self.enter(view_id, {block_id: value})
        view = self.emulator.view(view_id)
        [block] = [b for b in view["blocks"] if b.get("block_id") == block_id]
        assert block.get("dispatch_action") is True, f"{block_id}: no dispatch_action"
        element = block["element"]
        entry = {k: v for k, v in _state_for(element, value).items() if k != "type"}
        n = next(_ids)
        payload = {
            "type": "block_actions",
            "team": {"id": team, "domain": team.lower()},
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "api_app_id": "A0001",
            "trigger_id": f"trigger.{n}",
            "container": {"type": "view", "view_id": view_id},
            "view": {
                **view,
                "team_id": team,
                "root_view_id": view_id,
                "previous_view_id": None,
                "state": {"values": self.modal_state(view_id)},
            },
            "actions": [
                {
                    "type": element["type"],
                    "action_id": element["action_id"],
                    "block_id": block_id,
                    **entry,
                    "action_ts": str(time.time()),
                }
            ],
        }
        return self._interactive(payload)
