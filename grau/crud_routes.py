"""The five CRUD operations of an owned resource, declared once for every resource.

`crud_routes` registers on a blueprint what every owned resource offers:

    GET    /            list (paginated, filtered, sorted; ETag, If-None-Match)
    POST   /            create (201, Location, ETag; Idempotency-Key)
    GET    /<item_arg>  read (ETag, If-None-Match)
    PATCH  /<item_arg>  partial update (optional If-Match, 412 when stale)
    DELETE /<item_arg>  delete (optional If-Match)

with the decorators that make the contract (they are the OpenAPI document),
the resource's schemas and the summaries and descriptions it passes in. A
resource with more than this adds its own views next to these.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import marshmallow as ma
from flask import Response
from flask.views import MethodView

from grau.auth.tokens import authenticated, current_principal, current_user_id
from grau.crud import OwnedService, Resource, if_match
from grau.db.session import (
    autocommit,
    db,
    driver_connection,
    one_statement,
    single_statement,
)
from grau.extensions import Blueprint
from grau.idempotency import idempotent
from grau.openapi import conditional_read, conditional_write, errors

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Schemas:
    item: type[ma.Schema]
    create: type[ma.Schema]
    update: type[ma.Schema]
    page: type[ma.Schema]
    query: type[ma.Schema]
    read: type[ma.Schema] | None = None  # query parameters of the item GET (e.g. `unit`)


@dataclass(frozen=True)
class Docs:
    """Each operation's docstring: summary line, blank line, description."""

    list: str
    create: str
    get: str
    update: str
    delete: str


def _doc(text: str) -> Callable[[F], F]:
    def decorator(func: F) -> F:
        func.__doc__ = text
        return func

    return decorator


def crud_routes(
    blp: Blueprint,
    service: OwnedService,
    *,
    name: str,
    plural: str,
    noun: str,
    item_arg: str,
    schemas: Schemas,
    docs: Docs,
    write_errors: tuple[int, ...] = (),
) -> Resource:
    """Register list/create on `""` and get/update/delete on `/<uuid:item_arg>`.

    `name`/`plural` name the views (`BodyStat`, `BodyStats`), hence the
    endpoints; `noun` ("body stat") names the item in its id's description;
    `write_errors` adds statuses writes can return beyond the usual ones (403
    for a read-only catalog row, 409 for a duplicate).
    """
    resource = Resource(
        schema=schemas.item(),
        endpoint=f"{blp.name}.{name}",
        id_arg=item_arg,
    )

    class Collection(MethodView):
        @authenticated
        @blp.arguments(schemas.query, location="query")
        @blp.response(200, schemas.page)
        @conditional_read
        @_doc(docs.list)
        def get(self, args: dict[str, Any]) -> Response:
            principal = current_principal()
            user_id = principal.user_id
            return resource.page(principal, lambda: service.list_page(db(), user_id, args))

        @authenticated(view_checks_session=one_statement)  # see single_statement below
        @idempotent
        @blp.arguments(schemas.create)
        @blp.response(201, schemas.item)
        @errors(*write_errors)
        @_doc(docs.create)
        def post(self, data: dict[str, Any]) -> Response:
            if autocommit():  # one statement: only where `single_statement` below allows it
                item = service.insert_row(driver_connection(), current_principal(), data)
            else:
                item = service.create(db(), current_user_id(), data)
            return resource.created(item)

    if service.inserts_rows(schemas.create()):
        Collection.post = single_statement(Collection.post)  # type: ignore[method-assign]

    rows = service.shows_rows(resource.schema)

    def read(self: MethodView, *query: dict[str, Any], **ids: uuid.UUID) -> Response:
        principal, item_id, args = current_principal(), ids[item_arg], query[0] if query else {}
        user_id = principal.user_id
        if rows:  # one query checks the session and reads the row (see `get` below)
            connection = driver_connection()
            principal, row = service.read_row(connection, principal, item_id)
            return resource.item(
                principal, lambda: service.shown_row(connection, row, user_id, args)
            )
        return resource.item(principal, lambda: service.show(db(), user_id, item_id, args))

    read = conditional_read(errors(404)(blp.response(200, schemas.item)(_doc(docs.get)(read))))
    if schemas.read is not None:
        read = blp.arguments(schemas.read, location="query")(read)

    class Item(MethodView):
        get = authenticated(read, view_checks_session=rows)

        @authenticated
        @blp.arguments(schemas.update)
        @blp.response(200, schemas.item)
        @errors(404, *write_errors)
        @conditional_write
        @_doc(docs.update)
        def patch(self, changes: dict[str, Any], **ids: uuid.UUID) -> Response:
            item = service.update(
                db(), current_user_id(), ids[item_arg], changes, if_match=if_match()
            )
            return resource.updated(item)

        @authenticated
        @blp.response(204)
        @errors(404, *write_errors)
        @conditional_write
        @_doc(docs.delete)
        def delete(self, **ids: uuid.UUID) -> Response:
            service.delete(db(), current_user_id(), ids[item_arg], if_match=if_match())
            return resource.deleted()

    Collection.__name__ = Collection.__qualname__ = plural
    Item.__name__ = Item.__qualname__ = name
    blp.route("")(Collection)
    item_doc = [{"in": "path", "name": item_arg, "description": f"The {noun}'s id."}]
    blp.route(f"/<uuid:{item_arg}>", parameters=item_doc)(Item)
    return resource
