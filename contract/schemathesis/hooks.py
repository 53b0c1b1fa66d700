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
each `Retry-After`.

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
    return bool(ctx.operation.definition.raw.get("security") != [])


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
    """Every positive request gets a key of its own.

    A key reused for another request is a 422 by contract, and a key replayed
    after the stateful phase deleted what it created returns the stored first
    response, which the fuzzer would take for a lost resource. Replays are
    tested in test/test_body_stats.py and the idempotency tests instead.
    """
    key = case.headers.get("Idempotency-Key")
    if key is None or case.meta is None or not case.meta.generation.mode.is_positive:
        return
    case.headers["Idempotency-Key"] = f"{key[:200]}.{uuid.uuid4().hex}"


@schemathesis.hook("before_call")
def current_names_only(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
    """Deprecated parameters are left out: the fuzzer tests the current names.

    A deprecated alias stands in for its current name (`from` for `date_from`), so
    a request that omits a required current name but sends its alias is answered,
    which a parameter's schema cannot say (it has no "one of these two is required").
    test/test_nutrition.py and test/test_body_stats_summary.py test the aliases.
    """
    if not case.query:
        return
    for parameter in case.operation.query:
        if parameter.definition.get("deprecated"):
            case.query.pop(parameter.name, None)


@schemathesis.hook("before_call")
def ordered_ranges(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
    """Ranges come in order and within their cap, as grau requires and explains with 422.

    `<name>_min`/`<name>_max`, a body's `started_at`/`ended_at`, and
    `<name>_from`/`<name>_to` (timestamps or dates) and bare `from`/`to` dates:
    JSON Schema cannot relate two values.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    query = case.query or {}
    for low_key in [key for key in query if key.endswith("_min")]:
        high_key = low_key.removesuffix("_min") + "_max"
        low, high = _number(query.get(low_key)), _number(query.get(high_key))
        if low is not None and high is not None and low > high:
            query[low_key], query[high_key] = query[high_key], query[low_key]
    body = case.body if isinstance(case.body, dict) else {}
    start, end = _moment(body.get("started_at")), _moment(body.get("ended_at"))
    if start is not None and end is not None and start > end:
        body["started_at"], body["ended_at"] = body["ended_at"], body["started_at"]
    for start_key in [key for key in query if key == "from" or key.endswith("_from")]:
        end_key = start_key.removesuffix("from") + "to"
        start, end = _moment(query.get(start_key)), _moment(query.get(end_key))
        if start is None or end is None:
            continue
        if start > end:
            query[start_key], query[end_key] = query[end_key], query[start_key]
            start, end = end, start
        cap = MAX_SPAN_DAYS.get(case.operation.path)
        if cap is not None and (end - start).days > cap:
            query[start_key] = (end - timedelta(days=cap)).date().isoformat()


# The longest `from`..`to` span each summary accepts (grau's schemas say why).
MAX_SPAN_DAYS = {"/v1/nutrition-entries/daily-totals": 366, "/v1/body-stats/summary": 1827}


def _number(value: object) -> float | None:
    """A query value as a number (the coverage phase sends some as strings)."""
    try:
        return float(str(value))
    except ValueError:
        return None


def _moment(value: object) -> datetime | None:
    """A timestamp with an offset, or a plain date as its UTC midnight; else None."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if len(str(value)) == 10:  # YYYY-MM-DD
        return parsed.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo is not None else None


# GET /v1/body-stats/summary: `unit` must be one of `type`'s units.
SUMMARY_UNITS = {
    "weight": ("kg", "lb", "st"),
    "height": ("cm", "in"),
    "body_fat": ("%",),
    "waist": ("cm", "in"),
    "chest": ("cm", "in"),
    "hips": ("cm", "in"),
}


@schemathesis.hook("before_call")
def summary_units(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if case.operation.path != "/v1/body-stats/summary":
        return
    query = case.query or {}
    units = SUMMARY_UNITS.get(str(query.get("type")))
    if units is not None and "unit" in query and query["unit"] not in units:
        query["unit"] = units[0]


# References to other objects: a made-up id is the user's mistake (422, as the
# guide says), so positive cases reference real ones: no tags or equipment, and
# a catalog exercise wherever an `exercise_id` goes.
_catalog_exercise: dict[str, str] = {}


@schemathesis.hook("before_call")
def real_references(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if isinstance(case.body, dict | list):
        case.body = _with_real_references(case.body, case)


def _with_real_references(node: Any, case: Case) -> Any:
    if isinstance(node, list):
        return [_with_real_references(item, case) for item in node]
    if not isinstance(node, dict):
        return node
    fixed = {}
    for key, value in node.items():
        if key.endswith("_ids") and isinstance(value, list):
            fixed[key] = []
        elif key == "exercise_id":
            fixed[key] = _exercise_id(case)
        else:
            fixed[key] = _with_real_references(value, case)
    return fixed


def _exercise_id(case: Case) -> str:
    """The id of one of grau's catalog exercises, looked up once per server."""
    server = case.operation.schema.get_base_url()
    if server not in _catalog_exercise:
        path = "/v1/exercises?source=system&page_size=1"
        headers = {"Authorization": case.headers.get("Authorization", "")}
        body = requests.get(f"{server}{path}", headers=headers, timeout=TIMEOUT_S).json()
        _catalog_exercise[server] = body["items"][0]["id"]
    return _catalog_exercise[server]


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
