"""Fail on a breaking change to grau's OpenAPI contract unless info.version says so.

    python contract/spec/breaking.py openapi/openapi.json      # make spec-compat

The spec is compared with the last release's: `openapi/openapi.json` at the
newest `v*` tag reachable from HEAD (`git show TAG:openapi/openapi.json`), or,
while no release is tagged, the committed baseline `openapi/baseline/openapi.json`
(`--base FILE` compares with any file). A breaking change passes only if
info.version's major was bumped, or its minor while the major is 0.

Releasing: bump `grau.__version__`, `make openapi`, copy the spec into the
baseline (`breaking.py --write-baseline openapi/openapi.json`), commit, tag
`vX.Y.Z`. The tag is then the base; the baseline is the same spec, so a clone
without tags (a shallow CI checkout) still compares with the last release.
Before the first release, a deliberate breaking change either bumps the minor
or refreshes the baseline in the same commit, whose message says why.

Breaking, for a client written against the old spec:
- an operation removed (path parameter names do not count), its operationId
  changed (SDK method names), or a public operation now needing a token;
- a request parameter or body field removed (grau answers unknown ones with
  422), newly required, narrowed in type or enum; a body newly required or
  removed; a request media type dropped;
- a success status code removed; a response losing a media type, a success
  response a header; a response field removed, no longer required, or gaining
  a type (e.g. null). A response enum gaining a value is only noted: generated SDK
  enums may reject it, but new values are how enums grow.
A `oneOf` or `anyOf` of objects (a body documented case by case: a weight in
kg, in lb, ...) counts as the one object its cases make together: each field
any case has, with the types and values of all of them, required where every
case requires it. Not compared: descriptions, examples, tags, bounds (length,
range, pattern), and which combinations of values the cases allow.

We check this ourselves because the tools at hand do not fit OpenAPI 3.1:
npm `openapi-diff` 0.24.1 refuses it ("Unsupported OpenAPI version: 3.1.0"),
`oasdiff` is a Go binary on neither npm nor PyPI, and npm `api-smart-diff`
1.0.6 rates a response field's type change and removal as non-breaking.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
REQUEST, RESPONSE = "request", "response"
Json = dict[str, Any]


@dataclass
class Report:
    """What changed: `breaking` fails the gate unless the version allows it; `notes` never do."""

    breaking: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ the comparison


def compare(old: Json, new: Json) -> Report:
    """Every breaking change from `old` to `new`, for clients written against `old`."""
    report = Report()
    old_ops, new_ops = dict(_operations(old)), dict(_operations(new))
    for key, old_op in old_ops.items():
        where = f"{key[1].upper()} {old_op['path']}"
        if key not in new_ops:
            report.breaking.append(f"{where}: operation removed")
            continue
        _Comparison(old, new, report, where).operation(old_op, new_ops[key])
    return report


def _operations(spec: Json) -> Iterator[tuple[tuple[str, str], Json]]:
    for path, item in spec.get("paths", {}).items():
        item = _resolve(spec, item)
        shared = item.get("parameters", [])
        for method in METHODS:
            if method in item:
                # `{stat_id}` and `{id}` are the same URL to a client.
                key = (re.sub(r"\{[^}]*\}", "{}", path), method)
                yield key, {"path": path, "shared_parameters": shared, **item[method]}


def _resolve(spec: Json, node: Any) -> Any:
    """Follow local `$ref`s (siblings of a `$ref` are annotations: ignored)."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise ValueError(f"cannot resolve $ref {ref!r}")
        seen.add(ref)
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


