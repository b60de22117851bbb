"""Fixtures for the engine tests: daemon addresses for both backends, connections, plans.

Addresses come from ARCHON_DOCKER_ADDR and ARCHON_BUILDKITD_ADDR, or else
from `scripts/daemons env` when the development daemons are running. A
test for a backend without an address is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import uuid
from pathlib import Path

import pytest

from archon.engine.buildkit.connect import Connection, connect

REPO = Path(__file__).resolve().parents[2]

BACKENDS = ("docker", "buildkitd")
ENV_NAMES = {"docker": "ARCHON_DOCKER_ADDR", "buildkitd": "ARCHON_BUILDKITD_ADDR"}

# The session name of the root file system that test execs run on.
ROOTFS = "rootfs"


def _daemons_env() -> dict[str, str]:
    script = REPO / "scripts" / "daemons"
    if not script.exists():
        return {}
    try:
        output = subprocess.run(
            ["bash", str(script), "env"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    values = {}
    for line in output.splitlines():
        line = line.removeprefix("export ").strip()
        name, separator, value = line.partition("=")
        if separator:
            values[name] = value.strip("'\"")
    return values


_DAEMONS_ENV: dict[str, str] | None = None


def setting(name: str) -> str | None:
    """Return environment variable `name`, else its value in `scripts/daemons env`."""
    global _DAEMONS_ENV
    value = os.environ.get(name)
    if value is None:
        if _DAEMONS_ENV is None:
            _DAEMONS_ENV = _daemons_env()
        value = _DAEMONS_ENV.get(name)
    return value or None


def backend_address(backend: str) -> str | None:
    return setting(ENV_NAMES[backend])


@pytest.fixture(params=[pytest.param(name, marks=getattr(pytest.mark, name)) for name in BACKENDS])
def backend(request) -> str:
    return request.param


@pytest.fixture
def address(backend) -> str:
    value = backend_address(backend)
    if not value:
        pytest.skip(
            f"no {backend} address: set {ENV_NAMES[backend]} or start the daemons with `scripts/daemons start`"
        )
    return value


@pytest.fixture
def connection(address) -> Connection:
    with connect(address, timeout=20) as opened:
        yield opened


@pytest.fixture
def nonce() -> str:
    """A value that makes an op's digest new, so the daemon cannot reuse a cached result."""
    return uuid.uuid4().hex


def _is_static_elf(path: str) -> bool:
    """True when `path` is an ELF executable without a program interpreter (PT_INTERP)."""
    with open(path, "rb") as file:
        header = file.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2:
            return False
        program_offset = struct.unpack_from("<Q", header, 0x20)[0]
        entry_size, entry_count = struct.unpack_from("<HH", header, 0x36)
        file.seek(program_offset)
        table = file.read(entry_size * entry_count)
    return all(struct.unpack_from("<I", table, index * entry_size)[0] != 3 for index in range(entry_count))


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory) -> Path:
    """A root file system with a static busybox as /bin/sh, served to the daemon as a local source.

    It needs no image, so the tests run on daemons without registry access.
    """
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox) or not _is_static_elf(busybox):
        pytest.skip("a static busybox is needed for the test root file system: apt-get install busybox-static")
    root = tmp_path_factory.mktemp("rootfs")
    (root / "bin").mkdir()
    shutil.copy2(busybox, root / "bin" / "busybox")
    for applet in ("sh", "cat", "echo", "sleep", "sha256sum", "find", "sort", "mkdir", "cut", "printf", "ls"):
        (root / "bin" / applet).symlink_to("busybox")
    for folder in ("tmp", "etc", "dev", "proc", "run"):
        (root / folder).mkdir()
    return root
