"""Response bodies cached in this process, keyed by the revision of the data they show.

A cached read's key is who reads (the user), what they can read as of this
request (the `Revision` the token check read from the database in the same
query as the session) and what they asked for (path and query string). A
write bumps the revision in its own transaction (`grau.core.revisions`), so an
entry is never invalidated and never stale: once a write is acknowledged,
every request on every instance reads the new revision and asks for a key
nobody has cached yet. A crash between a commit and anything after it leaves
nothing behind (nothing comes after it), and Redis holds no body, so no
Redis outage, timeout or partition can make a read wrong.

Entries live in this process, in a least-recently-used map bounded by
`CACHE_MAX_MB`; a body over an eighth of it is not cached. A hit costs no
database query but the token check's, and no serialization. Why not Redis:
a shared entry would save each process its own first miss, at the price of
a Redis round trip on every miss, and on this project's benchmark a round
trip costs more CPU than reading and serializing a page of items (see the
README's Performance section).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grau.context import current_flask
from grau.core.revisions import Revision

# Per entry, beyond its body: key, tuple, strings, the map's slot (roughly).
ENTRY_OVERHEAD = 400
# Users whose latest cached revision `ResponseCache.recent` remembers (a hint: forgetting
# them all only costs their next read the query that also fetches its row).
LATEST_MAX_USERS = 100_000


@dataclass(frozen=True)
class Cached:
    etag: str
    body: bytes


Key = tuple[Any, ...]


def read_key(user_id: uuid.UUID, revision: Revision, environ: Mapping[str, Any]) -> Key:
    """A request's key: user, revision, and its path and query string as sent (the WSGI
    environ's: one lookup of the request for the caller, none here)."""
    return (user_id, revision, environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))


class ResponseCache:
    """A thread-safe LRU of response bodies, bounded in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Key, Cached] = OrderedDict()
        self._bytes = 0
        self._latest: dict[uuid.UUID, Revision] = {}  # per user: the revision last cached at
        self._lock = threading.Lock()

    def get(self, key: Key) -> Cached | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def recent(self, user_id: uuid.UUID, environ: Mapping[str, Any]) -> bool:
        """Whether this request's answer is cached under the latest revision this process
        cached one of the user's reads at: a read likely to hit, told before its query
        has read the revision (a hint only: the hit itself is `get` under that one)."""
        revision = self._latest.get(user_id)
        return revision is not None and read_key(user_id, revision, environ) in self._entries

    def put(self, key: Key, entry: Cached) -> None:
        size = len(entry.body) + ENTRY_OVERHEAD
        if size > self.max_bytes // 8:
            return
        with self._lock:
            if len(self._latest) >= LATEST_MAX_USERS:
                self._latest.clear()
            self._latest[key[0]] = key[1]
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous.body) + ENTRY_OVERHEAD
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body) + ENTRY_OVERHEAD

    def __len__(self) -> int:
        return len(self._entries)


def responses() -> ResponseCache:
    cache: ResponseCache = current_flask().extensions["grau.responses"]
    return cache


def init_app(app: Any) -> None:
    app.extensions["grau.responses"] = ResponseCache(app.config["CACHE_MAX_MB"] * 1024 * 1024)
