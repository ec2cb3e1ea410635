"""Settings shared by the ack-latency modules: where the repo is, the loopback host, the
workspace seeded, the scenarios and topologies, defaults and the targets of issue 6."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"  # loopback only, always
TEAM = "TBENCH"
SCENARIOS = ("submit", "adr", "stance", "search")
# What each scenario sends (printed under the table).
SCENARIO_LEGEND = {
    "submit": "/adr decision modal view_submission (save + outbox; post by the dispatcher)",
    "adr": "/adr slash command (ack, then views.open)",
    "stance": "Agree click on a random open decision (ack, then the stance write + outbox "
    "row; chat.update by the dispatcher)",
    "search": "/adr search <words> (answered in the ack)",
}
RATIO_SCENARIOS = ("submit", "adr", "stance")  # the p99 ratio target applies to these
# Where the app's Slack work after the ack runs: "embedded" = the outbox dispatcher in every
# gunicorn worker of `decisionbot serve` (the default); "worker" = serve with
# DECISIONBOT_DISPATCHER=off (it only writes outbox rows) plus one `decisionbot worker`
# process under `nice -n 10`, the production topology benchmarks/README.md recommends.
TOPOLOGIES = ("embedded", "worker")
WORKER_NICE = 10
WORKER_READY_TIMEOUT = 60.0
WORKER_STOP_TIMEOUT = 30.0  # SIGTERM to exit (the worker's grace is 8 s by default)
DEFAULT_CONCURRENCY = (20,)
DEFAULT_REQUESTS = 2_000
TARGET_RATIO = 2.0
TARGET_MIN_REQUESTS = 2_000
TARGET_SEARCH_P95_MS = 150.0
TARGET_SEARCH_AT = 100_000
TARGET_POST_P95_MS = 200.0
