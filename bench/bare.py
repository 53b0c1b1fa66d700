"""The ceiling: a bare Flask app that returns grau's 20-item list body from memory.

Served by the benchmark with the same gunicorn settings as grau
(`gunicorn -c gunicorn.conf.py bench.bare:app`). The body is the bytes grau
answered for the list, read from `BENCH_BODY_FILE` at start-up; the view does
nothing but send them, so its throughput is what Flask and gunicorn cost on
this machine and nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

BODY = Path(os.environ["BENCH_BODY_FILE"]).read_bytes()

app = Flask("bare")


@app.get("/v1/body-stats")
def body_stats() -> Response:
    return Response(BODY, mimetype="application/json")


@app.get("/ready")
def ready() -> Response:
    return Response(b'{"status":"ok"}', mimetype="application/json")
