"""gunicorn settings for grau in production: `gunicorn -c gunicorn.conf.py`.

Every knob comes from the environment so one image fits every host:

    PORT               listen port (default 8000), on all interfaces
    WEB_CONCURRENCY    worker processes (default 2 x CPUs + 1, at most 8)
    GUNICORN_THREADS   threads per worker (default 4)
    FORWARDED_ALLOW_IPS  proxies trusted for X-Forwarded-Proto (default: loopback)
    PROMETHEUS_MULTIPROC_DIR  where workers keep their /metrics values (default: a
                       fresh directory in /dev/shm, removed on exit); emptied at start

Access logs are one JSON object per line on stdout, error logs go to stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger, SafeAtoms


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


def _cpus() -> int:
    # The CPUs this process may run on (a container's cpuset), not the whole host's.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class JsonAtoms(SafeAtoms):
    """Atoms escaped for a JSON string: gunicorn's own escaping covers only `"`."""

    def __init__(self, atoms: dict[str, Any]) -> None:
        dict.__init__(self)
        for key, value in atoms.items():
            # json.dumps escapes backslashes and control characters too, so a hostile
            # path or User-Agent cannot break the line or forge fields.
            self[key] = json.dumps(value)[1:-1] if isinstance(value, str) else value


class JsonLogger(Logger):
    atoms_wrapper_class = JsonAtoms

    def now(self) -> str:
        """`%(t)s` as grau's own log lines write `ts`: ISO 8601, UTC, milliseconds."""
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        return stamp.replace("+00:00", "Z")


wsgi_app = "app:create_app()"
bind = [f"0.0.0.0:{_int_env('PORT', 8000)}"]
workers = _int_env("WEB_CONCURRENCY", min(2 * _cpus() + 1, 8))
threads = _int_env("GUNICORN_THREADS", 4)
worker_class = "gthread"
# Requests are short: a worker silent for 60 s is stuck and gets replaced. On SIGTERM,
# in-flight requests get 30 s to finish (Docker's default stop grace is only 10 s, so
# docker-compose.yml raises stop_grace_period above 30 s).
timeout = 60
graceful_timeout = 30
keepalive = 5
# The control socket (gunicorn >= 25) is an admin interface nobody here uses; it
# would also need a writable $HOME in a read-only, non-root container.
control_socket_disable = True
# Trust X-Forwarded-Proto only from the reverse proxy in front (compose sets this to
# its private network); the default trusts loopback only.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# /tmp may be a disk in the container; heartbeat files belong in memory.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

logger_class = JsonLogger
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Each value is a gunicorn atom; JsonAtoms escapes them, so the line is valid JSON.
# `ts`, `logger` and `request_id` match grau's own log lines; an absent value is "-".
access_log_format = json.dumps(
    {
        "ts": "%(t)s",
        "logger": "gunicorn.access",
        "remote_addr": "%(h)s",
        "forwarded_for": "%({x-forwarded-for}i)s",
        "method": "%(m)s",
        "path": "%(U)s",
        "query": "%(q)s",
        "protocol": "%(H)s",
        "status": "%(s)s",
        "bytes": "%(b)s",
        "duration_ms": "%(M)s",
        "referer": "%(f)s",
        "user_agent": "%(a)s",
        "request_id": "%({x-request-id}i)s",
    }
)


# ---------------------------------------------------------------------- metrics
# Each worker is a process with its own counters; prometheus_client's multiprocess
# mode keeps them in files that /metrics sums over all workers. The variable must be
# set before a worker imports grau (so here, in the master, before any fork), and
# the directory must start empty: files of an earlier run would be counted again.
# (A reload on SIGHUP runs this file again: the marker keeps the directory ours.)
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="grau-metrics-", dir=worker_tmp_dir
    )
    os.environ["GRAU_METRICS_DIR_CREATED"] = os.environ["PROMETHEUS_MULTIPROC_DIR"]
_metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def on_starting(server: Any) -> None:
    _metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in _metrics_dir.glob("*.db"):
        stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    # Counters and histograms of a dead worker stay counted; this drops its live gauges.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(_metrics_dir))


def on_exit(server: Any) -> None:
    if os.environ.get("GRAU_METRICS_DIR_CREATED") == str(_metrics_dir):
        shutil.rmtree(_metrics_dir, ignore_errors=True)
