"""The load generator: wrk when installed, else a Python keep-alive client.

Both run in a process of their own, keep `connections` HTTP/1.1 connections
busy for `duration` seconds, cycle through a list of prepared requests (so
the load is spread over several users) and report the same numbers: requests,
requests per second, error counts and latency percentiles in microseconds.

    python -m bench.load URL DURATION CONNECTIONS REQUESTS.json   # the Python client
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MARKER = "BENCH_JSON "


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


def _lua_string(text: str) -> str:
    if not text.isascii():
        raise ValueError("wrk's Lua takes ASCII request text only")
    return json.dumps(text)  # a double-quoted string with \" and \\ escapes, valid Lua


def wrk_script(requests: list[Request]) -> str:
    """A wrk Lua script that cycles through `requests` and prints its summary as JSON."""
    entries = []
    for req in requests:
        headers = ", ".join(
            f"[{_lua_string(name)}] = {_lua_string(value)}" for name, value in req.headers.items()
        )
        body = _lua_string(req.body) if req.body is not None else "nil"
        method, path = _lua_string(req.method), _lua_string(req.path)
        entries.append(f"  wrk.format({method}, {path}, {{{headers}}}, {body}),")
    lines = "\n".join(entries)
    return f"""
local requests, i
function init(args)
  requests = {{
{lines}
  }}
  i = 0
end
function request()
  i = i % #requests + 1
  return requests[i]
end
function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{MARKER}{{"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def wrk_version() -> str | None:
    if shutil.which("wrk") is None:
        return None
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    return out.split("[")[0].strip() or "wrk"


def _parse(stdout: str) -> dict[str, Any]:
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            result: dict[str, Any] = json.loads(line[len(MARKER) :])
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            return result
    raise RuntimeError(f"the load generator printed no summary:\n{stdout}")


def run(
    base_url: str, requests: list[Request], *, duration: float, connections: int
) -> dict[str, Any]:
    """Drive `base_url` with `requests` from another process; return its summary."""
    if shutil.which("wrk"):
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(wrk_script(requests))
        try:
            command = [
                "wrk",
                "-t1",  # one wrk thread keeps up with grau on one core and leaves the rest
                f"-c{connections}",
                f"-d{max(1, round(duration))}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                base_url,
            ]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
        finally:
            os.unlink(script.name)
        result = _parse(done.stdout)
        result["generator"] = "wrk"
        return result
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
        json.dump([req.__dict__ for req in requests], spec)
    try:
        command = [
            sys.executable,
            "-m",
            "bench.load",
            base_url,
            str(duration),
            str(connections),
            spec.name,
        ]
        root = Path(__file__).resolve().parent.parent
        done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=root)
    finally:
        os.unlink(spec.name)
    result = _parse(done.stdout)
    result["generator"] = "python"
    return result


# ------------------------------------------------------------ the Python fallback


def _raw(req: Request, host: str) -> bytes:
    body = (req.body or "").encode()
    head = [f"{req.method} {req.path} HTTP/1.1", f"Host: {host}"]
    head += [f"{k}: {v}" for k, v in req.headers.items()]
    if req.body is not None:
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _connection(
    host: str, port: int, raws: list[bytes], offset: int, deadline: float, stats: dict[str, Any]
) -> None:
    """One client connection, reopened whenever the server closes it (gunicorn's sync
    workers answer every request with `Connection: close`), as wrk does."""
    i = offset
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            stats["socket_errors"] += 1
            return
        try:
            while time.monotonic() < deadline:
                raw = raws[i % len(raws)]
                i += 1
                started = time.perf_counter()
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length, close = 0, False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection":
                        close = value.strip().lower() == b"close"
                if length:
                    await reader.readexactly(length)
                stats["latencies"].append(time.perf_counter() - started)
                if status >= 400:
                    stats["status_errors"] += 1
                if close:
                    break
        except (OSError, asyncio.IncompleteReadError):
            stats["socket_errors"] += 1
            return
        finally:
            writer.close()


async def _drive(base_url: str, requests: list[Request], duration: float, conns: int) -> None:
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    raws = [_raw(req, f"{host}:{port}") for req in requests]
    stats: dict[str, Any] = {"latencies": [], "status_errors": 0, "socket_errors": 0}
    started = time.monotonic()
    deadline = started + duration
    await asyncio.gather(*(_connection(host, port, raws, n, deadline, stats) for n in range(conns)))
    elapsed = time.monotonic() - started
    latencies = sorted(stats["latencies"]) or [0.0]

    def pct(p: float) -> int:
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1e6)

    summary = {
        "requests": len(stats["latencies"]),
        "duration_us": round(elapsed * 1e6),
        "status_errors": stats["status_errors"],
        "socket_errors": stats["socket_errors"],
        "p50_us": pct(50),
        "p90_us": pct(90),
        "p99_us": pct(99),
        "max_us": round(latencies[-1] * 1e6),
    }
    print(MARKER + json.dumps(summary), flush=True)


def main() -> None:
    base_url, duration, conns, spec = sys.argv[1:5]
    requests = [Request(**item) for item in json.loads(Path(spec).read_text())]
    asyncio.run(_drive(base_url, requests, float(duration), int(conns)))


if __name__ == "__main__":
    main()
