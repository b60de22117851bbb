"""Addresses of the real daemons that the tests run against.

`make test` starts them with scripts/daemons and exports their addresses;
`eval "$(scripts/daemons env)"` does the same for a shell. A test that needs
a daemon whose variable is unset is skipped.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_TEST_CACHE_KEY = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    # Commands keep cue's evaluations under $XDG_CACHE_HOME. The tests, and
    # the dagger and dagger-lsp processes they start, get a cache of their
    # own, so that a run neither reads nor fills the user's.
    folder = tempfile.mkdtemp(prefix="archon-test-cache-")
    config.stash[_TEST_CACHE_KEY] = folder
    os.environ["XDG_CACHE_HOME"] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_TEST_CACHE_KEY, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def address_from_environment(variable: str, daemon: str) -> str:
    value = os.environ.get(variable)
    if not value:
        pytest.skip(
            f"{variable} is not set, so there is no {daemon} to test against; "
            'run `make test`, or `scripts/daemons start` and `eval "$(scripts/daemons env)"`'
        )
    return value


@pytest.fixture(scope="session")
def docker_address() -> str:
    """The Docker daemon's address, `docker:///path/to/docker.sock`."""
    return address_from_environment("ARCHON_DOCKER_ADDR", "Docker daemon")


@pytest.fixture(scope="session")
def buildkitd_address() -> str:
    """The standalone buildkitd's address, `unix:///path/to/buildkitd.sock`."""
    return address_from_environment("ARCHON_BUILDKITD_ADDR", "buildkitd")


@pytest.fixture(scope="session")
def registry() -> str:
    """The local registry as `127.0.0.1:PORT`, plain HTTP, with the base images."""
    return address_from_environment("ARCHON_REGISTRY", "local registry")


@pytest.fixture(
    params=[
        pytest.param("docker", marks=[pytest.mark.docker, pytest.mark.daemon], id="docker"),
        pytest.param("buildkitd", marks=[pytest.mark.buildkitd, pytest.mark.daemon], id="buildkitd"),
    ]
)
def buildkit_address(request: pytest.FixtureRequest) -> str:
    """Each BuildKit backend's address in turn: Docker's, then buildkitd's."""
    return request.getfixturevalue(f"{request.param}_address")
