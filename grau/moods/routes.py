"""/v1/mood-tags and /v1/moods: the user's tags and mood entries."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response

from grau.db.session import one_statement, single_statement
from grau.http import views
from grau.http.extensions import Blueprint, MethodView
from grau.http.idempotency import idempotent
from grau.http.openapi import conditional_read, conditional_write, errors
from grau.http.views import Resource, authenticated
from grau.moods import schemas
from grau.moods.service import MOOD_TAGS, MOODS

blp = Blueprint(
    "mood-tags",
    __name__,
    url_prefix="/v1/mood-tags",
    description="The user's own tags for what was going on: sleep, work, weather, ...",
)

moods_blp = Blueprint(
    "moods",
    __name__,
    url_prefix="/v1/moods",
    description="How the user felt (0 awful ... 6 amazing), when, and with which of their tags.",
)

MOOD_TAG_RESOURCE = Resource(
    schema=schemas.MoodTag(), endpoint=f"{blp.name}.MoodTag", id_arg="tag_id"
)
TAG_ID = {"in": "path", "name": "tag_id", "description": "The mood tag's id."}


@blp.route("")
class MoodTags(MethodView):
    @authenticated
    @blp.arguments(schemas.MoodTagQuery, location="query")
    @blp.response(200, schemas.MoodTagPage)
    @conditional_read
    def get(self, args: dict[str, Any]) -> Response:
        """List mood tags

        The user's own tags, by label by default, filterable by category.
        """
        return views.list_page(MOOD_TAG_RESOURCE, MOOD_TAGS, args)

    @single_statement  # one INSERT, which checks the session too
    @authenticated(view_checks_session=one_statement)
    @idempotent
    @blp.arguments(schemas.MoodTagCreate)
    @blp.response(201, schemas.MoodTag)
    @errors(*(409,))
    def post(self, data: dict[str, Any]) -> Response:
        """Create a mood tag

        A label unique among the user's tags (409 if they already have it),
        a category and an optional icon.
        """
        return views.create(MOOD_TAG_RESOURCE, MOOD_TAGS, data)


@blp.route("/<uuid:tag_id>", parameters=[TAG_ID])
class MoodTag(MethodView):
    @authenticated(view_checks_session=True)  # read_in_one_query checks it
    @conditional_read
    @errors(404)
    @blp.response(200, schemas.MoodTag)
    def get(self, tag_id: uuid.UUID) -> Response:
        """Get a mood tag

        One of the user's tags, with an ETag: send it in If-Match when
        changing or deleting it.
        """
        return views.read_in_one_query(MOOD_TAG_RESOURCE, MOOD_TAGS, tag_id, {})

    @authenticated
    @blp.arguments(schemas.MoodTagUpdate)
    @blp.response(200, schemas.MoodTag)
    @errors(404, *(409,))
    @conditional_write
    def patch(self, changes: dict[str, Any], tag_id: uuid.UUID) -> Response:
        """Update a mood tag

        Partial update: only the fields sent change. Renaming to a label the
        user already has is a 409.
        """
        return views.update(MOOD_TAG_RESOURCE, MOOD_TAGS, tag_id, changes)

    @authenticated
    @blp.response(204)
    @errors(404, *(409,))
    @conditional_write
    def delete(self, tag_id: uuid.UUID) -> Response:
        """Delete a mood tag

        Removes the tag for good, and from every mood that carried it (those
        moods get a new ETag). With If-Match, only if it is unchanged since it
        was read.
        """
        return views.delete(MOOD_TAG_RESOURCE, MOOD_TAGS, tag_id)


MOOD_RESOURCE = Resource(schema=schemas.Mood(), endpoint=f"{moods_blp.name}.Mood", id_arg="mood_id")
MOOD_ID = {"in": "path", "name": "mood_id", "description": "The mood's id."}


@moods_blp.route("")
class Moods(MethodView):
    @authenticated
    @moods_blp.arguments(schemas.MoodQuery, location="query")
    @moods_blp.response(200, schemas.MoodPage)
    @conditional_read
    def get(self, args: dict[str, Any]) -> Response:
        """List moods

        The user's moods with their tag ids, newest first by default,
        filterable by when they were recorded (`recorded_from`, `recorded_to`,
        both inclusive), by value (`value_min`, `value_max`, inclusive) and by
        tag (`tag_id`).
        """
        return views.list_page(MOOD_RESOURCE, MOODS, args)

    @authenticated
    @idempotent
    @moods_blp.arguments(schemas.MoodCreate)
    @moods_blp.response(201, schemas.Mood)
    @errors(*(409,))
    def post(self, data: dict[str, Any]) -> Response:
        """Record a mood

        A value from 0 (awful) to 6 (amazing), when it was felt, an optional
        note, and optionally `tag_ids`: the ids of the user's own mood tags
        (422 on `tag_ids` for any other id). The response adds the value's
        `label`.
        """
        return views.create(MOOD_RESOURCE, MOODS, data)


@moods_blp.route("/<uuid:mood_id>", parameters=[MOOD_ID])
class Mood(MethodView):
    @authenticated
    @conditional_read
    @errors(404)
    @moods_blp.response(200, schemas.Mood)
    def get(self, mood_id: uuid.UUID) -> Response:
        """Get a mood

        One of the user's moods with its tag ids, with an ETag: send it in
        If-Match when changing or deleting it.
        """
        return views.read(MOOD_RESOURCE, MOODS, mood_id, {})

    @authenticated
    @moods_blp.arguments(schemas.MoodUpdate)
    @moods_blp.response(200, schemas.Mood)
    @errors(404, *(409,))
    @conditional_write
    def patch(self, changes: dict[str, Any], mood_id: uuid.UUID) -> Response:
        """Update a mood

        Partial update: only the fields sent change. `tag_ids` replaces the
        mood's whole set of tags (`[]` removes them all); every id must be one
        of the user's own mood tags (else 422 on `tag_ids`).
        """
        return views.update(MOOD_RESOURCE, MOODS, mood_id, changes)

    @authenticated
    @moods_blp.response(204)
    @errors(404, *(409,))
    @conditional_write
    def delete(self, mood_id: uuid.UUID) -> Response:
        """Delete a mood

        Removes the mood for good (its tags stay). With If-Match, only if it
        is unchanged since it was read.
        """
        return views.delete(MOOD_RESOURCE, MOODS, mood_id)
