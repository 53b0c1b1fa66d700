"""GrauMatcher matches every request as Werkzeug's own matcher does.

Its loop must return what Werkzeug's search returns, or leave the request to
that search: each test runs the same requests through both and compares the
rule, the arguments and every redirect or refusal.
"""

from __future__ import annotations

import pickle
import re
import uuid
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import BaseConverter, Map, Rule, ValidationError
from werkzeug.routing.matcher import StateMachineMatcher

from grau.http.routing import GrauMap, GrauMatcher

ITEM = str(uuid.UUID(int=7))
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _outcome(matcher: StateMachineMatcher, path: str, method: str, websocket: bool) -> Any:
    """What `matcher` makes of a request: the rule and arguments, or what it raised."""
    try:
        rule, values = matcher.match("", path, method, websocket)
    except Exception as exc:  # a redirect or a refusal: compared by kind and content
        return type(exc).__name__, sorted(vars(exc).items(), key=str)
    return id(rule), dict(values)  # (a Rule equals any rule of the same path)


def _werkzeugs(ours: GrauMatcher) -> StateMachineMatcher:
    """Werkzeug's own matcher on the same states (GrauMatcher builds them as Werkzeug's)."""
    plain = StateMachineMatcher(ours.merge_slashes)
    plain._root = ours._root
    return plain


def _paths_of(rule: Rule) -> list[str]:
    """The paths a rule answers, and near misses of each (slashes, refused values)."""
    samples = {"UUIDConverter": ITEM, "IntegerConverter": "3"}
    converters = rule._converters
    filled = re.sub(
        r"<(?:[^:>]+:)?([^>]+)>",
        lambda found: samples.get(type(converters[found[1]]).__name__, "some-name"),
        rule.rule,
    )
    near = [filled + "/", filled.rstrip("/"), filled.replace("/", "//", 2), filled.upper()]
    if ITEM in filled:
        near += [filled.replace(ITEM, "not-an-id"), filled.replace(ITEM, ITEM.upper())]
    return [filled, *near]


def _compare(url_map: Map, paths: list[str]) -> int:
    ours = url_map._matcher
    assert isinstance(ours, GrauMatcher)
    url_map.update()
    plain = _werkzeugs(ours)
    compared = 0
    for path in paths:
        for method in METHODS:
            for websocket in (False, True):
                expected = _outcome(plain, path, method, websocket)
                assert _outcome(ours, path, method, websocket) == expected, (path, method)
                compared += 1
    return compared


def test_every_route_of_graus_matches_as_werkzeug_matches_it(app: Flask) -> None:
    assert isinstance(app.url_map, GrauMap)
    paths = ["/", "", "/v1", "/v1/", "/nowhere", "/v1/body-stats/a/b"]
    for rule in app.url_map.iter_rules():
        paths += _paths_of(rule)
    assert _compare(app.url_map, paths) > 1000


def test_the_usual_requests_are_matched_by_the_loop(app: Flask) -> None:
    """Static paths and a last segment's id are the loop's; were it never to match,
    grau would pay for both matchers."""
    app.url_map.update()
    matcher = app.url_map._matcher
    for path, method in [
        ("/v1/body-stats", "GET"),
        (f"/v1/body-stats/{ITEM}", "GET"),
        (f"/v1/body-stats/{ITEM}", "PATCH"),
        ("/health", "GET"),
        (f"/v1/workouts/{ITEM}/sets/{ITEM}", "GET"),
    ]:
        assert matcher._first_branch("", path, method) is not None, path
    assert matcher._first_branch("", "/v1/body-stats", "DELETE") is None  # Werkzeug's 405


class Refusing(BaseConverter):
    """A converter whose pattern takes what `to_python` refuses."""

    def to_python(self, value: str) -> Any:
        if value == "no":
            raise ValidationError()
        return value


def test_werkzeugs_order_redirects_and_refusals_hold() -> None:
    """Rules that meet on one path: static before dynamic, converters by weight, methods
    another rule takes, trailing slashes (strict or not), merged slashes, an alias,
    defaults, a refused value, a WebSocket and a part with a slash suffix."""
    url_map = GrauMap(
        [
            Rule("/x/search", endpoint="search", methods=["GET"]),
            Rule("/x/search", endpoint="search-post", methods=["POST"]),
            Rule("/x/<int:n>", endpoint="number"),
            Rule("/x/<name>", endpoint="name", methods=["GET", "POST"]),
            Rule("/x/<path:rest>", endpoint="rest", methods=["DELETE"]),
            Rule("/y/", endpoint="slashed"),
            Rule("/z", endpoint="loose", strict_slashes=False),
            Rule("/a/<int:n>", endpoint="alias", alias=True),
            Rule("/a/<int:n>", endpoint="alias"),
            Rule("/d", endpoint="defaults", defaults={"page": 1}),
            Rule("/r/<refusing:v>", endpoint="refused"),
            Rule("/r/<v>", endpoint="refused-fallback"),
            Rule("/w", endpoint="socket", websocket=True),
            Rule("/s/<path:p>/", endpoint="suffixed"),
            Rule("/m/<int:a>-<int:b>", endpoint="two"),
        ],
        converters={"refusing": Refusing},
        redirect_defaults=True,
    )
    paths = ["/x/search", "/x/7", "/x/seven", "/x/a/b", "/x/", "/x", "/y", "/y/", "/z"]
    paths += ["/z/", "/a/3", "/d", "/r/no", "/r/yes", "/w", "/s/a/b", "/s/a/b/", "/m/1-2"]
    paths += ["//x//7", "/x//search", "/d/", "/nowhere"]
    assert _compare(url_map, paths) == len(paths) * len(METHODS) * 2


@pytest.mark.parametrize("written", [ITEM, ITEM.upper(), "0fA1b2c3-d4e5-46f7-8899-aabbccddeeff"])
def test_an_id_in_a_path_is_the_uuid_python_reads(app: Flask, written: str) -> None:
    app.url_map.update()
    _, values = app.url_map._matcher.match("", f"/v1/body-stats/{written}", "GET", False)
    found, expected = values["stat_id"], uuid.UUID(written)
    assert type(found) is uuid.UUID and found == expected and hash(found) == hash(expected)
    assert (str(found), repr(found), found.version, found.is_safe) == (
        str(expected),
        repr(expected),
        expected.version,
        expected.is_safe,
    )
    assert pickle.loads(pickle.dumps(found)) == expected
    with pytest.raises(TypeError):
        found.int = 1  # immutable, as any UUID
