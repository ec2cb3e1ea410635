"""What a log record knows about the request it belongs to: workspace, user, kind of request,
callback or action id, error reference (``request_context``). ``bot.core.errors.guarded`` sets
it around every listener; ``bot.runtime.logs`` formats it."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

# Request fields a record may carry, in the order JSON lines show them.
CONTEXT_FIELDS = ("team", "user", "kind", "callback", "action", "ref")

_context: ContextVar[Mapping[str, str] | None] = ContextVar("decisionbot_log_context", default=None)


@contextmanager
def request_context(**fields: str | None) -> Iterator[None]:
    """Records logged inside the block carry ``fields`` (those that are not None), on top of
    any context already set."""
    known = {k: str(v) for k, v in fields.items() if v is not None and k in CONTEXT_FIELDS}
    token = _context.set({**(_context.get() or {}), **known})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Adds the request context to every record (``extra=`` given by the caller wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True
