"""Ack latency of Decision Bot: time to the HTTP response, over loopback, with N decisions stored.

For each store (a SQLite file in a temp dir; a throwaway Postgres cluster from tests.support.pg) this:

1. migrates the schema and seeds N decisions (default 100,000) with bulk inserts: varied
   titles / context / decision / consequences text drawn from a small vocabulary (so search
   terms hit a realistic fraction), deciders / consulted / informed, stances with their history
   events, then ANALYZE;
2. serves the real app exactly as ``decisionbot serve`` does (``bot.runtime.cli`` in a subprocess:
   gunicorn gthread, and in every worker the embedded outbox dispatcher started in post_fork,
   so the Slack work after the ack costs CPU in the same processes, as in production), and a
   *bare* Bolt app (an ``/adr`` command listener, a view_submission listener for the decision
   modal and an Agree action listener that only ack) behind the same server with the same
   settings, both talking to a Slack Web API emulator (own subprocess, no added latency);
3. drives, with correctly signed requests at concurrency 20 (one thread and one persistent
   HTTP/1.1 connection per concurrent client): the ``/adr`` slash command (ack + views.open),
   the decision modal's view_submission (save + outbox rows; the dispatcher then posts it),
   Agree clicks on random decisions by random users and ``/adr search <words>`` (answered in
   the ack), measuring the time to the HTTP response and the servers' CPU per request, app
   and bare interleaved under the same conditions;
4. at concurrency 1, submits decision modals and measures the time from the submit's HTTP
   response to the emulator receiving that decision's channel post (chat.postMessage);
5. prints p50 / p95 / p99, errors, CPU ms per request and the app/bare ratios, and a
   PASS/MISS line per target of issue 6.

``--dispatch embedded,worker`` (default both; ``--smoke``: embedded) picks where the app's
Slack work after the ack runs: ``embedded`` as in 2. above; ``worker`` = ``decisionbot serve``
with ``DECISIONBOT_DISPATCHER=off`` plus one ``decisionbot worker`` under ``nice -n 10`` (the
production topology), stopped with SIGTERM at the end (it must exit 0). Rows are labelled
``store/topology``; the worker process's CPU per request is the ``wrk`` column.

Run ``python -m benchmarks.ack_latency --help``. Everything binds 127.0.0.1 only; servers,
the worker, the Postgres cluster and temp dirs are removed on exit, Ctrl-C included.
"""

from __future__ import annotations

from benchmarks.ack_latency.cli import main

__all__ = ["main"]
