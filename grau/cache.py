"""The shared cache: Redis when `REDIS_URL` is set, an in-process store otherwise.

Reads are cached under versioned keys. Every cached body lives at
`<prefix>:c:<scope>:<version>:<query>`, where `<version>` is a random token kept
at `<prefix>:v:<scope>`. A write replaces the token (one `SET`, no key scans),
so every body cached for the old version becomes unreachable at once and ages
out by its TTL. A token is random rather than a counter so that a Redis that
loses or evicts it can never resurrect an older body under a reused number.

Redis is never allowed to fail a request. Calls use short socket timeouts; the
first failure opens a circuit for `REDIS_RETRY_AFTER_S` seconds, during which
Redis is not tried at all (no added delay, one warning per outage). A write
whose invalidation could not reach Redis is remembered in the process and
replayed before this process reads from Redis again; until then the scope is
read from the database, so a write made during an outage is never hidden by a
body cached before it.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)
T = TypeVar("T")


class Unavailable(Exception):
    """The cache store cannot be used right now; callers fall back to the database."""


class Store(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def mget(self, keys: list[str]) -> list[bytes | None]: ...
    def set(self, key: str, value: bytes | str, ttl: int, *, only_if_new: bool = False) -> bool: ...
    def delete(self, keys: list[str]) -> None: ...
    def ping(self) -> None: ...


class MemoryStore:
    """A thread-safe in-process store with TTLs: the embedded default."""

    name = "memory"

    def __init__(self, max_items: int = 10_000) -> None:
        self._data: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        self._max_items = max_items

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._get(key)

    def _get(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < time.monotonic():
            del self._data[key]
            return None
        return value

    def mget(self, keys: list[str]) -> list[bytes | None]:
        with self._lock:
            return [self._get(k) for k in keys]

    def set(self, key: str, value: bytes | str, ttl: int, *, only_if_new: bool = False) -> bool:
        data = value.encode() if isinstance(value, str) else value
        with self._lock:
            if only_if_new and self._get(key) is not None:
                return False
            if len(self._data) >= self._max_items:
                self._evict()
            self._data[key] = (time.monotonic() + ttl, data)
            return True

    def _evict(self) -> None:
        now = time.monotonic()
        for key in [k for k, (exp, _) in self._data.items() if exp < now]:
            del self._data[key]
        while len(self._data) >= self._max_items:
            self._data.pop(next(iter(self._data)))

    def delete(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def ping(self) -> None:
        return None


class RedisStore:
    """redis-py behind a circuit breaker: fails fast, quietly and briefly."""

    name = "redis"

    def __init__(self, url: str, *, timeout_ms: int = 250, retry_after_s: float = 3) -> None:
        timeout = timeout_ms / 1000
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # fail fast; the circuit breaker decides when to retry
            health_check_interval=0,
        )
        self._retry_after_s = retry_after_s
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _call(self, fn: Callable[[], T]) -> T:
        if not self.available:
            raise Unavailable("redis circuit open")
        try:
            return fn()
        except (redis.RedisError, OSError) as exc:
            with self._lock:
                if self.available:
                    log.warning(
                        "redis unreachable (%s); serving from the database for %ss",
                        exc.__class__.__name__,
                        self._retry_after_s,
                    )
                self._down_until = time.monotonic() + self._retry_after_s
            raise Unavailable(str(exc)) from exc

    def get(self, key: str) -> bytes | None:
        return self._call(lambda: self.client.get(key))  # type: ignore[return-value]

    def mget(self, keys: list[str]) -> list[bytes | None]:
        return self._call(lambda: self.client.mget(keys))  # type: ignore[arg-type,return-value]

    def set(self, key: str, value: bytes | str, ttl: int, *, only_if_new: bool = False) -> bool:
        return bool(self._call(lambda: self.client.set(key, value, ex=ttl, nx=only_if_new)))

    def delete(self, keys: list[str]) -> None:
        if keys:
            self._call(lambda: self.client.delete(*keys))

    def ping(self) -> None:
        """Check Redis directly, ignoring (and resetting) the circuit: for /ready."""
        try:
            self.client.ping()
        except (redis.RedisError, OSError) as exc:
            raise Unavailable(str(exc)) from exc
        self._down_until = 0.0


class Cache:
    """Versioned read cache plus small shared flags, over one `Store`."""

    def __init__(self, store: Store, *, prefix: str, ttl: int) -> None:
        self.store = store
        self.prefix = prefix
        self.ttl = ttl
        # Invalidations that could not reach the store: version keys to replace
        # and flags to set, replayed before this process next reads or writes.
        self._pending_versions: set[str] = set()
        self._pending_flags: dict[str, tuple[str, int]] = {}
        self._pending_lock = threading.Lock()

    # -- keys --------------------------------------------------------------
    def _version_key(self, scope: str) -> str:
        return f"{self.prefix}:v:{scope}"

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # -- outage bookkeeping ------------------------------------------------
    def _replay_pending(self) -> None:
        """Apply invalidations missed during an outage; raise if still unreachable."""
        if not (self._pending_versions or self._pending_flags):
            return
        with self._pending_lock:
            count = len(self._pending_versions) + len(self._pending_flags)
            for vkey in list(self._pending_versions):
                self.store.set(vkey, secrets.token_hex(8), self._version_ttl)
                self._pending_versions.discard(vkey)
            for key, (value, ttl) in list(self._pending_flags.items()):
                self.store.set(key, value, ttl)
                del self._pending_flags[key]
        log.info("replayed %d cache invalidations after a redis outage", count)

    def _is_pending(self, scope: str) -> bool:
        return self._version_key(scope) in self._pending_versions

    @property
    def _version_ttl(self) -> int:
        # Outlive every body cached under the version, so a body never outlives it.
        return self.ttl * 4

    # -- versioned read cache ----------------------------------------------
    def get_versioned(self, scope: str, query: str) -> tuple[str | None, bytes | None]:
        """Return (version, cached body); (None, None) when the cache can't be used."""
        try:
            self._replay_pending()
            if self._is_pending(scope):
                return None, None
            vkey = self._version_key(scope)
            version = self.store.get(vkey)
            if version is None:
                token = secrets.token_hex(8)
                if not self.store.set(vkey, token, self._version_ttl, only_if_new=True):
                    return None, None  # another writer raced us: skip caching this once
                return token, None
            ver = version.decode()
            return ver, self.store.get(f"{self.prefix}:c:{scope}:{ver}:{query}")
        except Unavailable:
            return None, None

    def set_versioned(self, scope: str, version: str | None, query: str, body: bytes) -> None:
        if version is None:
            return
        with contextlib.suppress(Unavailable):
            self.store.set(f"{self.prefix}:c:{scope}:{version}:{query}", body, self.ttl)

    def invalidate(self, scopes: Iterable[str]) -> None:
        """Called after a commit: make every body cached for these scopes unreachable."""
        vkeys = [self._version_key(s) for s in scopes]
        try:
            self._replay_pending()
            for vkey in vkeys:
                self.store.set(vkey, secrets.token_hex(8), self._version_ttl)
        except Unavailable:
            with self._pending_lock:
                self._pending_versions.update(vkeys)

    # -- flags (token sessions) --------------------------------------------
    def get_flag(self, key: str) -> bytes | None:
        pending = self._pending_flags.get(key)
        if pending is not None:
            return pending[0].encode()
        try:
            self._replay_pending()
            return self.store.get(key)
        except Unavailable:
            return None

    def set_flag(self, key: str, value: str, ttl: int, *, only_if_new: bool = False) -> None:
        """Best effort: a lost write only costs a later database read."""
        if ttl <= 0:
            return
        with contextlib.suppress(Unavailable):
            self.store.set(key, value, ttl, only_if_new=only_if_new)

    def force_flag(self, key: str, value: str, ttl: int) -> None:
        """A flag that must land (a revocation): replayed after an outage."""
        try:
            self._replay_pending()
            self.store.set(key, value, ttl)
        except Unavailable:
            with self._pending_lock:
                self._pending_flags[key] = (value, ttl)


def make_store(config: dict[str, Any]) -> Store:
    url = config.get("REDIS_URL")
    if not url:
        return MemoryStore()
    return RedisStore(
        url,
        timeout_ms=config["REDIS_SOCKET_TIMEOUT_MS"],
        retry_after_s=config["REDIS_RETRY_AFTER_S"],
    )
