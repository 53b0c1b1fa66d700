"""GET /metrics: Prometheus request count and latency by method, route template and status.

The multi-worker sum (gunicorn, prometheus_client's multiprocess mode) is
checked in test_live_gunicorn.py; these tests cover one process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, request
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.parser import text_string_to_metric_families

from grau.http.metrics import BUCKETS


def scrape(app: Flask) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics as {(sample name, sorted labels): value}."""
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def requests_total(app: Flask, method: str, route: str, status: int) -> float:
    labels = (("method", method), ("route", route), ("status", str(status)))
    return scrape(app).get(("grau_http_requests_total", labels), 0.0)


def duration_count(app: Flask, method: str, route: str, status: int) -> float:
    labels = (("method", method), ("route", route), ("status", str(status)))
    return scrape(app).get(("grau_http_request_duration_seconds_count", labels), 0.0)


@pytest.fixture
def fresh_app(build_app: Callable[[dict[str, Any]], Flask]) -> Flask:
    return build_app({})


def test_metrics_are_prometheus_text_and_not_cached(fresh_app):
    response = fresh_app.test_client().get("/metrics")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    assert "# TYPE grau_http_requests_total counter" in response.get_data(as_text=True)
    assert "# TYPE grau_http_request_duration_seconds histogram" in response.get_data(as_text=True)


def test_requests_are_counted_by_route_template_and_status(fresh_app, user):
    client = fresh_app.test_client()
    created = client.post(
        "/v1/body-stats",
        json={"type": "weight", "value": 70, "unit": "kg", "recorded_at": "2026-11-01T08:00:00Z"},
        headers=user.headers,
    )
    assert created.status_code == 201
    stat_id = created.get_json()["id"]
    for _ in range(3):
        assert client.get(f"/v1/body-stats/{stat_id}", headers=user.headers).status_code == 200
    assert client.get("/v1/body-stats/00000000-0000-0000-0000-000000000000").status_code == 401

    assert requests_total(fresh_app, "POST", "/v1/body-stats", 201) == 1
    # One series for every id: the label is the template, not the path.
    assert requests_total(fresh_app, "GET", "/v1/body-stats/{stat_id}", 200) == 3
    assert requests_total(fresh_app, "GET", "/v1/body-stats/{stat_id}", 401) == 1
    assert duration_count(fresh_app, "GET", "/v1/body-stats/{stat_id}", 200) == 3


def test_unmatched_paths_share_one_label(fresh_app):
    client = fresh_app.test_client()
    for path in ("/nope", "/v1/nope/1", "/v1/nope/2"):
        assert client.get(path).status_code == 404

    assert requests_total(fresh_app, "GET", "<unmatched>", 404) == 3
    assert not any("/v1/nope" in str(key) for key in scrape(fresh_app))


def test_unknown_methods_are_counted_as_other(fresh_app):
    response = fresh_app.test_client().open("/health", method="BREW")

    assert response.status_code == 405
    assert requests_total(fresh_app, "OTHER", "<unmatched>", 405) == 1


def test_rejected_requests_are_timed_too(fresh_app, user):
    response = fresh_app.test_client().post(
        "/v1/body-stats", data="value=1", content_type="text/plain", headers=user.headers
    )

    assert response.status_code == 415
    assert duration_count(fresh_app, "POST", "/v1/body-stats", 415) == 1


def test_each_app_counts_only_its_own_requests(build_app):
    first, second = build_app({}), build_app({})
    first.test_client().get("/health")

    assert requests_total(first, "GET", "/health", 200) == 1
    assert requests_total(second, "GET", "/health", 200) == 0


def test_metrics_can_be_switched_off(build_app):
    app = build_app({"METRICS_ENABLED": False})

    assert app.test_client().get("/metrics").status_code == 404


def test_tallied_requests_make_the_histogram_observing_each_would_make(fresh_app: Flask) -> None:
    """Requests are tallied and added in batches: the same count, sum and buckets (on the
    bounds, and past the last into +Inf) as `Histogram.observe` per request."""
    metrics = fresh_app.extensions["grau.http.metrics"]
    reference = Histogram("reference", "", buckets=BUCKETS, registry=CollectorRegistry())
    durations = [0.0, 0.001, 0.0025, 0.0026, 0.01, 0.3, 1.0, 9.99, 10.0, 12.5, 60.0]
    for seconds in durations:
        with fresh_app.test_request_context("/health"):
            metrics.record(request.environ, 200, seconds)
        reference.observe(seconds)

    def samples(collector: Any, name: str) -> list[tuple[str, float]]:
        found = [s for family in collector.collect() for s in family.samples]
        return [(s.name.replace(name, ""), s.labels.get("le", ""), s.value) for s in found]

    before = samples(metrics.registry, "grau_http_request_duration_seconds")
    metrics.flush()
    ours = samples(metrics.registry, "grau_http_request_duration_seconds")
    theirs = samples(reference, "reference")

    assert not [s for s in before if s[0] == "_count"]  # tallied, not yet added
    assert [s for s in ours if s[0] in ("_bucket", "_count", "_sum")] == [
        s for s in theirs if s[0] in ("_bucket", "_count", "_sum")
    ]
    assert requests_total(fresh_app, "GET", "/health", 200) == len(durations)
