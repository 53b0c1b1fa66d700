"""Write grau's OpenAPI document to a file, or check that the file is current.

python scripts/write_openapi.py openapi/openapi.json          # write
python scripts/write_openapi.py --check openapi/openapi.json  # exit 1 on drift
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app


def render() -> str:
    # An in-memory database: generating the document must not create files.
    app = create_app({"DATABASE_URL": "sqlite://", "REDIS_URL": "", "GRAU_ENV": "development"})
    spec = app.extensions["grau.api"].spec.to_dict()
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--check", action="store_true", help="fail if the file is not current")
    args = parser.parse_args()
    document = render()
    if args.check:
        current = args.path.read_text() if args.path.exists() else ""
        if current != document:
            diff = difflib.unified_diff(
                current.splitlines(),
                document.splitlines(),
                str(args.path),
                "generated",
                lineterm="",
            )
            print("\n".join(list(diff)[:80]))
            print(f"\n{args.path} is out of date: run `make openapi` and commit it.")
            return 1
        print(f"{args.path} is current.")
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(document)
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
