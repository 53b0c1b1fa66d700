"""/v1/changes and /v1/batch: the changes feed an app keeps its offline copy with, and
the batch it pushes its offline writes in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from flask import Response, current_app, request

from grau.db.session import db, writes_nothing
from grau.http.extensions import Blueprint, MethodView
from grau.http.openapi import conditional_read, errors
from grau.http.views import authenticated, current_user_id, uncached
from grau.owned import KINDS
from grau.sync import batch, schemas
from grau.sync.service import CATALOG, Cursors, changes_page

blp = Blueprint(
    "sync",
    __name__,
    url_prefix="/v1",
    description="Offline sync: what changed since an app last synced, and its offline "
    "writes pushed in one batch.",
)

LOADERS = {name: kind.load for name, kind in KINDS.items()}


def cursors() -> Cursors:
    config = current_app.config
    retention = timedelta(days=config["SYNC_RETENTION_DAYS"])
    return Cursors(config["SECRET_KEY"], retention)


@blp.route("/changes")
class Changes(MethodView):
    @authenticated
    @blp.arguments(schemas.ChangesQuery, location="query")
    @blp.response(200, schemas.ChangesPage)
    @errors(410)
    @conditional_read
    @blp.doc(operationId="listChanges")
    def get(self, args: dict[str, Any]) -> Response:
        """List changes since a cursor

        Everything the signed-in user owns (profile, body stats, mood tags and
        moods, nutrition entries, their own equipment and exercises, workouts,
        their sets, plans) as a feed of changes, oldest first: without a
        `cursor`, what there is now; with the `next_cursor` of the last page,
        what changed since, deletions included. Read pages until `has_more`
        is false and keep the last `next_cursor` for the next sync. A change
        made while you page is never skipped: it comes later in this pass or
        the next. A cursor that is malformed, another feed's, or older than
        the retention window (30 days by default) is a 410: sync again
        without one, from scratch. `scope=catalog` is the same feed for grau's
        own exercises and equipment.
        """
        owner = None if args["scope"] == CATALOG else current_user_id()
        page = changes_page(db(), cursors(), LOADERS, owner, args.get("cursor"), args["limit"])
        changes = [
            {
                "resource": change.resource,
                "id": change.id,
                "op": change.op,
                "version": change.version,
                "changed_at": change.changed_at,
                "data": KINDS[change.resource].resource.dump(change.data) if change.data else None,
            }
            for change in page.changes
        ]
        body = {"changes": changes, "next_cursor": page.next_cursor, "has_more": page.has_more}
        return uncached(orjson.dumps(body))


@blp.route("/batch")
class Batch(MethodView):
    @writes_nothing  # its operations take the user's lock: the batch must not hold it
    @authenticated
    @blp.arguments(schemas.Batch)
    @blp.response(200, schemas.BatchAnswer)
    @blp.doc(operationId="runBatch")
    def post(self, data: dict[str, Any]) -> Response:
        """Run writes in one request

        Up to 100 creates, changes and deletes (`POST`, `PATCH`, `DELETE` on
        the API's paths), run in order. Each runs exactly as its own request
        would: the batch's token, its own `if_match` and `idempotency_key`,
        the same validation, ownership rules, 412, idempotent replay and rate
        limit (each operation counts), and the same answer, in `results`. An
        operation may use an id an earlier one chose for the item it creates
        (`POST /v1/workouts` with `id`, then its sets under
        `/v1/workouts/{that id}/sets`). With `atomic: true` all run in one
        transaction: the first failure undoes the others, the rest do not run
        (424), and `committed` is false. Otherwise each operation stands alone.
        The answer is 200 whatever the operations got.
        """
        operations, atomic = data["operations"], data["atomic"]
        committed, results = batch.run(current_app, request.environ, operations, atomic)
        answer = {
            "committed": committed,
            "results": [
                {"status": r.status, "headers": r.headers, "body": r.body} for r in results
            ],
        }
        return Response(orjson.dumps(answer), status=200, mimetype="application/json")
