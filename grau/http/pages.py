"""What every list takes and gives: page arguments, the page envelope, the sort field."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from grau.http.fields import how_many
from grau.http.schemas import Schema

PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100
PAGE_MAX = 100_000


class PageArgs(Schema):
    """Query parameters shared by every list."""

    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=PAGE_MAX),
        metadata={"description": "1-based page number.", "example": 1},
    )
    page_size = fields.Integer(
        load_default=PAGE_SIZE_DEFAULT,
        validate=validate.Range(min=1, max=PAGE_SIZE_MAX),
        metadata={"description": f"Items per page (at most {PAGE_SIZE_MAX}).", "example": 20},
    )


class Pagination(Schema):
    """Where a page sits in the whole list."""

    COMPLETE = True

    page = how_many("This page's number.", 1, low=1, high=PAGE_MAX)
    page_size = how_many("Items per page.", 20, low=1, high=PAGE_SIZE_MAX)
    total = how_many("Items in the whole list.", 42)
    total_pages = how_many("Number of pages.", 3)


def page_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The `{"items": [...], "pagination": {...}}` envelope for one item schema."""
    return type(
        name,
        (Schema,),
        {
            "__doc__": f"A page of {item.__name__} items.",
            "COMPLETE": True,
            "items": fields.List(
                fields.Nested(item),
                validate=validate.Length(max=PAGE_SIZE_MAX),
                metadata={"description": "This page's items."},
            ),
            "pagination": fields.Nested(Pagination, metadata={"description": "Page position."}),
        },
    )


def sort_field(choices: tuple[str, ...], default: str) -> fields.String:
    return fields.String(
        load_default=default,
        validate=validate.OneOf(choices),
        metadata={
            "description": "Sort order: a field name, `-` in front for descending. "
            f"Ties are broken by id. Default `{default}`.",
            "example": default,
        },
    )
