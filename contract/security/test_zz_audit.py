"""Last: every answer the suite got kept its promises, and the server logged no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import LIVE_LOG


def test_no_answer_leaked_anything_or_failed(audit):
    assert audit.replies > 0
    assert audit.findings == []


def test_the_server_logged_no_error_during_the_suite(log_offset: int):
    if not LIVE_LOG:
        pytest.skip("GRAU_LIVE_LOG is not set: a server someone else started")
    with Path(LIVE_LOG).open("rb") as log:
        log.seek(log_offset)
        written = log.read().decode(errors="replace")

    errors = [
        line[:500]
        for line in written.splitlines()
        if "Traceback" in line or '"level": "ERROR"' in line or "[ERROR]" in line
    ]
    assert errors == []
