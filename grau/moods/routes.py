"""/v1/mood-tags and /v1/moods: the user's tags and mood entries."""

from __future__ import annotations

from grau.extensions import Blueprint

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
