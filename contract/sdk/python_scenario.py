"""Use the generated Python client (build/sdk/python) against the grau at GRAU_BASE_URL.

Registers, logs in, then creates, lists, reads (plus a conditional read), updates with
If-Match and deletes a body stat; a stale If-Match must come back as a typed 412
`Problem`. Then an offline round: a sync from scratch, an offline push in one batch,
and a delta sync that lists just what was pushed; then a Strong export imported (as a
form's file, then again as raw bytes, which adds nothing) and everything exported.
Run by contract/sdk/check.sh (`make sdk-check`) with the client on PYTHONPATH.
"""

from __future__ import annotations

import datetime
import io
import os
import sys
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

import httpx
from grau_client import AuthenticatedClient, Client
from grau_client.api.auth import login
from grau_client.api.body_stats import (
    create_body_stat,
    delete_body_stat,
    get_body_stat,
    list_body_stats,
    update_body_stat,
)
from grau_client.api.portability import export_data, import_data
from grau_client.api.sync import list_changes, run_batch
from grau_client.api.users import create_user, delete_current_user
from grau_client.models import (
    Batch,
    BatchAnswer,
    BatchOperation,
    BatchOperationBody,
    BodyStat,
    BodyStatPage,
    BodyStatWeightKgCreate,
    BodyStatWeightKgUpdate,
    ChangesPage,
    FileUpload,
    GrauExport,
    ImportReport,
    LoginRequest,
    Problem,
    TokenPair,
    User,
    UserCreate,
)
from grau_client.types import File, Response, Unset

T = TypeVar("T")
PASSWORD = "correct horse battery staple"
# A small Strong export (its comma layout): two workouts, five sets.
STRONG_CSV = (
    b"Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,Notes,"
    b"Workout Notes,RPE\n"
    b'2024-03-04 18:30:00,"Push",52m,"Bench Press (Barbell)",W,40,10,0,0,"","",\n'
    b'2024-03-04 18:30:00,"Push",52m,"Bench Press (Barbell)",1,80,5,0,0,"","",8\n'
    b'2024-03-04 18:30:00,"Push",52m,"Pull Up",1,0,8,0,0,"","",\n'
    b'2024-03-06 07:15:00,"Run",31m,"Running",1,0,0,5,1860,"Easy pace","",\n'
    b'2024-03-06 07:15:00,"Run",31m,"Plank",1,0,0,0,60,"","",\n'
)
TIMEOUT = httpx.Timeout(30.0)  # registration hashes with argon2id; allow a busy server


class CheckFailed(Exception):
    """A response did not match the contract."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def expect(response: Response[Any], status: HTTPStatus, model: type[T]) -> T:
    """The response's status and parsed body type, or a failure showing what came back."""
    check(
        response.status_code == status,
        f"expected {status.value}, got {response.status_code.value}: {response.content!r}",
    )
    parsed = response.parsed
    if not isinstance(parsed, model):
        raise CheckFailed(f"expected a {model.__name__}, got {type(parsed).__name__}")
    return parsed


def present(value: T | Unset, what: str) -> T:
    """Narrow an optional field: the spec marks no response field as required."""
    if isinstance(value, Unset):
        raise CheckFailed(f"{what} missing from the response")
    return value


def retry_once_if_rate_limited(call: Callable[[], Response[T]]) -> Response[T]:
    """Registration and login are rate limited; other contract checks may have used the budget."""
    response = call()
    if response.status_code == HTTPStatus.TOO_MANY_REQUESTS:
        seconds = min(int(response.headers.get("Retry-After", "5")), 65)
        print(f"  ..    429, retrying in {seconds}s")
        time.sleep(seconds)
        response = call()
    return response


def ok(step: str) -> None:
    print(f"  ok    {step}")


