"""A Core query run on the database driver's own cursor, for the one query every request runs.

The token check asks the database one small question per request (is this
session alive, and at which revision is the user's data; an item read joins
the item's row to it, a create that is one statement asks it in its INSERT). Through
SQLAlchemy's execution path that costs more CPU than the query itself:
statement caching, result objects, a Session around it. `DriverQuery`
compiles the statement once per dialect (with its bind processors, so a UUID
is bound the way SQLAlchemy would bind it on SQLite too) and runs it on the
connection's DBAPI cursor. Driver errors are wrapped and a lost connection is
invalidated as SQLAlchemy's own execution would, so error handling
(a 503 while the database is down) stays the same.

On PostgreSQL it goes one step further down: the statement is prepared once per
connection and run with libpq's own call (`PGconn.exec_prepared`, which
releases the GIL while it waits), its parameters dumped and its row loaded by
psycopg's adapters. psycopg's cursor prepares it too, after a few runs, but
its Python path around that call (the query's conversion, the prepare
manager, the wait loop, the result set) cost more CPU than the call itself:
about 20 µs of the 60 every request paid. Only in autocommit (reads, and
writes that are one statement): inside a transaction the cursor sends the
BEGIN its isolation level needs, and a statement that a rollback deallocated
would abort the transaction, where in autocommit it is prepared again.
`send` and `received` split that call in two, for a query sent before its
answer is needed (`grau.http.views.check_session_ahead`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy import Dialect, Select
from sqlalchemy.exc import DBAPIError

from grau.db.session import DriverConnection, answer_of

# Positional placeholders bind from a list, which the drivers convert faster than names.
POSITIONAL = {"pyformat": "format", "named": "qmark"}
CURSOR = "grau.driver_cursor"  # where a connection keeps its cursor (PoolProxiedConnection.info)
PREPARED = "grau.prepared"  # info: (query, parameter types) -> its prepared statement's name
TRANSFORMER = "grau.transformer"  # info: the psycopg adapters of the connection
PREPARED_MAX = 200  # per connection; past it, statements run through the cursor
_NAMES = itertools.count()  # numbers the names of the statements this process prepares
_MISSING = b"26000"  # SQLSTATE invalid_sql_statement_name: a prepared statement is gone


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positions: tuple[str, ...] | None  # parameter order for positional paramstyles
    defaults: dict[str, Any]  # values the statement itself binds (literals)
    processors: dict[str, Callable[[Any], Any]]


class DriverQuery:
    """A Core statement whose first row is fetched with the driver's cursor, its values
    converted by the result columns' types as SQLAlchemy would.

    For statements that name their columns (a `select` of columns, `RETURNING`
    columns): their `exported_columns` are the row's, in order. Not for ORM entity
    selects or `text()`, whose rows may differ."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}
        # Per dialect: (position, function) of each result column whose type converts
        # the driver's value (a UUID or a timestamp stored as text on SQLite, a type
        # decorator's result), found at the first result (the driver's type codes tell).
        self._results: dict[str, tuple[tuple[int, Callable[[Any], Any]], ...]] = {}
        self._numbered: _Compiled | None = None  # PostgreSQL: with $1, $2... placeholders

    def _compile(self, dialect: Dialect, paramstyle: str | None = None) -> _Compiled:
        """The statement for `dialect`, kept; with `paramstyle`, in that style, not kept."""
        positional = paramstyle or POSITIONAL.get(dialect.paramstyle)
        dialect_class: Any = type(dialect)
        compiler_dialect = dialect_class(paramstyle=positional) if positional else dialect
        compiled = self.statement.compile(dialect=compiler_dialect)
        processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None and name in compiled.params:
                processors[name] = process
        positions = tuple(compiled.positiontup) if compiled.positiontup else None
        found = _Compiled(compiled.string, positions, dict(compiled.params), processors)
        if paramstyle is None:
            self._compiled[dialect.name] = found
        return found

    def first(self, connection: DriverConnection, **params: Any) -> Any:
        """The first row, its values converted (None: no row)."""
        row = self.first_unconverted(connection, **params)
        return self.converted(connection.dialect, row) if row is not None else None

    def first_unconverted(self, connection: DriverConnection, **params: Any) -> Any:
        """The first row as the driver gives it (None: no row); `converted` converts it,
        for a caller that may not need every value."""
        values = self._values(connection.dialect, params)
        dbapi_connection = connection.proxied.dbapi_connection
        assert dbapi_connection is not None
        if isinstance(dbapi_connection, psycopg.Connection) and dbapi_connection.autocommit:
            return self._prepared_first(connection, dbapi_connection, values)
        return self._on_cursor(connection, self._compiled[connection.dialect.name], values)

    def _values(self, dialect: Dialect, params: dict[str, Any]) -> dict[str, Any]:
        """The statement's parameters: its own literals and `params`, each converted by its
        type's bind processor for `dialect`."""
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        values = {**compiled.defaults, **params}
        for name, process in compiled.processors.items():
            values[name] = process(values[name])
        return values

    def _on_cursor(self, connection: DriverConnection, compiled: _Compiled, values: Any) -> Any:
        """The first row, the statement run on the connection's cursor."""
        dialect = connection.dialect
        positions = compiled.positions
        args: Any = values if positions is None else [values[name] for name in positions]
        proxied = connection.proxied
        dbapi_connection: Any = proxied.dbapi_connection
        # One cursor per connection, kept with it (its `info` lives as long as the
        # driver's connection): making and closing one per query cost more than using it.
        cursor = proxied.info.get(CURSOR)
        if cursor is None:
            cursor = proxied.info[CURSOR] = dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, args)
            row = cursor.fetchone()
        except dialect.loaded_dbapi.Error as exc:
            proxied.info.pop(CURSOR, None)
            raise _wrapped(connection, compiled.sql, args, exc) from exc
        if row is not None and dialect.name not in self._results:
            type_codes = [column[1] for column in cursor.description]
            self._results[dialect.name] = self._result_processors(dialect, type_codes)
        return row

    def _prepared_first(
        self, connection: DriverConnection, dbapi_connection: psycopg.Connection[Any], values: Any
    ) -> Any:
        """`first_unconverted` on PostgreSQL: the statement prepared on this connection
        (once per parameter types, as psycopg would) and run by libpq."""
        for attempt in (1, 2):
            statement = self._statement(connection, dbapi_connection, values)
            if statement is None:  # past PREPARED_MAX on this connection
                compiled = self._compiled[connection.dialect.name]  # (`first_unconverted` made it)
                return self._on_cursor(connection, compiled, values)
            name, args, sent, adapters = statement
            result = dbapi_connection.pgconn.exec_prepared(
                name,
                sent,  # None is NULL, as libpq takes it
                adapters.formats,
                result_format=pq.Format.BINARY,
            )
            if (
                result.status != pq.ExecStatus.TUPLES_OK
                and attempt == 1
                and self._forgot_deallocated(connection, result, adapters)
            ):
                continue
            return self._row_of(connection, dbapi_connection, result, adapters, args)
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _statement(
        self, connection: DriverConnection, dbapi_connection: psycopg.Connection[Any], values: Any
    ) -> tuple[bytes, list[Any], Any, Any] | None:
        """(the name this statement is prepared under on the connection, its parameters,
        the same dumped as libpq takes them, the connection's adapters); prepared here if
        it is not yet. None where the connection holds PREPARED_MAX statements already."""
        dialect = connection.dialect
        numbered = self._numbered or self._number(dialect)
        assert numbered.positions is not None
        args = [values[name] for name in numbered.positions]
        info = connection.proxied.info
        adapters: Any = info.get(TRANSFORMER)  # a psycopg Transformer
        if adapters is None:
            adapters = info[TRANSFORMER] = Transformer(dbapi_connection)
        try:
            sent = adapters.dump_sequence(args, [PyFormat.AUTO] * len(args))
        except psycopg.Error as exc:  # a value no adapter dumps: as the cursor would say
            raise _wrapped(connection, numbered.sql, args, exc) from exc
        prepared: dict[tuple[int, Any], bytes] = info.setdefault(PREPARED, {})
        key = (id(self), adapters.types)  # as psycopg: one statement per parameter types
        name = prepared.get(key)
        if name is None:
            if len(prepared) >= PREPARED_MAX:
                return None
            name = f"grau_{next(_NAMES)}".encode()  # never reused in this process
            made = dbapi_connection.pgconn.prepare(name, numbered.sql.encode(), adapters.types)
            if made.status != pq.ExecStatus.COMMAND_OK:
                raise _wrapped(connection, numbered.sql, args, _error(made, dbapi_connection))
            prepared[key] = name
        return name, args, sent, adapters

    def _forgot_deallocated(
        self, connection: DriverConnection, result: pq.abc.PGresult, adapters: Any
    ) -> bool:
        """Whether a failed `result` failed because its prepared statement is gone:
        psycopg's rollback sends DEALLOCATE ALL where it prepared statements of its own
        (so might a pooler's DISCARD ALL). In autocommit the failure ended nothing: the
        statement is forgotten here, to be prepared again."""
        if result.error_field(pq.DiagnosticField.SQLSTATE) != _MISSING:
            return False
        prepared: dict[tuple[int, Any], bytes] = connection.proxied.info[PREPARED]
        del prepared[(id(self), adapters.types)]
        return True

    def _row_of(
        self,
        connection: DriverConnection,
        dbapi_connection: psycopg.Connection[Any],
        result: pq.abc.PGresult,
        adapters: Any,  # a psycopg Transformer
        args: Any,
    ) -> Any:
        """The first row of a prepared statement's `result` as the driver gives it (None:
        no row); a failed result raised as the cursor would raise it."""
        dialect = connection.dialect
        if result.status != pq.ExecStatus.TUPLES_OK:
            numbered = self._numbered
            assert numbered is not None
            raise _wrapped(connection, numbered.sql, args, _error(result, dbapi_connection))
        if result.ntuples == 0:
            return None
        adapters.set_pgresult(result, format=pq.Format.BINARY)
        row = adapters.load_row(0, tuple)
        if dialect.name not in self._results:
            type_codes = [result.ftype(i) for i in range(result.nfields)]
            self._results[dialect.name] = self._result_processors(dialect, type_codes)
        return row

    def send(self, connection: DriverConnection, **params: Any) -> bool:
        """Send the query without waiting for its answer, which `received` reads: the
        database works on it while the caller does something else. Only on PostgreSQL
        in autocommit, where `first` runs a prepared statement; False (nothing sent)
        elsewhere, or where the connection holds PREPARED_MAX statements already."""
        dialect = connection.dialect
        dbapi_connection = connection.proxied.dbapi_connection
        if not isinstance(dbapi_connection, psycopg.Connection) or not dbapi_connection.autocommit:
            return False
        statement = self._statement(connection, dbapi_connection, self._values(dialect, params))
        if statement is None:
            return False
        name, args, sent, adapters = statement
        try:
            dbapi_connection.pgconn.send_query_prepared(
                name, sent, adapters.formats, result_format=pq.Format.BINARY
            )
        except psycopg.Error as exc:  # (a lost connection)
            assert self._numbered is not None
            raise _wrapped(connection, self._numbered.sql, args, exc) from exc
        return True

    def received(self, connection: DriverConnection, **params: Any) -> Any:
        """`first` of what `send` sent on `connection` with these `params`: its first row,
        converted (None: no row). Waits for the answer without holding the GIL."""
        dbapi_connection: Any = connection.proxied.dbapi_connection
        try:
            result = answer_of(dbapi_connection.pgconn)
        except psycopg.Error as exc:  # (a lost connection)
            assert self._numbered is not None
            raise _wrapped(connection, self._numbered.sql, None, exc) from exc
        adapters: Any = connection.proxied.info[TRANSFORMER]
        if result.status != pq.ExecStatus.TUPLES_OK and self._forgot_deallocated(
            connection, result, adapters
        ):
            return self.first(connection, **params)
        row = self._row_of(connection, dbapi_connection, result, adapters, params)
        return self.converted(connection.dialect, row) if row is not None else None

    def _number(self, dialect: Dialect) -> _Compiled:
        self._numbered = self._compile(dialect, "numeric_dollar")
        return self._numbered

    def converted(self, dialect: Dialect, row: Any) -> Any:
        """A row of this query's, its values converted by its columns' types."""
        results = self._results[dialect.name]
        if not results:
            return row
        converted = list(row)
        for index, process in results:
            converted[index] = process(converted[index])
        return tuple(converted)

    def _result_processors(
        self, dialect: Dialect, type_codes: Sequence[Any]
    ) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        columns = zip(self.statement.exported_columns, type_codes, strict=True)
        return tuple(
            (index, process)
            for index, (column, type_code) in enumerate(columns)
            if (process := column.type.dialect_impl(dialect).result_processor(dialect, type_code))
        )


def _error(result: pq.abc.PGresult, dbapi_connection: psycopg.Connection[Any]) -> psycopg.Error:
    """The psycopg error a cursor would have raised for a failed `result`."""
    if dbapi_connection.pgconn.status == pq.ConnStatus.BAD:  # the connection is lost
        message = result.error_message.decode("utf-8", "replace") or "connection lost"
        return psycopg.OperationalError(message.strip())
    return psycopg.errors.error_from_result(result, encoding=dbapi_connection.info.encoding)


def _wrapped(connection: DriverConnection, sql: str, params: Any, exc: Exception) -> DBAPIError:
    """`exc` as SQLAlchemy's execution would raise it, the connection invalidated if lost."""
    dialect = connection.dialect
    proxied = connection.proxied
    dbapi_connection = proxied.dbapi_connection
    lost = dialect.is_disconnect(exc, dbapi_connection, None)  # type: ignore[arg-type]
    if lost:
        proxied.invalidate(exc)
    error = DBAPIError.instance(
        sql, params, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
    )
    assert isinstance(error, DBAPIError)  # (it is: `exc` is a DBAPI error)
    error.__cause__ = exc
    return error
