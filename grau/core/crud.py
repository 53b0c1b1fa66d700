"""The CRUD service every owned resource shares, written once (no HTTP here).

`OwnedService` (list, get,
create, update, delete of one model, with a resource's own filters and rules
plugged in), built on `get_owned`, `page_of`, `save`, `remove`: ownership,
pagination, optimistic locking (`If-Match`), and a commit that bumps the
owner's revision (`grau.core.revisions`) in the same transaction.

Its answers as HTTP responses (cached, with ETags and Location) are `grau.http.views`.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, NoReturn, TypeVar

import marshmallow as ma
from sqlalchemy import Select, bindparam, func, insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from grau import __version__
from grau.accounts.tokens import SESSION_COLUMNS, Principal, revision_of, with_session_check
from grau.core import revisions
from grau.core.domain_errors import Conflict, Forbidden, NotFound, Stale, Unauthenticated
from grau.db.driver import DriverQuery
from grau.db.model import Base, utcnow
from grau.db.session import DriverConnection

M = TypeVar("M", bound=Base)

# --------------------------------------------------------------------- service side


def load(
    session: Session, model: type[M], item_id: uuid.UUID, *, lock: bool = False, **options: Any
) -> M | None:
    """`session.get`, or for a write (`lock`) the row read afresh under its row lock.

    Every write locks the row it changes first (`SELECT ... FOR UPDATE`; the
    root of a nested resource before its children), so writers of one item
    queue up instead of interleaving: the next in line then reads the version
    its predecessor committed, and its If-Match check fails with 412 cleanly
    rather than in a deadlock between child and parent rows. SQLite ignores
    the lock; it runs one writer at a time anyway.
    """
    if not lock:
        return session.get(model, item_id, **options)
    try:
        return session.get(model, item_id, with_for_update=True, populate_existing=True, **options)
    except StaleDataError:
        # This session already held the item at an older version: a write it
        # based on that would overwrite a change it never saw.
        session.rollback()
        raise Stale("The resource changed while you were writing; fetch it again.") from None


def get_owned(
    session: Session, model: type[M], user_id: uuid.UUID, item_id: uuid.UUID, *, lock: bool = False
) -> M:
    """The user's item, or 404 (also when it exists but is someone else's)."""
    item = load(session, model, item_id, lock=lock)
    if item is None or getattr(item, "user_id", None) != user_id:
        raise NotFound(f"No {model.__name__} with this id is yours.")
    return item


@dataclass
class PageResult:
    items: list[Any]
    page: int
    page_size: int
    total: int

    def envelope(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "pagination": {
                "page": self.page,
                "page_size": self.page_size,
                "total": self.total,
                "total_pages": math.ceil(self.total / self.page_size) if self.total else 0,
            },
        }


def page_of(session: Session, query: Select[Any], page: int, page_size: int) -> PageResult:
    """One page of `query` (already filtered and ordered) plus the total count."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(session.scalars(query.limit(page_size).offset((page - 1) * page_size)))
    return PageResult(items, page, page_size, total or 0)


Present = Callable[[Any, Mapping[str, Any]], tuple[Any, str]]


def presented_page(
    session: Session, query: Select[Any], args: Mapping[str, Any], present: Present | None
) -> PageResult:
    """The page `args` asks for, each item shown through `present` (if any)."""
    result = page_of(session, query, args["page"], args["page_size"])
    if present:
        result.items = [present(item, args)[0] for item in result.items]
    return result


def sort_clause(model: type[Base], sort: str) -> list[Any]:
    """`-recorded_at` -> ORDER BY recorded_at DESC, id DESC (ids break ties stably)."""
    descending = sort.startswith("-")
    column = getattr(model, sort.lstrip("-"))
    id_column = model.id  # type: ignore[attr-defined]
    if descending:
        return [column.desc(), id_column.desc()]
    return [column.asc(), id_column.asc()]