def scenario(base_url: str) -> None:
    email = f"sdk-py-{uuid.uuid4()}@example.com"
    public = Client(base_url=base_url, timeout=TIMEOUT)

    user = expect(
        retry_once_if_rate_limited(
            lambda: create_user.sync_detailed(
                client=public, body=UserCreate(email=email, password=PASSWORD)
            )
        ),
        HTTPStatus.CREATED,
        User,
    )
    check(user.email == email, f"registered email is {user.email!r}")
    ok("register (create_user) -> 201 User")

    tokens = expect(
        retry_once_if_rate_limited(
            lambda: login.sync_detailed(
                client=public, body=LoginRequest(email=email, password=PASSWORD)
            )
        ),
        HTTPStatus.OK,
        TokenPair,
    )
    check(tokens.token_type == "bearer", f"token_type is {tokens.token_type!r}")
    client = AuthenticatedClient(
        base_url=base_url, token=present(tokens.access_token, "access_token"), timeout=TIMEOUT
    )
    ok("log in (login) -> 200 TokenPair")

    recorded_at = datetime.datetime(
        2026, 11, 20, 7, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
    )
    response = create_body_stat.sync_detailed(
        client=client,
        body=BodyStatWeightKgCreate(
            type_="weight",
            value=72.5,
            unit="kg",
            recorded_at=recorded_at,
            note="from the Python SDK",
        ),
        idempotency_key=str(uuid.uuid4()),
    )
    stat = expect(response, HTTPStatus.CREATED, BodyStat)
    stat_id = present(stat.id, "id")
    check(response.headers.get("Location") == f"/v1/body-stats/{stat_id}", "Location header")
    check(stat.value == 72.5 and stat.unit == "kg", f"stored {stat.value} {stat.unit}")
    check(stat.recorded_at == recorded_at, f"recorded_at came back as {stat.recorded_at}")
    created_etag = response.headers["ETag"]
    ok("create a body stat (create_body_stat) -> 201 BodyStat + Location + ETag")

    page = expect(
        list_body_stats.sync_detailed(client=client, type_="weight", page_size=10),
        HTTPStatus.OK,
        BodyStatPage,
    )
    ids = [item.id for item in present(page.items, "items")]
    check(ids == [stat_id], f"listed ids {ids}")
    check(present(page.pagination, "pagination").total == 1, "pagination.total")
    ok("list body stats (list_body_stats, type_='weight') -> BodyStatPage with the stat")

    response = get_body_stat.sync_detailed(stat_id, client=client)
    check(expect(response, HTTPStatus.OK, BodyStat).note == "from the Python SDK", "note")
    check(response.headers["ETag"] == created_etag, "GET's ETag differs from the create's")
    response = get_body_stat.sync_detailed(stat_id, client=client, if_none_match=created_etag)
    check(response.status_code == HTTPStatus.NOT_MODIFIED, f"If-None-Match: {response.status_code}")
    ok("get it (get_body_stat) -> 200, same ETag; with if_none_match -> 304")

    response = update_body_stat.sync_detailed(
        stat_id,
        client=client,
        body=BodyStatWeightKgUpdate(type_="weight", value=71.9, unit="kg"),
        if_match=created_etag,
    )
    updated = expect(response, HTTPStatus.OK, BodyStat)
    check(updated.value == 71.9 and updated.type_ == "weight", f"updated to {updated.value}")
    updated_etag = response.headers["ETag"]
    check(updated_etag != created_etag, "ETag did not change on update")
    ok("update with if_match (update_body_stat) -> 200, new value, new ETag")

    problem = expect(
        update_body_stat.sync_detailed(
            stat_id,
            client=client,
            body=BodyStatWeightKgUpdate(type_="weight", value=70.0, unit="kg"),
            if_match=created_etag,
        ),
        HTTPStatus.PRECONDITION_FAILED,
        Problem,
    )
    check(problem.status == 412 and problem.title == "Precondition Failed", f"{problem}")
    current = expect(get_body_stat.sync_detailed(stat_id, client=client), HTTPStatus.OK, BodyStat)
    check(current.value == 71.9, f"value changed to {current.value} despite the 412")
    ok("update with the stale if_match -> 412 Problem, nothing changed")

    response = delete_body_stat.sync_detailed(stat_id, client=client, if_match=updated_etag)
    check(response.status_code == HTTPStatus.NO_CONTENT, f"delete: {response.status_code}")
    expect(get_body_stat.sync_detailed(stat_id, client=client), HTTPStatus.NOT_FOUND, Problem)
    ok("delete with if_match (delete_body_stat) -> 204, then get -> 404 Problem")

    first = expect(list_changes.sync_detailed(client=client), HTTPStatus.OK, ChangesPage)
    check(not first.has_more and first.next_cursor != "", "a first sync ends with a cursor")
    ok("sync from scratch (list_changes) -> ChangesPage and a cursor")

    offline_id = str(uuid.uuid4())
    created_offline = BatchOperationBody.from_dict(
        {
            "id": offline_id,
            "type": "weight",
            "value": 70.4,
            "unit": "kg",
            "recorded_at": "2026-11-21T07:00:00+00:00",
        }
    )
    edited_offline = BatchOperationBody.from_dict({"note": "edited offline"})
    queue = Batch(
        atomic=True,
        operations=[
            BatchOperation(method="POST", path="/v1/body-stats", body=created_offline),
            BatchOperation(
                method="PATCH", path=f"/v1/body-stats/{offline_id}", body=edited_offline
            ),
        ],
    )
    answer = expect(run_batch.sync_detailed(client=client, body=queue), HTTPStatus.OK, BatchAnswer)
    statuses = [result.status for result in answer.results]
    check(answer.committed and statuses == [201, 200], f"batch: {answer.committed}, {statuses}")
    ok("offline push (run_batch, atomic) -> created under the app's id, then edited")

    delta = expect(
        list_changes.sync_detailed(client=client, cursor=first.next_cursor),
        HTTPStatus.OK,
        ChangesPage,
    )
    # Deletions numbered after the first sync's last item may come too (the stat deleted
    # above): dropping an item the app does not have is a no-op.
    upserts = [c for c in delta.changes if c.op == "upsert"]
    seen = [(c.resource, str(c.id)) for c in upserts]
    check(seen == [("body_stat", offline_id)], f"delta sync: {seen}")
    data = upserts[0].data
    check(data is not None and data.additional_properties.get("note") == "edited offline", "data")
    ok("delta sync (list_changes with the cursor) -> just the pushed stat, as edited")

    form = FileUpload(file=File(payload=io.BytesIO(STRONG_CSV), file_name="strong.csv"))
    report = expect(
        import_data.sync_detailed(client=client, body=form, source="strong"),
        HTTPStatus.OK,
        ImportReport,
    )
    made = (report.created.workouts, report.created.workout_sets)
    check(made == (2, 5) and not report.errors, f"import: {made}, {report.errors}")
    ok("import a Strong export (import_data, a form's file) -> 2 workouts, 5 sets")

    raw = File(payload=io.BytesIO(STRONG_CSV), mime_type="application/octet-stream")
    again = expect(
        import_data.sync_detailed(client=client, body=raw, source="strong"),
        HTTPStatus.OK,
        ImportReport,
    )
    kept = (again.created.workouts, again.skipped.workouts, again.skipped.workout_sets)
    check(kept == (0, 2, 5), f"import again: {kept}")
    ok("the same file again (import_data, raw bytes) -> nothing new, 2 workouts skipped")

    everything = expect(export_data.sync_detailed(client=client), HTTPStatus.OK, GrauExport)
    sets = sum(len(workout.sets) for workout in everything.workouts)
    check(everything.format_ == "grau-export" and sets == 5, f"export: {sets} sets")
    ok("export everything (export_data) -> a grau-export with the imported workouts")

    response = delete_current_user.sync_detailed(client=client)
    check(response.status_code == HTTPStatus.NO_CONTENT, f"account delete: {response.status_code}")
    ok("delete the account (delete_current_user) -> 204")


def main() -> int:
    base_url = os.environ.get("GRAU_BASE_URL", "").rstrip("/")
    if not base_url:
        print("GRAU_BASE_URL is not set (run under scripts/live_stack.py)", file=sys.stderr)
        return 2
    name = "Python SDK (openapi-python-client) against GRAU_BASE_URL"
    print(name)
    try:
        scenario(base_url)
    except CheckFailed as failure:
        print(f"  FAIL  {failure}\nFAIL {name}")
        return 1
    print(f"PASS {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
