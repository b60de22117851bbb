"""Fixtures for the engine's local state: an isolated config folder, a workspace, a `dagger` runner."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from archon.cli.errors import run_with_error_boundary
from archon.engine.workspace import Workspace, init

from .helpers import build_group

PLAN_SOURCE = """package main

// The greeting to print.
greeting: string @input()
"""


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the user config folder (age key, user settings) at a fresh folder; clear ARCHON_* variables."""
    home = tmp_path / "config"
    home.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    for variable in list(os.environ):
        if variable.startswith("ARCHON_"):
            monkeypatch.delenv(variable)
    return home / "archon"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A workspace with one plan folder, `plan/`, and the current folder set to its root."""
    root = tmp_path / "project"
    (root / "plan").mkdir(parents=True)
    (root / "plan" / "main.cue").write_text(PLAN_SOURCE)
    monkeypatch.chdir(root)
    return init(root)


@pytest.fixture
def dagger():
    """Run the state commands in-process: dagger("input", "list") returns a Result."""
    group = build_group()
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        with runner.isolation(input=input) as (stdout, stderr, _):
            exit_code = run_with_error_boundary(group, list(args))
        return Result(exit_code, stdout.getvalue().decode(), stderr.getvalue().decode())

    return run
