"""The words the seeded decisions, the submitted modals and the searches are made of."""

from __future__ import annotations

import itertools
import random

# Words are drawn with Zipf-like weights (the first ones are common), so a one-word search
# matches anything from a few dozen rows to a large share of the table, as in a real log.

TECH = (
    "postgres redis kafka kubernetes terraform graphql python typescript react docker "
    "grpc sqlite golang rust celery airflow elasticsearch prometheus grafana sentry "
    "vault nginx envoy helm argocd jenkins github gitlab pytest playwright cypress "
    "webpack vite nextjs lambda fargate dynamodb mongodb cassandra clickhouse duckdb "
    "pulsar nats rabbitmq snowflake bigquery opensearch datadog istio tailwind storybook "
    "django flask fastapi spark flink dbt looker metabase okta auth0"
).split()
AREAS = (
    "billing checkout search onboarding notifications auth payments reporting analytics "
    "inventory shipping pricing mobile admin api gateway ledger invoices exports imports "
    "scheduling messaging catalog recommendations audit permissions sessions caching "
    "logging metrics tracing alerting deployments migrations backups signup refunds "
    "subscriptions webhooks emails sms localisation accessibility dashboards"
).split()
METRICS = (
    "latency cost reliability throughput availability security compliance "
    "developer experience build time error rate page weight"
).split(" ")
PRACTICES = (
    "code review|pair programming|feature flags|trunk based development|canary releases|"
    "load testing|contract testing|on-call rotation|blameless postmortems|design reviews|"
    "blue green deploys|chaos experiments|schema migrations|dependency pinning"
).split("|")
TEAMS = (
    "platform|payments|growth|data|mobile|infra|sre|frontend|backend|security|support|finance"
).split("|")
TAGS = "infra db frontend backend security process data mobile cost ops api testing".split()

TITLES = (
    "Use {t} for {a}",
    "Adopt {t} in {a}",
    "Move {a} from {t} to {t}",
    "Retire {t} in {a}",
    "Cache {a} responses in {t}",
    "Standardise {a} on {t}",
    "Split {a} out of {a}",
    "Introduce {p} for {a}",
    "Replace {t} with {t} for {a}",
    "Keep {a} on {t} for now",
)
CONTEXT = (
    "The {a} service runs on {t} and {m} has been getting worse since last quarter.",
    "The {g} team owns {a} and needs better {m} before the next launch.",
    "We compared {t} and {t} for {a}; both work, they differ mostly in {m}.",
    "Every change to {a} needs a manual step, and {p} keeps catching the same problems.",
    "Customers reported slow {a} pages during peak traffic, mostly around {a}.",
    "Running {t} ourselves costs the {g} team about a day a week.",
    "Today {a} and {a} share one {t} cluster, so an incident in one hits both.",
    "An audit asked how {a} handles {m}; we had no clear answer.",
)
DECISION = (
    "We will use {t} for {a} and keep {t} for {a}.",
    "We move {a} to {t} over the next two sprints, behind {p}.",
    "We adopt {p} for all {a} changes, starting with {a}.",
    "We stay on {t} for {a} and revisit when {m} becomes a problem.",
    "The {g} team builds {a} on {t}; {a} follows once it is stable.",
)
CONSEQUENCES = (
    "{m} should improve; we accept more on-call load for the {g} team.",
    "We need to learn {t}, and {a} gets frozen during the migration.",
    "Costs go up a little, but {m} and {m} get better.",
    "We lose some flexibility in {a}; {p} limits the risk.",
    "Two systems to run until {t} is gone from {a}.",
)
OPTIONS = (
    "1. {t}  2. {t}  3. do nothing",
    "Build on {t}, buy a hosted {t}, or keep {a} as it is.",
)
MISSING_WORDS = ("zeppelin", "quokka", "fjord", "xylophone")  # searches that find nothing


def _zipf_cum(n: int, offset: int = 0) -> list[float]:
    return list(itertools.accumulate(1.0 / (i + 1 + offset) for i in range(n)))


# With these weights a one-word search for a technology or an area matches from ~2% of the
# decisions (rare words) through ~6% (median) to ~40% (the most common), a two-word search
# ~0.5%, and a few searches match nothing.
_POOLS: dict[str, tuple[tuple[str, ...], list[float]]] = {
    "t": (tuple(TECH), _zipf_cum(len(TECH), 4)),
    "a": (tuple(AREAS), _zipf_cum(len(AREAS), 4)),
    "m": (tuple(METRICS), _zipf_cum(len(METRICS))),
    "p": (tuple(PRACTICES), _zipf_cum(len(PRACTICES))),
    "g": (tuple(TEAMS), _zipf_cum(len(TEAMS))),
}


class _Draw(dict):  # type: ignore[type-arg]
    """``str.format_map`` mapping that draws a fresh word for every placeholder occurrence."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self._rng = rng

    def __missing__(self, key: str) -> str:
        words, cum = _POOLS[key]
        return self._rng.choices(words, cum_weights=cum, k=1)[0]


def _text(rng: random.Random, templates: tuple[str, ...], lo: int, hi: int) -> str:
    draw = _Draw(rng)
    return " ".join(rng.choice(templates).format_map(draw) for _ in range(rng.randint(lo, hi)))


def _search_terms(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(MISSING_WORDS)
    words = rng.choice((TECH, AREAS))
    if roll < 0.65:
        return rng.choice(words)
    return f"{rng.choice(TECH)} {rng.choice(AREAS)}"
