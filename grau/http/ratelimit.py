"""Rate limits: per client address and per account on signing in and up, per user on the rest.

Counted with `limits` (the library Flask-Limiter is built on) in fixed windows,
in Redis when `REDIS_URL` is set (one server, or the primary Redis Sentinel
names), so every instance shares the counters, else in this process.

- `@rate_limited(config_key, per="address" | "account")` on a view counts
  every call in Redis (one round trip): these views hash passwords on purpose
  and are rare, so exact counts cost nothing that matters.
- `count_user(...)` is the general limit (`RATELIMIT_USER`) every
  authenticated request counts against, per user. A Redis round trip per
  request would be a fixed cost on every read, so each process counts
  locally and adds its count to the shared counter in batches (a fiftieth of
  the limit, at most 100; every request when the limit is 50 or less, so
  small limits stay exact). A user can therefore exceed the limit by less
  than one batch per process before every process refuses them.

Every answer to a request the per-user limit counted carries the IETF
`RateLimit-Policy` (`"user";q=<limit>;w=<window seconds>`) and `RateLimit`
(`"user";r=<remaining>;t=<seconds to the window's end>`) headers, from what
this process knows: its own count and the shared one as of its last batch, so
`r` may be high by up to a batch per other process. No round trip is added for
them. The other limits (signing in and up, exports, imports) are counted in
Redis on each call, and reading their window back would be a second round
trip, so they say theirs on a 429 only, named after the limit
(`"login";r=0;...`).

A request over a limit gets a 429 problem with `Retry-After` and
`X-RateLimit-Limit`, `X-RateLimit-Remaining` (0) and `X-RateLimit-Reset`
(epoch seconds), and, for the per-user limit, `RateLimit-Policy` and
`RateLimit`. When Redis cannot be reached, each process counts alone
(so each allows the whole limit) and tries Redis again `REDIS_RETRY_S`
seconds later: an outage costs one request per process a timeout, never an
error.

(Flask-Limiter itself is not used: it runs three app-wide hooks on every
request and cannot batch.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any, NoReturn, TypeVar

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisSentinelStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import HTTPException

from grau.config import redis_fail_fast, redis_sentinel
from grau.http.errors import abort
from grau.http.observability import EXTRA_HEADERS, add_headers
from grau.http.openapi import add_responses

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
REDIS_RETRY_S = 1.0
MAX_BATCH = 100
MAX_TRACKED_USERS = 50_000


def client_address() -> str:
    """The client's address (ProxyFix has put the proxy's view of it there, if trusted)."""
    return request.remote_addr or "unknown"


def _account() -> str:
    """The email in the JSON body: limits guessing one account from many addresses."""
    try:
        body = request.get_json(silent=True)
    except HTTPException:  # a body over MAX_CONTENT_LENGTH: the view answers 413
        body = None
    value = body.get("email") if isinstance(body, dict) else None
    return "account:" + (str(value).strip().lower()[:320] if value else "")


KEYS: dict[str, Callable[[], str]] = {
    "address": lambda: "address:" + client_address(),
    "account": _account,
    # The signed-in user (below `@authenticated`, which sets `g.principal`).
    "user": lambda: f"user:{g.principal.user_id}",
}


def redis_storage(url: str, prefix: str, timeout_s: float) -> Storage:
    """`limits`' storage on REDIS_URL: one Redis, or the primary its Sentinels name now.

    Either way every call fails fast (`timeout_s`, no retries) and raises StorageError, so
    `Counters` counts in memory meanwhile. Through Sentinel, redis-py asks a sentinel for
    the primary's address on each new connection, drops connections to a primary that
    was demoted, and so finds the new primary after a failover without a restart.
    """
    fail_fast = redis_fail_fast(timeout_s)
    sentinel = redis_sentinel(url)
    if sentinel is None:
        return RedisStorage(url, key_prefix=prefix, wrap_exceptions=True, **fail_fast)
    return RedisSentinelStorage(
        url,
        key_prefix=prefix,
        wrap_exceptions=True,
        # Counts are read back right after they are written (a 429's window): from the
        # primary, as with one Redis, never from a replica that may lag behind it.
        use_replicas=False,
        # Without these limits connects to the sentinels with redis-py's defaults: no
        # timeout and three retries, so a hung sentinel would hang requests.
        sentinel_kwargs=fail_fast,
        db=sentinel.db,
        # Decoded (limits passes the URL's as written) and sent to the sentinels too.
        **sentinel.auth,
        **fail_fast,
    )


class Counters:
    """`limits` storage: Redis while it answers, this process's memory meanwhile."""

    def __init__(self, redis_url: str, prefix: str, timeout_s: float) -> None:
        self.local = MemoryStorage()
        self.shared = redis_storage(redis_url, prefix, timeout_s) if redis_url else None
        self._retry_at = 0.0
        self._down = False
        self._strategies = {
            id(s): FixedWindowRateLimiter(s) for s in (self.local, self.shared) if s
        }

    def run(self, fn: Callable[[Storage, FixedWindowRateLimiter], T]) -> T:
        """`fn` on Redis if it is usable, else (or when it fails now) on local memory."""
        shared = self.shared
        if shared is not None and time.monotonic() >= self._retry_at:
            try:
                result = fn(shared, self._strategies[id(shared)])
            except StorageError as exc:
                if not self._down:
                    # Bounded: Sentinel's error lists every sentinel it asked.
                    log.warning(
                        "redis unreachable (%s): counting rate limits per process", str(exc)[:300]
                    )
                self._down = True
                self._retry_at = time.monotonic() + REDIS_RETRY_S
            else:
                if self._down:
                    log.info("redis reachable again: rate limits are shared again")
                    self._down = False
                return result
        return fn(self.local, self._strategies[id(self.local)])

    def ping(self) -> None:
        """Raise StorageError unless Redis answers now (for /ready)."""
        if self.shared is not None and not self.shared.check():
            raise StorageError(ConnectionError("redis did not answer"))


