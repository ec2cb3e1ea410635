"""Prometheus metrics (``GET /metrics`` on serve; ``--metrics-port`` on worker).

- ``decisionbot_ack_seconds{kind}``: time to answer Slack's HTTP request, by request kind.
- ``decisionbot_outbox_rows{kind,state}`` and ``decisionbot_outbox_oldest_due_age_seconds
  {kind,state}``: read from the database at scrape time (pending, claimed, failed), so any
  process shows the whole backlog. Alert on "work is piling up" with the age of the oldest
  pending row.
- ``decisionbot_deliveries_total{kind,result}``: sent, done (nothing to send), retried,
  deferred (rate limited), failed, released.
- ``decisionbot_slack_ratelimited_total{method}``: 429 answers seen by dispatchers.
- ``decisionbot_slack_connections_opened_total``: connections (TLS handshakes) opened to
  Slack; against the calls made, how well kept-alive connections are reused
  (``bot.core.transport``).
- ``decisionbot_post_reconciliations_total{result}``: looking for an outbox post whose first
  attempt's outcome was unknown (``bot.engine.posting``): found (adopted, not posted again),
  not_found (posted), unreadable (the bot cannot read the channel: posted anyway).

Under gunicorn (several worker processes) counters and histograms are aggregated through
prometheus_client's multiprocess mode; ``serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before
anything imports prometheus_client.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from storage.db import Database
from storage.models import utcnow

log = logging.getLogger(__name__)

ACK_SECONDS = Histogram(
    "decisionbot_ack_seconds",
    "Time to answer Slack's HTTP request, by request kind",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
)
DELIVERIES = Counter(
    "decisionbot_deliveries_total",
    "Outbox rows handled by dispatchers, by kind and result",
    ["kind", "result"],
)
RATE_LIMITED = Counter(
    "decisionbot_slack_ratelimited_total", "Slack 429 answers seen by dispatchers", ["method"]
)

RECONCILIATIONS = Counter(
    "decisionbot_post_reconciliations_total",
    "Outbox posts looked for after an unknown outcome, by result (found, not_found, unreadable)",
    ["result"],
)

INSTALLATIONS = Counter(
    "decisionbot_installations_total",
    "Add to Slack: installs, failed installs (by reason) and uninstalls",
    ["event"],
)
UNINSTALL_CANCELLED = Counter(
    "decisionbot_uninstall_cancelled_total",
    "Outbox deliveries cancelled because their workspace uninstalled the app",
)
SLACK_CONNECTIONS = Counter(
    "decisionbot_slack_connections_opened_total",
    "Connections opened to Slack (over https, TLS handshakes); calls reuse kept-alive ones",
)


def slack_connection_opened() -> None:
    SLACK_CONNECTIONS.inc()


def installation(event: str) -> None:
    INSTALLATIONS.labels(event=event).inc()


def uninstall_cancelled(rows: int) -> None:
    UNINSTALL_CANCELLED.inc(rows)


def delivered(kind: str, result: str) -> None:
    DELIVERIES.labels(kind=kind, result=result).inc()


def rate_limited(method: str) -> None:
    RATE_LIMITED.labels(method=method).inc()


def reconciled(result: str) -> None:
    RECONCILIATIONS.labels(result=result).inc()


def acked(kind: str, seconds: float) -> None:
    ACK_SECONDS.labels(kind=kind).observe(seconds)


class OutboxCollector:
    """The outbox backlog, read from the database at scrape time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterable[GaugeMetricFamily]:
        from storage import due_work

        rows = GaugeMetricFamily(
            "decisionbot_outbox_rows", "Outbox rows by kind and state", labels=["kind", "state"]
        )
        age = GaugeMetricFamily(
            "decisionbot_outbox_oldest_due_age_seconds",
            "Seconds since the oldest row of this kind and state fell due (0 if not yet due)",
            labels=["kind", "state"],
        )
        try:
            with self.db.read() as session:
                backlog = due_work.backlog(session)
        except Exception:  # noqa: BLE001 - a scrape must not fail because the db is down
            log.warning("metrics: cannot read the outbox backlog", exc_info=True)
            backlog = []
        now = utcnow()
        for kind, state, n, oldest in backlog:
            rows.add_metric([kind, state], n)
            seconds = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
            age.add_metric([kind, state], seconds)
        yield rows
        yield age


def render(db: Database) -> tuple[bytes, str]:
    """The scrape body and its content type."""
    return generate_latest(scrape_registry(db)), CONTENT_TYPE_LATEST


def scrape_registry(db: Database) -> CollectorRegistry:
    """This process's (or, under gunicorn, every worker's) counters, plus the outbox backlog
    from the database."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        # Unannotated in prometheus_client: (registry, path=None), registers itself.
        collect_all: Callable[[CollectorRegistry], object] = multiprocess.MultiProcessCollector
        collect_all(registry)
    else:
        for metric in (ACK_SECONDS, DELIVERIES, RATE_LIMITED, RECONCILIATIONS):
            registry.register(_Forward(metric))
    registry.register(OutboxCollector(db))
    return registry


class _Forward:
    """Expose a metric already registered globally in a scrape registry of our own."""

    def __init__(self, metric: Collector) -> None:
        self.metric = metric

    def collect(self) -> Iterable[Metric]:
        return self.metric.collect()
