"""`dagger up` in a workspace: history, outputs and the plan diff, on a real daemon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

PLAN = """package main

import "archon.dev/op"

base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]

// The greeting written by the first step.
greeting: string @input()

first: $up: [op.Load & {from: base}, op.Exec & {args: ["sh", "-c", "echo \\(greeting) > /first"]}]
second: $up: [op.Load & {from: first}, op.Exec & {args: ["sh", "-c", "cat /first > /second && echo NONCE >> /second"]}]

result: {$up: [op.Load & {from: second}, op.Export & {source: "/second"}]} @output()
"""


def dagger(workspace: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "archon.cli.main", *args],
        cwd=workspace, capture_output=True, text=True, env=os.environ.copy(), timeout=300,
    )


@pytest.fixture
def workspace(tmp_path: Path, docker_address: str) -> Path:
    plan = tmp_path / "plan"
    plan.mkdir()
    (plan / "main.cue").write_text(PLAN.replace("NONCE", uuid.uuid4().hex))
    os.environ["ARCHON_BUILDKIT_ADDR"] = docker_address
    for command in (["init"], ["new", "dev", "--plan", "plan"], ["input", "text", "greeting", "hello"]):
        completed = dagger(tmp_path, *command)
        assert completed.returncode == 0, completed.stderr
    yield tmp_path
    os.environ.pop("ARCHON_BUILDKIT_ADDR", None)


def test_up_records_history_and_outputs(workspace):
    run = dagger(workspace, "up", "--progress", "plain")
    history = json.loads(dagger(workspace, "history", "--json").stdout)
    outputs = dagger(workspace, "output", "list", "--json")

    assert run.returncode == 0, run.stderr
    assert history[0]["status"] == "succeeded"
    assert history[0]["environment"] == "dev"
    assert "hello" in outputs.stdout


def test_plan_diff_after_one_line_change(workspace):
    assert dagger(workspace, "up", "--progress", "quiet").returncode == 0
    unchanged = dagger(workspace, "plan", "--diff")

    main = workspace / "plan" / "main.cue"
    main.write_text(main.read_text().replace("cat /first > /second", "cat /first /first > /second"))
    changed = dagger(workspace, "plan", "--diff")

    assert "nothing changed since run" in unchanged.stdout
    assert "will rebuild" in changed.stdout
    assert "[second] exec" in changed.stdout
    assert "[first]" not in changed.stdout


def test_plan_diff_as_json(workspace):
    assert dagger(workspace, "up", "--progress", "quiet").returncode == 0
    main = workspace / "plan" / "main.cue"
    main.write_text(main.read_text().replace("cat /first > /second", "cat /first /first > /second"))

    completed = dagger(workspace, "plan", "--diff", "--format", "json")
    diff = json.loads(completed.stdout)
    history = json.loads(dagger(workspace, "history", "--json").stdout)

    assert completed.returncode == 0, completed.stderr
    assert diff["environment"] == "dev"
    assert diff["sinceRun"] == history[0]["id"]
    # Besides second's exec, only the output bundle's vertices, which no component owns, depend on it.
    owned = [vertex for vertex in diff["changed"] if vertex["component"]]
    assert [(vertex["component"], vertex["kind"]) for vertex in owned] == [("second", "exec")]
    assert owned[0]["span"]["file"] == str(main)


def test_plan_diff_has_no_dot_form(workspace):
    completed = dagger(workspace, "plan", "--diff", "--format", "dot")

    assert completed.returncode == 1
    assert "--diff" in completed.stderr
    assert "--format json" in completed.stderr


def test_missing_inputs_listed_before_anything_runs(workspace):
    assert dagger(workspace, "input", "unset", "greeting").returncode == 0

    run = dagger(workspace, "up")
    history = json.loads(dagger(workspace, "history", "--json").stdout)

    assert run.returncode == 1
    assert "greeting (string): set it with `dagger input text greeting VALUE`" in run.stderr
    assert history == []
