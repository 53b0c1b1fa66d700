"""What a request costs: SQL queries, index use, Redis round trips.

These pin the shape of the work, not its speed (the benchmark, `make bench`,
measures speed): a list costs the same queries whatever its page size, every
list finds its rows through an index on PostgreSQL, a cached read costs one
query (the token's session check, which reads the revisions too) and no
Redis round trip, a write retires every cached read with one UPDATE in its
own transaction, and with production's rate limits Redis sees a user's
requests in batches, not one by one.
"""

from __future__ import annotations

import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import orjson
import pytest
from conftest import TEST_DATABASE_URL, TEST_REDIS_URL, WEIGHT
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import fields as ma_fields
from sqlalchemy import Connection, Engine, event, select, update
from sqlalchemy.orm import Session
from test_nutrition import store_entries
from test_redis_outage import RedisServer, redis_server  # noqa: F401 (a fixture)

from grau.accounts.models import AuthSession
from grau.accounts.tokens import Principal
from grau.body_stats.models import BodyStat
from grau.body_stats.schemas import BodyStat as BodyStatSchema
from grau.body_stats.service import BODY_STATS
from grau.catalog.models import Exercise
from grau.core.crud import etag_of
from grau.core.domain_errors import NotFound
from grau.db.driver import DriverQuery
from grau.db.session import DriverConnection
from grau.http.ratelimit import MAX_BATCH
from grau.moods.models import Mood, MoodTag
from grau.moods.schemas import Mood as MoodSchema
from grau.moods.service import MOODS
from grau.plans.models import Plan, PlanDay, PlannedExercise
from grau.workouts.models import Workout, WorkoutSet
from grau.workouts.schemas import Workout as WorkoutSchema
from grau.workouts.service import WORKOUTS

# --------------------------------------------------------------------- SQL queries


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Collect (SQL, parameters) of every statement sent while inside."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def selects(sent: list[tuple[str, Any]]) -> list[str]:
    """The queries among the statements (the tests' transaction adds SAVEPOINTs)."""
    return [sql for sql, _ in sent if sql.lstrip().upper().startswith("SELECT")]


def _stats(db_session: Session, user_id: str, count: int) -> str:
    start = datetime(2025, 1, 1, 7, tzinfo=UTC)
    db_session.add_all(
        BodyStat(
            user_id=uuid.UUID(user_id),
            type="weight",
            value=70.0 + n / 10,
            unit="kg",
            canonical_value=70.0 + n / 10,
            recorded_at=start + timedelta(days=n),
        )
        for n in range(count)
    )
    db_session.commit()
    return "/v1/body-stats?page_size=100"


def _tags(db_session: Session, user_id: str, count: int) -> str:
    db_session.add_all(
        MoodTag(user_id=uuid.UUID(user_id), category="sleep", label=f"tag {n}")
        for n in range(count)
    )
    db_session.commit()
    return "/v1/mood-tags?page_size=100"


def _store_moods(db_session: Any, user_id: str, count: int, tags_each: int) -> None:
    """`count` moods of one user, each with `tags_each` of their tags, written directly."""
    owner = uuid.UUID(user_id)
    tags = [MoodTag(user_id=owner, category="other", label=f"tag {n}") for n in range(tags_each)]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    db_session.add_all(
        Mood(user_id=owner, value=n % 7, recorded_at=start + timedelta(hours=n), tags=tags)
        for n in range(count)
    )
    db_session.commit()
    # Reads below must load from the database, not from this session's identity map.
    db_session.expunge_all()


def _moods(db_session: Session, user_id: str, count: int) -> str:
    _store_moods(db_session, user_id, count, 3)
    return "/v1/moods?page_size=100"


def _mood_tags(db_session: Session, user_id: str, count: int) -> str:
    _store_moods(db_session, user_id, 1, count)
    mood = db_session.scalar(select(Mood.id).filter_by(user_id=uuid.UUID(user_id)))
    return f"/v1/moods/{mood}"


def _entries(db_session: Session, user_id: str, count: int) -> str:
    store_entries(db_session, user_id, count)
    return "/v1/nutrition-entries?page_size=100&unit=l"


def _catalog_exercise(db_session: Session) -> uuid.UUID | None:
    query = select(Exercise.id).where(Exercise.user_id.is_(None)).order_by(Exercise.slug)
    return db_session.scalar(query.limit(1))


