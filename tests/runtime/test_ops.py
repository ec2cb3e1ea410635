"""Operations (issue 7, items 9, 11, 13, 16): Postgres timeouts and bounded pools, a health
check that answers in time, request bodies over 2 MB refused unread, unknown time zones, and
logs a platform can read."""

from __future__ import annotations

import io
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.core.dates import review_instant, working_days_later, zone
from bot.core.log_context import request_context
from bot.runtime import web
from bot.runtime.commands import database_limits
from bot.runtime.config import ConfigError, Settings
from bot.runtime.logs import JsonFormatter, build_handler, configure_logging
from bot.runtime.web import MAX_BODY, HealthCheck, failure_reason
from storage.db import Database, Limits, make_engine
from tests.support.adr import Adr
from tests.support.harness import SlackDriver, sign
from tests.support.slack_emulator import SlackEmulator

# -- configuration -------------------------------------------------------------------------


def test_database_timeouts_pool_and_log_settings_come_from_the_environment() -> None:
    default = Settings.from_env({})
    assert (default.db_connect_timeout, default.db_statement_timeout, default.db_pool_size) == (
        5,
        10,
        10,
    )
    assert (default.log_format, default.log_level) == ("text", "INFO")
    given = Settings.from_env(
        {
            "DECISIONBOT_DB_CONNECT_TIMEOUT": "3",
            "DECISIONBOT_DB_STATEMENT_TIMEOUT": "30",
            "DECISIONBOT_DB_POOL_SIZE": "4",
            "DECISIONBOT_CONCURRENCY": "6",
            "LOG_FORMAT": "JSON",
            "LOG_LEVEL": "warning",
        }
    )
    assert (given.log_format, given.log_level) == ("json", "WARNING")
    limits = database_limits(given)
    assert limits == Limits(
        connect_timeout=3,
        statement_timeout=30,
        pool_size=4,
        max_overflow=4,
        dispatch_pool_size=8,  # its 6 deliveries, the claim loop, one to hand rows back
    )


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"LOG_FORMAT": "yaml"}, ("LOG_FORMAT", "text", "json", "'yaml'")),
        ({"LOG_LEVEL": "loud"}, ("LOG_LEVEL", "DEBUG", "INFO", "'loud'")),
        ({"DECISIONBOT_DB_CONNECT_TIMEOUT": "soon"}, ("DECISIONBOT_DB_CONNECT_TIMEOUT",)),
        ({"DECISIONBOT_DB_STATEMENT_TIMEOUT": "0"}, ("DECISIONBOT_DB_STATEMENT_TIMEOUT", "1")),
        ({"DECISIONBOT_DB_POOL_SIZE": "1000"}, ("DECISIONBOT_DB_POOL_SIZE", "100")),
    ],
)
def test_a_bad_operations_setting_is_one_sentence_naming_it(
    env: dict[str, str], names: tuple[str, ...]
) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env)
    message = str(err.value)
    assert all(name in message for name in names), message
    assert "\n" not in message


# -- Postgres: timeouts and pools ----------------------------------------------------------


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a server that hangs, a
    firewall that swallows packets): whoever connects waits for their own timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_every_engine_hides_statement_parameters(tmp_path) -> None:  # noqa: ANN001
    sqlite = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    postgres = make_engine("postgresql+psycopg://u:p@127.0.0.1:1/x")
    assert sqlite.hide_parameters and postgres.hide_parameters


def test_postgres_pools_are_bounded_and_the_dispatcher_has_its_own() -> None:
    db = Database(
        "postgresql+psycopg://u@127.0.0.1:1/x",
        limits=Limits(pool_size=4, max_overflow=3, dispatch_pool_size=9),
    )
    pool = db.engine.pool
    assert (pool.size(), pool._max_overflow, pool._timeout) == (4, 3, 5)  # type: ignore[attr-defined]
    dispatch = db.for_dispatch().engine.pool
    assert (dispatch.size(), dispatch._max_overflow) == (9, 0)  # type: ignore[attr-defined]
    assert db.for_dispatch().limits.statement_timeout == 10


def test_connecting_to_a_postgres_that_never_answers_gives_up_after_the_connect_timeout(
    blackhole: int,
) -> None:
    db = Database(
        f"postgresql+psycopg://u@127.0.0.1:{blackhole}/x", limits=Limits(connect_timeout=2)
    )
    started = time.monotonic()
    with pytest.raises(OperationalError) as err:
        with db.engine.connect():
            pass
    # libpq's connect_timeout: generous bound, the point is that it ends at all
    assert time.monotonic() - started < 30
    assert failure_reason(err.value) == "connect timeout"


