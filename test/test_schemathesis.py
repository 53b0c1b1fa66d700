"""schemathesis runs once, against the running stack: `make schemathesis`, in `make contract`.

It fuzzes grau as production serves it (granian, PostgreSQL, Redis), with every
check, phase and hook of schemathesis.toml. An in-process copy of that run in
`make test` checked the same contract a second time, and is gone; this file
keeps the live run honest about its configuration.
"""

from __future__ import annotations

from pathlib import Path

from schemathesis.config import SchemathesisConfig

ROOT = Path(__file__).resolve().parent.parent


def test_schemathesis_toml_enables_every_check() -> None:
    """`make schemathesis` runs all checks, ignored_auth and use_after_free included."""
    checks = SchemathesisConfig.from_path(str(ROOT / "schemathesis.toml")).projects.default.checks
    names = {
        name
        for name in dir(checks)
        if not name.startswith("_") and hasattr(getattr(checks, name), "enabled")
    }
    # max_response_time is schemathesis' only opt-in check: timing is no contract here.
    disabled = {n for n in names - {"max_response_time"} if not getattr(checks, n).enabled}

    assert {"ignored_auth", "use_after_free", "object_level_authorization"} <= names
    assert disabled == set()
