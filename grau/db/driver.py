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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Select
from sqlalchemy.exc import DBAPIError

from grau.db.session import DriverConnection

# Positional placeholders bind from a list, which the drivers convert faster than names.
POSITIONAL = {"pyformat": "format", "named": "qmark"}
CURSOR = "grau.driver_cursor"  # where a connection keeps its cursor (PoolProxiedConnection.info)


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

    def _compile(self, dialect: Dialect) -> _Compiled:
        positional = POSITIONAL.get(dialect.paramstyle)
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
        self._compiled[dialect.name] = found
        return found

    def first(self, connection: DriverConnection, **params: Any) -> Any:
        """The first row, its values converted (None: no row)."""
        row = self.first_unconverted(connection, **params)
        return self.converted(connection.dialect, row) if row is not None else None

    def first_unconverted(self, connection: DriverConnection, **params: Any) -> Any:
        """The first row as the driver gives it (None: no row); `converted` converts it,
        for a caller that may not need every value."""
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        values = {**compiled.defaults, **params}
        for name, process in compiled.processors.items():
            values[name] = process(values[name])
        positions = compiled.positions
        args: Any = values if positions is None else [values[name] for name in positions]
        proxied = connection.proxied
        dbapi_connection = proxied.dbapi_connection
        assert dbapi_connection is not None
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
            lost = dialect.is_disconnect(exc, dbapi_connection, cursor)
            if lost:
                proxied.invalidate(exc)
            raise DBAPIError.instance(
                compiled.sql,
                args,
                exc,
                dialect.loaded_dbapi.Error,
                connection_invalidated=lost,
                dialect=dialect,
            ) from exc
        if row is not None and dialect.name not in self._results:
            self._results[dialect.name] = self._result_processors(dialect, cursor)
        return row

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
        self, dialect: Dialect, cursor: Any
    ) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        columns = zip(self.statement.exported_columns, cursor.description, strict=True)
        return tuple(
            (index, process)
            for index, (column, (_, type_code, *_)) in enumerate(columns)
            if (process := column.type.dialect_impl(dialect).result_processor(dialect, type_code))
        )