@pytest.mark.postgres
def test_a_postgres_statement_is_cancelled_after_the_statement_timeout(postgres_url: str) -> None:
    db = Database(postgres_url)
    with db.engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "10s"  # the default
    db.dispose()
    short = Database(postgres_url, limits=Limits(statement_timeout=0.5))
    with pytest.raises(OperationalError) as err:
        with short.engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(5)"))
    assert failure_reason(err.value) == "statement timeout"
    short.dispose()
    unlimited = Database(postgres_url, limits=Limits(statement_timeout=None))
    with unlimited.engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "0"
    unlimited.dispose()


# -- the health check ----------------------------------------------------------------------


def test_healthz_is_ok_when_the_database_answers_and_is_migrated(slack: SlackDriver, db) -> None:  # noqa: ANN001
    # The server's check answers "timeout" after 1.5 s, which a stalled machine can take
    # without anything being wrong: probe again then (a few times), as a load balancer would.
    for _ in range(5):
        reply = slack.get("/healthz")
        if not str((reply.json() or {}).get("error", "")).startswith("timeout"):
            break
        print(f"probe timed out: {reply.text}")
    assert reply.status == 200 and reply.json() == {"status": "ok", "database": db.dialect}


def test_health_names_a_database_that_refuses_connections() -> None:
    # a deadline no stalled machine reaches: the answer is the refusal, never "timeout"
    check = HealthCheck(
        Database(f"postgresql+psycopg://u@127.0.0.1:{_closed_port()}/x"), deadline=30
    )
    healthy, answer = check.check()
    assert not healthy
    assert answer == {"status": "error", "database": "unreachable", "error": "connection refused"}


def test_health_answers_within_2_s_when_the_database_never_answers(blackhole: int) -> None:
    # No wall-clock assert (a shared machine can stall any process). Every probe waits at most
    # ``deadline`` for the check's thread: it answers the deadline's "timeout", or the
    # thread's own ending if that came first (libpq's 2 s connect timeout, for a probe that
    # joined a check already running). The first probe starts the check, so only the
    # deadline can have answered it.
    check = HealthCheck(Database(f"postgresql+psycopg://u@127.0.0.1:{blackhole}/x"))
    assert check.deadline < 2.0  # the contract: 503 within 2 s
    answers = []
    for _ in range(3):  # a probe while the previous check still hangs waits for that one
        started = time.monotonic()
        healthy, answer = check.check()
        print(f"probe answered in {time.monotonic() - started:.2f} s: {answer['error']}")
        assert not healthy and answer["database"] == "unreachable"
        answers.append(answer["error"])
    assert answers[0] == "timeout: no answer within 1.5 s"
    assert set(answers) <= {"timeout: no answer within 1.5 s", "connect timeout"}
    running = [t for t in threading.enumerate() if t.name == "healthz"]
    assert len(running) <= 1  # one check in flight, not one per probe


def test_health_says_not_migrated_for_an_empty_database(tmp_path) -> None:  # noqa: ANN001
    check = HealthCheck(Database(f"sqlite:///{tmp_path / 'empty.db'}"), deadline=30)
    healthy, answer = check.check()
    assert not healthy and answer == {"status": "error", "database": "not migrated"}


# -- request bodies over 2 MB --------------------------------------------------------------


def test_a_3_mb_post_gets_413_and_reaches_neither_bolt_nor_the_database(
    slack: SlackDriver, db: Database, emulator: SlackEmulator
) -> None:
    dispatched: list[Any] = []
    real = slack.server.app.dispatch
    slack.server.app.dispatch = lambda req: dispatched.append(req) or real(req)  # type: ignore[method-assign]
    calls_before = len(emulator.calls())
    body = "command=/adr&text=" + "x" * (3 * 1024 * 1024)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    status = _post_raw(slack.server.url, body.encode(), headers)
    assert status == 413
    assert dispatched == []
    assert len(emulator.calls()) == calls_before  # no Slack call either
    adr = Adr(slack, emulator, db)
    assert adr.count("processed_events") == 0 and adr.count("due_work") == 0
    # an ordinary request still goes through
    assert slack.command("help").status == 200 and len(dispatched) == 1


