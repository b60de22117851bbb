"""The CLI's evaluations on disk: a second command skips cue, `cue.cache off` turns it off, secrets stay out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from archon.runtime.cuecmd import CueNotFoundError, find_cue

PLAN = """package main

import "archon.dev/op"

// The greeting to print.
greeting: string @input()

// The token of the registry.
token: op.#Secret @input()

hello: $up: [
\top.FetchContainer & {ref: "archon/busybox:latest"},
\top.Exec & {args: ["sh", "-c", "echo \\(greeting)"], mount: "/run/token": {secret: token}},
]
"""

SECRET = "s3cr3t-value-that-must-not-be-written"


@pytest.fixture
def counting_cue(tmp_path: Path) -> tuple[Path, Path]:
    """A cue that logs each `cue eval` to a file, then runs the real one."""
    try:
        real = find_cue(os.environ.get("ARCHON_CUE")).path
    except CueNotFoundError as problem:
        pytest.skip(f"{problem}; {problem.hint}")
    log = tmp_path / "cue-evals.log"
    wrapper = tmp_path / "bin" / "cue"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\n[ "$1" = eval ] && echo eval >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, log


@pytest.fixture
def workspace(tmp_path: Path, counting_cue: tuple[Path, Path]) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "project"
    (root / "plan").mkdir(parents=True)
    (root / "plan" / "main.cue").write_text(PLAN)
    env = {key: value for key, value in os.environ.items() if not key.startswith("ARCHON_")}
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        ARCHON_CUE=str(counting_cue[0]),
    )
    for command, stdin in ((["init"], None), (["new", "dev", "--plan", "plan"], None), (["input", "text", "greeting", "hi"], None), (["input", "secret", "token"], SECRET + "\n")):
        completed = run(root, env, *command, stdin=stdin)
        assert completed.returncode == 0, completed.stderr
    return root, env


def run(cwd: Path, env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archon.cli.main", *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=120)


def cue_evals(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_second_command_skips_cue(workspace, counting_cue, tmp_path: Path) -> None:
    root, env = workspace
    _, log = counting_cue

    first = run(root, env, "validate")
    after_first = cue_evals(log)
    second = run(root, env, "validate")

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert after_first >= 1
    assert cue_evals(log) == after_first
    folder = tmp_path / "cache" / "archon" / "evaluations"
    assert list(folder.glob("*.json"))

    (root / "plan" / "main.cue").write_text(PLAN.replace("to print", "to show"))
    changed = run(root, env, "validate")
    assert changed.returncode == 0, changed.stderr
    assert cue_evals(log) > after_first


def test_cache_setting_off(workspace, counting_cue, tmp_path: Path) -> None:
    root, env = workspace
    _, log = counting_cue
    env = {**env, "ARCHON_CUE_CACHE": "off"}

    run(root, env, "validate")
    once = cue_evals(log)
    run(root, env, "validate")

    assert once >= 1
    assert cue_evals(log) == 2 * once
    assert not (tmp_path / "cache" / "archon" / "evaluations").exists()


def test_secrets_are_not_written_to_the_cache(workspace, tmp_path: Path) -> None:
    root, env = workspace

    for command in (["validate"], ["plan"], ["input", "list"]):
        completed = run(root, env, *command)
        assert completed.returncode == 0, (command, completed.stderr)

    files = [path for path in (tmp_path / "cache").rglob("*") if path.is_file()]
    assert files
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