def _workouts(db_session: Session, user_id: str, count: int, sets: int) -> list[uuid.UUID]:
    """`count` workouts of `sets` sets each, inserted directly (hundreds of requests are slow)."""
    owner, start = uuid.UUID(user_id), datetime(2025, 1, 1, 8, tzinfo=UTC)
    exercise = _catalog_exercise(db_session)
    workouts = [
        Workout(user_id=owner, name=f"Workout {n}", started_at=start + timedelta(days=n))
        for n in range(count)
    ]
    for workout in workouts:
        workout.sets = [
            WorkoutSet(
                user_id=owner,
                exercise_id=exercise,
                sequence=s + 1,
                reps=5,
                weight=60.0,
                weight_unit="kg",
                weight_kg=60.0,
            )
            for s in range(sets)
        ]
    db_session.add_all(workouts)
    db_session.commit()
    return [w.id for w in workouts]


def _workouts_of_3_sets(db_session: Session, user_id: str, count: int) -> str:
    _workouts(db_session, user_id, count, 3)
    return "/v1/workouts?page_size=100"


def _progress(db_session: Session, user_id: str, count: int) -> str:
    _workouts(db_session, user_id, count, 2)
    return f"/v1/exercises/{_catalog_exercise(db_session)}/progress"


def _store_plans(db_session: Session, user_id: str, count: int, side: int) -> list[uuid.UUID]:
    """`count` plans of `side` days of `side` exercises each, inserted directly."""
    exercise = _catalog_exercise(db_session)
    plans = [
        Plan(
            user_id=uuid.UUID(user_id),
            name=f"Plan {n}",
            days=[
                PlanDay(
                    position=d,
                    name=f"Day {d}",
                    exercises=[
                        PlannedExercise(position=e, exercise_id=exercise) for e in range(side)
                    ],
                )
                for d in range(side)
            ],
        )
        for n in range(count)
    ]
    db_session.add_all(plans)
    db_session.commit()
    return [p.id for p in plans]


def _plan(db_session: Session, user_id: str, count: int) -> str:
    return f"/v1/plans/{_store_plans(db_session, user_id, 1, 1 if count == 1 else 10)[0]}"


def _plan_list(db_session: Session, user_id: str, count: int) -> str:
    _store_plans(db_session, user_id, count, 3)
    return "/v1/plans?page_size=100"


def _sets(db_session: Session, user_id: str, count: int) -> str:
    return f"/v1/workouts/{_workouts(db_session, user_id, 1, count)[0]}"


# What a request for few rows and for many costs: the same statements, and this
# many SELECTs; nothing per row. {request: (writes its rows and gives its URL, SELECTs)}
COSTS: dict[str, tuple[Callable[[Session, str, int], str], int]] = {
    "list body stats": (_stats, 2),  # count, page
    "list mood tags": (_tags, 2),
    "list moods, 3 tags each": (_moods, 3),  # count, page, one IN query for the tags
    "read a mood's tags": (_mood_tags, 2),  # the mood, its tags
    "list nutrition entries": (_entries, 2),
    "list workouts, 3 sets each": (_workouts_of_3_sets, 3),  # count, page, all their sets
    "read a workout's sets": (_sets, 2),  # the workout, its sets
    # The workout (is it yours?), count, page.
    "list a workout's sets": (lambda s, u, n: f"{_sets(s, u, n)}/sets?page_size=100", 3),
    "read a plan of 10 days of 10 exercises": (_plan, 3),  # the plan, its days, their exercises
    "list plans of 3 days of 3 exercises": (_plan_list, 4),  # count, page, days, exercises
    # The exercise, the user, the per-workout aggregate, the best set.
    "an exercise's progress over its workouts": (_progress, 4),
    # The system catalog is seeded: a page of 1 and of 100.
    "list exercises": (lambda s, u, n: f"/v1/exercises?page_size={n}", 4),  # and muscles, equipment
    "list equipment": (lambda s, u, n: f"/v1/equipment?page_size={min(n, 25)}", 2),
}


