"""Schemathesis hooks for grau (loaded through `hooks` in schemathesis.toml).

Auth (live runs): the fuzzer signs in by itself. It registers accounts unique
to the run (so a rerun against the same database never collides), logs them
in, and sends a bearer token with every operation that requires one. Two
operations end the credential they are called with (`logout` revokes the
session, `deleteCurrentUser` the account); they get spare sessions and
throwaway accounts, so the account every other operation uses stays signed in
for the whole run. That matters because login and registration are rate
limited per client address: the fuzzer's own calls to them spend the budget
within seconds, and an auth that had to log in again would wait a minute for
each `Retry-After`. In-process runs (test/test_schemathesis.py) bring their own.

Generation (every run): rules that JSON Schema cannot state are taught to the
generator, so a positive case is one a correct client could send:
- an Idempotency-Key is never reused for another body (the header's contract;
  grau answers 422, as the IETF draft says): positive cases get the key
  suffixed with a digest of the body they are sent with;
- a range's `<name>_from` is not after its `<name>_to`;
- dates and timestamps lie between 1900 and today, and `iana-time-zone`
  strings are zone names.
Negative cases are left as generated.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
import uuid
import zoneinfo
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, HookContext

RUN_ID = uuid.uuid4().hex[:10]
# Operations whose success revokes the credential they were called with, and
# what each use costs: logout one session, deleteCurrentUser a whole account.
CREDENTIAL_ENDING = {"logout": "session", "deleteCurrentUser": "account"}
# Spares made up front, before the fuzzer spends the rate-limit window
# (registration: 5 per minute per address, login: 10): sessions of the main
# account for logout, throwaway accounts for deleteCurrentUser.
SPARES = {"session": 3, "account": 2}
# How long the main account may wait for a rate-limit window to reopen.
MAX_RATE_LIMIT_WAIT_S = 130.0
TIMEOUT_S = 10.0


class AuthFailed(RuntimeError):
    pass


class Account:
    # A plain class: schemathesis executes this file outside sys.modules,
    # where @dataclass cannot resolve its annotations.
    def __init__(self, label: str) -> None:
        self.email = f"fuzz-{RUN_ID}-{label}@example.com"
        self.password = secrets.token_urlsafe(24)

    @property
    def credentials(self) -> dict[str, str]:
        return {"email": self.email, "password": self.password}


class Credentials:
    """The run's tokens against one base URL; every method is called under one lock."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.main = Account("main")
        self.main_token = self._sign_up(self.main, wait=True) or self._fail("main")
        self.spares = {
            "session": [self._log_in(self.main, wait=True) or "" for _ in range(SPARES["session"])],
            "account": [
                self._sign_up(Account(f"spare{n}"), wait=True) or ""
                for n in range(SPARES["account"])
            ],
        }
        self.in_use: dict[str, str] = {}
        self.made = 0

    def _post(self, path: str, body: dict[str, str], *, wait: bool) -> requests.Response | None:
        """POST, waiting out 429s when `wait` (bounded); None if rate limited and not waiting."""
        deadline = time.monotonic() + MAX_RATE_LIMIT_WAIT_S
        while True:
            response = requests.post(f"{self.base_url}{path}", json=body, timeout=TIMEOUT_S)
            if response.status_code != 429:
                return response
            delay = float(response.headers.get("Retry-After", "1")) + 0.5
            if not wait or time.monotonic() + delay > deadline:
                return None
            time.sleep(delay)

    def _sign_up(self, account: Account, *, wait: bool) -> str | None:
        """Register (409: it exists, fine) and log in; None if rate limited."""
        response = self._post("/v1/users", account.credentials, wait=wait)
        if response is None:
            return None
        if response.status_code not in (201, 409):
            raise AuthFailed(f"registering {account.email}: {response.status_code} {response.text}")
        return self._log_in(account, wait=wait)

    def _log_in(self, account: Account, *, wait: bool) -> str | None:
        response = self._post("/v1/auth/login", account.credentials, wait=wait)
        if response is None:
            return None
        if response.status_code != 200:
            raise AuthFailed(f"logging in {account.email}: {response.status_code} {response.text}")
        token: str = response.json()["access_token"]
        return token

    def _alive(self, token: str | None) -> bool:
        if not token:
            return False
        response = requests.get(
            f"{self.base_url}/v1/users/me",
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_S,
        )
        return response.status_code == 200

    def _fail(self, which: str) -> str:
        raise AuthFailed(f"could not sign in the {which} account within the rate limit")

    def token(self, kind: str) -> str:
        if kind == "main":
            if not self._alive(self.main_token):
                # Expired, or the account is gone: log in again, registering if needed.
                self.main_token = self._sign_up(self.main, wait=True) or self._fail("main")
            return self.main_token
        current = self.in_use.get(kind, "")
        if not self._alive(current):
            # Once the rate limit allows no new one, the spent token is still a
            # well-formed credential: its 401 is a documented answer.
            current = self._spare(kind) or current
            self.in_use[kind] = current
        return current

    def _spare(self, kind: str) -> str | None:
        while self.spares[kind]:
            token = self.spares[kind].pop()
            if token:
                return token
        self.made += 1
        if kind == "session":
            return self._log_in(self.main, wait=False)
        return self._sign_up(Account(f"extra{self.made}"), wait=False)


