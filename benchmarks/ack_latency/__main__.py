"""``python -m benchmarks.ack_latency``: see the package docstring and ``--help``."""

from __future__ import annotations

import sys

from benchmarks.ack_latency.cli import main

if __name__ == "__main__":
    sys.exit(main())