@pytest.mark.parametrize(("seed", "selects_sent"), COSTS.values(), ids=COSTS)
def test_a_request_for_100_rows_costs_the_queries_of_one_for_1(
    client: FlaskClient,
    register: Callable[[], Any],
    db_session: Session,
    engine: Engine,
    seed: Callable[[Session, str, int], str],
    selects_sent: int,
) -> None:
    few, many = register(), register()
    urls = [seed(db_session, few.id, 1), seed(db_session, many.id, 100)]
    db_session.expunge_all()  # reads must load from the database, not this session's objects
    for account in (few, many):  # warm: the token's session check, parsers
        client.get("/v1/users/me", headers=account.headers)

    sent, sizes = [], []
    for account, url in zip((few, many), urls, strict=True):
        with statements(engine) as seen:
            response = client.get(url, headers=account.headers)
        assert response.status_code == 200, response.json
        sent.append(seen)
        sizes.append(len(response.data))

    assert len(sent[0]) == len(sent[1]), sent
    assert len(selects(sent[1])) == selects_sent, sent[1]
    assert sizes[1] > 10 * sizes[0]  # the many rows were all read and answered


# ------------------------------------------------------------------ index use (PostgreSQL)

needs_postgres = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="plans are PostgreSQL's (embedded pass: SQLite)"
)

# Every list with each of its filters and its default order. A filter must be
# answered by an index (no sequential scan even when PostgreSQL is told to avoid
# one: with `enable_seqscan = off` a plan keeps a Seq Scan only when no index
# can serve). Other sort orders sort the user's own rows, found by index.
LIST_QUERIES = [
    ("/v1/body-stats", {}),
    ("/v1/body-stats", {"type": "weight"}),
    (
        "/v1/body-stats",
        {"recorded_from": "2025-01-01T00:00:00Z", "recorded_to": "2026-01-01T00:00:00Z"},
    ),
    ("/v1/body-stats", {"sort": "value"}),
    ("/v1/body-stats", {"sort": "created_at"}),
    ("/v1/nutrition-entries", {}),
    ("/v1/nutrition-entries", {"type": "water"}),
    ("/v1/nutrition-entries", {"recorded_from": "2025-01-01T00:00:00Z"}),
    ("/v1/moods", {}),
    ("/v1/moods", {"recorded_from": "2025-01-01T00:00:00Z", "value": 3}),
    ("/v1/mood-tags", {}),
    ("/v1/mood-tags", {"category": "sleep"}),
    ("/v1/workouts", {}),
    ("/v1/workouts", {"started_from": "2025-01-01T00:00:00Z"}),
    ("/v1/exercises", {}),
    ("/v1/exercises", {"category": "strength"}),
    ("/v1/exercises", {"muscle": "chest"}),
    ("/v1/exercises", {"source": "own"}),
    ("/v1/equipment", {}),
    ("/v1/equipment", {"category": "free_weights"}),
    ("/v1/plans", {}),
    ("/v1/plans", {"is_active": "true"}),
]
# The time series: their default order (newest first) comes from the index too.
ORDERED_BY_INDEX = {"/v1/body-stats", "/v1/nutrition-entries", "/v1/moods", "/v1/workouts"}


def _plans(connection: Connection, sent: list[tuple[str, Any]]) -> list[str]:
    plans = []
    for sql, parameters in sent:
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        rows = connection.exec_driver_sql("EXPLAIN " + sql, parameters).all()
        plans.append("\n".join(row[0] for row in rows))
    return plans


@needs_postgres
@pytest.mark.parametrize(("url", "query"), LIST_QUERIES)
def test_every_list_finds_its_rows_through_an_index(
    client: FlaskClient,
    user: Any,
    engine: Engine,
    connection: Connection,
    url: str,
    query: dict[str, Any],
) -> None:
    client.get("/v1/users/me", headers=user.headers)
    with statements(engine) as sent:
        response = client.get(url, query_string=query, headers=user.headers)
    assert response.status_code == 200, response.json

    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plans = _plans(connection, sent)

    assert plans
    for plan in plans:
        assert "Seq Scan" not in plan, plan