_credentials: dict[str, Credentials] = {}
_lock = threading.Lock()


def _needs_token(ctx: Any) -> bool:
    operation = ctx.operation
    # In-process runs (test/test_schemathesis.py) send their own token.
    return operation.app is None and operation.definition.raw.get("security") != []


def _kind(case: Case, ctx: Any) -> str:
    return CREDENTIAL_ENDING.get(ctx.operation.definition.raw.get("operationId"), "main")


@schemathesis.auth(cache_by_key=_kind).apply_to(_needs_token)
class GrauTokens:
    def get(self, case: Case, ctx: Any) -> str:
        base_url = ctx.operation.schema.get_base_url()
        with _lock:
            if base_url not in _credentials:
                _credentials[base_url] = Credentials(base_url)
            return _credentials[base_url].token(_kind(case, ctx))

    def set(self, case: Case, data: str, ctx: Any) -> None:
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook("before_call")
def unique_idempotency_keys(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
    key = case.headers.get("Idempotency-Key")
    if key is None or case.meta is None or not case.meta.generation.mode.is_positive:
        return
    # Key order kept: grau compares the body's bytes, so a reordered body is another body.
    body = json.dumps(case.body, default=str).encode()
    digest = hashlib.sha256(body).hexdigest()[:16]
    case.headers["Idempotency-Key"] = f"{key[:238]}.{digest}"


@schemathesis.hook("before_call")
def ordered_ranges(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
    """`<name>_from` after `<name>_to` is a 422 grau explains; clients send ranges in order."""
    query = case.query or {}
    for name in [key.removesuffix("_from") for key in query if key.endswith("_from")]:
        start, end = _moment(query.get(f"{name}_from")), _moment(query.get(f"{name}_to"))
        if start is not None and end is not None and start > end:
            query[f"{name}_from"], query[f"{name}_to"] = query[f"{name}_to"], query[f"{name}_from"]


def _moment(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


# Formats whose valid values JSON Schema cannot bound: grau refuses dates before
# 1900 or in the future (a typo, not a measurement or a birthday), and time zone
# names outside the IANA database. Positive cases are drawn from what is valid.
_EARLIEST = datetime(1900, 1, 2)
_LATEST = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=2)
_offsets = st.integers(-12 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
schemathesis.openapi.format(
    "date-time",
    st.datetimes(_EARLIEST, _LATEST, timezones=_offsets).map(datetime.isoformat),
)
schemathesis.openapi.format("date", st.dates(_EARLIEST.date(), _LATEST.date()).map(str))
schemathesis.openapi.format(
    "iana-time-zone", st.sampled_from(sorted(zoneinfo.available_timezones()))
)
