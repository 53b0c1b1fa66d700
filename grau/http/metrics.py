"""Prometheus metrics at `GET /metrics`: request count and latency by route and status.

Two series, labelled by HTTP method, route template (`/v1/body-stats/{stat_id}`, as the
spec writes it, `<unmatched>` for a path no route matches, so made-up URLs
cannot explode the label set) and status code:

    grau_http_requests_total                 counter
    grau_http_request_duration_seconds       histogram (seconds, from the request
                                             entering grau's WSGI envelope to the
                                             response leaving the app)

and, with read replicas (DATABASE_REPLICA_URLS), reads that could use one, by the
server that served them (`primary` or a replica's host:port/database):

    grau_db_reads_total                      counter

Under grau.server every worker is its own process, so each would report only its
own requests. grau.server therefore sets `PROMETHEUS_MULTIPROC_DIR` before
any worker imports grau: prometheus_client then keeps every worker's values in
memory-mapped files there, and `/metrics` sums them over all workers (dead ones
included, so a restarted worker's counts are not lost). Without that variable
(`flask run`, tests) the values live in the process, one registry per app.

A request is tallied in the process (a count, a sum and a bucket, under a lock) and
the tallies are added to those values every METRICS_FLUSH_S by a thread of the
process, and before this process answers `/metrics`: three memory-mapped writes
per request (with a lock each) cost about 10 µs of a cached read's ~400. So a
scrape may miss the last second of another worker's requests (the next scrape
has them), and a worker killed outright loses its last second's tallies; one
that exits adds them first.

`/metrics` is not part of the API contract (it is for Prometheus, not for
client apps) and is served without authentication; the compose file's nginx
keeps it off the public port, and `METRICS_ENABLED=false` removes it.
"""

from __future__ import annotations

import bisect
import os
import re
import threading
import weakref
from functools import lru_cache
from typing import Any

from flask import Flask, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from grau.db.replicas import Replicas
from grau.db.session import REPLICAS
from grau.http.observability import URL_RULE, OnAnswer, Periodic, process_id

UNMATCHED = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# An API answers in milliseconds; the upper buckets catch the slow tail (login
# hashes a password on purpose, a database outage waits for its timeout).
BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METRICS_FLUSH_S = 1.0  # the longest a request's tally waits to reach its series


_CONVERTER = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


@lru_cache(maxsize=1024)
def route_label(rule: str) -> str:
    """A Flask rule as the spec writes its path: `<uuid:stat_id>` becomes `{stat_id}`."""
    return _CONVERTER.sub(r"{\1}", rule)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


if multiprocess_dir():
    # The multiprocess values check on every write whether the process forked, with a
    # system call each time (three per request); grau's process id is kept without one.
    values.ValueClass = values.MultiProcessValue(process_identifier=process_id)


class _Tally:
    """Requests of one series not yet added to its values: count, sum, per bucket."""

    __slots__ = ("buckets", "count", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.buckets = [0] * (len(BUCKETS) + 1)  # the last: +Inf


class Metrics:
    """One app's metrics and the hooks that record them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("method", "route", "status")
        self.requests = Counter(
            "grau_http_requests",
            "HTTP requests answered, by method, route template and status.",
            labels,
            registry=self.registry,
        )
        self.duration = Histogram(
            "grau_http_request_duration_seconds",
            "Time from the request reaching grau to its response, in seconds.",
            labels,
            buckets=BUCKETS,
            registry=self.registry,
        )
        # (method, rule, status) -> its two series: bounded by the routes that exist.
        self._series: dict[tuple[str, str | None, int], tuple[Any, Any]] = {}
        self.db_reads = Counter(
            "grau_db_reads",
            "Reads that could use a read replica, by the server that served them "
            "(`primary`, or a replica's host:port/database); only with DATABASE_REPLICA_URLS.",
            ("target",),
            registry=self.registry,
        )
        self._reads: dict[str, Any] = {}  # target -> its series: one per configured server
        self._tallies: dict[tuple[str, str | None, int], _Tally] = {}
        self._lock = threading.Lock()
        _ALL.add(self)

    def count_read(self, target: str) -> None:
        series = self._reads.get(target)
        if series is None:
            series = self._reads[target] = self.db_reads.labels(target)
        series.inc()

    def record(self, environ: dict[str, Any], status: int, seconds: float) -> None:
        """Count and time one answer (told by grau.http.observability's envelope)."""
        rule = environ.get(URL_RULE)
        key = (environ.get("REQUEST_METHOD", ""), rule.rule if rule is not None else None, status)
        bucket = bisect.bisect_left(BUCKETS, seconds)  # the first bound >= it, as Prometheus
        with self._lock:
            tally = self._tallies.get(key)
            if tally is None:
                tally = self._tallies[key] = _Tally()
            tally.count += 1
            tally.total += seconds
            tally.buckets[bucket] += 1
        _FLUSHER.ensure_running()

    def flush(self) -> None:
        """Add the requests tallied since the last flush to their series."""
        with self._lock:
            tallies, self._tallies = self._tallies, {}
        for key, tally in tallies.items():
            requests, duration = self._series_of(key)
            requests.inc(tally.count)
            # Histogram.observe for `count` observations at once: its sum and buckets.
            duration._sum.inc(tally.total)
            for index, count in enumerate(tally.buckets):
                if count:
                    duration._buckets[index].inc(count)

    def _series_of(self, key: tuple[str, str | None, int]) -> tuple[Any, Any]:
        series = self._series.get(key)
        if series is None:  # first of its kind: look the labelled series up once
            method = key[0] if key[0] in _METHODS else "OTHER"
            route = route_label(key[1]) if key[1] is not None else UNMATCHED
            labels = (method, route, str(key[2]))
            series = self._series[key] = (
                self.requests.labels(*labels),
                self.duration.labels(*labels),
            )
        return series

    def exposition(self) -> Response:
        self.flush()  # this process's latest (the others' reach their files within a second)
        registry = self.registry
        if multiprocess_dir():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        response = Response(generate_latest(registry), mimetype=None)
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        response.headers["Cache-Control"] = "no-store"
        return response


_ALL: weakref.WeakSet[Metrics] = weakref.WeakSet()  # every app's, to flush


def _flush_all() -> None:
    for metrics in list(_ALL):
        metrics.flush()


_FLUSHER = Periodic("grau-metrics", METRICS_FLUSH_S, _flush_all)  # and at exit


def count_replica_reads(app: Flask) -> None:
    """Count reads per server (`grau_db_reads_total`) where the app has read replicas."""
    metrics: Metrics | None = app.extensions.get("grau.http.metrics")
    replicas: Replicas | None = app.extensions.get(REPLICAS)
    if metrics is not None and replicas is not None:
        replicas.on_read = metrics.count_read


def init_app(app: Flask) -> None:
    """Serve `/metrics`; `recorder(app)` counts and times every answer."""
    if not app.config.get("METRICS_ENABLED", True):
        return
    metrics = Metrics()
    app.extensions["grau.http.metrics"] = metrics
    app.add_url_rule("/metrics", "metrics", metrics.exposition, methods=["GET"])


def recorder(app: Flask) -> OnAnswer | None:
    """What counts and times each answer, for grau.http.observability's envelope (None:
    metrics are off). The envelope tells it of every answer, so no Flask hook runs."""
    metrics: Metrics | None = app.extensions.get("grau.http.metrics")
    return metrics.record if metrics is not None else None
