"""GET /health (process alive) and GET /ready (database and Redis checked)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from limits.errors import StorageError
from sqlalchemy import text

from grau.db.replicas import Replicas
from grau.db.session import REPLICAS, db
from grau.http.errors import DB_RETRY_AFTER_S, problem
from grau.http.extensions import Blueprint
from grau.http.openapi import errors
from grau.http.ratelimit import limits
from grau.ops.schemas import Health, Readiness

blp = Blueprint("health", __name__, description="Liveness and readiness for load balancers.")


@blp.route("/health")
@blp.response(200, Health)
@blp.doc(operationId="getHealth")
def health() -> dict[str, str]:
    """Liveness

    Answers as long as the process serves requests; checks nothing else.
    """
    return {"status": "ok"}


@blp.route("/ready")
@blp.response(200, Readiness)
@errors(503)
@blp.doc(operationId="getReadiness")
def ready() -> Any:
    """Readiness

    Checks the database and Redis. Redis down is `degraded` (still 200: only
    rate limits use Redis, and each process counts alone meanwhile). The
    database down is a 503 problem whose extra members `database` and `redis`
    hold the same checks. `replicas` reports each read replica (ok, lagging or
    down) and never makes the answer unready: reads use the primary meanwhile.
    """
    report: dict[str, Any] = {}
    try:
        db().execute(text("SELECT 1"))
        report["database"] = {"status": "ok"}
    except Exception as exc:
        current_app.logger.warning("readiness: database check failed: %s", exc.__class__.__name__)
        report["database"] = {"status": "down", "detail": exc.__class__.__name__}
    counters = limits().counters
    if counters.shared is None:
        report["redis"] = {"status": "disabled", "detail": "REDIS_URL is not set"}
    else:
        try:
            counters.ping()
            report["redis"] = {"status": "ok"}
        except StorageError as exc:
            report["redis"] = {"status": "down", "detail": str(exc)[:200]}
    replicas: Replicas | None = current_app.extensions.get(REPLICAS)
    report["replicas"] = replicas.report() if replicas is not None else []
    if report["database"]["status"] != "ok":
        return problem(
            503,
            "The database is unreachable.",
            headers={"Retry-After": str(DB_RETRY_AFTER_S)},
            extensions=report,
        )
    report["status"] = "degraded" if report["redis"]["status"] == "down" else "ok"
    return report, 200