def check_if_match(item: Any, if_match: str | None) -> None:
    """Stale if `if_match` (the client's If-Match; None: not sent) names an older version."""
    if if_match is None:
        return
    # Any representation of the current version matches (see etag_of).
    tags = {tag.strip().strip('"').split(".")[0] for tag in if_match.split(",")}
    if "*" not in tags and etag_of(item).strip('"') not in tags:
        raise Stale("The resource changed since you read it; fetch it again (see ETag).")


def save(session: Session, item: Base, owner: uuid.UUID, *, conflict: str = "") -> None:
    """Add `item` and commit the owner's change (see `commit`)."""
    session.add(item)
    commit(session, owner, conflict=conflict)


def remove(session: Session, item: Base, owner: uuid.UUID) -> None:
    session.delete(item)
    commit(session, owner)


def commit(session: Session, owner: uuid.UUID, *, conflict: str = "") -> None:
    """Commit a change to `owner`'s data with a new revision of it; lost races are 412/409.

    The new revision retires every cached read of the owner's data, on every
    instance, at the moment the commit does (see grau.core.revisions).
    """
    try:
        session.flush()
        revisions.bump_user(session, owner)
        session.commit()
    except StaleDataError:
        session.rollback()
        raise Stale("The resource changed while you were writing; fetch it again.") from None
    except IntegrityError as exc:
        session.rollback()
        raise _conflict(exc, conflict) from None


# A create that chose an id already in use (by any user: the answer says nothing more).
ID_TAKEN = "This id is already used by another item; choose a new one."


def _conflict(exc: IntegrityError, conflict: str) -> Conflict:
    """The Conflict a constraint violation stands for: a taken id, or the resource's own."""
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
    if constraint.startswith("pk_") or str(exc.orig).endswith(".id"):  # PostgreSQL, SQLite
        return Conflict(ID_TAKEN, errors={"id": ["Already used by another item."]})
    return Conflict(conflict or "This conflicts with data that already exists.")


def _python_default(column: Any) -> bool:
    """Whether a column's default, if any, is one `_default_of` computes: a value
    or a Python function (not SQL, not a sequence), with no server default beside it;
    or whether the database sets it alone (`_set_by_database`)."""
    default = column.default
    if default is None:
        return column.server_default is None or _set_by_database(column)
    return bool(default.is_scalar or default.is_callable) and column.server_default is None


def _set_by_database(column: Any) -> bool:
    """A column only the database writes (`seq`, which a trigger numbers): an INSERT
    leaves it out, and reads it back."""
    return column.default is None and column.server_default is not None


def _default_of(column: Any) -> Any:
    """A column's Python default, else None (for a value the item does not have)."""
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg


def apply_changes(item: Any, changes: Mapping[str, Any]) -> None:
    for name, value in changes.items():
        setattr(item, name, value)


Filter = Callable[[Select[Any], Mapping[str, Any]], Select[Any]]
Rule = Callable[[Session, uuid.UUID, Any, Mapping[str, Any]], None]


def _no_filter(query: Select[Any], _args: Mapping[str, Any]) -> Select[Any]:
    return query


def _assign(session: Session, user_id: uuid.UUID, item: Any, values: Mapping[str, Any]) -> None:
    apply_changes(item, values)


