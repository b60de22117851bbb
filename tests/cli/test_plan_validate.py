"""`dagger plan` and `dagger validate` through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hello"
REMOTE = "--input=libRemote=git://127.0.0.1:9/greet.git"


def dagger(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archon.cli.main", *args], cwd=cwd, capture_output=True, text=True, env=os.environ.copy(), timeout=120)


def test_validate_example_lists_unset_input():
    completed = dagger("validate", str(EXAMPLE))

    assert completed.returncode == 0
    assert "1 input(s) not set: libRemote" in completed.stdout
    assert "ok: 8 component(s), no errors" in completed.stdout


def test_validate_json_reports_position(tmp_path):
    (tmp_path / "main.cue").write_text('package main\n\napp: $up: [{do: "exce"}]\n')

    completed = dagger("validate", str(tmp_path), "--json")
    diagnostics = json.loads(completed.stdout)
    errors = [item for item in diagnostics if item["severity"] == "error"]

    assert completed.returncode == 1
    assert errors[0]["code"] == "unknown-op"
    assert errors[0]["line"] == 3
    assert errors[0]["column"] == 13
    assert errors[0]["hint"] == 'did you mean "exec"?'


def test_plan_json_graph():
    completed = dagger("plan", str(EXAMPLE), "--format", "json", REMOTE)
    graph = json.loads(completed.stdout)
    components = {item["path"]: item for item in graph["components"]}

    assert completed.returncode == 0
    assert set(components) == {"toolchain", "source", "library", "build", "test", "dist", "version", "testsPassed"}
    assert components["build"]["dependencies"] == ["library", "source", "toolchain"]
    assert {item["name"] for item in graph["outputs"]["values"]} == {"version", "testsPassed"}
    assert graph["root"] in {vertex["digest"] for vertex in graph["vertices"]}


def test_plan_is_deterministic():
    first = dagger("plan", str(EXAMPLE), "--format", "json", REMOTE)
    second = dagger("plan", str(EXAMPLE), "--format", "json", REMOTE)

    assert first.stdout == second.stdout


@pytest.mark.parametrize("output_format", ["text", "dot"])
def test_plan_other_formats(output_format):
    completed = dagger("plan", str(EXAMPLE), "--format", output_format, REMOTE)

    assert completed.returncode == 0
    assert "exec make hello" in completed.stdout


def test_plan_with_unset_input_fails():
    completed = dagger("plan", str(EXAMPLE))

    assert completed.returncode == 1
    assert "input `libRemote` is unset" in completed.stderr
    assert "main.cue:22:" in completed.stderr


def test_missing_cue_is_explained(tmp_path, monkeypatch):
    from archon.runtime import cuecmd

    monkeypatch.setattr(cuecmd, "TOOLS_BIN", tmp_path / "tools")
    monkeypatch.delenv("ARCHON_CUE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(cuecmd.CueNotFoundError) as raised:
        cuecmd.find_cue()

    assert "environment variable ARCHON_CUE (not set)" in str(raised.value)
    assert "go install cuelang.org/go/cmd/cue@v0.17.1" in raised.value.hint
