"""/v1/export and /v1/imports: everything a user owns, to keep or to take elsewhere, and
workout history brought in from Strong or Hevy."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from flask import Response, current_app, request, stream_with_context

from grau.accounts.models import User
from grau.core.domain_errors import Invalid, Unauthenticated
from grau.db.session import db, snapshot
from grau.http.errors import abort
from grau.http.extensions import Blueprint, MethodView
from grau.http.openapi import errors
from grau.http.ratelimit import rate_limited
from grau.http.views import authenticated, current_user_id
from grau.portability import schemas
from grau.portability.export import Export
from grau.portability.hevy import parse_hevy
from grau.portability.importer import Report, import_workouts
from grau.portability.records import FormatError, Parsed, TooManyRows
from grau.portability.restore import import_export
from grau.portability.strong import parse_strong

log = logging.getLogger(__name__)

blp = Blueprint(
    "portability",
    __name__,
    url_prefix="/v1",
    description="Your data, in and out: everything you own in one export, and workout "
    "history brought in from Strong or Hevy.",
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


# A small Strong export (its comma layout): the example "Try it out" and Postman send.
STRONG_SAMPLE = (
    "Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,Notes,"
    "Workout Notes,RPE\n"
    '2024-03-04 18:30:00,"Push",52m,"Bench Press (Barbell)",W,40,10,0,0,"","",\n'
    '2024-03-04 18:30:00,"Push",52m,"Bench Press (Barbell)",1,80,5,0,0,"","",8\n'
    '2024-03-04 18:30:00,"Push",52m,"Bench Press (Barbell)",2,80,5,0,0,"Paused","",8.5\n'
    '2024-03-04 18:30:00,"Push",52m,"Pull Up",1,0,8,0,0,"","",\n'
    '2024-03-06 07:15:00,"Morning run",31m,"Running",1,0,0,5,1860,"Easy pace","",\n'
)

# The file an import reads: a form's `file` field, or the whole body.
UPLOAD = {
    "description": "The exported file: as the `file` field of a form "
    "(multipart/form-data), or as the whole body (application/octet-stream; text/csv and, "
    "for a grau export, application/json are read the same way). At most IMPORT_MAX_MB "
    "(20 MiB by default) and 50,000 rows: 413 beyond.",
    "required": True,
    "content": {
        "multipart/form-data": {"schema": {"$ref": "#/components/schemas/FileUpload"}},
        "application/octet-stream": {
            "schema": {"$ref": "#/components/schemas/ExportFile"},
            "example": STRONG_SAMPLE,
        },
    },
}


@blp.route("/imports")
class Imports(MethodView):
    @authenticated
    @rate_limited("RATELIMIT_IMPORT", per="user")
    @blp.arguments(schemas.ImportQuery, location="query")
    @blp.response(200, schemas.ImportReport)
    @errors(413, 415)
    @blp.doc(operationId="importData", requestBody=UPLOAD)
    def post(self, args: dict[str, Any]) -> Report:
        """Import a grau export, or workouts from Strong or Hevy

        With `source=grau`, a grau export (`GET /v1/export`'s JSON) is brought
        in whole: every item under a new id, what refers to grau's catalog
        found by slug, the profile's preferences set; the same export again
        adds only what is new. With `strong` or `hevy`, the CSV file the app
        exported adds its workouts and sets. All in one transaction. Times
        without an offset are read in the profile's time zone; weights keep
        their unit. Each exercise name is matched to one of yours, else to
        grau's catalog (exactly, by a known spelling of the app's, or by a
        close one), else becomes your own exercise. Importing the same file
        again, or a newer export that overlaps it, adds only what is new.
        A file with rows in
        error imports nothing (422, the errors by line) unless
        `on_error=skip`; `dry_run=true` answers the report and keeps nothing.
        """
        user_id = current_user_id()
        text = _uploaded_text()
        user = db().get(User, user_id)
        if user is None:  # deleted since the token was checked
            raise Unauthenticated("This account no longer exists.")
        options = {"dry_run": args["dry_run"], "skip_errors": args["on_error"] == "skip"}
        if args["source"] == "grau":
            report = import_export(db(), user_id, _document(text), **options)
        else:
            parsed = _parsed(args, text, ZoneInfo(user.timezone), user.weight_unit)
            report = import_workouts(db(), user_id, parsed, source=args["source"], **options)
        log.info(
            "import by %s from %s (%s%s): created %s, skipped %s, %d rows left out",
            user_id,
            report.source,
            report.variant,
            ", dry run" if report.dry_run else "",
            report.created,
            report.skipped,
            len(report.errors),
        )
        return report


def _uploaded_text() -> str:
    """The uploaded file as text: 413 over IMPORT_MAX_MB, 422 if it is not UTF-8."""
    request.max_content_length = current_app.config["IMPORT_MAX_MB"] * 1024 * 1024
    upload = request.files.get("file") if request.mimetype == "multipart/form-data" else None
    if request.mimetype == "multipart/form-data" and upload is None:
        raise Invalid("file", "Send the exported file as the form's `file` field.")
    data = upload.read() if upload is not None else request.get_data()
    if not data:
        raise Invalid("file", "The file is empty.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("file", "Not UTF-8 text: send the file as the app exported it.") from None


def _document(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise Invalid("file", "Not JSON: a grau export is the JSON GET /v1/export gives.") from None


def _parsed(args: dict[str, Any], text: str, zone: ZoneInfo, profile_unit: str) -> Parsed:
    try:
        if args["source"] == "hevy":
            return parse_hevy(text, zone)
        unit = args.get("weight_unit") or (profile_unit if profile_unit == "lb" else "kg")
        return parse_strong(text, zone, unit)
    except TooManyRows as large:
        abort(413, f"{large} Split it, or import a newer export after an older one.")
    except FormatError as wrong:
        raise Invalid("file", str(wrong)) from None
