"""/v1/export: everything a user owns, to keep or to take elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, request, stream_with_context
from flask.views import MethodView

from grau.db.session import snapshot
from grau.http.extensions import Blueprint
from grau.http.ratelimit import rate_limited
from grau.http.views import authenticated, current_user_id
from grau.portability import schemas
from grau.portability.export import Export

blp = Blueprint(
    "portability",
    __name__,
    url_prefix="/v1",
    description="Your data, in and out: everything you own in one export.",
)

ZIP = "application/zip"
# The answer in both forms (`@blp.response` documents the JSON one alone).
EXPORTED = {
    "description": "The export: a `grau-export` document, or a ZIP of CSV files.",
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/GrauExport"}},
        ZIP: {"schema": {"$ref": "#/components/schemas/ZipArchive"}},
    },
}


@blp.route("/export")
class ExportAll(MethodView):
    @authenticated
    @rate_limited("RATELIMIT_EXPORT", per="user")
    @blp.arguments(schemas.ExportQuery, location="query")
    @blp.response(200, schemas.GrauExport)
    @blp.doc(operationId="exportData", responses={"200": EXPORTED})
    def get(self, args: dict[str, Any]) -> Response:
        """Export all my data

        Everything the signed-in user owns, each item exactly as its own GET
        shows it: the profile (no secrets), body stats, nutrition entries,
        mood tags and moods, their own equipment and exercises, workouts with
        their sets, and plans, read from one snapshot of the database. As one
        JSON document (`format: grau-export`), which `POST /v1/imports` takes
        back; or, with `format=csv` or `Accept: application/zip`, a ZIP of one
        CSV file per kind of item (`profile.csv`, `body_stats.csv`, ...,
        `workout_sets.csv`), one column per field. Streamed as it is read.
        """
        zipped = args["format"] == "csv" or _prefers_zip()
        user_id, now = current_user_id(), datetime.now(UTC)
        suffix, mimetype = ("zip", ZIP) if zipped else ("json", "application/json")

        def chunks() -> Any:
            with snapshot() as session:
                export = Export(session, user_id, now)
                yield from export.zip_chunks() if zipped else export.json_chunks()

        filename = f"grau-export-{now:%Y-%m-%d}.{suffix}"
        return Response(
            stream_with_context(chunks()),
            mimetype=mimetype,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )


def _prefers_zip() -> bool:
    accepted = request.accept_mimetypes
    return accepted.best_match(["application/json", ZIP]) == ZIP and accepted[ZIP] > 0