@dataclass
class _Window:
    index: int  # which fixed window: time // period
    shared: int = 0  # the shared count as of this process's last sync, its own hits included
    pending: int = 0  # hits counted here and not yet added to the shared count


class UserBudget:
    """The per-user limit, counted in this process and reconciled with Redis in batches."""

    def __init__(self, counters: Counters, limit: RateLimitItem) -> None:
        self.counters = counters
        self.limit = limit
        self.batch = 1 if limit.amount <= 50 else min(MAX_BATCH, limit.amount // 50)
        self.period = limit.get_expiry()  # seconds per window
        self.policy = f'"user";q={limit.amount};w={self.period}'  # the RateLimit-Policy header
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def hit(self, who: str, now: float) -> tuple[int, int]:
        """Count one request of `who` at `now` (Unix seconds): (the window's count as this
        process knows it, the window's end in Unix seconds). Over the limit when the
        count exceeds it."""
        period = self.period
        with self._lock:  # the clock too: a thread must not bring back a window that ended
            index = int(now // period)
            window = self._windows.get(who)
            if window is None or window.index != index:
                if len(self._windows) >= MAX_TRACKED_USERS:
                    self._windows.clear()  # forgetting costs at most one early sync each
                window = self._windows[who] = _Window(index)
            window.pending += 1
            if window.pending < self.batch:
                return window.shared + window.pending, (index + 1) * period
            add, window.pending = window.pending, 0
        key = f"user/{who}/{index}"
        total = self.counters.run(lambda storage, _: storage.incr(key, period, add))
        with self._lock:
            window.shared = max(window.shared, total)
        return total, (index + 1) * period

    def spent(self, who: str, now: float) -> bool:
        """Whether `who`'s next request at `now` would be over the limit, as far as this
        process knows: a hint read without the lock (`hit` decides)."""
        window = self._windows.get(who)
        return (
            window is not None
            and window.index == int(now // self.period)
            and window.shared + window.pending >= self.limit.amount
        )

    def headers(self, count: int, reset_at: int, now: float) -> list[tuple[str, str]]:
        """The IETF RateLimit-Policy and RateLimit headers for a window's count and end."""
        remaining = max(0, self.limit.amount - count)
        left = max(0, reset_at - int(now))
        return [("RateLimit-Policy", self.policy), ("RateLimit", f'"user";r={remaining};t={left}')]


class Limits:
    """One app's limits: its settings, its counters and the per-user budget."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.enabled = bool(config["RATELIMIT_ENABLED"])
        self.config = config
        self.counters = Counters(
            config["REDIS_URL"],
            f"{config['CACHE_KEY_PREFIX']}:rl",
            config["REDIS_SOCKET_TIMEOUT_MS"] / 1000,
        )
        self.user_budget = UserBudget(self.counters, parse(config["RATELIMIT_USER"]))

    def check(self, config_key: str, key: str) -> None:
        """Count a call against `config[config_key]` for `key`; 429 when over."""
        if not self.enabled:
            return
        limit = parse(self.config[config_key])
        if self.counters.run(lambda _, strategy: strategy.hit(limit, key)):
            return
        stats = self.counters.run(lambda _, strategy: strategy.get_window_stats(limit, key))
        reset_at = int(stats.reset_time)
        # This limit is the one refusing: its RateLimit headers, not the user budget's (the
        # request counted against that too, but a client must see the limit it hit).
        name = config_key.removeprefix("RATELIMIT_").lower()
        left = max(0, reset_at - int(time.time()))
        headers = [
            ("RateLimit-Policy", f'"{name}";q={limit.amount};w={limit.get_expiry()}'),
            ("RateLimit", f'"{name}";r=0;t={left}'),
        ]
        request.environ.pop(EXTRA_HEADERS, None)
        too_many(limit.amount, reset_at, headers)

    def count_user(self, who: str, environ: dict[str, Any]) -> None:
        """Count one authenticated request of `who` (a user, or an address); 429 when over.
        The answer (to the request of `environ`) carries the budget's RateLimit headers
        either way."""
        if not self.enabled:
            return
        budget = self.user_budget
        now = time.time()
        count, reset_at = budget.hit(who, now)
        headers = budget.headers(count, reset_at, now)
        if count > budget.limit.amount:
            too_many(budget.limit.amount, reset_at, headers)
        add_headers(environ, headers)


def too_many(amount: int, reset_at: int, extra: Sequence[tuple[str, str]] = ()) -> NoReturn:
    abort(
        429,
        "Too many requests; retry after the number of seconds in Retry-After.",
        headers={
            "Retry-After": str(max(1, reset_at - int(time.time()))),
            "X-RateLimit-Limit": str(amount),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset_at),
            **dict(extra),
        },
    )


LIMITS = "grau.limits"  # the app's `Limits`, in its extensions


def limits() -> Limits:
    found: Limits = current_app.extensions[LIMITS]
    return found


def count_user(extensions: dict[str, Any], environ: dict[str, Any], who: str) -> None:
    """`Limits.count_user` for the app of `extensions` (the caller has them at hand)."""
    extensions[LIMITS].count_user(who, environ)


def budget_spent(extensions: dict[str, Any], who: str, now: float) -> bool:
    """Whether `who`'s next request would be refused by the per-user limit, as far as this
    process knows (`UserBudget.spent`): False where limits are off."""
    found: Limits = extensions[LIMITS]
    return found.enabled and found.user_budget.spent(who, now)


def rate_limited(config_key: str, *, per: str = "address") -> Callable[[F], F]:
    """Limit a view to the rate in `config[config_key]`, per client address or per account."""
    key_of = KEYS[per]

    def decorator(func: F) -> F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            limits().check(config_key, f"{config_key}/{key_of()}")
            return func(*args, **kwargs)

        add_responses(wrapper, (429,))
        return wrapper  # type: ignore[return-value]

    return decorator


def init_app(app: Flask) -> None:
    app.extensions[LIMITS] = Limits(app.config)
