"""grau.server's serve loop, driven in-process: which worker deaths it answers, and how.

The loop runs in a thread against fake workers; `_respawn_workers` records what it
would spawn. The live side (real processes killed with SIGKILL) is in
test_faults_live.py.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from grau import server as grau_server


@dataclass
class FakeProcess:
    exitcode: int | None


@dataclass
class FakeWorker:
    inner: FakeProcess
    birth: float


class Harness:
    def __init__(self, workers: int = 4) -> None:
        settings = grau_server.settings("app:create_app")
        settings.update(workers=workers, respawn_interval=0.05)
        self.server: Any = grau_server.server_class()(**settings)
        self.server.wrks = [FakeWorker(FakeProcess(None), 0.0) for _ in range(workers)]
        self.respawned: list[int] = []
        self.server._respawn_workers = lambda dead, *_: self.respawned.extend(dead)
        self.thread = threading.Thread(target=self.server._serve_loop, args=(None, None))

    def start(self) -> Harness:
        self.thread.start()
        return self

    def die(self, idx: int, exitcode: int = -9, age: float = 60.0) -> None:
        """What a granian worker's watcher thread does when its process ends."""
        self.server.wrks[idx] = FakeWorker(FakeProcess(exitcode), time.monotonic() - age)
        self.server.interrupt_children.append(idx)
        self.server.main_loop_interrupt.set()

    def stop(self) -> None:
        self.server.interrupt_signal = True
        self.server.main_loop_interrupt.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_workers_killed_at_once_and_again_are_all_replaced() -> None:
    loop = Harness().start()
    try:
        for round_ in range(1, 6):  # every slot killed five times, from four threads at once
            deaths = [threading.Thread(target=loop.die, args=(idx,)) for idx in range(4)]
            for death in deaths:
                death.start()
            for death in deaths:
                death.join()
            # (A slot dies again only once it has been refilled, as with real workers.)
            wait_for(lambda n=round_: len(loop.respawned) == 4 * n)
        assert sorted(loop.respawned) == sorted(list(range(4)) * 5)
        assert loop.thread.is_alive() and not loop.server.failed
    finally:
        loop.stop()


def test_the_loop_sleeps_when_there_is_nothing_to_do() -> None:
    loop = Harness().start()
    try:
        loop.die(0)
        wait_for(lambda: loop.respawned == [0])
        # Nothing pending: the wake-up event is clear, so the loop waits instead of spinning.
        wait_for(lambda: not loop.server.main_loop_interrupt.is_set(), timeout=2)
        assert not loop.server.main_loop_interrupt.is_set()
    finally:
        loop.stop()


def test_a_worker_that_exits_as_it_starts_ends_the_server_as_failed() -> None:
    loop = Harness().start()
    loop.die(2, exitcode=1, age=0.5)
    loop.thread.join(timeout=10)
    assert not loop.thread.is_alive()
    assert loop.server.failed and loop.respawned == []


def test_a_worker_that_fails_long_after_it_started_is_replaced() -> None:
    loop = Harness().start()
    try:
        loop.die(1, exitcode=1, age=600)
        wait_for(lambda: loop.respawned == [1])
        assert loop.respawned == [1] and not loop.server.failed
    finally:
        loop.stop()


def test_recycling_workers_by_age_is_refused() -> None:
    settings = grau_server.settings("app:create_app")
    with pytest.raises(ValueError, match="recycle"):
        grau_server.server_class()(**settings, workers_lifetime=3600)


def test_a_worker_builds_the_app_then_freezes_it_out_of_the_collectors_way(tmp_path) -> None:
    import subprocess
    import sys

    code = (
        "import gc; from grau import server; app = server.load_app('app:create_app'); "
        "print(type(app).__name__, gc.get_freeze_count() > 10000, gc.get_threshold())"
    )
    # The grau under test (not whichever one is installed), but not app.py beside it:
    # run from elsewhere, the loader finds app.py in the project root itself.
    packages = tmp_path / "packages"
    packages.mkdir()
    (packages / "grau").symlink_to(Path(grau_server.__file__).resolve().parent)
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'grau.db'}",
        "REDIS_URL": "",
        "PATH": "",
        "PYTHONPATH": str(packages),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().split(maxsplit=2) == [
        "GrauFlask",
        "True",
        str(grau_server.GC_THRESHOLDS),
    ]
