"""The shared cache: Redis when `REDIS_URL` is set, an in-process store otherwise.

Keys. Every key grau reads from the cache lives under an *epoch*, a random
token at `<prefix>:epoch`:

- cached bodies at `<prefix>:c:<epoch>:<scope>:<version>:<query>`, where
  `<version>` is another random token at `<prefix>:v:<epoch>:<scope>` that
  every write to the scope replaces (one `SET`, no key scans);
- session flags at `<prefix>:sess:<epoch>:<sid>` (`ok` or `revoked`).

Tokens are random rather than counters, so a Redis that loses or evicts a key
never resurrects an older body under a reused number; everything has a TTL.

Round trips. A cached read of a list or an item costs one: a Lua script reads
the epoch, the session's flag, the scope's version and the body under it
(`Store.read_entry`), for the endpoints in `PREFETCHED_READS`, whose key the
token check can compute before the view runs. Other reads cost two (the
epoch with the flag, then the version with the body: `Store.read_through`);
a write's invalidation is one `SET`. The scripts are atomic, and build later
keys from earlier values, so they need a single Redis (not Redis Cluster,
which wants every key declared up front).

Outages. Redis is never allowed to fail or slow a request. Calls use short
socket timeouts; after a failure, the process stops using Redis at once and a
background probe pings it every `REDIS_PROBE_INTERVAL_MS`. Meanwhile reads come
from the database, and writes cannot invalidate anything. So when the probe
reaches Redis again, the first thing it does is replace the epoch: every body
and flag cached before the outage becomes unreachable, on every instance, and
only then does this process use Redis again. The probe runs while Redis is
healthy too, so an instance that served no request during an outage notices
it as well and cannot trust what was cached before it. A write made during an
outage is therefore never hidden by a stale body, and a logout made during an
outage is never undone by a stale `ok`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

import redis
from flask import g, has_request_context, request
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)
T = TypeVar("T")


# Endpoints whose GET is a versioned read of one scope, keyed by `request_key()`:
# endpoint -> scope name (`<name>:<user id>` is the scope). Their token check
# reads the cached body in the same round trip as the session's flag.
PREFETCHED_READS: dict[str, str] = {}


def request_key(*parts: str) -> str:
    """A read's cache key within its scope: the path, `parts` and the query string."""
    args = sorted(request.args.items(multi=True))
    raw = json.dumps([request.path, parts, args], separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()


class Unavailable(Exception):
    """The cache store cannot be used right now; callers fall back to the database."""


class Store(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def mget(self, keys: list[str]) -> list[bytes | None]: ...
    def set(self, key: str, value: bytes | str, ttl: int, *, only_if_new: bool = False) -> bool: ...
    def read_through(
        self, key: str, fresh: str, ttl: int, head: str, tail: str
    ) -> tuple[str, bytes | None]:
        """One round trip: the value at `key` (set to `fresh` with `ttl` if missing),
        then the value at `head + <that value> + tail`."""
        ...

    def read_entry(
        self,
        epoch_key: str,
        fresh: tuple[str, str],
        ttl: int,
        flag: tuple[str, str],
        version: tuple[str, str],
        entry: tuple[str, str, str],
    ) -> tuple[str, bytes | None, str, bytes | None]:
        """One round trip: the epoch E at `epoch_key`, the flag at `flag[0] E flag[1]`,
        the version V at `version[0] E version[1]` and the entry at
        `entry[0] E entry[1] V entry[2]`; a missing epoch or version is set to
        `fresh[0]` or `fresh[1]` with `ttl`."""
        ...

    def ping(self) -> None: ...
    def on_recovery(self, callback: Callable[[], None]) -> None: ...


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

    def read_through(
        self, key: str, fresh: str, ttl: int, head: str, tail: str
    ) -> tuple[str, bytes | None]:
        with self._lock:
            value = self._get_or_set(key, fresh, ttl)
            return value, self._get(head + value + tail)

    def read_entry(
        self,
        epoch_key: str,
        fresh: tuple[str, str],
        ttl: int,
        flag: tuple[str, str],
        version: tuple[str, str],
        entry: tuple[str, str, str],
    ) -> tuple[str, bytes | None, str, bytes | None]:
        with self._lock:
            epoch = self._get_or_set(epoch_key, fresh[0], ttl)
            flag_value = self._get(flag[0] + epoch + flag[1])
            current = self._get_or_set(version[0] + epoch + version[1], fresh[1], ttl)
            body = self._get(entry[0] + epoch + entry[1] + current + entry[2])
            return epoch, flag_value, current, body

    def _get_or_set(self, key: str, fresh: str, ttl: int) -> str:
        raw = self._get(key)
        if raw is None:
            raw = fresh.encode()
            if len(self._data) >= self._max_items:
                self._evict()
            self._data[key] = (time.monotonic() + ttl, raw)
        return raw.decode()

    def _evict(self) -> None:
        now = time.monotonic()
        for key in [k for k, (exp, _) in self._data.items() if exp < now]:
            del self._data[key]
        while len(self._data) >= self._max_items:
            self._data.pop(next(iter(self._data)))

    def ping(self) -> None:
        return None

    def on_recovery(self, callback: Callable[[], None]) -> None:
        return None  # an in-process store never goes away


# Store.read_through as one atomic call. Redis turns the Lua `false` of a missing
# key into a nil reply.
READ_THROUGH = """
local value = redis.call('GET', KEYS[1])
if not value then
  value = ARGV[1]
  redis.call('SET', KEYS[1], value, 'EX', ARGV[2])
end
return {value, redis.call('GET', ARGV[3] .. value .. ARGV[4])}
"""

# Store.read_entry as one atomic call.
READ_ENTRY = """
local function get_or_set(key, fresh)
  local value = redis.call('GET', key)
  if not value then
    value = fresh
    redis.call('SET', key, value, 'EX', ARGV[3])
  end
  return value
end
local epoch = get_or_set(KEYS[1], ARGV[1])
local flag = redis.call('GET', ARGV[4] .. epoch .. ARGV[5])
local version = get_or_set(ARGV[6] .. epoch .. ARGV[7], ARGV[2])
local body = redis.call('GET', ARGV[8] .. epoch .. ARGV[9] .. version .. ARGV[10])
return {epoch, flag, version, body}
"""


class RedisStore:
    """redis-py that fails fast and quietly, with a probe that handles recovery."""

    name = "redis"

    def __init__(self, url: str, *, timeout_ms: int = 250, probe_interval_ms: int = 500) -> None:
        timeout = timeout_ms / 1000
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # fail fast: the probe decides when to try again
            health_check_interval=0,
        )
        self._probe_interval = probe_interval_ms / 1000
        self._healthy = True
        self._lock = threading.Lock()
        self._recovery: list[Callable[[], None]] = []
        self._probe_pid: int | None = None
        self._local = threading.local()
        self._closed = False
        # EVALSHA, loading the script again if Redis lost it (a restart).
        self._read_through = self.client.register_script(READ_THROUGH)
        self._read_entry = self.client.register_script(READ_ENTRY)

    @property
    def available(self) -> bool:
        self._ensure_probe()
        # The probe thread may use Redis while recovering; nothing else may.
        return self._healthy or getattr(self._local, "recovering", False)

    def on_recovery(self, callback: Callable[[], None]) -> None:
        """Run `callback` (against a reachable Redis) before using Redis after an outage."""
        self._recovery.append(callback)

    def _mark_down(self, exc: BaseException) -> None:
        with self._lock:
            if self._healthy:
                log.warning(
                    "redis unreachable (%s); serving from the database until it is back",
                    exc.__class__.__name__,
                )
            self._healthy = False

    def _ensure_probe(self) -> None:
        # One probe thread per process: gunicorn forks after the app is built.
        pid = os.getpid()
        if self._probe_pid == pid:
            return
        with self._lock:
            if self._probe_pid == pid:
                return
            self._probe_pid = pid
            thread = threading.Thread(
                target=_probe_loop, args=(weakref.ref(self),), name="grau-redis-probe", daemon=True
            )
            thread.start()

    def probe(self) -> None:
        """One probe step: notice an outage, or finish recovering from one."""
        try:
            self.client.ping()
            if not self._healthy:
                self._local.recovering = True
                for callback in self._recovery:
                    callback()
        except (redis.RedisError, OSError, Unavailable) as exc:
            self._mark_down(exc)
            return
        finally:
            self._local.recovering = False
        if not self._healthy:
            with self._lock:
                self._healthy = True
            log.info("redis reachable again; entries cached before the outage are retired")

    def _call(self, fn: Callable[[], T]) -> T:
        if not self.available:
            raise Unavailable("redis is down")
        try:
            return fn()
        except (redis.RedisError, OSError) as exc:
            self._mark_down(exc)
            raise Unavailable(str(exc)) from exc

    def get(self, key: str) -> bytes | None:
        return self._call(lambda: self.client.get(key))  # type: ignore[return-value]

    def mget(self, keys: list[str]) -> list[bytes | None]:
        return self._call(lambda: self.client.mget(keys))  # type: ignore[arg-type,return-value]

    def set(self, key: str, value: bytes | str, ttl: int, *, only_if_new: bool = False) -> bool:
        return bool(self._call(lambda: self.client.set(key, value, ex=ttl, nx=only_if_new)))

    def read_through(
        self, key: str, fresh: str, ttl: int, head: str, tail: str
    ) -> tuple[str, bytes | None]:
        value, found = self._call(
            lambda: self._read_through(keys=[key], args=[fresh, ttl, head, tail])
        )
        return value.decode(), found

    def read_entry(
        self,
        epoch_key: str,
        fresh: tuple[str, str],
        ttl: int,
        flag: tuple[str, str],
        version: tuple[str, str],
        entry: tuple[str, str, str],
    ) -> tuple[str, bytes | None, str, bytes | None]:
        args: list[str | int] = [*fresh, ttl, *flag, *version, *entry]
        epoch, flag_value, current, body = self._call(
            lambda: self._read_entry(keys=[epoch_key], args=args)
        )
        return epoch.decode(), flag_value, current.decode(), body

    def close(self) -> None:
        """Stop the probe and drop the connections (an app that is done with Redis)."""
        self._closed = True
        self.client.close()

    def ping(self) -> None:
        """Check Redis directly, whatever the probe thinks: for /ready."""
        try:
            self.client.ping()
        except (redis.RedisError, OSError) as exc:
            raise Unavailable(str(exc)) from exc


def _probe_loop(ref: weakref.ref[RedisStore]) -> None:
    while True:
        store = ref()
        if store is None or store._closed:  # the app (or its store) is gone
            return
        interval = store._probe_interval
        store.probe()
        del store
        time.sleep(interval)


class Cache:
    """Versioned read cache and session flags over one `Store`."""

    def __init__(self, store: Store, *, prefix: str, ttl: int) -> None:
        self.store = store
        self.prefix = prefix
        self.ttl = ttl
        store.on_recovery(self.new_epoch)

    # -- the epoch -----------------------------------------------------------
    @property
    def _epoch_key(self) -> str:
        return f"{self.prefix}:epoch"

    @property
    def _epoch_ttl(self) -> int:
        # Outlives every key under it; when it expires, a new one is drawn.
        return max(self.ttl * 4, 24 * 3600)

    def new_epoch(self) -> None:
        """Retire everything cached so far (called on recovery from an outage)."""
        self.store.set(self._epoch_key, secrets.token_hex(8), self._epoch_ttl)

    @staticmethod
    def _memo() -> str | None:
        return g.get("_grau_cache_epoch") if has_request_context() else None

    @staticmethod
    def _remember(epoch: str) -> None:
        if has_request_context():
            g._grau_cache_epoch = epoch

    def _epoch(self) -> str:
        """The current epoch, read once per request."""
        memo = self._memo()
        if memo is not None:
            return memo
        raw = self.store.get(self._epoch_key)
        if raw is None:
            self.store.set(self._epoch_key, secrets.token_hex(8), self._epoch_ttl, only_if_new=True)
            raw = self.store.get(self._epoch_key)
            if raw is None:
                raise Unavailable("no epoch")
        epoch = raw.decode()
        self._remember(epoch)
        return epoch

    def _in_epoch(self, head: str, tail: str) -> bytes | None:
        """The value at `head + <epoch> + tail`: with the epoch in the same round trip
        when this request has not read it yet."""
        memo = self._memo()
        if memo is not None:
            return self.store.get(head + memo + tail)
        epoch, value = self.store.read_through(
            self._epoch_key, secrets.token_hex(8), self._epoch_ttl, head, tail
        )
        self._remember(epoch)
        return value

    def flag_and_entry(self, kind: str, ident: str, scope: str, query: str) -> bytes | None:
        """A flag (like `get_flag`), reading the versioned entry `get_versioned(scope,
        query)` will return in the same round trip: for the token check of a cached read."""
        p, fresh = self.prefix, (secrets.token_hex(8), secrets.token_hex(8))
        try:
            epoch, flag, version, body = self.store.read_entry(
                self._epoch_key,
                fresh,
                self._epoch_ttl,
                (f"{p}:{kind}:", f":{ident}"),
                (f"{p}:v:", f":{scope}"),
                (f"{p}:c:", f":{scope}:", f":{query}"),
            )
        except Unavailable:
            return None
        self._remember(epoch)
        g._grau_prefetched = (scope, query, f"{p}:c:{epoch}:{scope}:{version}:{query}", body)
        return flag

    # -- versioned read cache ------------------------------------------------
    def get_versioned(self, scope: str, query: str) -> tuple[str | None, bytes | None]:
        """Return (entry key, cached body); (None, None) when the cache can't be used."""
        prefetched = g.pop("_grau_prefetched", None) if has_request_context() else None
        if prefetched is not None and prefetched[:2] == (scope, query):
            return prefetched[2], prefetched[3]
        try:
            epoch = self._epoch()
            head, tail = f"{self.prefix}:c:{epoch}:{scope}:", f":{query}"
            # The scope's version (a fresh one if it has none) and the body under it.
            vkey, fresh = f"{self.prefix}:v:{epoch}:{scope}", secrets.token_hex(8)
            version, body = self.store.read_through(vkey, fresh, self._epoch_ttl, head, tail)
            return head + version + tail, body
        except Unavailable:
            return None, None

    def set_versioned(self, key: str | None, body: bytes) -> None:
        if key is None:
            return
        with contextlib.suppress(Unavailable):
            self.store.set(key, body, self.ttl)

    def invalidate(self, scopes: Iterable[str]) -> None:
        """Called after a commit: make every body cached for these scopes unreachable.

        If Redis cannot be reached, the recovery's new epoch does it instead.
        The scopes are remembered for the request (`g._grau_invalidated`), for a
        caller whose transaction outlives this commit (grau.idempotency).
        """
        scopes = list(scopes)
        if has_request_context():
            g._grau_invalidated = {*g.get("_grau_invalidated", ()), *scopes}
        with contextlib.suppress(Unavailable):
            epoch = self._epoch()
            for scope in scopes:
                self.store.set(
                    f"{self.prefix}:v:{epoch}:{scope}", secrets.token_hex(8), self._epoch_ttl
                )

    # -- flags (session state) -----------------------------------------------
    def get_flag(self, kind: str, ident: str) -> bytes | None:
        try:
            return self._in_epoch(f"{self.prefix}:{kind}:", f":{ident}")
        except Unavailable:
            return None

    def set_flag(
        self, kind: str, ident: str, value: str, ttl: int, *, only_if_new: bool = False
    ) -> None:
        """Best effort: a lost flag only costs a database read later."""
        if ttl <= 0:
            return
        with contextlib.suppress(Unavailable):
            key = f"{self.prefix}:{kind}:{self._epoch()}:{ident}"
            self.store.set(key, value, ttl, only_if_new=only_if_new)


def make_store(config: dict[str, Any]) -> Store:
    url = config.get("REDIS_URL")
    if not url:
        return MemoryStore()
    return RedisStore(
        url,
        timeout_ms=config["REDIS_SOCKET_TIMEOUT_MS"],
        probe_interval_ms=config["REDIS_PROBE_INTERVAL_MS"],
    )