@dataclass
class OwnedService:
    """List, get, create, update and delete one model that belongs to users.

    A resource plugs in what differs: `filter` (list query parameters),
    `assign` (how a body's values land on the item, e.g. ids that must be the
    user's own), `check` (rules on the finished item, e.g. valid units), and
    `shared` (a column marking system rows everyone may read but nobody may
    change, like the exercise catalog).
    """

    model: type[Any]
    filter: Filter = _no_filter
    assign: Rule = _assign
    check: Callable[[Any], None] | None = None
    conflict: str = ""
    shared: bool = False
    options: tuple[Any, ...] = ()  # loader options (selectinload) for reads
    # How a read shows an item, from the query (e.g. `unit`): (shown, ETag variant).
    present: Present | None = None
    # Sort names that order by another column (e.g. "value" -> "canonical_value").
    sort_columns: Mapping[str, str] = field(default_factory=dict)
    # Columns that name an item among its owner's (`source` and `external_id` of a
    # reading): a create naming one the user already has updates that item instead.
    natural_key: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        mapper = inspect(self.model)
        self._columns = {prop.key: prop.columns[0] for prop in mapper.column_attrs}
        labelled = [column.label(key) for key, column in self._columns.items()]
        # The item by id, if the reader may see it (`shown_row` checks again).
        reader = bindparam("user_id", type_=self.model.user_id.type)
        readable = (mapper.primary_key[0] == bindparam("item_id")) & self._visible(reader)
        self._checked_row = DriverQuery(with_session_check(labelled, self.model, readable))
        # Where the id is in a row of `_columns` (None there: the outer join found no item).
        self._id_index = [c.primary_key for c in self._columns.values()].index(True)
        self._insert_row: DriverQuery | None = None  # built on first use (PostgreSQL only)
        self._inserts_rows: bool | None = None  # `inserts_rows_of`, worked out on first use
        # The columns `insert_row` gives values for: all but those the database sets.
        self._given = {k: c for k, c in self._columns.items() if not _set_by_database(c)}

    def _visible(self, user_id: Any) -> Any:
        """The rows `user_id` (a UUID, or a bind parameter for one) may read."""
        owner = self.model.user_id
        return (owner == user_id) | owner.is_(None) if self.shared else owner == user_id

    def list_page(
        self, session: Session, user_id: uuid.UUID, args: Mapping[str, Any]
    ) -> PageResult:
        query = select(self.model).where(self._visible(user_id)).options(*self.options)
        sort = args["sort"]
        name = sort.lstrip("-")
        sort = sort.replace(name, self.sort_columns.get(name, name))
        query = self.filter(query, args).order_by(*sort_clause(self.model, sort))
        return presented_page(session, query, args, self.present)

    def show(
        self,
        session: Session,
        user_id: uuid.UUID,
        item_id: uuid.UUID,
        args: Mapping[str, Any],
    ) -> tuple[Any, str]:
        """An item as a read with these query `args` shows it, and its ETag variant."""
        return self._shown(self.get(session, user_id, item_id), args)

    def shows_rows(self, schema: ma.Schema) -> bool:
        """Whether `read_row` and `shown_row` can stand in for `show` for items dumped
        with `schema`: reads load no relationships, and every field it dumps is a column."""
        fields = schema.dump_fields.items()
        return not self.options and all((f.attribute or n) in self._columns for n, f in fields)

    def read_row(
        self, connection: DriverConnection, principal: Principal, item_id: uuid.UUID
    ) -> tuple[Principal, tuple[Any, ...] | None]:
        """The session check and the item's row in one query, on the driver's cursor (no
        Session, identity map or SQLAlchemy result, which cost more CPU than the rest of
        an uncached read together), for a view that checks the session itself
        (`authenticated(view_checks_session=True)`): the principal with the revisions
        it read, and the row as the driver gives it, for `shown_row` (None: no item
        with this id the user may read). 401 if the session is revoked or gone. Only
        where `shows_rows` holds (`grau.http.views.read_in_one_query` checks)."""
        found = self._checked_row.first_unconverted(
            connection, session_id=principal.session_id, user_id=principal.user_id, item_id=item_id
        )
        if found is None:
            raise Unauthenticated("The access token has been revoked.")
        checked = Principal(principal.user_id, principal.session_id, revision_of(found))
        return checked, found if found[SESSION_COLUMNS + self._id_index] is not None else None

    def shown_row(
        self,
        connection: DriverConnection,
        row: tuple[Any, ...] | None,
        user_id: uuid.UUID,
        args: Mapping[str, Any],
    ) -> tuple[Any, str]:
        """`show` for a row `read_row` read (converted only now: a cached read never
        needs it): 404 if there is none or it is not the user's."""
        if row is None:
            self._not_found()
        converted = self._checked_row.converted(connection.dialect, row)
        item = self._item_of(converted[SESSION_COLUMNS:])
        if not self._readable(item.user_id, user_id):
            self._not_found()
        return self._shown(item, args)

    def inserts_rows(self, schema: ma.Schema) -> bool:
        """Whether `insert_row` can stand in for `create` for bodies loaded with `schema`:
        `create` and `assign` not overridden, no relationships, every field a column, and
        every column's default a value or a plain Python function (or none)."""
        fields = schema.load_fields.items()
        return (
            type(self).create is OwnedService.create
            and self.assign is _assign
            and not inspect(self.model).relationships
            and all((f.attribute or n) in self._columns for n, f in fields)
            and all(_python_default(c) for c in self._columns.values())
        )

    def inserts_rows_of(self, data: Mapping[str, Any]) -> bool:
        """`inserts_rows` for one loaded body: what `insert_row` checks before it runs."""
        if self._inserts_rows is None:
            self._inserts_rows = self.inserts_rows(ma.Schema())  # all but the body's fields
        return self._inserts_rows and data.keys() <= self._columns.keys()

    def insert_row(
        self, connection: DriverConnection, principal: Principal, data: Mapping[str, Any]
    ) -> Any:
        """`create` as one statement (where `inserts_rows` holds; PostgreSQL): it inserts
        the row, and bumps and locks the user, only while the principal's login session
        is alive (`revisions.bumped_user`), and returns the row's columns as the driver
        reads them (a `shown_row` item, for the same schemas).
        No Session, no flush and no BEGIN or COMMIT: the CPU they cost was most of a
        create's. The token check asked nothing of the database (`single_statement`):
        401 here if the session is revoked or gone."""
        if not self.inserts_rows_of(data):
            raise RuntimeError(f"{self.model.__name__}'s create cannot be one INSERT")
        item = SimpleNamespace(**data, user_id=principal.user_id)
        if self.check:
            self.check(item)
        sent = vars(item)  # the body's values, the owner, and what `check` added
        values = {k: sent[k] if k in sent else _default_of(c) for k, c in self._given.items()}
        values.update(session_id=principal.session_id)
        query = self._insert_row or self._build_insert_row()
        try:
            with connection.statement_on_its_own():
                row = query.first(connection, **values)
        except IntegrityError as exc:
            raise _conflict(exc, self.conflict) from None
        if row is None:
            raise Unauthenticated("The access token has been revoked.")
        return self._item_of(row)

    def _item_of(self, row: tuple[Any, ...]) -> SimpleNamespace:
        """A row of all the model's columns, in `_columns` order, as an item to dump."""
        return SimpleNamespace(**dict(zip(self._columns, row, strict=True)))

    def _build_insert_row(self) -> DriverQuery:
        table = self.model.__table__
        bumped = revisions.bumped_user()
        given = {key: c for key, c in self._given.items() if c.name != "user_id"}
        row = select(*(bindparam(key, type_=c.type) for key, c in given.items()), bumped.c.id)
        statement = (
            insert(table)
            .from_select([*(c.name for c in given.values()), "user_id"], row)
            .returning(*self._columns.values())
            .add_cte(bumped)
        )
        self._insert_row = DriverQuery(statement)  # type: ignore[arg-type]
        return self._insert_row

    def _shown(self, item: Any, args: Mapping[str, Any]) -> tuple[Any, str]:
        return self.present(item, args) if self.present else (item, "")

    def get(
        self, session: Session, user_id: uuid.UUID, item_id: uuid.UUID, *, lock: bool = False
    ) -> Any:
        """An item the user may read (`lock`: and is about to change), or 404."""
        item = load(session, self.model, item_id, lock=lock, options=self.options)
        if item is None or not self._readable(item.user_id, user_id):
            self._not_found()
        return item

    def _readable(self, owner: uuid.UUID | None, user_id: uuid.UUID) -> bool:
        return owner == user_id or (self.shared and owner is None)

    def _not_found(self) -> NoReturn:
        raise NotFound(f"No {self.model.__name__} with this id is yours.")

    def get_writable(
        self, session: Session, user_id: uuid.UUID, item_id: uuid.UUID, *, if_match: str | None
    ) -> Any:
        """An item the user may change, locked, at the version `if_match` names (if any):
        Forbidden for a shared system row, Stale for an older version."""
        item = self.get(session, user_id, item_id, lock=True)
        if item.user_id is None:
            raise Forbidden(f"This {self.model.__name__} is part of grau's catalog and read-only.")
        check_if_match(item, if_match)
        return item

    def create(self, session: Session, user_id: uuid.UUID, data: Mapping[str, Any]) -> Any:
        item = self.build(session, user_id, data)
        commit(session, user_id, conflict=self.conflict)
        return item

    def build(self, session: Session, user_id: uuid.UUID, data: Mapping[str, Any]) -> Any:
        """A new item from `data`, checked and added to the session, not committed: `create`
        commits it at once, an import with many others."""
        item = self.model(user_id=user_id)
        self.assign(session, user_id, item, data)
        if self.check:
            self.check(item)
        session.add(item)
        return item

    def create_or_update(
        self, session: Session, user_id: uuid.UUID, data: Mapping[str, Any]
    ) -> tuple[Any, bool]:
        """`create` (and True), unless `data` names by `natural_key` an item the user has:
        then that item with the fields `data` sends (its id kept), and False. Sent again
        unchanged, it is not written at all (its version, its ETag, stays).

        The user's writes queue on the user's row (`live_session_revision`), so two
        creates naming the same item find it one after the other."""
        named = {name: data.get(name) for name in self.natural_key}
        if not named or None in named.values():
            return self.create(session, user_id, data), True
        query = select(self.model).filter_by(user_id=user_id, **named).with_for_update()
        item = session.scalars(query).first()
        if item is None:
            return self.create(session, user_id, data), True
        changes = {name: value for name, value in data.items() if name != "id"}
        if any(getattr(item, name) != value for name, value in changes.items()):
            self._change(session, user_id, item, changes)
        return item, False

    def update(
        self,
        session: Session,
        user_id: uuid.UUID,
        item_id: uuid.UUID,
        changes: Mapping[str, Any],
        *,
        if_match: str | None,
    ) -> Any:
        item = self.get_writable(session, user_id, item_id, if_match=if_match)
        self._change(session, user_id, item, changes)
        return item

    def _change(
        self, session: Session, user_id: uuid.UUID, item: Any, changes: Mapping[str, Any]
    ) -> None:
        """Apply `changes` to a locked item of the user's, check it and commit."""
        self.assign(session, user_id, item, changes)
        if self.check:
            self.check(item)
        # Always an UPDATE, so the version (the ETag) moves even when only a
        # relationship (e.g. a mood's tags) changed.
        item.updated_at = utcnow()
        save(session, item, user_id, conflict=self.conflict)

    def delete(
        self, session: Session, user_id: uuid.UUID, item_id: uuid.UUID, *, if_match: str | None
    ) -> None:
        item = self.get_writable(session, user_id, item_id, if_match=if_match)
        remove(session, item, user_id)


def etag_of(item: Any, variant: str = "") -> str:
    """A strong ETag from the row's version: changes exactly when the row does.

    A representation variant (e.g. `?unit=lb`) is a suffix (`"<version hash>.lb"`),
    so each representation has its own ETag for If-None-Match, while If-Match,
    which asks "is this still the version I read?", accepts any of them.
    """
    raw = f"{__version__}:{item.id}:{item.version}".encode()
    tag = hashlib.blake2b(raw, digest_size=10).hexdigest()
    return f'"{tag}.{variant}"' if variant else f'"{tag}"'
