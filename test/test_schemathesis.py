"""A quick in-process schemathesis run: every operation fuzzed with every check, signed in.

`make schemathesis` fuzzes a live stack for minutes; this runs the same checks
(schemathesis.toml, its hooks included) against the app in-process, in each
test's rolled-back transaction, so a contract break shows up in `make test`
on both backends. Each case carries a registered user's bearer token, and the
test fails if most answers are 401 anyway: a run that never gets past auth
proves nothing.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from conftest import Account
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.config import SchemathesisConfig

ROOT = Path(__file__).resolve().parent.parent
SPEC = json.loads((ROOT / "openapi" / "openapi.json").read_text())
OPERATIONS = [
    (method.upper(), path)
    for path, item in SPEC["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete")
]
# Per operation and generation mode; small, so both backends stay well under a minute.
MAX_EXAMPLES = 40
# Operations that can spend the credential they are called with (see the hooks);
# here a profile change can too: the fixtures' password is no secret to the fuzzer,
# which draws literals from the source, so it may change the password.
CREDENTIAL_ENDING = {"logout", "deleteCurrentUser", "updateCurrentUser"}


def _config() -> SchemathesisConfig:
    """schemathesis.toml's checks, generation and hooks, without the live run's reports."""
    data = tomllib.loads((ROOT / "schemathesis.toml").read_text())
    data["hooks"] = str(ROOT / data["hooks"])
    for live_only in ("reports", "cache"):
        data.pop(live_only, None)
    return SchemathesisConfig.from_dict(data)


class Tokens:
    """Where the auth provider gets each case's bearer token; each test sets its own."""

    def __init__(self) -> None:
        self.token = ""
        # Logging out or deleting the account spends the token: those get a fresh one.
        self.fresh: Callable[[], str] = lambda: self.token
        self.issued: set[str] = set()

    def signed_in(self, case: Case) -> bool:
        """Whether the case carries a real token (negative cases may drop or garble it)."""
        scheme, _, token = case.headers.get("Authorization", "").partition(" ")
        return scheme == "Bearer" and token in self.issued


TOKENS = Tokens()


def _needs_token(ctx: Any) -> bool:
    return bool(ctx.operation.definition.raw.get("security") != [])


@pytest.fixture(scope="module")
def schema(app: Flask) -> Any:
    loaded = schemathesis.openapi.from_wsgi("/openapi.json", app, config=_config())

    # Through schemathesis' auth (not a plain header) so checks such as
    # ignored_auth know the token is real and probe without it.
    @loaded.auth(refresh_interval=None).apply_to(_needs_token)
    class Bearer:
        def get(self, case: Case, ctx: Any) -> str:
            spends = ctx.operation.definition.raw.get("operationId") in CREDENTIAL_ENDING
            token = TOKENS.fresh() if spends else TOKENS.token
            TOKENS.issued.add(token)
            return token

        def set(self, case: Case, data: str, ctx: Any) -> None:
            case.headers["Authorization"] = f"Bearer {data}"

    return loaded


def _cases(operation: Any) -> st.SearchStrategy[Case]:
    modes = [operation.as_strategy(GenerationMode.POSITIVE)]
    # An operation with no inputs has nothing to get wrong.
    if operation.definition.raw.get("parameters") or operation.definition.raw.get("requestBody"):
        modes.append(operation.as_strategy(GenerationMode.NEGATIVE))
    return st.one_of(modes)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms_to_the_contract(
    schema: Any,
    client: FlaskClient,
    register: Callable[..., Account],
    method: str,
    path: str,
) -> None:
    operation = schema[path][method]
    TOKENS.token = register().tokens["access_token"]
    TOKENS.fresh = lambda: register().tokens["access_token"]
    signed_in: Counter[int] = Counter()
    everything: Counter[int] = Counter()

    @given(case=_cases(operation))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def run(case: Case) -> None:
        response = case.call_and_validate()
        if TOKENS.signed_in(case):
            signed_in[response.status_code] += 1
        everything[response.status_code] += 1

    run()

    assert everything, f"no case was generated for {method} {path}"
    if operation.definition.raw.get("security") != []:
        total, unauthorized = sum(signed_in.values()), signed_in[401]
        assert total and unauthorized * 2 < total, (
            f"{method} {path}: {unauthorized} of {total} signed-in cases got 401: {dict(signed_in)}"
        )


def test_schemathesis_toml_enables_every_check() -> None:
    """`make schemathesis` runs all checks, ignored_auth and use_after_free included."""
    checks = SchemathesisConfig.from_path(str(ROOT / "schemathesis.toml")).projects.default.checks
    names = {
        name
        for name in dir(checks)
        if not name.startswith("_") and hasattr(getattr(checks, name), "enabled")
    }
    # max_response_time is schemathesis' only opt-in check: timing is no contract here.
    disabled = {n for n in names - {"max_response_time"} if not getattr(checks, n).enabled}

    assert {"ignored_auth", "use_after_free", "object_level_authorization"} <= names
    assert disabled == set()
