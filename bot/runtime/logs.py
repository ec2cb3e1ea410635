"""Logging for every command: human-readable lines (``LOG_FORMAT=text``, the default) or one
JSON object per line (``LOG_FORMAT=json``) that a log platform can index.

Each record carries what is known about the request it belongs to — workspace, user, kind of
request, callback or action id, error reference — from a context variable that
``bot.core.errors.guarded`` sets around every listener and ``bot.core.errors.handle_error`` sets for the
error it reports (``request_context``). In JSON these are fields of their own; in text they
are left out, as before.

What people type never belongs in a log line at INFO or above: engines hide statement
parameters (``storage.db``), and here Bolt's "Unhandled request" warning and its "Invalid
request signature" line (a stale timestamp or a wrong signature), which print the whole
request body, lose the body, and tracebacks lose the lines in which Postgres quotes row values
(DETAIL, CONTEXT, HINT).

Start-up stays quiet: Bolt's warning that the token it read from ``SLACK_BOT_TOKEN`` is unused
(the app is built with its own client, on purpose) is dropped, and APScheduler logs only
warnings and errors.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import TextIO, TypeVar

from bot.core.log_context import CONTEXT_FIELDS, ContextFilter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What logging hands Formatter.formatException: sys.exc_info()'s answer.
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
H = TypeVar("H", bound=logging.Handler)


# Bolt's lines that quote a whole request body, and what each says instead.
_BODY_WITHHELD = {
    "Unhandled request": "Unhandled request (body withheld: it may hold what people typed)",
    "Invalid request signature detected": (
        "Invalid request signature detected: a stale timestamp or a wrong signature "
        "(body withheld: it may hold what people typed)"
    ),
}
# Bolt reads SLACK_BOT_TOKEN itself and warns that it goes unused next to the client
# bot.app builds on purpose (retry handlers, SLACK_API_URL): not something to act on.
_TOKEN_UNUSED = "As you gave `client` as well, `token` will be unused."


class WithholdRequestBodies(logging.Filter):
    """Bolt warns about a request no listener handled, and logs a request whose signature or
    timestamp it rejected, with the whole body, which holds what people typed; keep the line,
    drop the body."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("slack_bolt"):
            message = str(record.msg)
            for start, withheld in _BODY_WITHHELD.items():
                if message.startswith(start):
                    record.msg = withheld
                    record.args = ()
                    break
        return True


# Slack tokens (bot, user, refresh, app-level) and a client secret or token in a logged body.
_SECRET = re.compile(
    r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]+"
    r"|((?:client_secret|access_token|refresh_token|token)[\"']?\s*[:=]\s*[\"']?)[^\"'&,}\s]+"
)
# Loggers that write whole request or response bodies at DEBUG (slack_sdk's clients: the
# answer of oauth.v2.access holds the new token).
SECRET_LOGGERS = ("slack_sdk.web.base_client", "slack_sdk.oauth", "slack_bolt.oauth")


def _hide(text: str) -> str:
    return _SECRET.sub(lambda m: f"{m.group(2) or (m.group(1) + '-')}***", text)


class RedactSecrets(logging.Filter):
    """Slack tokens and client secrets never reach a log line: replaced by ``***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("slack_sdk", "slack_bolt")):
            return True  # our own lines never carry a token: no cost for them
        message = record.getMessage()
        hidden = _hide(message)
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


def protect_secret_loggers() -> None:
    """Put ``RedactSecrets`` on the loggers that log bodies (idempotent): on the logger
    itself, so every handler (ours, a test's, an operator's) gets the redacted line."""
    for name in SECRET_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())


class DropStartupNoise(logging.Filter):
    """Drops Bolt's "`token` will be unused" warning, and nothing else."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != _TOKEN_UNUSED


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _quiet_database_text(message: str, *, statement_follows: bool) -> str:
    """A database error's text with what follows its first line (Postgres' DETAIL: "Failing
    row contains (...)", "Key (x)=(...)"; CONTEXT: "parameter $1 = '...'"; bound parameters)
    withheld; SQLAlchemy's statement, which holds placeholders only, is kept."""
    first, _, rest = message.partition("\n")
    # SQLAlchemy appends the statement after the driver's text: the last "[SQL: " is its own.
    at = rest.rfind("[SQL: ") if statement_follows else -1
    statement = rest[at:] if at >= 0 else ""
    statement = "\n".join(
        line for line in statement.splitlines() if not line.startswith("[parameters: ")
    )
    return "\n".join(part for part in (first, "[database detail withheld]", statement) if part)


def without_values(traceback_text: str, exc: BaseException | None) -> str:
    """``traceback_text`` (of ``exc``) without what database errors in it quote of stored
    values: those lines may hold what people typed."""
    for error in _chain(exc):
        module = type(error).__module__
        if module.startswith(("sqlalchemy", "psycopg")):
            message = str(error)
            if "\n" in message:
                quiet = _quiet_database_text(
                    message, statement_follows=module.startswith("sqlalchemy")
                )
                traceback_text = traceback_text.replace(message, quiet)
    return traceback_text


class TextFormatter(logging.Formatter):
    """The human-readable line (the default), tracebacks without database row values."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatException(self, ei: ExcInfo) -> str:  # noqa: N802 - logging's name
        return without_values(super().formatException(ei), ei[1])


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request context when
    known, and an exception's traceback as one field (without database row values)."""

    def formatException(self, ei: ExcInfo) -> str:  # noqa: N802 - logging's name
        return without_values(super().formatException(ei), ei[1])

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


class _Stderr(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record is emitted. ``_decisionbot``: the
    one ``configure_logging`` installed (and replaces when called again)."""

    def __init__(self, *, installed: bool = False) -> None:
        super().__init__(sys.stderr)
        self._decisionbot = installed

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def build_handler(fmt: str = "text", stream: TextIO | None = None) -> logging.Handler:
    """A handler writing ``fmt`` ("text" or "json") lines to ``stream`` (default: stderr)."""
    return _dressed(logging.StreamHandler(stream) if stream else _Stderr(), fmt)


def _dressed(handler: H, fmt: str) -> H:
    """``handler`` with the ``fmt`` formatter and the filters every handler of ours has."""
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(WithholdRequestBodies())
    handler.addFilter(DropStartupNoise())
    handler.addFilter(RedactSecrets())
    return handler


def configure_logging(*, fmt: str = "text", level: str = "INFO") -> logging.Handler:
    """Send the process's logs to stderr as ``fmt`` lines at ``level`` (from ``LOG_FORMAT``
    and ``LOG_LEVEL``, validated by ``bot.runtime.config``). Calling it again replaces the handler it
    installed before."""
    protect_secret_loggers()
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_decisionbot", False)]:
        root.removeHandler(old)
    handler = _dressed(_Stderr(installed=True), fmt)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # "Running job Dispatcher.wake ... executed successfully" on every tick, and "Adding job
    # tentatively", "Added job", "Scheduler started" in every process, are noise; its warnings
    # (a missed run, a job still running) are not, unless LOG_LEVEL asks for less.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
    return handler
