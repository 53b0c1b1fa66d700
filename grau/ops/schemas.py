"""Health and readiness reports."""

from __future__ import annotations

from marshmallow import fields, validate

from grau.config import MAX_REPLICAS
from grau.http.schemas import Schema


class Health(Schema):
    """The process is up."""

    COMPLETE = True

    status = fields.String(validate=validate.OneOf(["ok"]), metadata={"example": "ok"})


class DependencyCheck(Schema):
    """The state of one dependency."""

    JSON_SCHEMA = {"required": ["status"]}

    status = fields.String(
        validate=validate.OneOf(["ok", "down", "disabled"]), metadata={"example": "ok"}
    )
    detail = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "Why it is not ok.", "example": "timeout"},
    )


class ReplicaCheck(Schema):
    """The state of one read replica, as this instance's last poll of it found it."""

    JSON_SCHEMA = {"required": ["name", "status"]}

    name = fields.String(
        validate=[validate.Length(max=300), validate.Regexp(r"^\S+:[0-9]+/\S*$")],
        metadata={
            "description": "The replica's host:port/database (DATABASE_REPLICA_URLS).",
            "example": "grau-db-ro:5432/grau",
        },
    )
    status = fields.String(
        validate=validate.OneOf(["ok", "lagging", "down"]),
        metadata={
            "description": "`ok`: reads use it; `lagging`: it is further behind the primary "
            "than REPLICA_MAX_LAG; `down`: it does not answer. Reads skip it unless `ok`.",
            "example": "ok",
        },
    )
    lag_seconds = fields.Float(
        metadata={
            "description": "How far behind the primary it is, in seconds (absent when unknown).",
            "example": 0.1,
        }
    )
    detail = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "Why it is not ok.", "example": "OperationalError"},
    )


class Readiness(Schema):
    """Whether this instance can serve traffic, and the state of what it depends on."""

    COMPLETE = True

    status = fields.String(
        validate=validate.OneOf(["ok", "degraded"]),
        metadata={
            "description": "`ok`, or `degraded`: Redis is down and the API answers "
            "from the database (slower, still correct).",
            "example": "ok",
        },
    )
    database = fields.Nested(DependencyCheck)
    redis = fields.Nested(DependencyCheck)
    replicas = fields.List(
        fields.Nested(ReplicaCheck),
        validate=validate.Length(max=MAX_REPLICAS),
        metadata={
            "description": "Each read replica (DATABASE_REPLICA_URLS; empty without). "
            "A replica never makes the instance unready: reads use the primary meanwhile."
        },
    )
