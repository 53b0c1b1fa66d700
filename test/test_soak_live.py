"""A short soak in CI: `make soak`'s traffic and audit for a few seconds.

The full run (`make soak`, 60 s) writes the figures in the README; this one
proves on every CI run that mixed traffic from many users against grau.server
(its own default worker and thread counts) gets no 5xx and that every
acknowledged write is in the database exactly once. Its figures are printed
and written to build/soak/ci-report.json.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from conftest import ROOT, Database
from live import LIVE, Server, app_env, migrate

from scripts.soak import SOAK_ENV, passed, run, summary

pytestmark = LIVE

DURATION_S = float(os.environ.get("GRAU_SOAK_SECONDS", "12"))
USERS = 24


def test_a_short_soak_gets_no_5xx_and_loses_or_doubles_no_acknowledged_write(
    new_database: Callable[[], Database], redis_url: str, tmp_path: Path
) -> None:
    db = new_database()
    migrate(db.url)
    env = app_env(db.url, redis_url, **SOAK_ENV)
    server = Server(env, tmp_path / "server.log", workers=None, threads=None).start()
    try:
        report = run(
            f"http://127.0.0.1:{server.port}",
            db.url,
            duration=DURATION_S,
            users=USERS,
            max_requests=50_000,
        )
    finally:
        server.stop()
    out = ROOT / "build" / "soak" / "ci-report.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(summary(report))
    assert passed(report), summary(report) + "\n" + json.dumps(report["examples"], indent=2)
