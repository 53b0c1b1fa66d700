#!/usr/bin/env python3
"""Copy the Swagger UI and ReDoc browser assets from node_modules into grau/static.

The API docs pages (/docs, /redoc) must work offline, so the assets are shipped
inside the Python package instead of being loaded from a CDN.

Usage (from the repository root, after `npm install`):

    python3 scripts/vendor_docs_assets.py

Sources are the exact versions pinned in package.json / package-lock.json:
npm `swagger-ui-dist` (Swagger UI 5, needed for OpenAPI 3.1) and npm `redoc` 2.x.

Copied files are exactly what flask-smorest's templates reference
(flask_smorest/spec/templates/swagger_ui.html loads
`{OPENAPI_SWAGGER_UI_URL}swagger-ui.css`, `swagger-ui-standalone-preset.js` and
`swagger-ui-bundle.js`; redoc.html loads the single script OPENAPI_REDOC_URL),
plus the licence texts that must travel with them. Trailing source-map comments
are removed so browsers do not request .map files that are not shipped, and
ReDoc's CDN-hosted attribution logo is replaced by an inline image (PATCHES).

Stdlib only. Exits non-zero with a message if any expected file is missing.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
STATIC = ROOT / "grau" / "static"

# (npm package, expected major version, destination dir, [(source path in package, dest name)])
ASSETS = [
    (
        "swagger-ui-dist",
        5,
        STATIC / "swagger-ui",
        [
            ("swagger-ui-bundle.js", "swagger-ui-bundle.js"),
            ("swagger-ui-standalone-preset.js", "swagger-ui-standalone-preset.js"),
            ("swagger-ui.css", "swagger-ui.css"),
            ("LICENSE", "LICENSE"),
            ("NOTICE", "NOTICE"),  # Apache-2.0 requires redistributing NOTICE
            # Third-party licences of code bundled into the .js files (the
            # bundles' first line points to these).
            ("swagger-ui-bundle.js.LICENSE.txt", "swagger-ui-bundle.js.LICENSE.txt"),
            (
                "swagger-ui-standalone-preset.js.LICENSE.txt",
                "swagger-ui-standalone-preset.js.LICENSE.txt",
            ),
        ],
    ),
    (
        "redoc",
        2,
        STATIC / "redoc",
        [
            ("bundles/redoc.standalone.js", "redoc.standalone.js"),
            ("LICENSE", "LICENSE"),
            ("bundles/redoc.standalone.js.LICENSE.txt", "redoc.standalone.js.LICENSE.txt"),
        ],
    ),
]

# A whole line that is only a source-map comment: JS `//# sourceMappingURL=...`
# or CSS `/*# sourceMappingURL=... */`. Only whole lines are removed, so
# occurrences inside string literals in the bundles are left untouched.
# Literal replacements in vendored files: (dest file name, old, new). Each `old`
# must occur exactly once, so an upgrade that changes the bundle fails loudly.
# ReDoc 2 unconditionally renders the "API docs by Redocly" logo as
# <img src="https://cdn.redoc.ly/redoc/logo-mini.svg">, a third-party request
# on every page view (there is no option to turn it off). Replace it with an
# inline empty SVG so /redoc makes no requests outside the app.
PATCHES = [
    (
        "redoc.standalone.js",
        'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"',
        'src:"data:image/svg+xml,%3Csvg xmlns=%27http://www.w3.org/2000/svg%27 width=%270%27 height=%270%27/%3E"',  # noqa: E501
    ),
]

SOURCEMAP_LINE = re.compile(
    r"^[ \t]*(?://[#@] sourceMappingURL=\S*|/\*[#@] sourceMappingURL=[^*]*\*/)[ \t]*\r?\n?",
    re.MULTILINE,
)


def fail(message: str) -> None:
    print(f"vendor_docs_assets: ERROR: {message}", file=sys.stderr)
    sys.exit(1)


def package_version(pkg_dir: Path) -> str:
    manifest = pkg_dir / "package.json"
    if not manifest.is_file():
        fail(f"{manifest} not found; run `npm install` in {ROOT} first")
    return json.loads(manifest.read_text(encoding="utf-8"))["version"]


def main() -> int:
    if not NODE_MODULES.is_dir():
        fail(f"{NODE_MODULES} not found; run `npm install` in {ROOT} first")

    # Check everything before writing anything.
    for package, major, _dest_dir, files in ASSETS:
        pkg_dir = NODE_MODULES / package
        version = package_version(pkg_dir)
        if int(version.split(".")[0]) != major:
            fail(f"{package} {version} installed, expected major version {major}")
        for src, _dest in files:
            if not (pkg_dir / src).is_file():
                fail(f"missing {pkg_dir / src} ({package} {version})")

    for package, _major, dest_dir, files in ASSETS:
        pkg_dir = NODE_MODULES / package
        version = package_version(pkg_dir)
        dest_dir.mkdir(parents=True, exist_ok=True)
        for src, dest in files:
            src_path, dest_path = pkg_dir / src, dest_dir / dest
            if dest_path.suffix in (".js", ".css"):
                text = src_path.read_text(encoding="utf-8")
                text, removed = SOURCEMAP_LINE.subn("", text)
                note = f", {removed} sourceMappingURL line(s) removed" if removed else ""
                for name, old, new in PATCHES:
                    if name == dest:
                        count = text.count(old)
                        if count != 1:
                            fail(
                                f"patch for {dest}: expected 1 occurrence of {old!r}, found {count}"
                            )
                        text = text.replace(old, new)
                        note += f", patched {old!r}"
                dest_path.write_text(text, encoding="utf-8", newline="")
            else:
                shutil.copyfile(src_path, dest_path)
                note = ""
            print(
                f"{package} {version}: {dest_path.relative_to(ROOT)} "
                f"({dest_path.stat().st_size} bytes{note})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
