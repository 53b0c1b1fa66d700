"""Soak test: many users' mixed traffic against grau's production server, then an audit.

    python scripts/soak.py                          # make soak: 60 s on a fresh live stack
    python scripts/soak.py --duration 12 --users 24 # a short run

Starts grau as production runs it (scripts/live_stack.py: a fresh PostgreSQL
database, Redis, grau.server with its own process and thread counts)
on loopback, registers a pool of users, then runs one thread per user, each
on its own keep-alive connection, sending a mix of requests: lists, reads,
creates with an Idempotency-Key, partial updates and deletes with If-Match,
summaries, the catalog and the profile. It stops after --duration seconds or
--max-requests requests, whichever comes first.

Then it reads the database directly and audits every acknowledged write, per
user and by id: each item whose create was answered 201 is there exactly
once, with the content of its last acknowledged update, unless its delete
was answered 204, in which case it is gone; no other rows exist.

Rate limits: registration and login are raised for the pool (the soak signs
up every user from one address in a few seconds, which the production limits
exist to stop), and so is the per-user limit; every other setting is
production's. Figures go to stdout and to --report (JSON). The exit status
is 1 on any 5xx, transport error, unexpected status or audit mismatch.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "soak test passphrase"
SOAK_ENV = {
    "RATELIMIT_REGISTER": "100000 per minute",
    "RATELIMIT_LOGIN": "100000 per minute",
    "RATELIMIT_USER": "100000 per minute",
}
RECORDED_AT = "2026-11-20T07:30:00+01:00"
KINDS = {
    # collection path: (table, create body without its note)
    "/v1/body-stats": (
        "body_stats",
        {"type": "weight", "value": 72.5, "unit": "kg", "recorded_at": RECORDED_AT},
    ),
    "/v1/nutrition-entries": (
        "nutrition_entries",
        {"type": "water", "value": 250.0, "unit": "ml", "recorded_at": RECORDED_AT},
    ),
}
READS = [
    "/v1/body-stats/summary?type=weight&bucket=week",
    "/v1/nutrition-entries/daily-totals?from=2026-11-01&to=2026-11-30",
    "/v1/exercises?page_size=20",
    "/v1/users/me",
]
# (operation, weight): reads dominate, as in an app; every write kind is frequent.
MIX = [("list", 20), ("get", 15), ("read", 15), ("create", 20), ("update", 18), ("delete", 12)]
MAX_ITEMS = 6  # per user and kind: deletes keep pace with creates


@dataclass
class Item:
    etag: str
    note: str


@dataclass
class User:
    host: str
    port: int
    token: str
    id: str
    items: dict[str, dict[str, Item]] = field(default_factory=lambda: {k: {} for k in KINDS})
    deleted: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})
    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    acknowledged: Counter[str] = field(default_factory=Counter)
    conn: http.client.HTTPConnection | None = None

    def send(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        sent = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        sent.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        start = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=sent)
            response = self.conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.conn = None
            self.transport_errors.append(f"{method} {path}: {exc!r}")
            return 0, {}, None
        self.latencies.append(time.perf_counter() - start)
        self.statuses[response.status] += 1
        received = {k.lower(): v for k, v in response.getheaders()}
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return response.status, received, json.loads(payload) if payload else None

    def expect(self, want: int, got: int, what: str, body: Any) -> bool:
        if got == want:
            return True
        if got:  # transport errors are counted where they happen
            self.unexpected.append(f"{what}: {got} {json.dumps(body)[:300]}")
        return False

    def step(self) -> None:
        operation = random.choices([m[0] for m in MIX], [m[1] for m in MIX])[0]
        kind = random.choice(list(KINDS))
        items = self.items[kind]
        if operation == "create" or (operation in ("get", "update", "delete") and not items):
            if len(items) < MAX_ITEMS:
                self.create(kind)
                return
            operation = "delete"
        if operation == "delete" and len(items) <= 1:
            operation = "update"
        if operation == "list":
            status, _, body = self.send("GET", f"{kind}?page_size=20&sort=-recorded_at")
            self.expect(200, status, f"GET {kind}", body)
        elif operation == "read":
            path = random.choice(READS)
            status, _, body = self.send("GET", path)
            self.expect(200, status, f"GET {path}", body)
        elif operation == "get":
            item_id = random.choice(list(items))
            status, headers, body = self.send("GET", f"{kind}/{item_id}")
            if self.expect(200, status, f"GET {kind}/id", body):
                items[item_id].etag = headers["etag"]
        elif operation == "update":
            self.update(kind, random.choice(list(items)))
        else:
            self.delete(kind, random.choice(list(items)))

    def create(self, kind: str) -> None:
        note = f"soak-{uuid.uuid4().hex}"
        body = {**KINDS[kind][1], "note": note}
        status, headers, reply = self.send("POST", kind, body, {"Idempotency-Key": note})
        if self.expect(201, status, f"POST {kind}", reply):
            self.items[kind][reply["id"]] = Item(headers["etag"], note)
            self.acknowledged["create"] += 1

    def update(self, kind: str, item_id: str) -> None:
        item = self.items[kind][item_id]
        note = f"soak-{uuid.uuid4().hex}"
        status, headers, reply = self.send(
            "PATCH", f"{kind}/{item_id}", {"note": note}, {"If-Match": item.etag}
        )
        if self.expect(200, status, f"PATCH {kind}/id", reply):
            item.etag, item.note = headers["etag"], note
            self.acknowledged["update"] += 1

    def delete(self, kind: str, item_id: str) -> None:
        item = self.items[kind][item_id]
        status, _, reply = self.send("DELETE", f"{kind}/{item_id}", None, {"If-Match": item.etag})
        if self.expect(204, status, f"DELETE {kind}/id", reply):
            del self.items[kind][item_id]
            self.deleted[kind].add(item_id)
            self.acknowledged["delete"] += 1


def _post(host: str, port: int, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        data = json.dumps(body).encode()
        conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def make_user(host: str, port: int) -> User:
    email = f"soak-{uuid.uuid4().hex[:12]}@example.com"
    status, created = _post(host, port, "/v1/users", {"email": email, "password": PASSWORD})
    if status != 201:
        raise RuntimeError(f"registration failed: {status} {created}")
    status, tokens = _post(host, port, "/v1/auth/login", {"email": email, "password": PASSWORD})
    if status != 200:
        raise RuntimeError(f"login failed: {status} {tokens}")
    return User(host, port, tokens["access_token"], created["id"])


def audit(database_url: str, users: list[User]) -> dict[str, Any]:
    """Compare what the clients were told with what the database holds, by id."""
    from sqlalchemy import text

    from grau.db.session import make_engine

    engine = make_engine(database_url)
    by_id = {user.id: user for user in users}
    missing, stale, resurrected, unexpected = [], [], [], []
    notes: Counter[str] = Counter()
    found = expected = 0
    try:
        with engine.connect() as conn:
            for kind, (table, _) in KINDS.items():
                rows = conn.execute(text(f"SELECT id, user_id, note FROM {table}")).all()
                stored: dict[str, dict[str, str]] = {}
                for row_id, user_id, note in rows:
                    stored.setdefault(str(user_id), {})[str(row_id)] = note
                    notes[note] += 1
                for user_id, user in by_id.items():
                    have = stored.pop(user_id, {})
                    expected += len(user.items[kind])
                    for item_id, item in user.items[kind].items():
                        if item_id not in have:
                            missing.append(f"{kind}/{item_id}")
                        elif have[item_id] != item.note:
                            stale.append(f"{kind}/{item_id}")
                        else:
                            found += 1
                    resurrected += [f"{kind}/{i}" for i in user.deleted[kind] if i in have]
                    unexpected += [
                        f"{kind}/{i}" for i in have if i not in user.items[kind]
                        and i not in user.deleted[kind]
                    ]  # fmt: skip
                unexpected += [f"{kind}/{i} (user {u})" for u, ids in stored.items() for i in ids]
    finally:
        engine.dispose()
    doubled = sorted(note for note, n in notes.items() if n > 1)
    return {
        "items_expected": expected,
        "items_found": found,
        "missing": missing,
        "stale": stale,
        "deleted_but_present": resurrected,
        "unexpected_rows": unexpected,
        "doubled": doubled,
        "ok": not (missing or stale or resurrected or unexpected or doubled),
    }


def run(
    base_url: str, database_url: str, *, duration: float, users: int, max_requests: int
) -> dict[str, Any]:
    split = urlsplit(base_url)
    host, port = split.hostname or "127.0.0.1", split.port or 80
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"the soak runs on loopback only, not {host}")
    with ThreadPoolExecutor(max_workers=8) as pool:
        pool_users = list(pool.map(lambda _: make_user(host, port), range(users)))

    stop = threading.Event()
    sent = Counter[str]()
    lock = threading.Lock()

    def loop(user: User) -> None:
        while not stop.is_set():
            with lock:
                if sent["requests"] >= max_requests:
                    stop.set()
                    return
                sent["requests"] += 1
            user.step()
        if user.conn is not None:
            user.conn.close()

    threads = [threading.Thread(target=loop, args=(u,)) for u in pool_users]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    stop.wait(duration)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    elapsed = time.monotonic() - start

    statuses = sum((u.statuses for u in pool_users), Counter[int]())
    latencies = sorted(x for u in pool_users for x in u.latencies)
    acknowledged = sum((u.acknowledged for u in pool_users), Counter[str]())
    transport = [e for u in pool_users for e in u.transport_errors]
    unexpected = [e for u in pool_users for e in u.unexpected]
    checked = audit(database_url, pool_users)
    requests = sum(statuses.values())

    def percentile(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000, 1)

    return {
        "duration_s": round(elapsed, 1),
        "users": users,
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1) if elapsed else 0,
        "status_counts": {str(k): v for k, v in sorted(statuses.items())},
        "5xx": sum(v for k, v in statuses.items() if k >= 500),
        "transport_errors": len(transport),
        "unexpected_statuses": len(unexpected),
        "latency_ms": {
            "median": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "p95": percentile(0.95) if latencies else None,
            "p99": percentile(0.99) if latencies else None,
            "max": round(latencies[-1] * 1000, 1) if latencies else None,
        },
        "writes_acknowledged": {
            "creates": acknowledged["create"],
            "updates": acknowledged["update"],
            "deletes": acknowledged["delete"],
            "total": sum(acknowledged.values()),
        },
        "audit": checked,
        "examples": {"transport_errors": transport[:5], "unexpected": unexpected[:5]},
    }


def passed(report: dict[str, Any]) -> bool:
    return (
        report["requests"] > 0
        and report["5xx"] == 0
        and report["transport_errors"] == 0
        and report["unexpected_statuses"] == 0
        and report["audit"]["ok"]
    )


def summary(report: dict[str, Any]) -> str:
    writes, audit_ = report["writes_acknowledged"], report["audit"]
    latency = report["latency_ms"]
    return "\n".join(
        [
            f"soak: {report['users']} users for {report['duration_s']} s",
            f"  requests: {report['requests']} ({report['requests_per_s']}/s), "
            f"statuses {report['status_counts']}",
            f"  5xx: {report['5xx']}, transport errors: {report['transport_errors']}, "
            f"unexpected statuses: {report['unexpected_statuses']}",
            f"  latency ms: median {latency['median']}, p95 {latency['p95']}, "
            f"p99 {latency['p99']}, max {latency['max']}",
            f"  writes acknowledged: {writes['total']} (creates {writes['creates']}, "
            f"updates {writes['updates']}, deletes {writes['deletes']})",
            f"  audit: items expected {audit_['items_expected']}, found with their last "
            f"acknowledged content {audit_['items_found']}; missing {len(audit_['missing'])}, "
            f"stale {len(audit_['stale'])}, deleted but present "
            f"{len(audit_['deleted_but_present'])}, doubled {len(audit_['doubled'])}, "
            f"unexpected rows {len(audit_['unexpected_rows'])}",
            f"  result: {'PASS' if passed(report) else 'FAIL'}",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of traffic")
    parser.add_argument("--users", type=int, default=48, help="concurrent users (threads)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop after this many")
    parser.add_argument("--report", type=Path, default=ROOT / "build" / "soak" / "report.json")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "scripts"))
    from live_stack import running_stack

    (ROOT / "build").mkdir(exist_ok=True)
    with running_stack(workers=None, extra_env=SOAK_ENV) as stack:
        report = run(
            stack.base_url,
            stack.database_url,
            duration=args.duration,
            users=args.users,
            max_requests=args.max_requests,
        )
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n")
    print(summary(report))
    print(f"  report: {args.report}")
    return 0 if passed(report) else 1


if __name__ == "__main__":
    sys.exit(main())
