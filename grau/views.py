"""The work every owned resource's views share, called from inside those views.

Each resource declares its views in its own `routes.py`: a `MethodView` for
the collection (`get` lists, `post` creates) and one for the item (`get`,
`patch`, `delete`), whose decorators make the contract and whose docstrings
document it. Their bodies are one call each to a function here, which runs
the resource's service for the signed-in user and answers through its
`grau.crud.Resource` (cached reads, ETags, Location):

    list_page          GET    /            paginated, filtered, sorted
    create             POST   /            201, Location, ETag
    read               GET    /<id>        ETag, If-None-Match
    read_in_one_query  GET    /<id>        the same, with the session check in one query
    update             PATCH  /<id>        partial update; optional If-Match (412 when stale)
    delete             DELETE /<id>        optional If-Match
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from flask import Response

from grau.auth.tokens import current_principal, current_user_id
from grau.crud import OwnedService, Resource, if_match
from grau.db.session import autocommit, db, driver_connection


def list_page(resource: Resource, service: OwnedService, args: Mapping[str, Any]) -> Response:
    principal = current_principal()
    user_id = principal.user_id
    return resource.page(principal, lambda: service.list_page(db(), user_id, args))


def create(resource: Resource, service: OwnedService, data: Mapping[str, Any]) -> Response:
    """The new item; as one statement where the view runs under `single_statement` (and
    so `authenticated(view_checks_session=one_statement)`), else in a transaction."""
    if autocommit():
        item = service.insert_row(driver_connection(), current_principal(), data)
    else:
        item = service.create(db(), current_user_id(), data)
    return resource.created(item)


def read(
    resource: Resource, service: OwnedService, item_id: uuid.UUID, args: Mapping[str, Any]
) -> Response:
    user_id = current_user_id()
    return resource.item(current_principal(), lambda: service.show(db(), user_id, item_id, args))


def read_in_one_query(
    resource: Resource, service: OwnedService, item_id: uuid.UUID, args: Mapping[str, Any]
) -> Response:
    """`read` for a view whose token check left the session check to this read
    (`authenticated(view_checks_session=True)`): one query checks the session and
    reads the row (`OwnedService.read_row`), converted only on a cache miss."""
    if (id(resource), id(service)) not in _ONE_QUERY_READS:
        if not service.shows_rows(resource.schema):
            raise RuntimeError(f"{service.model.__name__} cannot be read in one query")
        _ONE_QUERY_READS.add((id(resource), id(service)))
    connection = driver_connection()
    principal, row = service.read_row(connection, current_principal(), item_id)
    user_id = principal.user_id
    return resource.item(principal, lambda: service.shown_row(connection, row, user_id, args))


# The (resource, service) pairs `read_in_one_query` found can be read so: where every
# field the item's schema shows is a column and reads load no relationships.
_ONE_QUERY_READS: set[tuple[int, int]] = set()


def update(
    resource: Resource, service: OwnedService, item_id: uuid.UUID, changes: Mapping[str, Any]
) -> Response:
    item = service.update(db(), current_user_id(), item_id, changes, if_match=if_match())
    return resource.updated(item)


def delete(resource: Resource, service: OwnedService, item_id: uuid.UUID) -> Response:
    service.delete(db(), current_user_id(), item_id, if_match=if_match())
    return resource.deleted()
