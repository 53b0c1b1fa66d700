"""Serve grau in production: granian's WSGI server, configured from the environment.

    python -m grau.server      # what the container runs (after scripts/entrypoint.py)

Why granian and not gunicorn: `make bench-servers` (bench/servers.md) serves
grau under each with the same number of worker processes and measures the
server-side CPU time per request: a cached read costs about a quarter less
under granian than under gunicorn's sync workers and 40% less than under its
gthread workers (which grau used before), and GET /health, which is all
framework, about 40% less (granian's HTTP handling is Rust, and connections
are kept alive). granian is maintained, BSD-licensed, and restarts workers
that die (`respawn_failed_workers`), with one change made here (`Server`): a
worker killed twice within a few seconds no longer ends the whole server.

Every knob comes from the environment, so one image fits every host:

    PORT               listen port (default 8000), on all interfaces (HOST: 0.0.0.0)
    WEB_CONCURRENCY    worker processes (default: one per CPU this process may use)
    WEB_THREADS        threads per worker that run requests (default 1)
    GRACEFUL_TIMEOUT   seconds in-flight requests get on SIGTERM (default 30)
    PROMETHEUS_MULTIPROC_DIR  where workers keep their /metrics values (default:
                       a fresh directory in /dev/shm, removed on exit)

A request is mostly Python work (the GIL's), with one short wait on
PostgreSQL: one thread per worker measured cheapest per request and fastest
at 16 connections with the database on the same host. With a database across
a network, waits are longer: raise WEB_THREADS (2-4) or WEB_CONCURRENCY so a
core has work while a request waits. grau writes its own access log
(grau.http.observability); granian's own lines are JSON too, on stderr.
"""

from __future__ import annotations

import gc
import importlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

DEFAULT_THREADS = 1
DEFAULT_GRACEFUL_TIMEOUT = 30
BOOT_SECONDS = 5.5  # a worker that exits on its own sooner than this after it started cannot boot


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None
    if value < 1:
        raise SystemExit(f"{name} must be at least 1, got {value}")
    return value


def cpus() -> int:
    """The CPUs this process may run on (a container's cpuset), not the whole host's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def log_config() -> dict[str, Any]:
    """granian's own loggers as JSON lines on stderr, like grau's."""
    json_formatter = {"()": "grau.http.observability.JsonFormatter"}
    stderr = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "json"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": json_formatter},
        "handlers": {"stderr": stderr},
        "loggers": {
            "_granian": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "granian.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


def settings(target: str = "app:create_app") -> dict[str, Any]:
    """granian's settings for this environment (keyword arguments of `granian.Granian`);
    `target` is the app factory, `module:function`."""
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels

    threads = _int_env("WEB_THREADS", DEFAULT_THREADS)
    level = os.environ.get("LOG_LEVEL", "info").lower()
    return {
        "target": target,
        "factory": True,
        "interface": Interfaces.WSGI,
        "address": os.environ.get("HOST", "0.0.0.0"),
        "port": _int_env("PORT", 8000),
        "workers": _int_env("WEB_CONCURRENCY", cpus()),
        "blocking_threads": threads,
        # Requests beyond the threads wait in granian (cheap) rather than in Python.
        "backpressure": threads * 8,
        "http": HTTPModes.http1,  # TLS and HTTP/2 end at the proxy in front
        "websockets": False,
        "respawn_failed_workers": True,
        "respawn_interval": 1.0,  # seconds before a dead worker's replacement starts
        "workers_kill_timeout": _int_env("GRACEFUL_TIMEOUT", DEFAULT_GRACEFUL_TIMEOUT),
        "log_level": LogLevels(level) if level in LogLevels.__members__ else LogLevels.info,
        "log_dictconfig": log_config(),
        "working_dir": Path(__file__).resolve().parent.parent,
    }


# The collector's thresholds in a worker (Python's: 700, 10, 10). A request allocates
# and frees a few thousand objects, nearly all freed by reference counting; counted
# allocations set the collector off several times a request at 700, for nothing.
GC_THRESHOLDS = (7000, 20, 20)


def load_app(target: str) -> Any:
    """Build the app in a worker (`target`: `module:factory`), then set the collector up
    for serving: what the app built lives as long as the worker, so it is frozen out of
    the collector's scans (`gc.freeze`), and collections run less often. Together about
    5 µs less per request, and no full collection (tens of ms) in the middle of one."""
    module, _, factory = target.partition(":")
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:  # the app factory lives in the project root (app.py)
        sys.path.insert(0, root)
    app = getattr(importlib.import_module(module), factory)()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return app


def _metrics_directory() -> tuple[Path, bool]:
    """prometheus_client's multiprocess directory: set before any worker imports grau,
    and empty, or the counts of an earlier run would be counted again."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return directory, False
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    directory = Path(tempfile.mkdtemp(prefix="grau-metrics-", dir=shm))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    return directory, True