def _post_raw(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST over a plain socket and return the status line's code. The server answers 413
    without reading the body, then closes: the rest of the upload may be refused, so the
    sending happens in a thread whose errors do not matter."""
    host, port = url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=10)
    head = f"POST /slack/events HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"

    def send() -> None:
        try:
            conn.sendall(head.encode() + body)
        except OSError:
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer = b""
    try:
        while b"\r\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    finally:
        sender.join(timeout=10)
        conn.close()
    return int(answer.split(b" ", 2)[1])


class _Stream(io.BytesIO):
    """A request body that counts how much of it was read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


class _FakeSlackHandler:
    seen: list[dict[str, Any]] = []

    def __init__(self, _app: Any) -> None:
        pass

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        self.seen.append({"length": environ["CONTENT_LENGTH"], "body": body})
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]


def _call(wsgi: Any, environ: dict[str, Any]) -> str:
    statuses: list[str] = []
    b"".join(wsgi(environ, lambda status, _headers: statuses.append(status)))
    return statuses[0]


@pytest.fixture
def fake_bolt(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Any:  # noqa: ANN001
    monkeypatch.setattr(web, "SlackRequestHandler", _FakeSlackHandler)
    _FakeSlackHandler.seen = []
    app = SimpleNamespace(oauth_flow=None)  # single-workspace mode: no OAuth routes
    return web.create_wsgi_app(app, Database(f"sqlite:///{tmp_path / 'x.db'}"))  # type: ignore[arg-type]


def test_a_declared_length_over_2_mb_is_refused_without_reading_a_byte(fake_bolt: Any) -> None:
    stream = _Stream(b"x" * 10)
    environ = {
        "PATH_INFO": "/slack/events",
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(MAX_BODY + 1),
        "wsgi.input": stream,
    }
    assert _call(fake_bolt, environ).startswith("413")
    assert stream.taken == 0 and _FakeSlackHandler.seen == []


def test_a_body_of_unknown_length_is_read_only_up_to_2_mb(fake_bolt: Any) -> None:
    stream = _Stream(b"x" * (3 * 1024 * 1024))  # chunked: no Content-Length
    environ = {"PATH_INFO": "/slack/events", "REQUEST_METHOD": "POST", "wsgi.input": stream}
    assert _call(fake_bolt, environ).startswith("413")
    assert stream.taken <= MAX_BODY + 1 and _FakeSlackHandler.seen == []
    # a small chunked body reaches Bolt whole, with its length (Bolt reads CONTENT_LENGTH)
    small = {"PATH_INFO": "/slack/events", "REQUEST_METHOD": "POST", "wsgi.input": _Stream(b"a=1")}
    assert _call(fake_bolt, small).startswith("200")
    assert _FakeSlackHandler.seen == [{"length": "3", "body": b"a=1"}]
    bad = {**small, "CONTENT_LENGTH": "lots", "wsgi.input": _Stream(b"")}
    assert _call(fake_bolt, bad).startswith("400")


# -- time zones ----------------------------------------------------------------------------


def test_an_unknown_time_zone_falls_back_to_utc_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    # the log line comes once per name and process (zone is cached): whichever test of this
    # process asked about Mars before, this one starts afresh
    zone.cache_clear()
    assert zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    assert zone("Mars/Olympus") == ZoneInfo("UTC")
    assert zone("../../etc/passwd") == ZoneInfo("UTC")
    assert zone(None) == ZoneInfo("UTC")
    assert any("Mars/Olympus" in r.getMessage() and "UTC" in r.getMessage() for r in caplog.records)
    monday = date(2031, 3, 3)
    ten_utc = datetime(2031, 3, 3, 10, tzinfo=UTC)
    assert review_instant(monday, tz="Mars/Olympus", hour=10) == ten_utc
    assert working_days_later(ten_utc, 3, tz="Mars/Olympus", hour=10) == ten_utc + timedelta(days=3)


def test_a_review_planned_for_a_decider_on_mars_is_asked_at_10_utc(
    slack: SlackDriver, emulator: SlackEmulator, db: Database
) -> None:
    from tests.support.delivery import aware, next_weekday
    from tests.support.reviews import new_decision, reviews

    emulator.set_user("UBOB", tz="Mars/Olympus")  # what users.info says about the decider
    day = next_weekday(0)
    number = new_decision(Adr(slack, emulator, db), deciders=("UBOB",), review_date=day)
    [review] = reviews(db, number)
    assert aware(review.due_at) == datetime.combine(day, datetime.min.time(), UTC).replace(hour=10)


# -- logs ----------------------------------------------------------------------------------


def _record(message: str, *args: Any, exc_info: Any = None) -> logging.LogRecord:
    return logging.getLogger("bot.test").makeRecord(
        "bot.test", logging.WARNING, __file__, 1, message, args, exc_info
    )


def test_json_lines_carry_time_level_logger_message_and_the_request_context() -> None:
    out = io.StringIO()
    handler = build_handler("json", stream=out)
    with request_context(team="TAAA", user="UALICE", kind="view_submission", callback="adr.new"):
        handler.handle(_record("saved %s", "ADR-3"))
    handler.handle(_record("outside any request"))
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["message"] == "saved ADR-3"
    assert (first["level"], first["logger"]) == ("WARNING", "bot.test")
    assert datetime.fromisoformat(first["time"]).tzinfo is not None
    assert {k: first[k] for k in ("team", "user", "kind", "callback")} == {
        "team": "TAAA",
        "user": "UALICE",
        "kind": "view_submission",
        "callback": "adr.new",
    }
    assert "team" not in second and second["message"] == "outside any request"


def test_an_exception_is_one_json_line_with_the_traceback_as_a_field() -> None:
    out = io.StringIO()
    handler = build_handler("json", stream=out)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        handler.handle(_record("it broke", exc_info=sys.exc_info()))
    [line] = out.getvalue().splitlines()
    parsed = json.loads(line)
    assert parsed["message"] == "it broke"
    assert (
        parsed["exception"].startswith("Traceback") and "RuntimeError: boom" in parsed["exception"]
    )


def test_text_stays_the_default_and_configuring_twice_keeps_one_handler() -> None:
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        configure_logging(fmt="json", level="DEBUG")
        handler = configure_logging(fmt="text", level="INFO")
        ours = [h for h in root.handlers if getattr(h, "_decisionbot", False)]
        assert ours == [handler] and root.level == logging.INFO
        assert not isinstance(handler.formatter, JsonFormatter)
        line = handler.format(_record("plain"))
        assert line.endswith("WARNING bot.test: plain")
    finally:
        for h in [h for h in root.handlers if getattr(h, "_decisionbot", False)]:
            root.removeHandler(h)
        root.handlers[:] = before[0]
        root.setLevel(before[1])


def test_bolts_unhandled_request_warning_keeps_no_request_body() -> None:
    out = io.StringIO()
    handler = build_handler("text", stream=out)
    record = logging.getLogger("slack_bolt.App").makeRecord(
        "slack_bolt.App",
        logging.WARNING,
        __file__,
        1,
        "Unhandled request ({'text': 'what someone typed'})",
        (),
        None,
    )
    handler.handle(record)
    assert "what someone typed" not in out.getvalue() and "Unhandled request" in out.getvalue()


def test_start_up_noise_is_quiet_and_real_warnings_are_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Bolt's "`token` will be unused" (bot.app passes its own client on purpose) and
    APScheduler's INFO lines stay out of the log; a warning from either still shows."""
    root, scheduler = logging.getLogger(), logging.getLogger("apscheduler")
    before = list(root.handlers), root.level, scheduler.level
    try:
        configure_logging(fmt="text", level="INFO")
        logging.getLogger("bot.app").warning(
            "As you gave `client` as well, `token` will be unused."
        )
        logging.getLogger("apscheduler.scheduler").info("Scheduler started")
        logging.getLogger("apscheduler.scheduler").info('Added job "Dispatcher.wake"')
        logging.getLogger("apscheduler.executors.default").warning(
            'Run time of job "Dispatcher.wake" was missed by 0:01:00'
        )
        logging.getLogger("bot.app").warning("auth.test failed at start-up (URLError)")
    finally:
        root.handlers[:] = before[0]
        root.setLevel(before[1])
        scheduler.setLevel(before[2])
    written = capsys.readouterr().err
    assert "will be unused" not in written and "Scheduler started" not in written, written
    assert "Added job" not in written, written
    assert "was missed by" in written and "auth.test failed at start-up" in written, written


def test_an_unexpected_error_is_logged_with_the_request_fields_in_json(
    slack: SlackDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.features.decisions import listeners

    def boom(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(listeners.search, "search_decisions", boom)
    out = io.StringIO()
    handler = build_handler("json", stream=out)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        reply = slack.command("search anything", user="UCAROL", team="TQQQ")
    finally:
        root.removeHandler(handler)
    ref = reply.json()["text"].split("ref `", 1)[1].split("`", 1)[0]
    [line] = [json.loads(raw) for raw in out.getvalue().splitlines() if '"bot.core.errors"' in raw]
    assert {k: line.get(k) for k in ("team", "user", "kind", "callback", "ref")} == {
        "team": "TQQQ",
        "user": "UCAROL",
        "kind": "slash_command",
        "callback": "/adr",
        "ref": ref,
    }
    assert "RuntimeError" in line["exception"]
