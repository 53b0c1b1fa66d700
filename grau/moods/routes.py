"""/v1/mood-tags and /v1/moods: the user's tags and mood entries."""

from __future__ import annotations

from grau.crud_routes import Docs, Schemas, crud_routes
from grau.extensions import Blueprint
from grau.moods.schemas import (
    Mood,
    MoodCreate,
    MoodPage,
    MoodQuery,
    MoodTag,
    MoodTagCreate,
    MoodTagPage,
    MoodTagQuery,
    MoodTagUpdate,
    MoodUpdate,
)
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

crud_routes(
    blp,
    MOOD_TAGS,
    name="MoodTag",
    plural="MoodTags",
    noun="mood tag",
    item_arg="tag_id",
    schemas=Schemas(
        item=MoodTag,
        create=MoodTagCreate,
        update=MoodTagUpdate,
        page=MoodTagPage,
        query=MoodTagQuery,
    ),
    docs=Docs(
        list="""List mood tags

        The user's own tags, by label by default, filterable by category.
        """,
        create="""Create a mood tag

        A label unique among the user's tags (409 if they already have it),
        a category and an optional icon.
        """,
        get="""Get a mood tag

        One of the user's tags, with an ETag: send it in If-Match when
        changing or deleting it.
        """,
        update="""Update a mood tag

        Partial update: only the fields sent change. Renaming to a label the
        user already has is a 409.
        """,
        delete="""Delete a mood tag

        Removes the tag for good, and from every mood that carried it (those
        moods get a new ETag). With If-Match, only if it is unchanged since it
        was read.
        """,
    ),
    write_errors=(409,),
)

crud_routes(
    moods_blp,
    MOODS,
    name="Mood",
    plural="Moods",
    noun="mood",
    item_arg="mood_id",
    schemas=Schemas(
        item=Mood,
        create=MoodCreate,
        update=MoodUpdate,
        page=MoodPage,
        query=MoodQuery,
    ),
    docs=Docs(
        list="""List moods

        The user's moods with their tag ids, newest first by default,
        filterable by when they were recorded (`recorded_from`, `recorded_to`,
        both inclusive), by value (`value_min`, `value_max`, inclusive) and by
        tag (`tag_id`).
        """,
        create="""Record a mood

        A value from 0 (awful) to 6 (amazing), when it was felt, an optional
        note, and optionally `tag_ids`: the ids of the user's own mood tags
        (422 on `tag_ids` for any other id). The response adds the value's
        `label`.
        """,
        get="""Get a mood

        One of the user's moods with its tag ids, with an ETag: send it in
        If-Match when changing or deleting it.
        """,
        update="""Update a mood

        Partial update: only the fields sent change. `tag_ids` replaces the
        mood's whole set of tags (`[]` removes them all); every id must be one
        of the user's own mood tags (else 422 on `tag_ids`).
        """,
        delete="""Delete a mood

        Removes the mood for good (its tags stay). With If-Match, only if it
        is unchanged since it was read.
        """,
    ),
    write_errors=(409,),
)
