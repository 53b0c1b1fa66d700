"""Engines and request-scoped sessions.

Each request gets, lazily, a `Session` (`db()`) and a driver-level connection
for the token check's query (`driver_connection()`), closed when the app
context ends. Which kind depends on the HTTP method:

- a safe request (GET, HEAD, OPTIONS) reads. On PostgreSQL its connections are
  in autocommit mode: each statement sees the latest committed data, and the
  request pays no BEGIN and ROLLBACK round trips (two of the three a one-query
  read would otherwise cost). A read served from the cache needs no Session at
  all: the token check runs on a connection taken straight from the pool;
- any other request writes, in one transaction per `commit()`, and the token
  check runs inside it, on the session's connection;
- except a write that is one statement (`single_statement`: on PostgreSQL, a
  create of a plain row without an Idempotency-Key). It runs like a read, in
  autocommit on one pooled connection: its statement checks the session and
  locks the user itself, so it needs no BEGIN, no lock beforehand and no COMMIT.

A connection that sat idle in the pool is pinged before use (the database may
have restarted meanwhile); one in steady use is not, so a busy server pays no
extra round trip per request.

An autocommit request's connection is not given back to the pool at its end:
its thread keeps it for its next request (`_Kept`), as long as it is healthy and
out of any transaction, and hands it back once it has waited longer than
IDLE_PING_S (after a ping, if it is to be used again). Taking a connection
from SQLAlchemy's pool and returning it (its queue, events and reset) cost
about 20 µs of CPU per request, a tenth of a cached read. Each thread thus
holds at most one connection per database server it reads from: with the
server's default of one thread per worker, one per worker; with more threads,
at most as many as the pool's size (DB_POOL_SIZE), so that idle threads never
hold the connections busy ones wait for.

With read replicas (`DATABASE_REPLICA_URLS`), the connection of a GET or HEAD
that reads for a signed-in user (`acts_for`) may come from a replica instead:
`grau.db.replicas` decides, from that user's last write. Every other request,
and any statement of a write, uses the primary. A request that wrote records
its user's write before its answer leaves (`_mark_writes`), and a read that
failed on a replica runs again on the primary (`read_again_on_primary`).

Tests replace both factories with one bound to a connection inside a
transaction they roll back (`use_sessions`); every request then runs on it.
"""

from __future__ import annotations

import contextlib
import select
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, NamedTuple, TypeVar

import psycopg
from flask import Flask, Response, current_app, g, has_request_context, request
from psycopg.pq import ConnStatus, TransactionStatus
from sqlalchemy import Connection, Dialect, Engine, PoolProxiedConnection, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool
from werkzeug.exceptions import HTTPException

from grau.config import ensure_sqlite_dir, is_sqlite, replica_urls
from grau.context import current_flask, current_request, request_globals
from grau.core import revisions
from grau.core.domain_errors import Unauthenticated
from grau.db.replicas import Replicas

F = TypeVar("F", bound=Callable[..., Any])
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SINGLE_STATEMENT = "_grau_single_statement"  # g: this write is one autocommit statement
# environ: the Connection, inside its transaction, that a request of an atomic batch runs
# on (grau.sync.batch): its sessions' commits are savepoints of that one transaction.
SHARED_TRANSACTION = "grau.shared_transaction"
WRITES_NOTHING = "_grau_writes_nothing"  # g: a POST that changes nothing itself (`writes_nothing`)
# A pooled connection unused for longer than this is pinged before it is handed out.
IDLE_PING_S = 1.0
REPLICAS = "grau.replicas"  # app.extensions: the `Replicas`, where DATABASE_REPLICA_URLS is set
READ_METHODS = frozenset({"GET", "HEAD"})  # the requests a replica may serve
ACTS_FOR = "_grau_acts_for"  # g: the user this request reads and writes for (`acts_for`)
ON_REPLICA = "_grau_on_replica"  # g: the index of the replica this request reads on
ON_PRIMARY = "_grau_on_primary"  # g: this request reads on the primary, whatever it is
WRITTEN_USERS = "grau.written_users"  # Session.info: users whose rows its flushes changed
KEPT = "grau.kept_connections"  # app.extensions: the `_Kept` connections of its threads
HELD = "_grau_database"  # g: the request's `RequestDatabase`
EARLY = "grau.early_query"  # environ: the query the request sent as it came in (`send_early`)
NOT_SENT = object()  # `early_answer`: the query was not sent early