def server_class() -> type:
    """granian's multi-process server, with gunicorn's policy for a worker that dies.

    granian ends the whole server when a worker it respawned dies again within
    5.5 s, whatever killed it: two workers lost to the OOM killer in a burst, or
    one killed twice, and every healthy worker stops with it. Here a worker
    killed by a signal is always replaced (after `respawn_interval` when its
    slot was refilled moments ago, so a storm of kills cannot spin the main
    process); only a worker that exits on its own within BOOT_SECONDS of its
    start, which means the app cannot boot, still ends the server, so a broken
    deploy fails loudly (exit status 1) instead of respawning forever.

    The loop replaces granian's `_serve_loop` (granian 2.8; the lock pins it).
    It differs in that decision and in one race: it clears its wake-up event
    before it takes the dead workers off the list, so a death reported in
    between wakes it again instead of leaving it spinning on a set event or
    losing the slot. It does not recycle workers by age or memory (granian's
    `workers_lifetime`, `workers_max_rss`), which grau does not use, and
    refuses to start if asked to. test/test_faults_live.py kills workers
    faster than granian's rule allows and checks the server keeps serving.
    """
    import time

    from granian.log import logger
    from granian.server import MPServer

    class Server(MPServer):
        failed = False  # set when the server stopped because a worker failed

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if self.workers_lifetime is not None or self.workers_rss is not None:
                # granian's loop recycles workers by age and memory; this one does not.
                raise ValueError("grau's server does not recycle workers by lifetime or RSS")

        def _cannot_boot(self, idx: int) -> bool:
            worker = self.wrks[idx]
            code = worker.inner.exitcode
            return code is not None and code > 0 and time.monotonic() - worker.birth < BOOT_SECONDS

        def _take_dead(self) -> list[int]:
            """The slots whose workers died since the last call, each once."""
            dead: list[int] = []
            while self.interrupt_children:  # pop, not copy-and-clear: a death may land between
                idx = self.interrupt_children.pop(0)
                if idx not in dead:
                    dead.append(idx)
            return dead

        def _pause(self, seconds: float) -> None:
            """Sleep, unless a shutdown signal comes first."""
            deadline = time.monotonic() + seconds
            while not self.interrupt_signal and time.monotonic() < deadline:
                time.sleep(0.05)

        def _serve_loop(self, spawn_target: Any, target_loader: Any) -> None:
            refilled: dict[int, float] = {}  # worker slot -> when it was last respawned
            while True:
                self.main_loop_interrupt.wait()
                # Cleared before reading what woke it: whatever happens after sets it again.
                self.main_loop_interrupt.clear()
                if self.interrupt_signal:
                    break
                dead = self._take_dead()
                if dead:
                    if not self.respawn_failed_workers:
                        self.failed = True
                        break
                    if any(self._cannot_boot(idx) for idx in dead):
                        logger.error("A worker exited as it started: the app cannot boot, exiting")
                        self.failed = True
                        break
                    now = time.monotonic()
                    if any(now - refilled.get(idx, 0.0) < BOOT_SECONDS for idx in dead):
                        self._pause(self.respawn_interval)
                        if self.interrupt_signal:
                            break
                    for idx in dead:
                        refilled[idx] = time.monotonic()
                    self._respawn_workers(dead, spawn_target, target_loader)
                    self._metrics.incr_respawn_err(1)
                if self.reload_signal:
                    self._reload(spawn_target, target_loader)

    return Server


def main(target: str = "app:create_app") -> int:
    directory, created = _metrics_directory()
    try:
        server = server_class()(**settings(target))
        server.serve(target_loader=load_app)
    finally:
        if created:
            shutil.rmtree(directory, ignore_errors=True)
    return 1 if server.failed else 0


if __name__ == "__main__":
    sys.exit(main())
