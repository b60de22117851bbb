"""The state commands of `dagger`, run as a user runs them."""

from __future__ import annotations

import json
import os
import pty
import select
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archon.cli.commands import input as input_command
from archon.engine.history import open_history
from archon.engine.inputs import DeclaredInput
from archon.engine.workspace import Workspace, find_workspace

from .helpers import workspace_bytes

PROJECT = Path(__file__).resolve().parents[2]
SECRET = "correct-horse-battery-staple-42"


@pytest.fixture
def environment(workspace: Workspace, dagger) -> str:
    result = dagger("new", "dev", "--plan", "plan")
    assert result.exit_code == 0, result.stderr
    return "dev"


def assert_not_stored(root: Path, plain: str) -> None:
    for path, content in workspace_bytes(root).items():
        assert plain.encode() not in content, f"plain text found in {path}"


# init, new, list


def test_init_creates_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dagger) -> None:
    monkeypatch.chdir(tmp_path)

    result = dagger("init")

    assert result.exit_code == 0
    assert "Created workspace" in result.stdout
    assert find_workspace(tmp_path).root == tmp_path


def test_init_twice_fails(workspace: Workspace, dagger) -> None:
    result = dagger("init")

    assert result.exit_code == 1
    assert "already a workspace" in result.stderr


def test_new_rejects_bad_name(workspace: Workspace, dagger) -> None:
    result = dagger("new", "My_Env", "--plan", "plan")

    assert result.exit_code == 1
    assert "invalid environment name 'My_Env'" in result.stderr
    assert "hint:" in result.stderr


def test_new_outside_workspace_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dagger) -> None:
    monkeypatch.chdir(tmp_path)

    result = dagger("new", "dev", "--plan", ".")

    assert result.exit_code == 1
    assert "no workspace found" in result.stderr
    assert "dagger init" in result.stderr


def test_new_with_default_flag(workspace: Workspace, environment: str, dagger) -> None:
    result = dagger("new", "prod", "--plan", "plan", "--default")

    assert result.exit_code == 0
    assert "prod (default)" in result.stdout
    assert workspace.default_environment() == "prod"


def test_list_shows_environments(workspace: Workspace, environment: str, dagger) -> None:
    dagger("new", "prod", "--plan", "plan")

    result = dagger("list")
    lines = result.stdout.splitlines()

    assert result.exit_code == 0
    assert any(line.split()[:3] == ["*", "dev", "plan"] for line in lines)
    assert any(line.split()[:2] == ["prod", "plan"] for line in lines)


def test_list_shows_last_run(workspace: Workspace, environment: str, dagger) -> None:
    with open_history(workspace) as history:
        run_id = history.start_run("dev", "p", "i")
        history.finish_run(run_id, "failed", error="boom")

    result = dagger("list")

    assert f"#{run_id} failed" in result.stdout


def test_list_empty_workspace(workspace: Workspace, dagger) -> None:
    result = dagger("list")

    assert result.exit_code == 0
    assert "No environments" in result.stdout


# input


