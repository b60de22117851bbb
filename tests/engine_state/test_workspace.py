"""Workspaces, environments, name validation and atomic writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archon.engine import workspace as workspace_module
from archon.engine.workspace import (
    EnvironmentNotFoundError,
    InvalidNameError,
    StateError,
    Workspace,
    WorkspaceNotFoundError,
    atomic_write,
    find_workspace,
    init,
    validate_name,
)

VALID_NAMES = ["dev", "a", "0", "prod-eu-1", "x" * 63, "1st"]
INVALID_NAMES = ["", "Dev", "-dev", "dev_1", "dev.1", "dév", "x" * 64, "with space", "a/b", "../up"]


@pytest.mark.parametrize("name", VALID_NAMES)
def test_valid_names_accepted(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_names_rejected(name: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_name(name)

    assert repr(name) in caught.value.message
    assert "^[a-z0-9][a-z0-9-]{0,62}$" in caught.value.message
    assert "lowercase letters, digits and '-'" in caught.value.hint


def test_invalid_name_hint_suggests_slug() -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_name("My Env_1")

    assert "'my-env-1'" in caught.value.hint


def test_init_creates_state_folder(tmp_path: Path) -> None:
    created = init(tmp_path)

    assert (tmp_path / ".dagger" / "workspace.json").is_file()
    assert (tmp_path / ".dagger" / "environments").is_dir()
    assert "history.db" in (tmp_path / ".dagger" / ".gitignore").read_text()
    assert created.environment_names() == []


def test_init_twice_rejected(tmp_path: Path) -> None:
    init(tmp_path)

    with pytest.raises(StateError) as caught:
        init(tmp_path)

    assert "already a workspace" in caught.value.message


def test_find_walks_up_from_subfolder(workspace: Workspace) -> None:
    nested = workspace.root / "plan" / "deep" / "er"
    nested.mkdir(parents=True)

    assert find_workspace(nested).root == workspace.root


def test_find_without_workspace_fails(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFoundError) as caught:
        find_workspace(tmp_path)

    assert str(tmp_path) in caught.value.message
    assert "dagger init" in caught.value.hint


def test_create_stores_plan_relative(workspace: Workspace) -> None:
    environment = workspace.create_environment("dev", workspace.root / "plan")
    record = json.loads((workspace.state_dir / "environments" / "dev.json").read_text())

    assert environment.plan == "plan"
    assert record["plan"] == "plan"
    assert workspace.get_environment("dev").plan_path == workspace.root / "plan"


def test_workspace_moves_with_relative_plan(workspace: Workspace, tmp_path: Path) -> None:
    workspace.create_environment("dev", Path("plan"))
    moved = tmp_path / "moved"
    workspace.root.rename(moved)

    environment = Workspace(moved).get_environment("dev")

    assert environment.plan_path == moved / "plan"


def test_first_environment_becomes_default(workspace: Workspace) -> None:
    workspace.create_environment("dev", Path("plan"))
    workspace.create_environment("prod", Path("plan"))

    assert workspace.default_environment() == "dev"
    assert workspace.environment_names() == ["dev", "prod"]


def test_set_default_environment(workspace: Workspace) -> None:
    workspace.create_environment("dev", Path("plan"))
    workspace.create_environment("prod", Path("plan"))

    workspace.set_default_environment("prod")

    assert workspace.default_environment() == "prod"


def test_duplicate_environment_rejected(workspace: Workspace) -> None:
    workspace.create_environment("dev", Path("plan"))

    with pytest.raises(StateError) as caught:
        workspace.create_environment("dev", Path("plan"))

    assert "already exists" in caught.value.message


def test_plan_outside_workspace_rejected(workspace: Workspace, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "main.cue").write_text("package main\n")

    with pytest.raises(StateError) as caught:
        workspace.create_environment("dev", outside)

    assert "outside the workspace" in caught.value.message


def test_plan_without_cue_files_rejected(workspace: Workspace) -> None:
    (workspace.root / "empty").mkdir()

    with pytest.raises(StateError) as caught:
        workspace.create_environment("dev", Path("empty"))

    assert "no .cue files" in caught.value.message


def test_missing_environment_lists_known(workspace: Workspace) -> None:
    workspace.create_environment("dev", Path("plan"))

    with pytest.raises(EnvironmentNotFoundError) as caught:
        workspace.get_environment("prod")

    assert "'prod' not found" in caught.value.message
    assert "dev" in caught.value.hint


def test_delete_environment_clears_default(workspace: Workspace) -> None:
    workspace.create_environment("dev", Path("plan"))

    workspace.delete_environment("dev")

    assert workspace.environment_names() == []
    assert workspace.default_environment() is None


def test_update_environment_discards_on_error(workspace: Workspace) -> None:
    workspace.create_environment("dev", Path("plan"))

    with pytest.raises(RuntimeError):
        with workspace.update_environment("dev") as environment:
            environment.plan = "changed"
            raise RuntimeError("stop")

    assert workspace.get_environment("dev").plan == "plan"


def test_corrupt_environment_file_names_position(workspace: Workspace) -> None:
    workspace.create_environment("dev", Path("plan"))
    (workspace.environments_dir / "dev.json").write_text('{\n  "plan": "plan",\n  oops\n}\n')

    with pytest.raises(StateError) as caught:
        workspace.get_environment("dev")

    assert "dev.json:3:3: invalid JSON" in caught.value.message


# Atomic writes.


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "files"
    path.mkdir()
    return path


def test_atomic_write_replaces_content(folder: Path) -> None:
    target = folder / "file.json"
    target.write_text("old")

    atomic_write(target, b"new")

    assert target.read_bytes() == b"new"
    assert sorted(path.name for path in folder.iterdir()) == ["file.json"]


@pytest.mark.parametrize("failing_call", ["fsync", "replace"])
def test_failed_write_keeps_old_file(folder: Path, monkeypatch: pytest.MonkeyPatch, failing_call: str) -> None:
    target = folder / "file.json"
    target.write_text("old content")

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(workspace_module.os, failing_call, fail)
    with pytest.raises(OSError):
        atomic_write(target, b"new content")
    monkeypatch.undo()

    assert target.read_text() == "old content"
    assert sorted(path.name for path in folder.iterdir()) == ["file.json"]


def test_failed_environment_save_keeps_old_file(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace.create_environment("dev", Path("plan"))
    path = workspace.environments_dir / "dev.json"
    before = path.read_bytes()

    def fail(*args: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(workspace_module.os, "fsync", fail)
    with pytest.raises(OSError):
        with workspace.update_environment("dev") as environment:
            environment.plan = "elsewhere"
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert workspace.get_environment("dev").plan == "plan"


_WRITER = """
import sys
from pathlib import Path
from archon.engine.workspace import atomic_write
target = Path(sys.argv[1])
print("ready", flush=True)
generation = 0
while True:
    generation += 1
    atomic_write(target, bytes([65 + generation % 26]) * 8_000_000)