@needs_postgres
@pytest.mark.parametrize("url", sorted(ORDERED_BY_INDEX))
def test_a_time_series_default_page_is_read_in_index_order(
    client: FlaskClient, user: Any, engine: Engine, connection: Connection, url: str
) -> None:
    client.get("/v1/users/me", headers=user.headers)
    with statements(engine) as sent:
        client.get(url, headers=user.headers)

    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_sort = off")
    page = _plans(connection, sent)[-1]  # the count comes first, then the page

    # No sort of the user's rows: at most ties on the time are ordered by id.
    assert not re.search(r"^\s*(->\s*)?Sort  \(", page, re.MULTILINE), page
    assert "Index Scan" in page, page


# ------------------------------------------------------------------ Redis round trips

needs_redis = pytest.mark.skipif(
    not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set (embedded pass: no Redis)"
)


class Monitor:
    """Every command a private redis-server receives (Redis MONITOR), between two marks."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.lines: list[str] = []
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self._sock.sendall(b"MONITOR\r\n")
        self._file = self._sock.makefile("rb")
        assert self._file.readline().strip() == b"+OK"
        self._seen = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for raw in self._file:
            with self._seen:
                self.lines.append(raw.decode(errors="replace").strip())
                self._seen.notify_all()

    def _mark(self, text: str) -> int:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(f"ECHO {text}\r\n".encode())
            sock.recv(100)
        with self._seen:
            assert self._seen.wait_for(lambda: any(text in line for line in self.lines), 10)
            return next(i for i, line in enumerate(self.lines) if text in line)

    @contextmanager
    def commands(self) -> Iterator[list[str]]:
        """The commands clients sent inside (not those Lua scripts ran, nor the probe's PING)."""
        mark = uuid.uuid4().hex
        start = self._mark(f"start-{mark}")
        sent: list[str] = []
        yield sent
        end = self._mark(f"end-{mark}")
        for line in self.lines[start + 1 : end]:
            if "[0 lua]" in line or '"PING"' in line or '"ECHO"' in line:
                continue
            sent.append(line.split("] ", 1)[1])

    def close(self) -> None:
        self._sock.close()


@contextmanager
def driver_statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SQL of every query run on the driver's cursor (the token checks', an item read's,
    a one-statement write's; not SQLAlchemy's), as SQLAlchemy renders it without a dialect."""
    ran: list[str] = []
    first = DriverQuery.first_unconverted  # `first` runs it too

    def recorded(self: DriverQuery, *args: Any, **kwargs: Any) -> Any:
        ran.append(" ".join(str(self.statement).split()))
        return first(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(DriverQuery, "first_unconverted", recorded)
        yield ran


@pytest.fixture
def monitored(
    redis_server: RedisServer,  # noqa: F811
    build_app: Callable[[dict[str, Any]], Flask],
) -> Iterator[tuple[Flask, Monitor]]:
    app = build_app(
        {"REDIS_URL": redis_server.url, "CACHE_KEY_PREFIX": f"grau-cost-{uuid.uuid4().hex[:8]}"}
    )
    monitor = Monitor(redis_server.port)
    yield app, monitor
    monitor.close()


def _signed_in(client: FlaskClient) -> dict[str, str]:
    email, password = f"cost-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery"
    assert client.post("/v1/users", json={"email": email, "password": password}).status_code == 201
    login = client.post("/v1/auth/login", json={"email": email, "password": password})
    return {"Authorization": f"Bearer {login.json['access_token']}"}


CACHED_READS = [
    "/v1/body-stats/{created}",  # read with its session check, in one query
    "/v1/body-stats",
    "/v1/exercises",
    "/v1/workouts",
    "/v1/users/me",
    "/v1/body-stats/summary?type=weight&bucket=week",
]


@needs_redis
@pytest.mark.parametrize("url", CACHED_READS)
def test_a_cached_read_costs_the_session_check_and_nothing_else(
    monitored: tuple[Flask, Monitor],
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    user: Any,
    url: str,
) -> None:
    app, monitor = monitored
    client, headers = app.test_client(), user.headers
    created = client.post("/v1/body-stats", json=WEIGHT, headers=headers).json["id"]
    url = url.format(created=created)
    assert client.get(url, headers=headers).status_code == 200  # cached now

    with (
        driver_statements(monkeypatch) as checks,
        statements(engine) as sent,
        monitor.commands() as commands,
    ):
        response = client.get(url, headers=headers)

    assert response.status_code == 200
    assert len(checks) == 1  # the session and both revisions, in one query
    assert selects(sent) == []  # the body came from the cache
    assert commands == []  # Redis holds no body and no session state


@needs_redis
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="one-statement creates are PostgreSQL's")
def test_a_write_retires_every_cached_read_with_one_update_and_no_redis_command(
    monitored: tuple[Flask, Monitor], engine: Engine, monkeypatch: pytest.MonkeyPatch, user: Any
) -> None:
    app, monitor = monitored
    client, headers = app.test_client(), user.headers
    for page in range(1, 21):  # twenty cached pages: the write's cost is the same
        client.get("/v1/body-stats", query_string={"page": page}, headers=headers)

    with (
        driver_statements(monkeypatch) as driven,
        statements(engine) as sent,
        monitor.commands() as commands,
    ):
        assert client.post("/v1/body-stats", json=WEIGHT, headers=headers).status_code == 201

    # One statement: the insert, with the session check and the revision's bump in its WITH.
    assert len(driven) == 1, driven
    assert driven[0].startswith("WITH bumped_user AS") and "INSERT INTO body_stats" in driven[0]
    assert re.search(r"UPDATE users SET revision=\(users.revision \+", driven[0])
    assert "auth_sessions.revoked_at IS NULL" in driven[0], driven
    assert not [sql for sql, _ in sent if not sql.startswith(("SAVEPOINT", "RELEASE"))], sent
    assert commands == []


def test_a_create_with_an_idempotency_key_bumps_the_revision_in_its_transaction(
    client: FlaskClient, user: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is stored in the create's transaction, so that create is not one statement;
    the token check's transaction is that transaction (one check, one user lock)."""
    headers = {**user.headers, "Idempotency-Key": uuid.uuid4().hex}
    with statements(engine) as sent, driver_statements(monkeypatch) as driven:
        assert client.post("/v1/body-stats", json=WEIGHT, headers=headers).status_code == 201
    checks = [sql for sql in driven if "FROM users JOIN auth_sessions" in sql]
    assert len(checks) == 1 and checks[0].endswith("FOR UPDATE"), driven
    bumps = [sql for sql, _ in sent if sql.lstrip().upper().startswith("UPDATE USERS")]
    assert len(bumps) == 1, sent
    assert "revision" in bumps[0]
    assert any(sql.startswith("INSERT INTO body_stats") for sql, _ in sent)


