"""Gunicorn, embedded: the production server for `decisionbot serve` (not Bolt's dev server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(
        self,
        wsgi: Callable[..., Any],
        options: dict[str, Any],
        post_fork: Callable[[], None] | None = None,
    ) -> None:
        self._wsgi = wsgi
        self._options = options
        self._post_fork = post_fork
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Callable[..., Any]:
        # Called in each worker after the fork: pooled DB connections opened in the master
        # must not be shared, so the worker drops them and opens its own.
        if self._post_fork is not None:
            self._post_fork()
        return self._wsgi


def serve(
    wsgi: Callable[..., Any],
    *,
    host: str,
    port: int,
    workers: int = 2,
    threads: int = 8,
    post_fork: Callable[[], None] | None = None,
    worker_exit: Callable[[], None] | None = None,
    child_exit: Callable[[int], None] | None = None,
    graceful_timeout: int = 10,
) -> None:
    """Run until SIGTERM/SIGINT. gthread workers: Bolt acks on the request thread; Slack work
    after the ack is outbox work for the dispatcher. ``post_fork`` runs in each worker
    before it serves (drop inherited pools, start its dispatcher); ``worker_exit`` in each
    worker once it stopped serving (stop its dispatcher); ``child_exit`` in the master with
    the pid of a worker that ended."""
    hooks: dict[str, Any] = {}
    if worker_exit is not None:
        hooks["worker_exit"] = lambda _server, _worker: worker_exit()
    if child_exit is not None:
        hooks["child_exit"] = lambda _server, worker: child_exit(worker.pid)
    _Gunicorn(
        wsgi,
        {
            **hooks,
            "bind": f"{host}:{port}",
            "workers": max(1, workers),
            "worker_class": "gthread",
            "threads": max(1, threads),
            "timeout": 30,
            "graceful_timeout": graceful_timeout,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "info",
        },
        post_fork,
    ).run()