"""


def test_killed_writer_leaves_whole_file(folder: Path) -> None:
    # A process killed at a random point of atomic_write must leave either
    # the old file or one complete new version, never a mix or a part.
    target = folder / "state.bin"
    target.write_bytes(b"o" * 100)

    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    writer.send_signal(signal.SIGKILL)
    writer.wait()

    content = target.read_bytes()
    assert content == b"o" * 100 or (len(content) == 8_000_000 and content == content[:1] * len(content))


def test_lock_serializes_updates(workspace: Workspace) -> None:
    # Two processes each set 20 inputs; with the lock, no update is lost.
    workspace.create_environment("dev", Path("plan"))
    script = """
import sys
from archon.engine.workspace import Workspace
from archon.engine.inputs import set_input, text_input
workspace = Workspace(sys.argv[1])
for index in range(20):
    with workspace.update_environment("dev") as environment:
        set_input(environment, f"{sys.argv[2]}{index}", text_input("x"))
"""
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(workspace.root), prefix]) for prefix in ("a", "b")
    ]
    for writer in writers:
        assert writer.wait() == 0

    assert len(workspace.get_environment("dev").inputs) == 40


def test_environment_file_has_no_temporary_leftovers(workspace: Workspace) -> None:
    workspace.create_environment("dev", Path("plan"))
    for index in range(5):
        with workspace.update_environment("dev") as environment:
            environment.plan = "plan"

    leftovers = [name for name in os.listdir(workspace.environments_dir) if name.endswith(".tmp")]
    assert leftovers == []