def test_input_kinds_stored(workspace: Workspace, environment: str, dagger, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("remember\n")
    (workspace.root / "src").mkdir()

    commands = [
        ("text", "greeting", "hello"),
        ("json", "config", '{"replicas": 2}'),
        ("yaml", "values", "a: [1, 2]"),
        ("bool", "verbose", "true"),
        ("file", "notes", str(notes)),
        ("dir", "source", "src"),
        ("git", "repo", "https://example.com/r.git", "v1"),
    ]
    for kind, *arguments in commands:
        result = dagger("input", kind, *arguments)
        assert result.exit_code == 0, (kind, result.stderr)

    stored = workspace.get_environment("dev").inputs

    assert {name: item.kind for name, item in stored.items()} == {
        "greeting": "text",
        "config": "json",
        "values": "yaml",
        "verbose": "bool",
        "notes": "file",
        "source": "dir",
        "repo": "git",
    }
    assert stored["repo"].data == {"remote": "https://example.com/r.git", "ref": "v1"}


def test_input_text_from_stdin(workspace: Workspace, environment: str, dagger) -> None:
    result = dagger("input", "text", "greeting", "-", input="from stdin")

    assert result.exit_code == 0
    assert workspace.get_environment("dev").inputs["greeting"].data == {"value": "from stdin"}


def test_input_json_from_file(workspace: Workspace, environment: str, dagger, tmp_path: Path) -> None:
    source = tmp_path / "config.json"
    source.write_text('{"a": [1, 2]}')

    result = dagger("input", "json", "config", "--file", str(source))

    assert result.exit_code == 0
    assert workspace.get_environment("dev").inputs["config"].data == {"source": '{"a": [1, 2]}'}


def test_input_json_error_position(workspace: Workspace, environment: str, dagger) -> None:
    result = dagger("input", "json", "config", '{"a": 1,\n "b": }')

    assert result.exit_code == 1
    assert "invalid JSON for input config at 2:7" in result.stderr
    assert "config" not in workspace.get_environment("dev").inputs


def test_input_yaml_error_position(workspace: Workspace, environment: str, dagger) -> None:
    result = dagger("input", "yaml", "values", "a: {b: 1")

    assert result.exit_code == 1
    assert "invalid YAML for input values at 1:9" in result.stderr


def test_input_dir_outside_needs_force(workspace: Workspace, environment: str, dagger, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()

    rejected = dagger("input", "dir", "source", str(outside))
    forced = dagger("input", "dir", "source", str(outside), "--force")

    assert rejected.exit_code == 1
    assert "outside the workspace" in rejected.stderr
    assert "--force" in rejected.stderr
    assert forced.exit_code == 0
    assert workspace.get_environment("dev").inputs["source"].data == {"path": str(outside)}


def test_input_needs_environment(workspace: Workspace, dagger) -> None:
    result = dagger("input", "text", "greeting", "hi")

    assert result.exit_code == 1
    assert "has no environment" in result.stderr
    assert "dagger new" in result.stderr


def test_input_environment_option(workspace: Workspace, environment: str, dagger) -> None:
    dagger("new", "prod", "--plan", "plan")

    result = dagger("input", "text", "greeting", "hi", "-e", "prod")

    assert result.exit_code == 0
    assert "greeting" in workspace.get_environment("prod").inputs
    assert "greeting" not in workspace.get_environment("dev").inputs


def test_input_environment_variable(
    workspace: Workspace, environment: str, dagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    dagger("new", "prod", "--plan", "plan")
    monkeypatch.setenv("ARCHON_ENVIRONMENT", "prod")

    dagger("input", "text", "greeting", "hi")

    assert "greeting" in workspace.get_environment("prod").inputs


def test_input_unknown_environment(workspace: Workspace, environment: str, dagger) -> None:
    result = dagger("input", "text", "greeting", "hi", "-e", "staging")

    assert result.exit_code == 1
    assert "environment 'staging' not found" in result.stderr
    assert "dev" in result.stderr


def test_input_unset(workspace: Workspace, environment: str, dagger) -> None:
    dagger("input", "text", "greeting", "hi")

    result = dagger("input", "unset", "greeting")

    assert result.exit_code == 0
    assert workspace.get_environment("dev").inputs == {}


def test_input_unset_missing(workspace: Workspace, environment: str, dagger) -> None:
    result = dagger("input", "unset", "greeting")

    assert result.exit_code == 1
    assert "input 'greeting' is not set" in result.stderr


def test_input_list_table(workspace: Workspace, environment: str, dagger) -> None:
    dagger("input", "text", "greeting", "hello")
    dagger("input", "secret", "token", input=SECRET)

    result = dagger("input", "list")

    assert result.exit_code == 0
    assert '"hello"' in result.stdout
    assert any(line.split() == ["token", "secret", "***"] for line in result.stdout.splitlines())
    assert SECRET not in result.stdout


def test_input_list_json(workspace: Workspace, environment: str, dagger) -> None:
    dagger("input", "bool", "verbose", "false")

    result = dagger("input", "list", "--json")

    assert json.loads(result.stdout) == [
        {"name": "verbose", "state": "set", "kind": "bool", "value": "false", "type": "", "doc": ""}
    ]


def test_input_list_with_declared_inputs(
    workspace: Workspace, environment: str, dagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = [
        DeclaredInput("greeting", "string", "The greeting to print."),
        DeclaredInput("token", "op.#Secret", "Token for the package index."),
        DeclaredInput("level", "string", "Log level.", optional=True),
    ]
    monkeypatch.setattr(input_command, "declared_inputs_provider", lambda environment: declared)
    dagger("input", "text", "greeting", "hello")

    result = dagger("input", "list")
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}

    assert "set" in rows["greeting"].split()
    assert "The greeting to print." in rows["greeting"]
    assert "missing" in rows["token"].split()
    assert "optional" in rows["level"].split()


# Secrets.


def test_secret_from_stdin_round_trip(workspace: Workspace, environment: str, dagger) -> None:
    from archon.engine.inputs import secret_values

    result = dagger("input", "secret", "token", input=SECRET + "\n")

    assert result.exit_code == 0
    assert SECRET not in result.stdout + result.stderr
    assert secret_values(workspace.get_environment("dev")) == {"token": SECRET}


def test_secret_dash_reads_stdin(workspace: Workspace, environment: str, dagger) -> None:
    from archon.engine.inputs import secret_values

    dagger("input", "secret", "token", "-", input="line 1\nline 2\n")

    assert secret_values(workspace.get_environment("dev")) == {"token": "line 1\nline 2"}


def test_secret_on_command_line_warns(workspace: Workspace, environment: str, dagger) -> None:
    result = dagger("input", "secret", "token", SECRET)

    assert result.exit_code == 0
    assert "shell history" in result.stderr


def test_secret_not_stored_in_plain_text(workspace: Workspace, environment: str, dagger, config_home: Path) -> None:
    dagger("input", "secret", "token", input=SECRET)
    with open_history(workspace) as history:
        run_id = history.start_run("dev", "p", "i", secret_values=[SECRET])
        history.record_vertex(run_id, "login", "sha256:l", cached=False, log=f"using {SECRET}\n")
        history.finish_run(run_id, "succeeded", exports={"echo": SECRET})

    assert_not_stored(workspace.root, SECRET)
    for command in (("history",), ("history", "--json"), ("input", "list"), ("logs", str(run_id)), ("output", "list")):
        result = dagger(*command)
        assert result.exit_code == 0, (command, result.stderr)
        assert SECRET not in result.stdout, command
        assert_not_stored(workspace.root, SECRET)

    key = config_home / "key.txt"
    assert not key.is_relative_to(workspace.root)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


_PROMPT_DRIVER = """
import sys
from archon.cli.errors import run_with_error_boundary
sys.path.insert(0, sys.argv[1])
from engine_state.helpers import build_group
sys.exit(run_with_error_boundary(build_group(), ["input", "secret", "token"]))
"""


def test_secret_prompt_does_not_echo(workspace: Workspace, environment: str) -> None:
    # On a terminal the value comes from a prompt with echo off.
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", _PROMPT_DRIVER, str(PROJECT / "tests")],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        cwd=workspace.root,
    )
    os.close(secondary)

    screen = read_until(main, b"Value of secret token: ")
    os.write(main, SECRET.encode() + b"\n")
    screen += read_until_exit(main, process)
    os.close(main)

    from archon.engine.inputs import secret_values

    assert process.returncode == 0, screen
    assert SECRET.encode() not in screen
    assert secret_values(workspace.get_environment("dev")) == {"token": SECRET}


def read_until(descriptor: int, marker: bytes, timeout: float = 30.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data and time.monotonic() < deadline:
        ready, _, _ = select.select([descriptor], [], [], 0.1)
        if ready:
            data += os.read(descriptor, 4096)
    return data


def read_until_exit(descriptor: int, process: subprocess.Popen, timeout: float = 30.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([descriptor], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(descriptor, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        elif process.poll() is not None:
            break
    process.wait(timeout=timeout)
    return data


# settings


def test_settings_shows_sources(workspace: Workspace, dagger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHON_BUILDKIT_ADDR", "tcp://127.0.0.1:1234")
    dagger("settings", "set", "progress", "plain")

    result = dagger("settings", "--json")
    document = json.loads(result.stdout)

    assert document["buildkit.address"] == {"value": "tcp://127.0.0.1:1234", "source": "env:ARCHON_BUILDKIT_ADDR"}
    assert document["progress"] == {"value": "plain", "source": f"workspace:{workspace.settings_path}"}
    assert document["log.level"] == {"value": "warning", "source": "default"}


def test_settings_table(workspace: Workspace, dagger) -> None:
    result = dagger("settings")

    assert result.exit_code == 0
    assert any(line.split()[:3] == ["progress", "auto", "default"] for line in result.stdout.splitlines())


def test_settings_set_user(workspace: Workspace, dagger, config_home: Path) -> None:
    result = dagger("settings", "set", "log.level", "debug", "--user")

    assert result.exit_code == 0
    assert json.loads((config_home / "settings.json").read_text()) == {"log.level": "debug"}


def test_settings_set_invalid_value(workspace: Workspace, dagger) -> None:
    result = dagger("settings", "set", "progress", "fancy")

    assert result.exit_code == 1
    assert "invalid value 'fancy'" in result.stderr


def test_settings_unset(workspace: Workspace, dagger) -> None:
    dagger("settings", "set", "progress", "plain")

    dagger("settings", "unset", "progress")

    assert json.loads(workspace.settings_path.read_text()) == {}


def test_settings_invalid_environment_variable(workspace: Workspace, dagger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHON_LOG_LEVEL", "loud")

    result = dagger("settings")

    assert result.exit_code == 1
    assert "ARCHON_LOG_LEVEL" in result.stderr


# history, logs, output


def make_runs(workspace: Workspace) -> tuple[int, int]:
    with open_history(workspace) as history:
        passed = history.start_run("dev", "sha256:plan", "sha256:inputs")
        history.record_vertex(passed, "base", "sha256:aaa", cached=True, duration=0.0)
        history.record_vertex(passed, "build", "sha256:bbb", cached=False, duration=1.5, exit_code=0, log="ok\n")
        history.finish_run(passed, "succeeded", exports={"version": "1.2.3", "meta": {"tags": ["a"]}})

        failed = history.start_run("dev", "sha256:plan", "sha256:inputs")
        history.record_vertex(failed, "test", "sha256:ccc", cached=False, duration=0.5, exit_code=2, log="FAIL x\n")
        history.finish_run(failed, "failed", error="exec failed: exit code 2")
    return passed, failed


def test_history_table(workspace: Workspace, environment: str, dagger) -> None:
    passed, failed = make_runs(workspace)

    result = dagger("history")
    lines = result.stdout.splitlines()

    assert result.exit_code == 0
    assert lines[1].split()[:3] == [str(failed), "dev", "failed"]
    assert lines[2].split()[:3] == [str(passed), "dev", "succeeded"]
    assert "exec failed: exit code 2" in lines[1]
    assert "2 (1 cached)" in lines[2]


def test_history_json(workspace: Workspace, environment: str, dagger) -> None:
    passed, failed = make_runs(workspace)

    runs = json.loads(dagger("history", "--json").stdout)

    assert [run["id"] for run in runs] == [failed, passed]
    assert runs[0]["status"] == "failed"
    assert runs[1]["vertices"] == 2
    assert runs[1]["cached"] == 1


def test_history_filter_and_limit(workspace: Workspace, environment: str, dagger) -> None:
    make_runs(workspace)
    with open_history(workspace) as history:
        other = history.start_run("prod", "p", "i")
        history.finish_run(other, "cancelled")

    only_prod = json.loads(dagger("history", "--json", "-e", "prod").stdout)
    limited = json.loads(dagger("history", "--json", "--limit", "1").stdout)

    assert [run["id"] for run in only_prod] == [other]
    assert [run["id"] for run in limited] == [other]


def test_history_empty(workspace: Workspace, dagger) -> None:
    result = dagger("history")

    assert result.exit_code == 0
    assert "No runs yet." in result.stdout
    assert not workspace.history_path.exists()


def test_logs_of_run(workspace: Workspace, environment: str, dagger) -> None:
    passed, failed = make_runs(workspace)

    result = dagger("logs", str(failed))

    assert result.exit_code == 0
    assert "=> test  [exit 2, 0.5s]  sha256:ccc" in result.stdout
    assert "FAIL x" in result.stdout
    assert "error: exec failed: exit code 2" in result.stdout


def test_logs_one_vertex(workspace: Workspace, environment: str, dagger) -> None:
    passed, _ = make_runs(workspace)

    result = dagger("logs", str(passed), "--vertex", "build")

    assert "=> build" in result.stdout
    assert "=> base" not in result.stdout


def test_logs_last(workspace: Workspace, environment: str, dagger) -> None:
    _, failed = make_runs(workspace)

    result = dagger("logs", "last")

    assert f"run {failed} of environment dev: failed" in result.stdout


def test_logs_unknown_vertex_suggests(workspace: Workspace, environment: str, dagger) -> None:
    passed, _ = make_runs(workspace)

    result = dagger("logs", str(passed), "--vertex", "buidl")

    assert result.exit_code == 1
    assert "no vertex named 'buidl'" in result.stderr
    assert "did you mean build?" in result.stderr


def test_logs_unknown_run(workspace: Workspace, environment: str, dagger) -> None:
    make_runs(workspace)

    result = dagger("logs", "99")

    assert result.exit_code == 1
    assert "run 99 not found" in result.stderr


def test_logs_invalid_run(workspace: Workspace, environment: str, dagger) -> None:
    make_runs(workspace)

    result = dagger("logs", "latest")

    assert result.exit_code == 1
    assert "invalid run 'latest'" in result.stderr


def test_output_list(workspace: Workspace, environment: str, dagger) -> None:
    passed, _ = make_runs(workspace)

    table = dagger("output", "list")
    document = json.loads(dagger("output", "list", "--json").stdout)

    assert f"Outputs of run {passed}" in table.stdout
    assert any(line.split() == ["version", "1.2.3"] for line in table.stdout.splitlines())
    assert document == {"environment": "dev", "run": passed, "outputs": {"version": "1.2.3", "meta": {"tags": ["a"]}}}


def test_output_list_before_success(workspace: Workspace, environment: str, dagger) -> None:
    result = dagger("output", "list")

    assert result.exit_code == 0
    assert "No successful run of environment dev yet." in result.stdout


# catalog


def test_catalog_lists_packages(dagger) -> None:
    result = dagger("catalog")

    assert result.exit_code == 0
    for name in ("busybox", "debian", "git", "shell", "golang", "python", "node", "image"):
        assert f"archon.dev/catalog/{name}" in result.stdout


def test_catalog_shows_package(dagger) -> None:
    result = dagger("catalog", "shell")

    assert result.stdout.startswith('import "archon.dev/catalog/shell"')
    assert "shell.#Run" in result.stdout


def test_catalog_unknown_package(dagger) -> None:
    result = dagger("catalog", "ruby")

    assert result.exit_code == 1
    assert "catalog package 'ruby' not found" in result.stderr


def test_catalog_json(dagger) -> None:
    document = json.loads(dagger("catalog", "--json").stdout)

    assert [package["name"] for package in document][:2] == ["busybox", "debian"]
    assert "#Image" in document[0]["definitions"]


# The installed `dagger` command.


def test_installed_dagger_runs_state_commands(tmp_path: Path) -> None:
    dagger_path = PROJECT / ".venv" / "bin" / "dagger"
    if not dagger_path.exists():
        pytest.skip(f"{dagger_path} not installed: run scripts/setup")
    (tmp_path / "plan").mkdir()
    (tmp_path / "plan" / "main.cue").write_text("package main\n")

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(dagger_path), *args], cwd=tmp_path, input=input, capture_output=True,
                              text=True, timeout=60, env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")})

    steps = [
        run("init"),
        run("new", "dev", "--plan", "plan"),
        run("input", "secret", "token", input=SECRET),
        run("input", "list"),
    ]

    for step in steps:
        assert step.returncode == 0, step.stderr
    assert "token" in steps[3].stdout
    assert_not_stored(tmp_path, SECRET)
