#!/usr/bin/env bash
# Uses the four generated clients (make sdk) against the grau at GRAU_BASE_URL (`make sdk-check`):
# contract/sdk/python_scenario.py with build/sdk/python on the path,
# contract/sdk/typescript/scenario.ts compiled by tsc --strict into build/ and run by Node, and
# contract/sdk/ts5/*_scenario.ts (hey-api, openapi-fetch), compiled by make sdk.
# All run even if one fails; the exit status is non-zero if any did.
set -euo pipefail

cd "$(dirname "$0")/../.."
BIN=${VENV:-.venv}/bin
OUT=build/sdk

if [ -z "${GRAU_BASE_URL:-}" ]; then
  echo "GRAU_BASE_URL is not set: run under scripts/live_stack.py (make contract) or point it at a grau" >&2
  exit 2
fi
TS5=contract/sdk/ts5/build/contract/sdk/ts5
for generated in "$OUT/python/grau_client/__init__.py" "$OUT/typescript/Api.ts" \
  "$TS5/hey_api_scenario.js" "$TS5/openapi_fetch_scenario.js"; do
  [ -f "$generated" ] || { echo "$generated is missing: run make sdk first" >&2; exit 2; }
done

status=0

# The generated client needs only httpx and attrs, which the project venv already has,
# so it runs from the build folder: no network install on every check.
PYTHONPATH="$PWD/$OUT/python" "$BIN/python" contract/sdk/python_scenario.py || status=1

rm -rf "$OUT/typescript-js"
npx --no-install tsc -p contract/sdk/typescript/tsconfig.json
node "$OUT/typescript-js/contract/sdk/typescript/scenario.js" || status=1
node "$TS5/hey_api_scenario.js" || status=1
node "$TS5/openapi_fetch_scenario.js" || status=1

exit "$status"
