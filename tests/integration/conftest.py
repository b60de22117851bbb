"""Fixtures for the integration tests: one connection per backend, nonces, a git daemon.

Every test takes `connection`, which is parametrized over both backends
through `buildkit_address` (tests/conftest.py). The connections are opened
once per session and shared, because opening the Docker backend's upgrade
proxy for each test costs time and tests nothing new.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from archon.engine.buildkit.connect import Connection, connect

REPO = Path(__file__).resolve().parents[2]

# Seconds to wait for a git daemon to accept connections.
GIT_DAEMON_START_SECONDS = 10

# A fixed author and date, so a repository made from the same files always has the same commit id.
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Archon",
    "GIT_AUTHOR_EMAIL": "archon@example.invalid",
    "GIT_COMMITTER_NAME": "Archon",
    "GIT_COMMITTER_EMAIL": "archon@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


@pytest.fixture(scope="session", autouse=True)
def cue_binary() -> None:
    """Point ARCHON_CUE at a cue binary when the clone has no .tools/bin/cue."""
    if os.environ.get("ARCHON_CUE") or (REPO / ".tools" / "bin" / "cue").exists():
        return
    found = shutil.which("cue") or ("/tmp/gotools/cue" if os.path.exists("/tmp/gotools/cue") else None)
    if found is None:
        pytest.skip("no cue binary: run scripts/setup, or set ARCHON_CUE")
    os.environ["ARCHON_CUE"] = found


@pytest.fixture(scope="session")
def connection_pool():
    """Open connections by address, closed when the session ends."""
    opened: dict[str, Connection] = {}
    yield opened
    for connection in opened.values():
        connection.close()


@pytest.fixture
def connection(buildkit_address: str, connection_pool: dict[str, Connection]) -> Connection:
    """An open connection to each backend in turn, shared by the tests of that backend."""
    if buildkit_address not in connection_pool:
        connection_pool[buildkit_address] = connect(buildkit_address, timeout=20)
    return connection_pool[buildkit_address]


@pytest.fixture
def nonce() -> str:
    """A value that makes a configuration's digests new, so that no earlier run's cache is reused."""
    return uuid.uuid4().hex[:16]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_repository(source: Path, bare: Path, tag: str | None = None) -> None:
    """Commit the files of `source` on branch main, tag it when `tag` is given, and clone it into the bare repository `bare`."""
    environment = {**os.environ, **GIT_IDENTITY}
    commands = [["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "Test files"]]
    if tag:
        commands.append(["git", "tag", tag])
    for command in commands:
        subprocess.run(command, cwd=source, env=environment, check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(bare)], check=True)


class GitServer:
    """A `git daemon` serving the bare repositories of one folder, read-only, on 127.0.0.1."""

    def __init__(self, base: Path):
        self.base = base
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def add(self, name: str, files: dict[str, str], tag: str | None = None) -> str:
        """Create the repository `name` (such as app.git) from `files`, one commit on main, and return its address."""
        work = self.base / "work" / name
        work.mkdir(parents=True)
        for relative, content in files.items():
            path = work / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        make_repository(work, self.base / "served" / name, tag)
        return self.url(name)

    def start(self) -> None:
        (self.base / "served").mkdir(parents=True, exist_ok=True)
        log = open(self.base / "daemon.log", "wb")
        self.process = subprocess.Popen(
            [
                "git", "daemon", "--reuseaddr", "--export-all",
                f"--base-path={self.base / 'served'}", "--listen=127.0.0.1", f"--port={self.port}",
                str(self.base / "served"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + GIT_DAEMON_START_SECONDS
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"git daemon did not listen on 127.0.0.1:{self.port} within {GIT_DAEMON_START_SECONDS}s; see {self.base / 'daemon.log'}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture(scope="session")
def git_server(tmp_path_factory):
    """A git daemon on 127.0.0.1 for this session, stopped by its pid at the end."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    server = GitServer(tmp_path_factory.mktemp("git"))
    server.start()
    yield server
    server.stop()


# The docker client of the daemon that scripts/daemons starts; a newer one may come first on PATH.
DOCKER = "/usr/bin/docker"

# The base image extended with exec defaults: archon/busybox:latest sets only PATH and WorkingDir /.
ENV_IMAGE_DOCKERFILE = """\
FROM archon/busybox:latest
ENV GREETING=from-image KEPT=kept
WORKDIR /app
"""


@dataclass(frozen=True)
class EnvImage:
    """A test image with Env and WorkingDir set, in Docker and in the local registry."""

    ref: str
    working_dir: str
    path: str


def docker(*args: str) -> subprocess.CompletedProcess:
    """Run Debian's docker client against DOCKER_HOST; fail the test with its output when it fails."""
    completed = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, f"docker {' '.join(args)} failed ({completed.returncode}):\n{completed.stderr}"
    return completed


@pytest.fixture(scope="session")
def env_image(registry: str) -> EnvImage:
    """Build archon/busybox-env:test with the classic builder and push it for buildkitd.

    Archon's own image outputs cannot make this image, because save-image
    and push-container write no Env or WorkingDir into the image config.
    """
    if not os.path.exists(DOCKER) or not os.environ.get("DOCKER_HOST"):
        pytest.skip(f"{DOCKER} and DOCKER_HOST are needed to build the test image; run `eval \"$(scripts/daemons env)\"`")
    ref = "archon/busybox-env:test"
    mirrored = f"{registry}/{ref}"

    # The classic builder keeps the image independent of the BuildKit under test.
    completed = subprocess.run(
        [DOCKER, "build", "--quiet", "--tag", ref, "-"],
        input=ENV_IMAGE_DOCKERFILE,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
        check=False,
    )
    assert completed.returncode == 0, f"docker build of {ref} failed:\n{completed.stderr}"
    docker("tag", ref, mirrored)
    docker("push", mirrored)
    return EnvImage(ref, "/app", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
