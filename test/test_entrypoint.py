"""scripts/entrypoint.py as a container runs it: a subprocess against a fresh PostgreSQL database.

PostgreSQL pass only (the waiting, the advisory lock and replicas racing are
PostgreSQL behaviour). An unreachable database is simulated with a loopback TCP
proxy that starts listening late, never by stopping the shared server.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from conftest import TEST_DATABASE_URL, Database, alembic_config
from live import free_port
from sqlalchemy import make_url, text

from grau.db.session import make_engine

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="entrypoint tests need PostgreSQL (TEST_DATABASE_URL)"
)

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = str(ROOT / "scripts" / "entrypoint.py")


def entrypoint(database_url: str, *args: str, wait_timeout: float = 20) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "DB_WAIT_TIMEOUT": str(wait_timeout)}
    return subprocess.Popen(
        [sys.executable, ENTRYPOINT, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(
    process: subprocess.Popen[str], timeout: float = 30
) -> tuple[int, str, list[dict[str, Any]]]:
    """Exit status, stdout and the JSON events logged on stderr."""
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, events(stderr)


def events(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def names(logged: list[dict[str, Any]]) -> list[str]:
    return [e["event"] for e in logged]


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def database_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            query = text("SELECT version_num FROM alembic_version")
            revision: str = conn.execute(query).scalar_one()
            return revision
    finally:
        engine.dispose()


def schema_snapshot(url: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            columns = conn.execute(
                text(
                    "SELECT table_name, column_name, data_type, is_nullable "
                    "FROM information_schema.columns WHERE table_schema = 'public' "
                    "ORDER BY table_name, column_name"
                )
            )
            return [tuple(row) for row in columns]
    finally:
        engine.dispose()


class TcpProxy:
    """Forwards loopback connections on `port` to `target`; bounded in connections and time."""

    MAX_CONNECTIONS = 32

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port = port
        self.target = target
        self.stopped = threading.Event()
        self.sockets: list[socket.socket] = []
        self.listener = socket.socket()

    def start(self) -> None:
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set() and len(self.sockets) < 2 * self.MAX_CONNECTIONS:
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
            client.settimeout(None)
            self.sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def fresh(new_database: Callable[[], Database]) -> str:
    return new_database().url


@pytest.fixture
def proxy_port() -> Iterator[tuple[int, list[TcpProxy]]]:
    started: list[TcpProxy] = []
    yield free_port(), started
    for proxy in started:
        proxy.stop()


def test_waits_for_an_unreachable_database_and_proceeds_when_it_appears(
    fresh: str, proxy_port: tuple[int, list[TcpProxy]]
) -> None:
    port, started = proxy_port
    server = make_url(fresh)
    through_proxy = server.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    logged: list[dict[str, Any]] = []
    lines: queue.Queue[str] = queue.Queue()
    with entrypoint(through_proxy, "--no-exec", wait_timeout=30) as process:  # closes its pipes
        try:
            stderr = process.stderr
            assert stderr is not None

            def read() -> None:
                for line in stderr:
                    lines.put(line)

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            deadline = time.monotonic() + 15
            while names(logged).count("waiting_for_database") < 2:
                logged.append(json.loads(lines.get(timeout=max(0.0, deadline - time.monotonic()))))
            assert process.poll() is None, "it gave up while the database was still coming"

            proxy = TcpProxy(port, (server.host or "127.0.0.1", server.port or 5432))
            proxy.start()
            started.append(proxy)
            assert process.wait(timeout=30) == 0
            reader.join(timeout=5)
        finally:
            if process.poll() is None:
                process.kill()
    while not lines.empty():
        logged.append(json.loads(lines.get()))
    assert "database_ready" in names(logged)
    assert database_revision(fresh) == head_revision(fresh)


def test_gives_up_with_a_clear_message_naming_the_host_but_not_the_password() -> None:
    password = "s3cret-Passw0rd"
    url = f"postgresql://grau:{password}@127.0.0.1:{free_port()}/grau"
    began = time.monotonic()
    status, stdout, logged = finish(entrypoint(url, "--no-exec", wait_timeout=2))
    assert status == 1
    # Bounded, not timed: a 2 s budget must not turn into an unbounded wait (generous,
    # so a loaded CI machine's slow interpreter start-ups cannot fail it).
    assert time.monotonic() - began < 60
    assert names(logged).count("waiting_for_database") >= 2
    failure = logged[-1]
    assert failure["event"] == "startup_failed"
    assert "127.0.0.1" in failure["message"] and "giving up" in failure["message"]
    assert password not in stdout + json.dumps(logged)


def test_two_replicas_starting_together_migrate_exactly_once(fresh: str) -> None:
    processes = [entrypoint(fresh, "--no-exec") for _ in range(2)]
    results = [finish(process) for process in processes]

    assert [status for status, _, _ in results] == [0, 0], results
    assert database_revision(fresh) == head_revision(fresh)
    migrated = [e for _, _, logged in results for e in logged if e["event"] == "migrated"]
    up_to_date = [e for _, _, logged in results for e in logged if e["event"] == "up_to_date"]
    assert len(migrated) == 1 and len(up_to_date) == 1, results
    assert migrated[0]["from"] is None and migrated[0]["to"] == head_revision(fresh)


def test_a_second_run_is_a_no_op(fresh: str) -> None:
    status, _, first = finish(entrypoint(fresh, "--no-exec"))
    assert status == 0 and "migrated" in names(first)
    schema = schema_snapshot(fresh)

    status, _, second = finish(entrypoint(fresh, "--no-exec"))
    assert status == 0
    assert "up_to_date" in names(second) and "migrated" not in names(second)
    seeded = next(e for e in second if e["event"] == "catalog_seeded")
    assert seeded["created"] == 0 and seeded["updated"] == 0
    assert next(e for e in second if e["event"] == "tombstones_pruned")["count"] == 0
    assert schema_snapshot(fresh) == schema


def test_execs_the_command_after_the_double_dash_in_its_own_process(fresh: str) -> None:
    show = "import os; print('served', os.getpid())"
    process = entrypoint(fresh, "--", sys.executable, "-c", show)
    status, stdout, logged = finish(process)
    assert status == 0, logged
    # Same pid: the server replaced the entrypoint (so it receives the container's signals).
    assert stdout.split() == ["served", str(process.pid)]
    assert names(logged)[-1] == "exec"


def _get(port: int, path: str) -> bytes:
    """The raw HTTP answer to one GET."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_starts_and_serves_with_its_default_command_while_redis_is_down(fresh: str) -> None:
    """Migrate, seed and serve with Redis unreachable: only rate limits need it, and they
    count per process meanwhile."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": fresh,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "GRAU_ENV": "production",
        "SECRET_KEY": "s" * 48,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    process = subprocess.Popen(
        [sys.executable, ENTRYPOINT],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        ready = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError):
                ready = _get(port, "/ready")
                break
            time.sleep(0.2)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert ready is not None, stderr[-3000:]
    assert ready.startswith(b"HTTP/1.1 200"), ready
    assert b'"status":"degraded"' in ready.replace(b" ", b""), ready
    assert "catalog_seeded" in stderr and "startup_failed" not in stderr
