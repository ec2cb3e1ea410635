"""What runs inside the child processes: the Slack emulator (``--emulator``), and the real
app or the bare Bolt app behind gunicorn (``--serve app|bare``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from benchmarks.ack_latency.config import HOST, TEAM


def _emulator_main() -> int:
    """Child: a SlackEmulator on loopback; prints its URL; answers on stdin:

    - ``count``: the number of calls recorded so far;
    - ``reset``: forget the recorded calls (keeps ``post`` scans short);
    - ``post <channel> <token> <timeout>``: wait for a chat.postMessage to ``channel`` whose
      arguments contain ``token``; prints its arrival time (``time.monotonic()``, which on
      Linux is one system-wide clock shared with the load generator) or ``none``.
    """
    from tests.support.slack_emulator import SlackEmulator

    emu = SlackEmulator(team_id=TEAM).start()
    print(emu.url, flush=True)
    try:
        for line in sys.stdin:
            words = line.split()
            if words == ["count"]:
                print(len(emu.calls()), flush=True)
            elif words == ["reset"]:
                emu.reset()
                print("ok", flush=True)
            elif len(words) == 4 and words[0] == "post":
                channel, token, timeout = words[1], words[2], float(words[3])

                def match(call: Any, channel: str = channel, token: str = token) -> bool:
                    return call.args.get("channel") == channel and token in json.dumps(
                        call.args, default=str
                    )

                try:
                    [call, *_] = emu.wait_for("chat.postMessage", timeout=timeout, where=match)
                    print(repr(call.at), flush=True)
                except AssertionError:
                    print("none", flush=True)
    finally:
        emu.stop()
    return 0


def create_bare_app(settings: Any) -> Any:
    """The baseline: the same Bolt configuration as ``create_app`` (signature verification, the
    same request-path Web API client), an ``/adr`` command listener, a view_submission listener
    for the decision modal and an Agree action listener, all of which only ack."""
    import logging

    from slack_bolt import App

    from bot.core.ids import Action, Callback
    from bot.runtime.clients import build_client

    app = App(
        client=build_client(settings),
        signing_secret=settings.slack_signing_secret,
        request_verification_enabled=True,
        token_verification_enabled=False,
        logger=logging.getLogger("bench.bare"),
    )

    @app.command("/adr")
    def _command(ack: Any) -> None:
        ack()

    @app.view(Callback.DECISION_FORM)
    def _submit(ack: Any) -> None:
        ack()

    @app.action(Action.AGREE)
    def _action(ack: Any) -> None:
        ack()

    return app


def _serve_main(args: argparse.Namespace) -> int:
    """Child: the real app through ``decisionbot serve`` itself (gunicorn, /metrics, and the
    embedded dispatcher in every worker unless ``--dispatcher off``), or the bare app behind
    the same server."""
    import logging

    from tests.support.harness import BOT_TOKEN, SIGNING_SECRET

    if args.serve == "app":
        from bot.runtime.cli import main as decisionbot

        os.environ.update(
            DATABASE_URL=args.database_url,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=args.slack_api_url,
        )
        if args.dispatcher == "off":  # a separate `decisionbot worker` delivers
            os.environ["DECISIONBOT_DISPATCHER"] = "off"
        else:
            os.environ.pop("DECISIONBOT_DISPATCHER", None)  # the default: embedded
        return decisionbot(
            [
                "serve",
                "--host",
                HOST,
                "--port",
                str(args.port),
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
            ]
        )

    from bot.runtime.config import Settings
    from bot.runtime.server import serve
    from bot.runtime.web import create_wsgi_app
    from storage.db import Database

    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = Settings(
        database_url=args.database_url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=args.slack_api_url,
        port=args.port,
    )
    db = Database(settings.database_url)
    app = create_bare_app(settings)
    serve(
        create_wsgi_app(app, db),
        host=HOST,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        # Each worker opens its own connections (none exist yet; this keeps it that way).
        post_fork=lambda: db.engine.dispose(close=False),
    )
    return 0