class _Comparison:
    """Compares one operation of two specs, reporting under `where`."""

    def __init__(self, old: Json, new: Json, report: Report, where: str) -> None:
        self.old, self.new, self.report, self.where = old, new, report, where
        self.seen: set[tuple[int, int, str]] = set()

    def breaking(self, what: str) -> None:
        self.report.breaking.append(f"{self.where}: {what}")

    def operation(self, old: Json, new: Json) -> None:
        if old.get("operationId") != new.get("operationId"):
            self.breaking(
                f"operationId changed from {old.get('operationId')!r} to {new.get('operationId')!r}"
            )
        if _is_public(self.old, old) and not _is_public(self.new, new):
            self.breaking("now requires authentication")
        self.parameters(old, new)
        self.request_body(old.get("requestBody"), new.get("requestBody"))
        self.responses(old.get("responses", {}), new.get("responses", {}))

    # -- requests

    def parameters(self, old_op: Json, new_op: Json) -> None:
        old, new = self._parameters(self.old, old_op), self._parameters(self.new, new_op)
        for key, param in old.items():
            name = f"{key[0]} parameter `{param['name']}`"
            if key not in new:
                self.breaking(f"{name} removed")
                continue
            if new[key].get("required") and not param.get("required"):
                self.breaking(f"{name} is now required")
            self.schema(param.get("schema"), new[key].get("schema"), REQUEST, name)
        for key, param in new.items():
            if key not in old and param.get("required"):
                if self._renamed_from(old, new, param):
                    continue  # clients that send the old name are answered as before
                self.breaking(f"new required {key[0]} parameter `{param['name']}`")

    @staticmethod
    def _renamed_from(
        old: dict[tuple[str, str], Json], new: dict[tuple[str, str], Json], param: Json
    ) -> bool:
        """Whether `param` replaces one the old spec had, kept as its deprecated alias
        (`x-replaced-by` in the alias's schema: grau.http.deprecation)."""
        return any(
            key in old
            and alias.get("deprecated")
            and (alias.get("schema") or {}).get("x-replaced-by") == param["name"]
            for key, alias in new.items()
        )

    def _parameters(self, spec: Json, op: Json) -> dict[tuple[str, str], Json]:
        """Parameters by (in, name); path parameters by position, since names do not matter."""
        path_names = re.findall(r"\{([^}]*)\}", op["path"])
        found: dict[tuple[str, str], Json] = {}
        # The operation's own parameters come last: they override the path item's.
        for raw in [*op["shared_parameters"], *op.get("parameters", [])]:
            param = _resolve(spec, raw)
            where, name = param["in"], param["name"]
            if where == "path":
                if name not in path_names:
                    continue
                name = str(path_names.index(name))
            elif where == "header":
                name = name.lower()
            found[(where, name)] = param
        return found

    def request_body(self, old_raw: Json | None, new_raw: Json | None) -> None:
        old = _resolve(self.old, old_raw) if old_raw else {}
        new = _resolve(self.new, new_raw) if new_raw else {}
        if new.get("required") and not old.get("required"):
            self.breaking("request body is now required")
        if old and not new:
            self.breaking("request body removed")
            return
        for media, content in old.get("content", {}).items():
            if media not in new.get("content", {}):
                self.breaking(f"request body no longer accepts {media}")
                continue
            self.schema(
                content.get("schema"),
                new["content"][media].get("schema"),
                REQUEST,
                f"request body ({media})",
            )

    # -- responses

    def responses(self, old: Json, new: Json) -> None:
        for status, old_raw in old.items():
            success = str(status).startswith("2")
            if status not in new:
                if success:
                    self.breaking(f"success status {status} removed")
                continue
            old_response = _resolve(self.old, old_raw)
            new_response = _resolve(self.new, new[status])
            what = f"{status} response"
            for media, content in old_response.get("content", {}).items():
                if media not in new_response.get("content", {}):
                    self.breaking(f"{what} no longer returns {media}")
                    continue
                new_schema = new_response["content"][media].get("schema")
                self.schema(content.get("schema"), new_schema, RESPONSE, f"{what} ({media})")
            if success:
                new_headers = {h.lower() for h in new_response.get("headers", {})}
                for header in old_response.get("headers", {}):
                    if header.lower() not in new_headers:
                        self.breaking(f"{what} no longer has header `{header}`")

    # -- schemas

    def schema(self, old_raw: Any, new_raw: Any, direction: str, where: str) -> None:
        """Compare two schemas as a request (what clients send) or a response (what they read)."""
        if not isinstance(old_raw, dict) or not isinstance(new_raw, dict):
            return
        old, new = _flatten(self.old, old_raw), _flatten(self.new, new_raw)
        visit = (id(old_raw), id(new_raw), direction)
        if visit in self.seen:  # recursive schemas
            return
        self.seen.add(visit)
        self._types(old, new, direction, where)
        self._enum(old, new, direction, where)
        self._properties(old, new, direction, where)
        self.schema(old.get("items"), new.get("items"), direction, f"{where}[]")
        self.schema(
            old.get("additionalProperties"),
            new.get("additionalProperties"),
            direction,
            f"{where}{{*}}",
        )

    def _types(self, old: Json, new: Json, direction: str, where: str) -> None:
        old_types, new_types = _types(old), _types(new)
        # A request must still accept all that clients sent; a response may return
        # only what clients already handle.
        wide, narrow = (new_types, old_types) if direction == REQUEST else (old_types, new_types)
        if old_types != new_types and not _covers(wide, narrow):
            self.breaking(f"{where}: type changed from {_show(old_types)} to {_show(new_types)}")

    def _enum(self, old: Json, new: Json, direction: str, where: str) -> None:
        old_values, new_values = _enum(old), _enum(new)
        if direction == REQUEST and new_values is not None:
            if old_values is None:
                self.breaking(f"{where}: now limited to {', '.join(sorted(new_values))}")
            elif lost := sorted(old_values - new_values):
                self.breaking(f"{where}: no longer accepts {', '.join(lost)}")
        if direction == RESPONSE and old_values is not None:
            gained = sorted(new_values - old_values) if new_values is not None else ["any value"]
            if gained:
                self.report.notes.append(
                    f"{self.where}: {where}: may now return {', '.join(gained)}"
                )

    def _properties(self, old: Json, new: Json, direction: str, where: str) -> None:
        # A request never carries readOnly fields; a response never writeOnly ones.
        skip = "readOnly" if direction == REQUEST else "writeOnly"
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name, old_prop in old_props.items():
            if _flatten(self.old, old_prop).get(skip):
                continue
            if name not in new_props:
                self.breaking(f"{where}: field `{name}` removed")
                continue
            if direction == RESPONSE and name in old_required and name not in new_required:
                self.breaking(f"{where}: field `{name}` is no longer always present")
            self.schema(old_prop, new_props[name], direction, f"{where}.{name}")
        if direction == REQUEST:
            for name in sorted(new_required - old_required):
                if not _flatten(self.new, new_props.get(name, {})).get(skip):
                    self.breaking(f"{where}: field `{name}` is now required")


