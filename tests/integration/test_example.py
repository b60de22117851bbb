"""The hello example end to end: its greeting library served by git on 127.0.0.1, run in-process and through `dagger up`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO
from .harness import run_configuration

pytestmark = pytest.mark.daemon

EXAMPLE = REPO / "examples" / "hello"


def copy_example(destination: Path) -> Path:
    """Copy the example without its dist folder, so that runs never write into the repository."""
    shutil.copytree(EXAMPLE, destination, ignore=shutil.ignore_patterns("dist", "*.o"))
    return destination


def serve_library(git_server, connection, nonce: str, fresh: bool) -> str:
    """Serve the greeting library; with `fresh`, add a file holding the nonce so that its commit, and the build, are new."""
    library = EXAMPLE / "greet-lib"
    files = {path.name: path.read_text() for path in library.iterdir() if path.is_file()}
    if fresh:
        files["BUILD-ID"] = nonce
    return git_server.add(f"greet-{connection.backend}-{nonce}.git", files)


def test_hello_example_builds_tests_and_delivers(connection, tmp_path, nonce, git_server):
    example = copy_example(tmp_path / "hello")
    remote = serve_library(git_server, connection, nonce, fresh=True)

    outcome = run_configuration(example, connection, inputs={"libRemote": remote})
    assert outcome.result.succeeded, outcome.failure_text()
    program = example / "dist" / "hello"
    compiled = [record for record in outcome.records_of("build") if "exec" in record.name]

    assert [record.cached for record in compiled] == [False]
    assert outcome.result.exports["version"] == "1.4.0"
    assert outcome.result.exports["testsPassed"] == 4
    assert subprocess.run([program], capture_output=True, text=True, check=True).stdout == "Hello, world!\n"
    assert subprocess.run([program, "Ada"], capture_output=True, text=True, check=True).stdout == "Hello, Ada!\n"
    assert subprocess.run([program, "--version"], capture_output=True, text=True, check=True).stdout == "hello 1.4.0\n"


def test_hello_example_through_dagger_up(connection, buildkit_address, tmp_path, nonce, git_server):
    example = copy_example(tmp_path / "hello")
    remote = serve_library(git_server, connection, nonce, fresh=False)

    completed = subprocess.run(
        [sys.executable, "-m", "archon.cli.main", "up", str(example), "--addr", buildkit_address,
         "--input", f"libRemote={remote}", "--progress", "plain"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    printed = completed.stdout.splitlines()

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert 'version: "1.4.0"' in printed
    assert "testsPassed: 4" in printed
    assert f"directory dist: {example / 'dist'}" in printed
    assert (example / "dist" / "hello").is_file()
