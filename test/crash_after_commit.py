"""grau's app, except that a worker kills itself right after a commit when a request asks.

For test_instances_live.py: a request with `X-Test-Crash-After-Commit` ends its
worker with SIGKILL the moment its transaction has committed, before anything
after the commit runs and before the client gets an answer (what a crash, an
OOM kill or a power cut at the worst moment looks like).
"""

from __future__ import annotations

import os
import signal
from typing import Any

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import create_app as create_grau_app

HEADER = "X-Test-Crash-After-Commit"


def _crash_if_asked(_session: Session) -> None:
    if has_request_context() and request.headers.get(HEADER):
        os.kill(os.getpid(), signal.SIGKILL)


def create_app(*args: Any, **kwargs: Any) -> Flask:
    event.listen(Session, "after_commit", _crash_if_asked)
    return create_grau_app(*args, **kwargs)
