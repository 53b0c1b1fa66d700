"""The live security suite's fixtures: the spec, signed-in users and an audit of every answer.

Runs against GRAU_BASE_URL (`make security`, inside `make contract`'s live
stack). Operations are parametrized from the committed openapi/openapi.json,
which test_misconfiguration checks is what the server serves.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from client import Audit, Client

from contract.spec.walk import Spec

ROOT = Path(__file__).resolve().parents[2]
SPEC = Spec.committed()
PASSWORD = "correct horse battery staple"
BASE_URL = os.environ.get("GRAU_BASE_URL", "").rstrip("/")
# Set by scripts/live_stack.py: the server's log, and its (throwaway) signing key.
LIVE_LOG = os.environ.get("GRAU_LIVE_LOG", "")
LIVE_SECRET_KEY = os.environ.get("GRAU_LIVE_SECRET_KEY", "")


def pytest_sessionstart(session: pytest.Session) -> None:
    if not BASE_URL:
        pytest.exit("the security suite needs GRAU_BASE_URL (make contract sets it)", returncode=2)


@pytest.fixture(scope="session")
def audit() -> Audit:
    return Audit()


@pytest.fixture(scope="session")
def log_offset() -> int:
    """Where the server log stood when the suite began."""
    return Path(LIVE_LOG).stat().st_size if LIVE_LOG else 0


@dataclass
class User:
    client: Client
    email: str
    password: str
    ids: dict[str, str] = field(default_factory=dict)  # item parameter -> this user's item id

    @property
    def token(self) -> str:
        return self.client.token


@pytest.fixture(scope="session")
def new_user(audit: Audit, log_offset: int) -> Callable[[str], User]:
    """Register and log in a user, from a loopback address of its own."""

    def make(label: str) -> User:
        client = Client(BASE_URL, audit, label)
        email = f"sec-{label.lower()}-{uuid.uuid4().hex[:10]}@example.com"
        audit.emails[label] = email
        created = client.post("/v1/users", {"email": email, "password": PASSWORD})
        assert created.status == 201, str(created)
        return login(User(client, email, PASSWORD))

    return make


def login(user: User) -> User:
    reply = user.client.post("/v1/auth/login", {"email": user.email, "password": user.password})
    assert reply.status == 200, str(reply)
    user.client.token = reply.json["access_token"]
    return user


def fill(path: str, ids: dict[str, str]) -> str:
    for param, value in ids.items():
        path = path.replace("{" + param + "}", value)
    assert "{" not in path, f"no id for a parameter of {path}"
    return path


def populate(user: User) -> User:
    """One item of every resource the spec declares, created through the API."""
    for param, create in SPEC.creation_order():
        body = SPEC.create_body(create, user.ids)
        reply = user.client.post(fill(create.path, user.ids), body)
        assert reply.status == 201, f"{create}: cannot create one from the spec: {reply}"
        user.ids[param] = reply.json["id"]
    return user


@pytest.fixture(scope="session")
def owner(new_user: Callable[[str], User]) -> User:
    """User A, who owns one of everything."""
    return populate(new_user("A"))


@pytest.fixture(scope="session")
def intruder(new_user: Callable[[str], User]) -> User:
    """User B, who owns one of everything too (so B's requests are valid but for A's ids)."""
    return populate(new_user("B"))