class RequestDatabase:
    """What one request holds of the database; its teardown (`_close`) gives it back."""

    __slots__ = ("driver", "own", "own_engine", "session", "shared")

    def __init__(self) -> None:
        self.session: Session | None = None  # `db()`'s
        # An autocommit request's pooled connection (its token check's), and its engine.
        self.own: PoolProxiedConnection | None = None
        self.own_engine: Engine | None = None
        self.shared: Connection | None = None  # `own` as a Connection, for `db()`'s session
        self.driver: DriverConnection | None = None  # `driver_connection()`'s


def request_database() -> RequestDatabase:
    """The current request's `RequestDatabase` (made on first use)."""
    held = vars(request_globals())  # (`g`'s own dict: `g.get` is a Python call)
    found: RequestDatabase | None = held.get(HELD)
    if found is None:
        found = held[HELD] = RequestDatabase()
    return found


def make_engine(url: str, *, pool_size: int = 5, autocommit: bool = False) -> Engine:
    """An engine for `url`; `autocommit` (PostgreSQL only) makes it the app's read engine."""
    url = url.replace("postgresql://", "postgresql+psycopg://", 1).replace(
        "postgres://", "postgresql+psycopg://", 1
    )
    options: dict[str, Any] = {}
    if is_sqlite(url):
        ensure_sqlite_dir(url)
        options["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        options.update(
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=10,
            connect_args={"connect_timeout": 5},
        )
        if autocommit:
            options["isolation_level"] = "AUTOCOMMIT"
    engine = create_engine(url, **options)
    _ping_when_idle(engine)
    if is_sqlite(url):
        _sqlite_pragmas(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a connection that waited in the pool: after a database restart it is dead.

    (SQLAlchemy's `pool_pre_ping` pings on every checkout: a round trip per request.)
    """

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and hands out a new one.
            raise DisconnectionError("stale pooled connection") from exc


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions start, so that
        # SAVEPOINTs work (tests nest them) and foreign keys cascade as on PostgreSQL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def init_app(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    engine = make_engine(url, pool_size=app.config["DB_POOL_SIZE"], autocommit=not is_sqlite(url))
    app.extensions["grau.engine"] = engine
    # Writes run in a transaction: the same pool, switched out of autocommit while checked out.
    writes = (
        engine if is_sqlite(url) else engine.execution_options(isolation_level="READ COMMITTED")
    )
    factory = sessionmaker(bind=writes, expire_on_commit=False)
    app.extensions["grau.session_factory"] = factory
    app.extensions["grau.read_engine"] = engine
    app.extensions[KEPT] = _Kept()
    app.teardown_appcontext(_close)
    urls = replica_urls(app.config)
    if urls:  # nothing below runs for an app without replicas
        size = app.config["DB_POOL_SIZE"]
        app.extensions[REPLICAS] = Replicas(
            app.config, urls, engine, lambda url: make_engine(url, pool_size=size, autocommit=True)
        )
        event.listen(factory, "after_flush", _note_written_users)
        app.after_request(_mark_writes)


def acts_for(user_id: Any) -> None:
    """This request reads and writes for `user_id` (the token check says so, once the
    token is valid; only where the app has replicas, `REPLICAS` in its extensions): its
    reads may use a replica that holds the user's last write, and a write of its records
    that write for the user (`grau.db.replicas`)."""
    g._grau_acts_for = user_id


def _routed(replicas: Replicas, engine: Engine) -> Engine:
    """Where an autocommit request's connection comes from: a replica for a GET or HEAD
    read for a user (`acts_for`) whose last write the replica holds, else `engine`."""
    if (
        request.method not in READ_METHODS
        or g.get(SINGLE_STATEMENT)
        or g.get(WRITES_NOTHING)
        or g.get(ON_PRIMARY)
    ):
        return engine
    user_id = g.get(ACTS_FOR)
    if user_id is None:  # not a user's read (/ready, say): the primary
        return engine
    index = replicas.route(user_id)
    if index is None:
        return engine
    g._grau_on_replica = index
    routed: Engine = replicas.engines[index]
    return routed


def read_again_on_primary(exc: BaseException) -> bool:
    """Whether a read that ended in `exc` on a replica should run again on the primary:
    the replica failed (down, a query cancelled by its recovery), or found no live session
    (a login a moment ago it has not replayed). If so, the request's connections are
    closed and the rest of it reads on the primary; the caller then runs it again."""
    index: int | None = g.pop(ON_REPLICA, None) if has_request_context() else None
    if index is None:
        return False
    replica_failed = isinstance(exc, (DBAPIError, PoolTimeout))
    refused = isinstance(exc, Unauthenticated) or (
        isinstance(exc, HTTPException) and exc.code == 401
    )
    if not (replica_failed or refused):
        return False
    current_app.extensions[REPLICAS].retried(index, exc, replica_failed=replica_failed)
    with contextlib.suppress(Exception):  # a dead replica's connection may fail to close
        _close(None)
    g._grau_on_primary = True
    return True


def _note_written_users(session: Session, _context: Any) -> None:
    """Note the users whose rows a flush changed (a login's new session, a session
    revoked by a refresh token used twice: writes of requests that act for nobody)."""
    written: set[Any] = session.info.setdefault(WRITTEN_USERS, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        owner = getattr(obj, "user_id", None)
        if owner is not None:
            written.add(owner)


def _mark_writes(response: Response) -> Response:
    """After a request that may have written, before its answer leaves: record the write
    for its user, and for every user whose rows it changed (`Replicas.wrote`)."""
    if request.method in SAFE_METHODS or SHARED_TRANSACTION in request.environ:
        return response  # (an atomic batch's operation: the batch marks after its commit)
    users: set[Any] = set()
    user_id = g.get(ACTS_FOR)
    if user_id is not None:
        users.add(user_id)
    held: RequestDatabase | None = vars(request_globals()).get(HELD)  # (none: nothing read)
    session = held.session if held is not None else None
    if session is not None:
        users |= session.info.pop(WRITTEN_USERS, set())
    if users:
        current_app.extensions[REPLICAS].wrote(users, answered=response.status_code < 500)
    return response


def use_sessions(app: Flask, factory: sessionmaker[Session]) -> None:
    """Make every request of `app` use `factory`'s sessions, and an autocommit request
    (a read, a one-statement write) the one connection `factory` is bound to, outside
    any session: so a test's requests all run inside its transaction. `factory` must
    be bound to a Connection; an Engine would let such a write vanish with its session."""
    if not isinstance(factory.kw.get("bind"), Connection):
        raise TypeError("use_sessions needs a sessionmaker bound to a Connection")
    app.extensions["grau.session_factory"] = factory
    app.extensions.pop("grau.read_engine", None)


class DriverConnection(NamedTuple):
    """A pooled DBAPI connection and the dialect that speaks to it (see grau.db.driver)."""

    proxied: PoolProxiedConnection
    dialect: Dialect

    @classmethod
    def of(cls, connection: Connection) -> DriverConnection:
        """The DBAPI connection under a SQLAlchemy Connection (a session's)."""
        return cls(connection.connection, connection.dialect)

    @contextmanager
    def statement_on_its_own(self) -> Iterator[None]:
        """Around one autocommit statement on PostgreSQL: nothing, unless the
        connection is inside a transaction someone else began (the tests' shared
        connection, see `use_sessions`); then a savepoint, so the statement's failure
        rolls back that statement only, as it would on a connection of its own."""
        dbapi_connection: Any = self.proxied.dbapi_connection
        if dbapi_connection.info.transaction_status == TransactionStatus.IDLE:
            yield
            return
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SAVEPOINT grau_statement")
            try:
                yield
            except BaseException:
                cursor.execute("ROLLBACK TO SAVEPOINT grau_statement")
                raise
            cursor.execute("RELEASE SAVEPOINT grau_statement")


def driver_connection() -> DriverConnection:
    """The current request's connection for driver-level queries: an autocommit
    request's own (see `autocommit`), else its session's (so a write's token check is
    part of its transaction)."""
    state = request_database()
    found = state.driver
    if found is None:
        app = current_flask()
        extensions = app.extensions
        engine: Engine | None = extensions.get("grau.read_engine")
        alone = autocommit()
        if engine is not None and alone:
            replicas: Replicas | None = extensions.get(REPLICAS)
            if replicas is not None:
                engine = _routed(replicas, engine)
            proxied = state.own = _early_connection() or _taken(extensions[KEPT], engine)
            state.own_engine = engine
            found = DriverConnection(proxied, engine.dialect)
        elif engine is None and alone and (bound := bound_connection(app)) is not None:
            found = DriverConnection.of(bound)
        else:
            found = DriverConnection.of(db().connection())
        state.driver = found
    return found


class EarlyQuery(NamedTuple):
    """A query a request sent before Flask started on it (`send_early`), on the connection
    the request then uses, and what it was sent with; or, with `failure`, why no
    connection could be had for it."""

    connection: DriverConnection | None
    engine: Engine
    query: Any  # a grau.db.driver.DriverQuery
    params: dict[str, Any]
    failure: DBAPIError | PoolTimeout | None = None

    def taken(self) -> DriverConnection:
        """The connection it was sent on; its `failure` raised where there is none."""
        if self.connection is None:
            raise self.failure or AssertionError("an early query has a connection or a failure")
        return self.connection


def send_early(app: Flask, environ: dict[str, Any], query: Any, **params: Any) -> bool:
    """Send `query` for the request of `environ` before Flask starts on it, on the
    connection the request will then use (this thread's kept one), without waiting for
    its answer: the database works on it while Python does. `early_answer` reads it
    where the request asks it; if the request uses the database otherwise first, or not
    at all, its answer is read and dropped (`driver_connection`, `settle_early`), so the
    connection is never handed on with an answer pending. Only for a read (autocommit)
    on PostgreSQL without replicas; False (nothing sent) otherwise, or where the
    connection it was taken on fails (the request takes another). Where no connection
    can be had at all (the database is down, the pool exhausted), that error is kept
    for the request to raise where it first asks the database (a 503), and True: the
    request does not wait for a connection a second time."""
    if environ["REQUEST_METHOD"] not in READ_METHODS or SHARED_TRANSACTION in environ:
        return False
    extensions = app.extensions
    engine: Engine | None = extensions.get("grau.read_engine")
    if engine is None or REPLICAS in extensions or engine.dialect.name != "postgresql":
        return False
    try:
        proxied = _taken(extensions[KEPT], engine)
    except (DBAPIError, PoolTimeout) as exc:  # (raised outside Flask, it would be no 503)
        environ[EARLY] = EarlyQuery(None, engine, query, params, exc)
        return True
    connection = DriverConnection(proxied, engine.dialect)
    try:
        sent = query.send(connection, **params)
    except Exception:  # the request meets it again where Flask answers it; a lost
        sent = False  # connection is invalidated by then, and `_keep` lets it go
    if not sent:
        _keep(extensions[KEPT], engine, proxied)
        return False
    environ[EARLY] = EarlyQuery(connection, engine, query, params)
    return True


def early_answer(query: Any, **params: Any) -> Any:
    """The first row (converted) of `query`, if this request sent it early with these
    `params` (`send_early`): the request's database work begins with it, on its
    connection. NOT_SENT otherwise."""
    environ = current_request().environ
    early: EarlyQuery | None = environ.get(EARLY)
    if early is None or early.query is not query or early.params != params:
        return NOT_SENT
    del environ[EARLY]
    connection = early.taken()
    state = request_database()
    assert state.driver is None  # (`driver_connection` would have taken it over)
    state.driver = connection
    state.own, state.own_engine = connection.proxied, early.engine
    return query.received(connection, **params)


def settle_early(app: Flask, environ: dict[str, Any]) -> None:
    """After a request that sent a query early and never used the database (a 429, say):
    its answer read and dropped, and the connection kept for the thread's next request."""
    early: EarlyQuery | None = environ.pop(EARLY, None)
    if early is not None and early.connection is not None:
        proxied = early.connection.proxied
        if _drained(proxied):
            _keep(app.extensions[KEPT], early.engine, proxied)


def _early_connection() -> PoolProxiedConnection | None:
    """The connection of a query this request sent early and that something other than
    `early_answer` asks for first: its answer read and dropped. None if there is none,
    or it was lost meanwhile (invalidated: the request takes another)."""
    early: EarlyQuery | None = current_request().environ.pop(EARLY, None)
    if early is None:
        return None
    proxied = early.taken().proxied
    return proxied if _drained(proxied) else None


def _drained(proxied: PoolProxiedConnection) -> bool:
    """Whether the answer pending on `proxied` was read (and dropped); if the connection
    failed meanwhile, it is invalidated and False."""
    dbapi_connection: Any = proxied.dbapi_connection
    try:
        answer_of(dbapi_connection.pgconn)
        if dbapi_connection.pgconn.status != ConnStatus.OK:  # its server ended it
            raise psycopg.OperationalError("the connection is lost")
    except Exception as exc:  # any failure: the connection is not used again
        with contextlib.suppress(Exception):
            proxied.invalidate(exc)
        return False
    return True


def answer_of(pgconn: Any) -> Any:
    """The result of the one query sent on `pgconn` (`PGconn.send_query_prepared`), once
    its whole answer is in: waiting in `poll` (any descriptor number, unlike `select`),
    which releases the GIL, as libpq's own `exec_prepared` does (psycopg's `get_result`
    would wait holding it). psycopg.OperationalError if the connection is lost.

    Here and not in grau.db.driver, whose `DriverQuery` sends the query, because the
    connection's owner (this module) must drain an answer nobody asked for."""
    _wait(pgconn)
    result = pgconn.get_result()
    if result is None:
        raise psycopg.OperationalError("no answer: the connection is lost")
    while True:  # to the end of the answer, which usually came with it
        if pgconn.is_busy():
            _wait(pgconn)
        if pgconn.get_result() is None:
            return result


def _wait(pgconn: Any) -> None:
    """Until `pgconn` has sent all it was given and holds a whole result (or the end of
    one): psycopg keeps its connections non-blocking, so a send may leave bytes to
    flush."""
    if not pgconn.flush():
        pgconn.consume_input()
        if not pgconn.is_busy():
            return
    waiting = select.poll()
    waiting.register(pgconn.socket, select.POLLIN | select.POLLOUT)
    while True:
        flushing = pgconn.flush()  # 1: bytes left to send
        if not flushing and not pgconn.is_busy():
            return
        waiting.modify(pgconn.socket, select.POLLIN | (select.POLLOUT if flushing else 0))
        waiting.poll()
        pgconn.consume_input()


@contextmanager
def serving(session: Session) -> Iterator[None]:
    """Within the block, `db()` is `session` (grau.http.idempotency's session inside the
    request's transaction); after it, the request's own again (closed by its teardown)."""
    held = request_database()
    outer = held.session
    held.session = session
    try:
        yield
    finally:
        held.session = outer


def _checkout(engine: Engine) -> PoolProxiedConnection:
    """`engine.raw_connection()`, with a failure to connect wrapped as `Engine.connect()`
    wraps it (the pool raises the driver's own error), so it is a 503 like any other."""
    try:
        return engine.raw_connection()
    except engine.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            None, None, exc, engine.dialect.loaded_dbapi.Error, dialect=engine.dialect
        ) from exc


class _Kept(threading.local):
    """Per thread: the autocommit connection its last request used on each engine (while
    a request uses one, it is not here), and when that request ended."""

    def __init__(self) -> None:
        self.connections: dict[Engine, tuple[PoolProxiedConnection, float]] = {}


def _taken(kept: _Kept, engine: Engine) -> PoolProxiedConnection:
    """This thread's kept connection to `engine`, or one from its pool. One kept for
    longer than IDLE_PING_S is pinged first (the database may have restarted)."""
    found = kept.connections.pop(engine, None)
    if found is None:
        return _checkout(engine)
    proxied, since = found
    if time.monotonic() - since < IDLE_PING_S:
        return proxied
    dbapi_connection: Any = proxied.dbapi_connection
    try:
        engine.dialect.do_ping(dbapi_connection)
    except Exception as exc:  # any failure: a new connection instead
        with contextlib.suppress(Exception):
            proxied.invalidate(exc)  # (which also gives it back to the pool)
        return _checkout(engine)
    return proxied


def _keep(kept: _Kept, engine: Engine, proxied: PoolProxiedConnection) -> None:
    """Keep a request's autocommit connection for its thread's next request if it is
    healthy and idle (else back to the pool, whose reset rolls back what is left); one
    that waited too long goes back to the pool instead."""
    dbapi_connection: Any = proxied.dbapi_connection
    pgconn = dbapi_connection.pgconn if dbapi_connection is not None else None
    healthy = (
        pgconn is not None
        and pgconn.status == ConnStatus.OK
        and pgconn.transaction_status == TransactionStatus.IDLE
    )
    # Kept only within the pool's size, never of its overflow: with more threads than
    # that, the connections of idle threads must not starve the busy ones.
    pool = engine.pool
    room = not isinstance(pool, QueuePool) or pool.checkedout() <= pool.size()
    now = time.monotonic()
    if kept.connections:  # others, to replicas: those this thread no longer reads from go
        for other, (connection, since) in list(kept.connections.items()):
            if now - since >= IDLE_PING_S:
                del kept.connections[other]
                connection.close()
    if healthy and room:
        kept.connections[engine] = (proxied, now)
    else:
        proxied.close()


def db() -> Session:
    """The current request's session. A read's runs on the connection its token check
    took from the pool: one connection per request, whatever it does."""
    state = request_database()
    session = state.session
    if session is None:
        factory = current_app.extensions["grau.session_factory"]
        joined: Connection | None = request.environ.get(SHARED_TRANSACTION)
        if joined is not None:  # its commits are savepoints of the batch's transaction
            session = factory(bind=joined, join_transaction_mode="create_savepoint")
        else:
            shared = _shared_read_connection()
            session = factory(bind=shared) if shared is not None else factory()
        revisions.guard(session)
        state.session = session
    return session


@contextmanager
def snapshot() -> Iterator[Session]:
    """A session of its own whose reads all see one snapshot of the database (an export
    reads every table): on PostgreSQL a REPEATABLE READ transaction, on SQLite its
    transaction. Where `use_sessions` binds every session to one connection (tests),
    the request's session. Closed after."""
    factory = current_app.extensions["grau.session_factory"]
    if isinstance(factory.kw.get("bind"), Connection):
        yield db()
        return
    session: Session = factory()
    try:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session
    finally:
        session.close()


def _shared_read_connection() -> Connection | None:
    """An autocommit request's pooled connection (the token check's) as a SQLAlchemy
    Connection (where `use_sessions` shares one, that one); None for a write in a
    transaction."""
    state = request_database()
    shared = state.shared
    if shared is None:
        extensions = current_app.extensions
        engine: Engine | None = extensions.get("grau.read_engine")
        if not autocommit():
            return None
        if engine is None:
            return bound_connection(current_app)
        proxied = driver_connection().proxied
        replicas: Replicas | None = extensions.get(REPLICAS)
        if replicas is not None and ON_REPLICA in g:  # the replica's engine, for its events
            engine = replicas.engines[g._grau_on_replica]
        shared = state.shared = Connection(engine, connection=proxied)
    return shared


def bound_connection(app: Flask) -> Connection | None:
    """The one connection every session shares, where `use_sessions` set that up (tests):
    an autocommit request uses it directly, outside any session's savepoint, as it would
    use its own pooled connection."""
    bind = app.extensions["grau.session_factory"].kw.get("bind")
    return bind if isinstance(bind, Connection) else None


def autocommit() -> bool:
    """Whether this request's statements each commit on their own: a read's, or those of a
    write that is one statement (`single_statement`)."""
    if not has_request_context():
        return False
    asked = current_request()
    if SHARED_TRANSACTION in asked.environ:
        return False
    if asked.method in SAFE_METHODS:
        return True
    state = request_globals()
    return bool(state.get(SINGLE_STATEMENT)) or bool(state.get(WRITES_NOTHING))


def writes_nothing(func: F) -> F:
    """A POST view that changes nothing itself (a batch, whose operations are requests of
    their own; place it above `@authenticated`): its statements, the token check's
    included, run in autocommit as a read's do, so it holds no transaction, and no
    lock of its user, while the requests it makes run."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.setdefault(WRITES_NOTHING, True)
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def one_statement() -> bool:
    """Whether this request is a write that `single_statement` runs as one statement
    (for `authenticated(view_checks_session=one_statement)`)."""
    return has_request_context() and bool(vars(request_globals()).get(SINGLE_STATEMENT))


def single_statement(func: F) -> F:
    """Run a write view in autocommit where its change can be one statement (place it
    above `@authenticated`): on PostgreSQL, which can bump the user's revision in a WITH
    clause of the same statement, and without an Idempotency-Key or a client-chosen `id`
    (grau.http.idempotency keeps a key in the same transaction as the change), or an
    `external_id` (whose create may be an update, `OwnedService.create_or_update`). The view
    asks `autocommit()` which way it runs; it makes the same change either way.

    That statement also checks the login session (`grau.core.revisions.bumped_user`), so
    the view's token check need ask nothing of the database first
    (`authenticated(view_checks_session=one_statement)`): a revoked session's create
    changes nothing and is a 401 all the same, after its body was validated."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        engine: Engine = current_flask().extensions["grau.engine"]
        environ = current_request().environ
        keyed = "HTTP_IDEMPOTENCY_KEY" in environ or client_chosen_id() is not None
        keyed = keyed or sent_string("external_id") is not None  # may update, not insert
        alone = SHARED_TRANSACTION not in environ  # not inside an atomic batch
        if engine.dialect.name == "postgresql" and not keyed and alone:
            vars(request_globals()).setdefault(SINGLE_STATEMENT, True)
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def client_chosen_id() -> str | None:
    """The `id` a create's JSON body chose for its item, as sent (None: none). Such a create
    is replayable by that id (grau.http.idempotency), so it runs in a transaction."""
    return sent_string("id")


def sent_string(name: str) -> str | None:
    """A string at the top of the request's JSON body, as sent (None: none)."""
    asked = current_request()
    raw = asked.get_data(cache=True)
    if f'"{name}"'.encode() not in raw:  # most bodies: no parse here (the view's does it)
        return None
    body = asked.get_json(silent=True)
    found = body.get(name) if isinstance(body, dict) else None
    return found if isinstance(found, str) else None


def _close(_exc: BaseException | None) -> None:
    state: RequestDatabase | None = vars(request_globals()).pop(HELD, None)
    if state is None:  # (a request that used no database)
        return
    session, shared, own, engine = state.session, state.shared, state.own, state.own_engine
    try:
        if session is not None:
            session.close()
    finally:
        if own is not None and engine is not None and engine.dialect.name == "postgresql":
            # Kept for the thread's next request (a Connection that wraps it, `shared`,
            # holds nothing of its own once its session is closed).
            _keep(current_flask().extensions[KEPT], engine, own)
        elif shared is not None:  # back to the pool, through the Connection around it
            shared.close()
        elif own is not None:
            own.close()
