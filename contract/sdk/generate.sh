#!/usr/bin/env bash
# Generates grau's client SDKs from openapi/openapi.json (`make sdk`) with the four most
# used generators:
#   build/sdk/python              openapi-python-client, a pip-installable `grau-client` project
#   build/sdk/typescript          swagger-typescript-api, one fetch-based Api.ts
#   build/sdk/hey-api             @hey-api/openapi-ts, a fetch client with one function per operation
#   build/sdk/openapi-typescript  openapi-typescript's types, for openapi-fetch
# Fails if a generator warns, if any names a type or member with a number, or if a client
# plus its scenario does not type-check strictly (tsc --strict, mypy --strict): the spec
# must generate cleanly, not just generate.
set -euo pipefail

cd "$(dirname "$0")/../.."
SPEC=openapi/openapi.json
OUT=build/sdk
BIN=${VENV:-.venv}/bin
# openapi-python-client formats its output with ruff and warns when ruff is not on PATH.
export PATH="$PWD/$BIN:$PATH"

mkdir -p "$OUT"

# Runs a generator, keeping its output in a log; fails on a non-zero exit or any warning.
run_generator() {
  local name=$1 log=$2
  shift 2
  if ! "$@" >"$log" 2>&1; then
    cat "$log"
    echo "FAIL: $name exited non-zero (log: $log)" >&2
    return 1
  fi
  cat "$log"
  # Both tools print warnings as plain lines ("Warning(s) encountered", "⚠ ..."/"WARN").
  local warnings
  warnings=$(grep -ciE 'warn|⚠|error|✖' "$log" || true)
  echo "$name: $warnings warning(s)"
  if [ "$warnings" -ne 0 ]; then
    echo "FAIL: $name printed warnings; the spec must generate without any" >&2
    return 1
  fi
}

echo "== Python client (openapi-python-client $("$BIN/openapi-python-client" --version | awk '{print $NF}'))"
run_generator openapi-python-client "$OUT/python-generate.log" \
  "$BIN/openapi-python-client" generate \
  --path "$SPEC" \
  --config contract/sdk/openapi-python-client.yaml \
  --meta pdm \
  --output-path "$OUT/python" \
  --overwrite \
  --fail-on-warning

echo "== TypeScript client (swagger-typescript-api)"
# The generator only ever adds files, so start clean to never check a stale one.
rm -rf "$OUT/typescript"
# No --http-client: any value yields axios (CLI bug); the default is fetch.
run_generator swagger-typescript-api "$OUT/typescript-generate.log" \
  npx --no-install swagger-typescript-api generate \
  -p "$SPEC" \
  -o "$OUT/typescript" \
  -n Api.ts
# The generator disables type checking for its own file; we want it checked.
sed -i '/^\/\/ @ts-nocheck$/d' "$OUT/typescript/Api.ts"
if grep -q '@ts-nocheck' "$OUT/typescript/Api.ts"; then
  echo "FAIL: could not remove @ts-nocheck from $OUT/typescript/Api.ts" >&2
  exit 1
fi

echo "== TypeScript client (@hey-api/openapi-ts, with TypeScript 5: contract/sdk/ts5)"
rm -rf "$OUT/hey-api"
run_generator @hey-api/openapi-ts "$OUT/hey-api-generate.log" \
  npm exec --prefix contract/sdk/ts5 --no -- openapi-ts \
  -i "$PWD/$SPEC" -o "$PWD/$OUT/hey-api" -c @hey-api/client-fetch

echo "== TypeScript types (openapi-typescript, for openapi-fetch)"
mkdir -p "$OUT/openapi-typescript"
run_generator openapi-typescript "$OUT/openapi-typescript-generate.log" \
  npm exec --prefix contract/sdk/ts5 --no -- openapi-typescript \
  "$PWD/$SPEC" -o "$PWD/$OUT/openapi-typescript/schema.d.ts" \
  --redocly "$PWD/contract/sdk/ts5/redocly.yaml"

# Named types only: a generator numbers a type it had to name itself (`Status1`, `BodyType0`,
# `DDMMYYYY1`) when the spec leaves it anonymous; grau.http.openapi names every one.
echo "== no numbered type names"
numbered=$( {
  grep -ohE "^export (type|interface|enum|class) [A-Za-z_][A-Za-z0-9_]*" "$OUT/typescript/Api.ts" | awk '{print $3}'
  grep -ohE "^ +[A-Za-z_][A-Za-z0-9_]* = \"" "$OUT/typescript/Api.ts" | awk '{print $1}'
  grep -ohE "^class [A-Za-z_][A-Za-z0-9_]*" "$OUT"/python/grau_client/models/*.py | awk '{print $2}'
  grep -ohE "^export (type|interface|enum|const) [A-Za-z_][A-Za-z0-9_]*" "$OUT/hey-api/types.gen.ts" | awk '{print $3}'
  grep -ohE "^ {8}[A-Za-z_][A-Za-z0-9_]*: \{" "$OUT/openapi-typescript/schema.d.ts" | awk '{print $1}' | tr -d ':'
} | grep -E "[0-9]+$" || true)
if [ -n "$numbered" ]; then
  echo "FAIL: numbered type or member names: $numbered" >&2
  exit 1
fi

echo "== tsc --strict: Api.ts + contract/sdk/typescript"
npx --no-install tsc -p contract/sdk/typescript/tsconfig.json --noEmit

echo "== tsc --strict (TypeScript 5): hey-api + openapi-typescript + contract/sdk/ts5"
rm -rf contract/sdk/ts5/build
npm exec --prefix contract/sdk/ts5 --no -- tsc -p "$PWD/contract/sdk/ts5/tsconfig.json"

echo "== mypy --strict: contract/sdk/python_scenario.py and the grau_client it imports"
# `--config-file=` reads no config: the project's ignore_missing_imports would turn a
# missing client into silent `Any`s. Imported modules are checked too (strictly).
MYPYPATH="$OUT/python" "$BIN/mypy" --config-file= --strict \
  --cache-dir "$OUT/.mypy_cache" contract/sdk/python_scenario.py