def _is_public(spec: Json, op: Json) -> bool:
    """No security requirement, or an empty one (auth optional)."""
    requirements = op.get("security", spec.get("security", []))
    return not requirements or any(not requirement for requirement in requirements)


def _unwrap(spec: Json, schema: Json) -> Json:
    """A property as one schema: a `$ref` with keywords beside it (a description, readOnly)
    as its target with them, and a nullable reference (`anyOf` of it and null) as its
    target with "null" among its types (and enum values), as it was spelled inline."""
    if "$ref" in schema and len(schema) > 1:
        target = _unwrap(spec, _resolve(spec, {"$ref": schema["$ref"]}))
        return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    options = schema.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        inner = _resolve(spec, _unwrap(spec, next(o for o in options if o != {"type": "null"})))
        merged = {**inner, **{k: v for k, v in schema.items() if k != "anyOf"}}
        types = _types(inner)
        if types is not None:
            merged["type"] = sorted(types | {"null"})
        if "enum" in merged and None not in merged["enum"]:
            merged["enum"] = [*merged["enum"], None]
        return merged
    return schema


def _flatten(spec: Json, schema: Json) -> Json:
    """The schema with `$ref`s followed, and `allOf` parts or the cases of a `oneOf` or
    `anyOf` of objects merged into one object schema."""
    schema = _resolve(spec, _unwrap(spec, schema))
    for key in ("oneOf", "anyOf"):
        if key in schema:
            cases = [_flatten(spec, case) for case in schema[key]]
            if all("properties" in case for case in cases):
                return _joined_cases(spec, schema, key, cases)
    if "allOf" not in schema:
        return schema
    merged: Json = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        part = _flatten(spec, part)
        merged.setdefault("properties", {}).update(part.get("properties", {}))
        merged["required"] = sorted({*merged.get("required", []), *part.get("required", [])})
        for key, value in part.items():
            if key not in ("properties", "required"):
                merged.setdefault(key, value)
    return merged


def _joined_cases(spec: Json, schema: Json, key: str, cases: list[Json]) -> Json:
    """The object that `cases` make together: every field any of them has (its types and
    values joined), required where all of them require it."""
    joined: Json = {k: v for k, v in schema.items() if k not in (key, "discriminator")}
    properties: Json = {}
    for case in cases:
        for name, prop in case["properties"].items():
            prop = _flatten(spec, prop)
            properties[name] = _joined(properties[name], prop) if name in properties else prop
    joined["type"] = "object"
    joined["properties"] = properties
    joined["required"] = sorted(set.intersection(*(set(c.get("required", [])) for c in cases)))
    return joined


def _joined(first: Json, second: Json) -> Json:
    """One field's schemas in two cases as one: either's types, either's values."""
    joined = {**first, **second}
    joined.pop("const", None)
    first_types, second_types = _types(first), _types(second)
    if first_types is None or second_types is None:
        joined.pop("type", None)
    else:
        joined["type"] = sorted(first_types | second_types)
    first_values, second_values = _enum(first), _enum(second)
    if first_values is None or second_values is None:
        joined.pop("enum", None)
    else:
        joined["enum"] = [json.loads(value) for value in sorted(first_values | second_values)]
    return joined


