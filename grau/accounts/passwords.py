"""argon2id password hashes (never reversible), with parameters from the config."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


def hasher() -> PasswordHasher:
    ph = current_app.extensions.get("grau.password_hasher")
    if ph is None:
        config = current_app.config
        ph = PasswordHasher(
            time_cost=config["ARGON2_TIME_COST"],
            memory_cost=config["ARGON2_MEMORY_KIB"],
            parallelism=config["ARGON2_PARALLELISM"],
        )
        current_app.extensions["grau.password_hasher"] = ph
    return ph


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash, still spend the time a check takes."""
    ph = hasher()
    try:
        if password_hash is None:
            ph.verify(_dummy_hash(), password)
            return False
        return ph.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


def _dummy_hash() -> str:
    dummy = current_app.extensions.get("grau.dummy_hash")
    if dummy is None:
        dummy = hasher().hash("not-a-real-password")
        current_app.extensions["grau.dummy_hash"] = dummy
    return dummy
