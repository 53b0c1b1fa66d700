"""An HTTP client for the live security suite that also audits every answer it gets.

Each `Client` talks from its own loopback source address (all of 127/8 is
loopback on Linux), so the suite's logins and registrations spend budgets of
their own, never the 127.0.0.1 budget the other contract checks share. Every
reply passes `audit`: never a server error, never a password hash or token
hash, never a stack trace, and never the email of a user other than the
client's own.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

PROBLEM_JSON = "application/problem+json"
# What must never be in any body: argon2 hashes, and fields that hold secrets at rest.
FORBIDDEN_MARKERS = (b"$argon2", b"Traceback (most recent call last)")
FORBIDDEN_KEYS = {"password", "password_hash", "token_hash", "current_password"}


@dataclass
class Reply:
    method: str
    path: str
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip()

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status} {self.body[:300]!r}"


@dataclass
class Audit:
    """Everything the suite saw that breaks a promise, collected across all clients."""

    emails: dict[str, str] = field(default_factory=dict)  # client label -> its own email
    findings: list[str] = field(default_factory=list)
    replies: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, label: str, reply: Reply) -> None:
        found = []
        if reply.status >= 500:
            found.append("server error")
        found += [f"contains {m.decode()}" for m in FORBIDDEN_MARKERS if m in reply.body]
        # The spec describes password fields and a 422 names them: successful API
        # answers are the ones that must never hold them.
        stored = reply.path.startswith("/v1/") and 200 <= reply.status < 300
        if stored and reply.content_type == "application/json" and reply.body:
            found += [f"has a {key!r} field" for key in _keys(reply.json) & FORBIDDEN_KEYS]
        for other, email in self.emails.items():
            if other != label and email.encode() in reply.body.lower():
                found.append(f"shows {other}'s email")
        with self.lock:
            self.replies += 1
            self.findings += [f"{label}: {reply}: {what}" for what in found]


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


def new_source_address() -> str:
    """A random loopback address other than 127.0.0.1."""
    return f"127.{secrets.randbelow(254) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


class Client:
    def __init__(self, base_url: str, audit: Audit, label: str, source: str | None = None):
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.audit = audit
        self.label = label
        loopback = self.host in ("127.0.0.1", "localhost")
        self.source = source or (new_source_address() if loopback else "")
        self.token = ""

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> Reply:
        sent = {"Accept": "application/json"}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if auth and self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        sent.update(headers or {})
        sent = {k: v for k, v in sent.items() if v is not None}
        target = path + ("?" + urlencode(query, doseq=True) if query else "")
        source = (self.source, 0) if self.source else None
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30, source_address=source)
        try:
            # The server may answer before the body is all sent (a 413 for one too
            # large) and close the connection: its answer is still there to read.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                conn.request(method, target, body=data, headers=sent)
            response = conn.getresponse()
            reply = Reply(method, target, response.status, response.headers, response.read())
        finally:
            conn.close()
        self.audit.check(self.label, reply)
        return reply

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("POST", path, body, **kwargs)
