"""PostgreSQL read replicas: which server a read may use, with read-your-writes on every instance.

`DATABASE_REPLICA_URLS` names streaming replicas of `DATABASE_URL`. A read
(GET or HEAD, not part of a write) may use one; everything else uses the
primary. `grau.db.session` asks `Replicas.route` when such a read takes its
connection; this module decides.

A replica may serve a user's read only if it holds every write of that user's
that was acknowledged:

- After a request that wrote (any method but GET, HEAD, OPTIONS) and before
  its answer leaves, `wrote` reads the primary's WAL insert position
  (`pg_current_wal_insert_lsn()`, past every commit that has returned) and
  records it as the user's *marker*: in Redis, under `CACHE_KEY_PREFIX`, for
  `MARKER_TTL` (never lowering one a later write set), and in this process.
- A read takes the user's marker (one Redis round trip) and uses a replica
  only if that replica has replayed past it, as its last poll showed (replay
  only moves forward, so a replica is at least there now); else the primary.
- Each process polls the primary's WAL position and every replica's replay
  position every `POLL_S` (a thread, `_Monitor`). A replica is *current as
  of* the last moment whose primary position it has replayed: its lag is
  measured in time, so an idle primary leaves a caught-up replica at no lag,
  and a paused replay with WAL pending is seen to fall behind. A replica
  further behind than `REPLICA_MAX_LAG`, or down, or not polled lately,
  serves nothing; `/ready` reports each as ok, lagging or down.
- Markers expire after `MARKER_TTL`, above `REPLICA_MAX_LAG` and a poll's
  delay: by then every replica a read may use holds the write anyway.

Whenever the answer is uncertain, the read goes to the primary: Redis did not
answer in its timeout (then this process reads from the primary for a
`MARKER_TTL`: a Sentinel failover may have lost the markers written last to
the old primary, Redis replicating asynchronously), or lost its keys (a
restart: an `epoch` key is gone, and every process reads from the primary
for a `MARKER_TTL` while markers are set again), or the monitor has not
polled lately.
A write whose marker could not be stored in Redis is acknowledged only once
every replica has replayed it, or once `REPLICA_MAX_LAG` and two polls have
passed (after which no instance reads from a replica that lacks it).

A read that fails on a replica (it went down, a recovery conflict cancelled
it, a 401 because a session created a moment ago is not there yet) is run
again on the primary (`grau.db.session.read_again_on_primary`).

Writes by other users, and changes to the shared catalog, are seen within
`REPLICA_MAX_LAG` (eventual consistency), not at once.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
import redis
import redis.sentinel
from sqlalchemy import Engine, make_url

from grau.config import redis_fail_fast, redis_sentinel

log = logging.getLogger(__name__)

POLL_S = 0.1  # how often each process polls the primary and every replica
REDIS_RETRY_S = 1.0  # after Redis failed, how long reads go to the primary without asking it
CONNECT_TIMEOUT_S = 2
LOCAL_MARKERS_MAX = 100_000  # users whose last write this process remembers itself
POLL_TIMEOUT_MS = 2000  # a poll's statement timeout on each server
PRIMARY_LSN = "SELECT pg_current_wal_lsn()::text"  # written: what replicas can have
# A write's marker: past its commit record even under synchronous_commit=off (whose
# commit may return before the record is written out).
WRITTEN_LSN = "SELECT pg_current_wal_insert_lsn()::text"
# After a write whose marker Redis refused: beyond REPLICA_MAX_LAG and two polls, time for
# the primary to write its commit record out (wal_writer_delay, 200 ms, under
# synchronous_commit=off) and the monitors to see it.
WAIT_MARGIN_S = 1.0
REPLAY_LSN = "SELECT pg_last_wal_replay_lsn()::text"
# Set a user's marker to an LSN unless it holds a later one; keep it MARKER_TTL either way.
RAISE_MARKER = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


def lsn(text: str) -> int:
    """A PostgreSQL LSN (`16/B374D848`) as an integer, for comparing."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def server_name(url: str) -> str:
    """host:port/database of a URL: a name for /ready and metrics, without credentials."""
    parsed = make_url(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class ReplicaState:
    """One replica as the last poll found it."""

    status: str = "down"  # ok, lagging or down (as of the poll)
    replay: int = -1  # the LSN it had replayed: a lower bound from then on
    current_as_of: float | None = None  # time.monotonic() whose primary state it holds
    detail: str = "not polled yet"


class _Monitor:
    """Polls the primary's WAL position, then each replica's replay position."""

    def __init__(self, primary_url: str, replica_urls: list[str], max_lag: float) -> None:
        self.urls = [_libpq_url(primary_url), *(_libpq_url(url) for url in replica_urls)]
        self.max_lag = max_lag
        self.states = [ReplicaState() for _ in replica_urls]
        self._connections: list[psycopg.Connection[Any] | None] = [None] * len(self.urls)
        self._samples: deque[tuple[float, int]] = deque()  # (monotonic time, primary LSN)
        self._wake = threading.Event()

    def run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                self.poll()
            except Exception:  # never let the thread die: its silence would send reads home
                log.exception("replica monitor: poll failed")
            self._wake.wait(max(0.0, POLL_S - (time.monotonic() - started)))
            self._wake.clear()

    def _query(self, index: int, sql: str) -> str | None:
        connection = self._connections[index]
        try:
            if connection is None or connection.closed:
                connection = self._connections[index] = psycopg.connect(
                    self.urls[index],
                    autocommit=True,
                    connect_timeout=CONNECT_TIMEOUT_S,
                    options=f"-c statement_timeout={POLL_TIMEOUT_MS}",
                    application_name="grau-replica-monitor",
                )
            row = connection.execute(sql).fetchone()
        except psycopg.Error:
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()
            self._connections[index] = None
            raise
        return row[0] if row else None

    def poll(self) -> None:
        # The primary first: a replica that has replayed this position, read after it,
        # holds all the primary had at `taken` (its position only grows).
        taken = time.monotonic()
        try:
            primary = self._query(0, PRIMARY_LSN)
        except psycopg.Error:
            primary = None
        if primary is not None:
            self._samples.append((taken, lsn(primary)))
        horizon = taken - 2 * self.max_lag - 1
        while len(self._samples) > 1 and self._samples[0][0] < horizon:
            self._samples.popleft()
        for index in range(len(self.states)):
            self.states[index] = self._poll_replica(index)

    def _poll_replica(self, index: int) -> ReplicaState:
        try:
            replay = self._query(index + 1, REPLAY_LSN)
        except psycopg.Error as exc:
            return ReplicaState(detail=exc.__class__.__name__)
        if replay is None:
            return ReplicaState(detail="not a standby (pg_last_wal_replay_lsn() is null)")
        position = lsn(replay)
        current_as_of = next((t for t, at in reversed(self._samples) if at <= position), None)
        lagging = current_as_of is None or time.monotonic() - current_as_of > self.max_lag
        return ReplicaState("lagging" if lagging else "ok", position, current_as_of, "")

    def mark_down(self, index: int, detail: str) -> None:
        """A read found the replica broken: no read uses it until a poll finds it again."""
        self.states[index] = ReplicaState(detail=detail)
        self._wake.set()


class Replicas:
    """An app's replicas: their engines, the monitor, and each user's marker."""

    def __init__(
        self,
        config: dict[str, Any],
        urls: list[str],
        primary: Engine,
        make_engine: Callable[[str], Engine],
    ) -> None:
        self.max_lag = float(config["REPLICA_MAX_LAG"])
        self.marker_ttl = 2 * self.max_lag + 5  # well past REPLICA_MAX_LAG and a poll
        self.primary = primary
        self.engines = [make_engine(url) for url in urls]
        self.names = [server_name(url) for url in urls]
        self.on_read: Callable[[str], None] | None = None  # counts reads per target (metrics)
        self.redis = _client(config["REDIS_URL"], config["REDIS_SOCKET_TIMEOUT_MS"] / 1000)
        self._raise_marker = self.redis.register_script(RAISE_MARKER)
        prefix = f"{config['CACHE_KEY_PREFIX']}:replicas"
        self._marker_prefix = f"{prefix}:written:"
        self._epoch = f"{prefix}:epoch"  # gone: Redis lost its keys (restarted, flushed)
        self._warming = f"{prefix}:warming"  # present: markers may be missing still
        self._local: dict[uuid.UUID, tuple[int, float]] = {}  # user -> (LSN, expires)
        self._redis_retry_at = 0.0
        # Until then this process does not trust a missing marker: Redis failed (a failover
        # may have lost the last markers written to the old primary) less than MARKER_TTL ago.
        self._redis_trusted_at = 0.0
        self._turn = itertools.count()
        self._primary_url, self._urls = config["DATABASE_URL"], urls
        self._monitor = _Monitor(self._primary_url, urls, self.max_lag)
        self._monitor_pid: int | None = None
        self._start_lock = threading.Lock()

    # ----------------------------------------------------------------- reads

    def route(self, user_id: uuid.UUID) -> int | None:
        """The replica a read of `user_id`'s may use now (its index), or None: the primary."""
        chosen = self._route(user_id)
        if self.on_read is not None:
            self.on_read("primary" if chosen is None else self.names[chosen])
        return chosen

    def _route(self, user_id: uuid.UUID) -> int | None:
        self.start()
        now = time.monotonic()
        states = self._monitor.states
        usable = [
            (index, state.replay)
            for index, state in enumerate(states)
            if state.current_as_of is not None and now - state.current_as_of <= self.max_lag
        ]
        if not usable:
            return None
        local = self._local.get(user_id)
        if local is not None and local[1] < now:
            self._local.pop(user_id, None)
            local = None
        if local is not None and not any(replay >= local[0] for _, replay in usable):
            return None  # behind this process's own record of the user's write
        marker = self._marker(user_id, now)
        if marker is None:
            return None
        needed = max(marker, local[0] if local else 0)
        fits = [index for index, replay in usable if replay >= needed]
        return fits[next(self._turn) % len(fits)] if fits else None

    def _marker(self, user_id: uuid.UUID, now: float) -> int | None:
        """The user's marker in Redis (0: none), or None when Redis cannot say for sure."""
        if now < self._redis_trusted_at:
            return None
        try:
            marker, epoch, warming = self.redis.mget(
                self._marker_prefix + str(user_id), self._epoch, self._warming
            )
            if epoch is None:  # first use, or Redis lost its keys: wait for markers again
                ttl = int(self.marker_ttl * 1000)
                pipe = self.redis.pipeline(transaction=False)
                pipe.set(self._warming, 1, px=ttl, nx=True)
                pipe.set(self._epoch, 1, nx=True)
                pipe.execute()
                return None
        except redis.RedisError as exc:
            self._redis_failed(exc)
            return None
        return None if warming is not None else int(marker or 0)

    def _redis_failed(self, exc: Exception) -> None:
        now = time.monotonic()
        if now >= self._redis_retry_at:
            log.warning("redis unreachable (%s): reads use the primary", exc.__class__.__name__)
        self._redis_retry_at = now + REDIS_RETRY_S
        # Asked again after REDIS_RETRY_S (by writes), trusted again after a marker's life.
        self._redis_trusted_at = now + max(REDIS_RETRY_S, self.marker_ttl)

    def retried(self, index: int, exc: BaseException, *, replica_failed: bool) -> None:
        """A read on replica `index` ended in `exc` and runs again on the primary:
        `replica_failed` (a database error, not a refusal) is logged, and a replica found
        unreachable serves nothing until the monitor reaches it again."""
        if self.on_read is not None:
            self.on_read("primary")
        if not replica_failed:
            return
        log.warning("replica %s failed a read: %s", self.names[index], exc.__class__.__name__)
        if _is_connection_failure(exc):
            self._monitor.mark_down(index, exc.__class__.__name__)

    # ---------------------------------------------------------------- writes

    def wrote(self, users: Iterable[uuid.UUID], *, answered: bool) -> None:
        """Record, before the answer leaves, that a request wrote for `users`. `answered`:
        its answer says it did (not a 5xx), so it must hold even if no marker can be kept."""
        users = list(users)
        since = time.monotonic()
        try:
            with self.primary.connect() as connection:
                position = lsn(connection.exec_driver_sql(WRITTEN_LSN).scalar_one())
        except Exception as exc:
            log.warning("could not read the primary's WAL position: %s", exc.__class__.__name__)
            if answered:
                self._wait_for_replay(None, since)
            return
        now = time.monotonic()
        if len(self._local) >= LOCAL_MARKERS_MAX:
            self._local = {u: m for u, m in self._local.items() if m[1] > now}
        for user in users:
            known = self._local.get(user)
            if known is None or known[0] < position:
                self._local[user] = (position, now + self.marker_ttl)
        if now < self._redis_retry_at:  # Redis failed a moment ago: do not wait for it again
            self._wait_for_replay(position, since)
            return
        ttl = int(self.marker_ttl * 1000)
        try:
            for user in users:  # one EVALSHA each (a pipeline would first ask SCRIPT EXISTS)
                self._raise_marker(keys=[self._marker_prefix + str(user)], args=[position, ttl])
        except redis.RedisError as exc:
            self._redis_failed(exc)
            self._wait_for_replay(position, since)

    def _wait_for_replay(self, position: int | None, since: float) -> None:
        """Until every replica has replayed `position` (None: unknown), or until no instance
        would read from one that has not (REPLICA_MAX_LAG and two polls after `since`)."""
        self.start()
        deadline = since + self.max_lag + 2 * POLL_S + WAIT_MARGIN_S
        while time.monotonic() < deadline:
            states = self._monitor.states
            if position is not None and all(s.replay >= position for s in states):
                return
            time.sleep(POLL_S / 2)

    # ------------------------------------------------------------ monitoring

    def start(self) -> None:
        """Start this process's monitor if it is not running (each worker has its own)."""
        if self._monitor_pid == os.getpid():
            return
        with self._start_lock:
            if self._monitor_pid == os.getpid():
                return
            if self._monitor_pid is not None:  # a forked child: its own connections
                self._monitor = _Monitor(self._primary_url, self._urls, self.max_lag)
            thread = threading.Thread(target=self._monitor.run, name="grau-replicas", daemon=True)
            thread.start()
            self._monitor_pid = os.getpid()

    def report(self) -> list[dict[str, Any]]:
        """Each replica's state for /ready: name, status (ok, lagging, down), lag, detail."""
        self.start()
        now = time.monotonic()
        found = []
        for name, state in zip(self.names, self._monitor.states, strict=True):
            entry: dict[str, Any] = {"name": name}
            if state.replay < 0:
                entry.update(status="down", detail=state.detail[:200])
            elif state.current_as_of is None:
                entry.update(status="lagging", detail="behind every position polled lately")
            else:
                lag = max(0.0, now - state.current_as_of)
                entry.update(status="ok" if lag <= self.max_lag else "lagging")
                entry["lag_seconds"] = round(lag, 3)
            found.append(entry)
        return found

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()


def _client(url: str, timeout_s: float) -> redis.Redis:
    """A client of REDIS_URL's Redis, or of the primary its Sentinels name now (found again
    after a failover), failing fast: `timeout_s`, no retries."""
    fail_fast = redis_fail_fast(timeout_s)
    sentinel = redis_sentinel(url)
    if sentinel is None:
        return redis.Redis.from_url(url, **fail_fast)
    sentinels = redis.sentinel.Sentinel(  # the password goes to both, as limits sends it
        list(sentinel.sentinels),
        sentinel_kwargs={**fail_fast, **sentinel.auth},
        **fail_fast,
        **sentinel.auth,
    )
    client: redis.Redis = sentinels.master_for(sentinel.service, db=sentinel.db)
    return client


def _is_connection_failure(exc: BaseException) -> bool:
    """Whether a replica's failure says it is unreachable (not a query's own error)."""
    invalidated = getattr(exc, "connection_invalidated", False)
    original = getattr(exc, "orig", None)
    return bool(invalidated) or isinstance(original, psycopg.OperationalError)