def _types(schema: Json) -> set[str] | None:
    """The JSON types a schema allows, or None for any type."""
    if "type" not in schema:
        if "enum" in schema:  # an untyped enum allows the types of its values
            return {_json_type(value) for value in schema["enum"]}
        return None
    declared = schema["type"]
    types = set(declared) if isinstance(declared, list) else {declared}
    if schema.get("nullable"):  # OpenAPI 3.0 spelling of "null"
        types.add("null")
    return types


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}[type(value)]


def _covers(wide: set[str] | None, narrow: set[str] | None) -> bool:
    """Every type `narrow` allows, `wide` allows too (None is any type; an integer is a number)."""
    if wide is None:
        return True
    if narrow is None:
        return False
    return all(t in wide or (t == "integer" and "number" in wide) for t in narrow)


def _enum(schema: Json) -> set[str] | None:
    """The values a schema allows (an `enum`'s or its `const`), or None for any."""
    if "const" in schema:
        return {json.dumps(schema["const"])}
    if "enum" not in schema:
        return None
    return {json.dumps(value) for value in schema["enum"]}


def _show(types: set[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types))


# ----------------------------------------------------------------- versions


def allows_breaking(old_version: str, new_version: str) -> bool:
    """A bumped major, or a bumped minor while the major is 0 (semver's 0.x rule)."""
    old, new = _semver(old_version), _semver(new_version)
    if old is None or new is None:
        return False
    if new[0] != old[0]:
        return new[0] > old[0]
    return new[0] == 0 and new[1] > old[1]


def _semver(version: str) -> tuple[int, int] | None:
    match = re.match(r"v?(\d+)\.(\d+)", version)
    return (int(match[1]), int(match[2])) if match else None


def required_bump(version: str) -> str:
    parsed = _semver(version)
    if parsed is None:
        return "a MAJOR.MINOR.PATCH version"
    major, minor = parsed
    return f"{major}.{minor + 1}.0" if major == 0 else f"{major + 1}.0.0"


# ------------------------------------------------------------- the last release


def _git(repo: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return None
    return done.stdout if done.returncode == 0 else None


def baseline_path(spec_path: Path) -> Path:
    return spec_path.parent / "baseline" / spec_path.name


def last_release(spec_path: Path) -> tuple[str, str]:
    """(label, text) of the spec at the newest `v*` tag before HEAD, else of the baseline."""
    repo = spec_path.resolve().parent
    top = _git(repo, "rev-parse", "--show-toplevel")
    tag = _git(repo, "describe", "--tags", "--abbrev=0", "--match", "v*", "HEAD") if top else None
    if top and tag:
        tag = tag.strip()
        relative = spec_path.resolve().relative_to(Path(top.strip()).resolve()).as_posix()
        text = _git(repo, "show", f"{tag}:{relative}")
        if text is not None:
            return f"{relative} at release tag {tag}", text
        print(f"note: {tag} has no {relative}; using the baseline.")
    baseline = baseline_path(spec_path)
    if not baseline.exists():
        raise SystemExit(
            f"No v* release tag and no {baseline}: create it with "
            f"`python contract/spec/breaking.py --write-baseline {spec_path}`."
        )
    return f"the baseline {baseline} (no v* release tag yet)", baseline.read_text()


# ---------------------------------------------------------------------- the gate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("spec", type=Path, help="the spec to check, e.g. openapi/openapi.json")
    parser.add_argument("--base", type=Path, help="compare with this file, not the last release")
    parser.add_argument(
        "--write-baseline",
        action="store_true",
        help="copy the spec to the baseline (at a release, or a deliberate pre-release break)",
    )
    args = parser.parse_args(argv)
    if args.write_baseline:
        target = baseline_path(args.spec)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.spec, target)
        print(f"wrote {target}")
        return 0

    if args.base:
        label, base_text = str(args.base), args.base.read_text()
    else:
        label, base_text = last_release(args.spec)
    old, new = json.loads(base_text), json.loads(args.spec.read_text())
    old_version, new_version = old["info"]["version"], new["info"]["version"]
    print(f"Comparing {args.spec}, version {new_version}, with {label}, version {old_version}.")

    report = compare(old, new)
    for note in report.notes:
        print(f"note: {note}")
    if not report.breaking:
        print("No breaking changes.")
        return 0
    print(f"{len(report.breaking)} breaking change(s):")
    for change in report.breaking:
        print(f"  - {change}")
    if allows_breaking(old_version, new_version):
        print(f"Allowed: info.version went from {old_version} to {new_version}.")
        return 0
    print(
        f"\nFAIL: breaking changes need info.version {required_bump(old_version)} or later "
        f"(grau.__version__; it is {new_version}). Or make the change additive: new "
        "fields optional, old ones kept. Before the first release tag, a deliberate "
        "break may instead refresh the baseline: "
        f"`python contract/spec/breaking.py --write-baseline {args.spec}`."
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
