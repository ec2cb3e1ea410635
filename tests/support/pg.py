"""Throwaway real PostgreSQL server for tests and benchmarks.

Usage::

    from tests.support.pg import PostgresServer, postgres_available

    with PostgresServer() as pg:
        engine = sqlalchemy.create_engine(pg.url)
        other_url = pg.create_database("scratch")

Or from a shell (prints the SQLAlchemy URL on one line, runs until SIGINT/SIGTERM)::

    python -m tests.support.pg [--port N]

The server runs as the ``postgres`` OS user when we are root (postgres refuses to
run as root), listens only on 127.0.0.1 with ``trust`` auth, keeps its data dir
and unix socket in a fresh temp dir, and is tuned for speed, not durability
(fsync/synchronous_commit/full_page_writes off).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path

__all__ = ["postgres_available", "PostgresServer", "find_pg_bindir", "database_of_its_own"]

DEFAULT_DATABASE = "decisionbot"
SUPERUSER = "postgres"
OS_USER = "postgres"
HOST = "127.0.0.1"

_SERVER_SETTINGS = {
    "listen_addresses": f"'{HOST}'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "'128MB'",
    # Keep the log readable and small-ish; we show its tail on failure.
    "logging_collector": "off",
    "log_min_messages": "warning",
}


# --------------------------------------------------------------------------- helpers


def _version_key(path: str) -> tuple:
    # /usr/lib/postgresql/15/bin -> (15,) ; "9.6" -> (9, 6)
    ver = Path(path).parent.name
    parts = []
    for p in ver.split("."):
        try:
            parts.append(int(p))
        except ValueError:
            parts.append(-1)
    return tuple(parts)


def find_pg_bindir() -> Path | None:
    """Directory holding initdb/pg_ctl/postgres, highest version first; None if absent."""
    candidates = [
        d
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres"))
    ]
    if candidates:
        return Path(max(candidates, key=_version_key))
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        d = Path(pg_ctl).resolve().parent
        if all(os.access(d / b, os.X_OK) for b in ("initdb", "postgres")):
            return d
    return None


def postgres_available() -> bool:
    """True when the PostgreSQL server binaries (initdb, pg_ctl, postgres) exist."""
    if find_pg_bindir() is None:
        return False
    if os.geteuid() == 0:
        # We must drop to the postgres user to run the server.
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return False
        if shutil.which("runuser") is None:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _port_accepts(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        return f"<could not read {path}: {e}>"
    return "\n".join(text.splitlines()[-lines:])


# Servers still running; stopped at interpreter exit so a crashed run leaves nothing behind.
_LIVE: weakref.WeakSet[PostgresServer] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()


def _stop_all() -> None:
    with _LIVE_LOCK:
        servers = list(_LIVE)
    for s in servers:
        try:
            s.stop()
        except Exception:  # pragma: no cover - best effort at exit
            pass


atexit.register(_stop_all)


# --------------------------------------------------------------------------- server


class PostgresServer:
    """A throwaway PostgreSQL cluster in a temp dir. Not durable; for tests only."""

    def __init__(self, *, port: int | None = None):
        self._requested_port = port
        self.port: int | None = port
        self.bindir: Path | None = None
        self.tmpdir: Path | None = None
        self.datadir: Path | None = None
        self.logfile: Path | None = None
        self._started = False
        self._lock = threading.RLock()

    # ---- URLs

    def url_for(self, dbname: str) -> str:
        if self.port is None:
            raise RuntimeError("server not started")
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/{dbname}"

    @property
    def url(self) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of the ``decisionbot`` database."""
        return self.url_for(DEFAULT_DATABASE)

    @property
    def dsn(self) -> str:
        """libpq conninfo of the ``decisionbot`` database (for plain psycopg)."""
        return self.dsn_for(DEFAULT_DATABASE)

    def dsn_for(self, dbname: str) -> str:
        return f"host={HOST} port={self.port} user={SUPERUSER} dbname={dbname}"

    # ---- subprocess plumbing

    def _cmd(self, *argv: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", OS_USER, "--", *argv]
        return list(argv)

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("PG"):
                env.pop(k)  # don't let PGDATA/PGPORT/... from the caller leak in
        env["LC_ALL"] = "C"
        env["LANG"] = "C"
        # cwd: the postgres user may not be able to read the caller's cwd.
        return subprocess.run(
            self._cmd(*argv),
            cwd=str(self.tmpdir),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )

    def _bin(self, name: str) -> str:
        assert self.bindir is not None
        return str(self.bindir / name)

    # ---- lifecycle

    def start(self) -> PostgresServer:
        with self._lock:
            if self._started:
                return self
            self.bindir = find_pg_bindir()
            if self.bindir is None or not postgres_available():
                raise RuntimeError(
                    "PostgreSQL server binaries not found "
                    "(looked in /usr/lib/postgresql/*/bin and PATH for pg_ctl)"
                )
            try:
                self._init_cluster()
                # A port picked by us can be grabbed by someone else before postgres
                # binds it; retry a few times with a fresh port in that case.
                attempts = 1 if self._requested_port is not None else 4
                for attempt in range(attempts):
                    self.port = self._requested_port or _free_port()
                    ok, why = self._start_server()
                    if ok:
                        break
                    port_clash = re.search(r"could not bind|already in use", why, re.I)
                    if port_clash and attempt + 1 < attempts:
                        continue
                    raise RuntimeError(why)
                with _LIVE_LOCK:
                    _LIVE.add(self)
                self._started = True
                self._wait_connectable()
                self._admin_sql(f"CREATE DATABASE {_quote_ident(DEFAULT_DATABASE)}")
            except BaseException:
                self.stop(_force=True)
                raise
            return self

    def _init_cluster(self) -> None:
        self.tmpdir = Path(tempfile.mkdtemp(prefix="pgtest-"))
        os.chmod(self.tmpdir, 0o700)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(OS_USER)
            os.chown(self.tmpdir, pw.pw_uid, pw.pw_gid)
        self.datadir = self.tmpdir / "data"
        self.logfile = self.tmpdir / "postgres.log"
        r = self._run(
            self._bin("initdb"),
            "-D",
            str(self.datadir),
            "-A",
            "trust",
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
            timeout=120,
        )
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed (exit {r.returncode}):\n{r.stdout[-4000:]}")
        # Append our settings; later lines win over initdb's defaults. We write as
        # root if need be -- appending keeps the file's owner (postgres).
        settings = dict(_SERVER_SETTINGS)
        settings["unix_socket_directories"] = f"'{self.tmpdir}'"
        with open(self.datadir / "postgresql.conf", "a") as f:
            f.write("\n# --- tests/support/pg.py ---\n")
            for k, v in settings.items():
                f.write(f"{k} = {v}\n")

    def _start_server(self) -> tuple[bool, str]:
        assert self.datadir is not None and self.logfile is not None
        r = self._run(
            self._bin("pg_ctl"),
            "-D",
            str(self.datadir),
            "-l",
            str(self.logfile),
            "-o",
            f"-p {self.port}",
            "-w",
            "-t",
            "30",
            "start",
            timeout=60,
        )
        if r.returncode == 0:
            return True, ""
        why = (
            f"PostgreSQL failed to start on {HOST}:{self.port} "
            f"(pg_ctl exit {r.returncode}):\n{r.stdout.strip()}\n"
            f"--- tail of {self.logfile} ---\n{_tail(self.logfile)}"
        )
        # Make sure a half-started postmaster is gone before retrying.
        self._pg_ctl_stop()
        return False, why

    def _wait_connectable(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                import psycopg
            except ImportError:
                psycopg = None  # type: ignore[assignment]
            try:
                if psycopg is not None:
                    with psycopg.connect(self.dsn_for("postgres"), connect_timeout=2) as c:
                        c.execute("select 1")
                    return
                if _port_accepts(self.port):
                    return
                last = ConnectionRefusedError(f"{HOST}:{self.port} refused")
            except Exception as e:  # psycopg.OperationalError etc.
                last = e
            time.sleep(0.05)
        raise RuntimeError(
            f"PostgreSQL on {HOST}:{self.port} did not accept connections within "
            f"{timeout:.0f}s: {last}\n--- tail of {self.logfile} ---\n{_tail(self.logfile)}"
        )

    def _admin_sql(self, sql: str, dbname: str = "postgres") -> None:
        """Run a statement outside a transaction (CREATE/DROP DATABASE)."""
        try:
            import psycopg
        except ImportError:
            psycopg = None  # type: ignore[assignment]
        if psycopg is not None:
            with psycopg.connect(self.dsn_for(dbname), autocommit=True) as c:
                c.execute(sql)
            return
        r = self._run(
            self._bin("psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            HOST,
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            "-d",
            dbname,
            "-c",
            sql,
        )
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {sql!r}:\n{r.stdout}")

    def _pg_ctl_stop(self) -> None:
        if self.datadir is None or not (self.datadir / "postmaster.pid").exists():
            return
        try:
            r = self._run(
                self._bin("pg_ctl"),
                "-D",
                str(self.datadir),
                "-m",
                "immediate",
                "-w",
                "-t",
                "20",
                "stop",
                timeout=30,
            )
            ok = r.returncode == 0
        except Exception:
            ok = False
        if not ok:
            # Last resort: kill the postmaster by pid (children die with it).
            try:
                pid = int((self.datadir / "postmaster.pid").read_text().split()[0])
                os.kill(pid, signal.SIGKILL)
                for _ in range(100):
                    os.kill(pid, 0)
                    time.sleep(0.05)
            except (OSError, ValueError, IndexError):
                pass

    def stop(self, _force: bool = False) -> None:
        """Stop the server (immediate mode) and delete its temp dir. Idempotent."""
        with self._lock:
            if not self._started and not _force and self.tmpdir is None:
                return
            self._pg_ctl_stop()
            if self.tmpdir is not None:
                shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
            self.datadir = None
            self._started = False
            with _LIVE_LOCK:
                _LIVE.discard(self)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __del__(self) -> None:  # pragma: no cover - safety net
        try:
            if self._started:
                self.stop()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "running" if self._started else "stopped"
        return f"<PostgresServer {HOST}:{self.port} {state}>"

    # ---- databases

    def create_database(self, name: str) -> str:
        """Create another database on this server; returns its SQLAlchemy URL."""
        if not self._started:
            raise RuntimeError("server not started")
        self._admin_sql(f"CREATE DATABASE {_quote_ident(name)}")
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, terminating any open connections to it."""
        if not self._started:
            raise RuntimeError("server not started")
        self._admin_sql(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")


@contextlib.contextmanager
def database_of_its_own(server_url: str, prefix: str) -> Iterator[str]:
    """A fresh, empty database named ``<prefix>_<random>`` on the server at ``server_url``
    (any database URL of it): yields its URL, drops it after (closing what is still connected).
    For runs that share a server: tests truncate tables, benchmarks seed them."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {_quote_ident(name)}")
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")
        admin.dispose()


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(
        prog="python -m tests.support.pg",
        description="Run a throwaway PostgreSQL server; prints its SQLAlchemy URL, "
        "stops on SIGINT/SIGTERM.",
    )
    ap.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    args = ap.parse_args(argv)

    if not postgres_available():
        print("PostgreSQL server binaries not found", file=sys.stderr)
        return 2

    stop_event = threading.Event()

    def _on_signal(signum, frame):
        stop_event.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    server = PostgresServer(port=args.port)
    try:
        server.start()
        print(server.url, flush=True)
        print(
            f"postgres running on {HOST}:{server.port} (data in {server.tmpdir}); "
            "Ctrl-C / SIGTERM to stop",
            file=sys.stderr,
            flush=True,
        )
        while not stop_event.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