@needs_redis
def test_with_production_rate_limits_redis_sees_a_users_reads_in_batches(
    redis_server: RedisServer,  # noqa: F811
    build_app: Callable[[dict[str, Any]], Flask],
) -> None:
    """600 a minute: every twelfth request of a user adds twelve to the shared counter."""
    app = build_app(
        {
            "REDIS_URL": redis_server.url,
            "CACHE_KEY_PREFIX": f"grau-cost-{uuid.uuid4().hex[:8]}",
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_USER": "600 per minute",
            "RATELIMIT_REGISTER": "1000 per minute",
            "RATELIMIT_LOGIN": "1000 per minute",
        }
    )
    batch = min(MAX_BATCH, 600 // 50)
    monitor = Monitor(redis_server.port)
    try:
        client = app.test_client()
        headers = _signed_in(client)  # on this app: its limits' Redis connections are open
        assert client.get("/v1/body-stats", headers=headers).status_code == 200  # cached now

        with monitor.commands() as commands:
            for _ in range(60):
                response = client.get("/v1/body-stats", headers=headers)
                assert response.status_code == 200

        assert "X-RateLimit-Remaining" not in response.headers  # sent on a 429 only
        syncs = [c for c in commands if "EVALSHA" in c or "INCRBY" in c]
        assert len(commands) == len(syncs), commands
        assert 60 // batch - 1 <= len(syncs) <= 60 // batch + 1, commands
    finally:
        monitor.close()


# ------------------------------------------------------------ items read as rows


def test_resources_whose_items_are_plain_columns_read_them_as_rows() -> None:
    """An item read skips the ORM (one Core query, no Session) exactly where nothing
    it shows needs one: no relationships, every dumped field a column."""

    assert BODY_STATS.shows_rows(BodyStatSchema())
    assert not MOODS.shows_rows(MoodSchema())  # its tags are a relationship
    assert not WORKOUTS.shows_rows(WorkoutSchema())  # its sets are

    class WithAProperty(BodyStatSchema):
        shown = ma_fields.String(attribute="not_a_column", dump_only=True)

    assert not BODY_STATS.shows_rows(WithAProperty())  # a row would silently miss it


@pytest.mark.parametrize("query", [{}, {"unit": "lb"}, {"unit": "cm"}])
def test_an_item_read_as_a_row_is_the_item_read_through_the_orm(
    app: Flask,
    db_session: Session,
    client: FlaskClient,
    user: Any,
    create_stat: Callable[..., dict[str, Any]],
    query: dict[str, str],
) -> None:

    stat = create_stat(user, note="as a row")
    schema, user_id, stat_id = BodyStatSchema(), uuid.UUID(user.id), uuid.UUID(stat["id"])
    with app.test_request_context("/"):
        orm_item, orm_variant = BODY_STATS.show(db_session, user_id, stat_id, query)
        connection = DriverConnection.of(db_session.connection())
        _, row = BODY_STATS.read_row(connection, _principal(user), stat_id)
        row_item, row_variant = BODY_STATS.shown_row(connection, row, user_id, query)
    assert schema.dump(row_item) == schema.dump(orm_item)
    assert etag_of(row_item, row_variant) == etag_of(orm_item, orm_variant)
    # And over HTTP, the body is the ORM's dump, whatever the unit.
    response = client.get(f"/v1/body-stats/{stat['id']}", query_string=query, headers=user.headers)
    assert response.status_code == 200
    assert response.json == orjson.loads(orjson.dumps(schema.dump(orm_item)))
    assert response.headers["ETag"] == etag_of(orm_item, orm_variant)


def test_an_item_read_as_a_row_is_404_for_another_user_and_for_no_item(
    app: Flask,
    db_session: Session,
    user: Any,
    other_user: Any,
    create_stat: Callable[..., dict[str, Any]],
) -> None:

    stat_id = uuid.UUID(create_stat(user)["id"])
    for reader, item_id in ((other_user, stat_id), (user, uuid.uuid4())):
        with app.test_request_context("/"), pytest.raises(NotFound):
            connection = DriverConnection.of(db_session.connection())
            _, row = BODY_STATS.read_row(connection, _principal(reader), item_id)
            BODY_STATS.shown_row(connection, row, uuid.UUID(reader.id), {})


def test_an_item_read_checks_the_session_in_its_one_query(
    client: FlaskClient,
    engine: Engine,
    db_session: Session,
    user: Any,
    create_stat: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A body stat's read is one query: the token check's, with the item's row joined;
    once its answer is cached, the token check alone. A write since costs the next read
    both. A revoked session gets 401, for an item that exists and for one that does not."""
    stat = create_stat(user)
    url = f"/v1/body-stats/{stat['id']}"
    with driver_statements(monkeypatch) as driven, statements(engine) as sent:
        assert client.get(url, headers=user.headers).status_code == 200
    assert len(driven) == 1, driven
    assert "auth_sessions.revoked_at IS NULL" in driven[0] and "body_stats" in driven[0]
    assert selects(sent) == []  # and nothing through SQLAlchemy: no ORM read on a miss

    with driver_statements(monkeypatch) as driven:
        assert client.get(url, headers=user.headers).status_code == 200
    assert len(driven) == 1 and "body_stats" not in driven[0], driven  # cached: no row

    assert client.patch(url, json={"note": "after"}, headers=user.headers).status_code == 200
    with driver_statements(monkeypatch) as driven:
        assert client.get(url, headers=user.headers).json["note"] == "after"
    assert [("body_stats" in sql) for sql in driven] == [False, True], driven

    db_session.execute(
        update(AuthSession)
        .where(AuthSession.id == _principal(user).session_id)
        .values(revoked_at=datetime.now(UTC))
    )
    db_session.flush()
    for item_id in (stat["id"], uuid.uuid4()):
        response = client.get(f"/v1/body-stats/{item_id}", headers=user.headers)
        assert response.status_code == 401, response.json
        assert response.json["detail"] == "The access token has been revoked."


def _principal(account: Any) -> Principal:
    """The principal of an account's access token, before its session is checked."""
    claims = jwt.decode(account.tokens["access_token"], options={"verify_signature": False})
    return Principal(uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"]), None)
