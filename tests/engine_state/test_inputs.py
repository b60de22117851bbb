"""Input kinds, validation, the CUE overlay (checked with the real `cue`) and secret values."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from archon.engine import inputs
from archon.engine.inputs import DeclaredInput, InputError
from archon.engine.workspace import Environment, Workspace

from .helpers import cue_binary


@pytest.fixture
def environment(workspace: Workspace) -> Environment:
    return workspace.create_environment("dev", Path("plan"))


def evaluate(folder: Path, package_file: str, overlay: str, expression: str | None = None) -> object:
    """Export the package in `folder` plus the overlay (or one `expression` of it) with `cue export`, as JSON."""
    (folder / "cue.mod").mkdir(parents=True, exist_ok=True)
    (folder / "cue.mod" / "module.cue").write_text('module: "example.com/x"\nlanguage: version: "v0.17.0"\n')
    (folder / "main.cue").write_text(package_file)
    (folder / "inputs.cue").write_text(overlay)

    selection = ["-e", expression] if expression else []
    completed = subprocess.run(
        [cue_binary(), "export", *selection, "--out", "json", "."],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


# Validation on set.


def test_json_error_names_line_and_column() -> None:
    with pytest.raises(InputError) as caught:
        inputs.json_input('{\n  "a": 1,\n  "b": ]\n}', "config")

    assert "invalid JSON for input config at 3:8" in caught.value.message


def test_json_nan_rejected() -> None:
    with pytest.raises(InputError) as caught:
        inputs.json_input('{"a": NaN}', "config")

    assert "NaN" in caught.value.message


def test_yaml_error_names_line_and_column() -> None:
    with pytest.raises(InputError) as caught:
        inputs.yaml_input("a: 1\nb: [1, 2\n", "config")

    assert "invalid YAML for input config at 3:1" in caught.value.message


def test_bool_accepts_true_and_false() -> None:
    assert inputs.bool_input("true").data == {"value": True}
    assert inputs.bool_input("False").data == {"value": False}


def test_bool_rejects_other_words() -> None:
    with pytest.raises(InputError) as caught:
        inputs.bool_input("yes")

    assert caught.value.hint == "use true or false"


def test_file_input_reads_content(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("line 1\nline 2\n")

    stored = inputs.file_input(path)

    assert stored.data["content"] == "line 1\nline 2\n"


def test_binary_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"\x00\xff\xfe")

    with pytest.raises(InputError) as caught:
        inputs.file_input(path)

    assert "not UTF-8" in caught.value.message


def test_dir_inside_workspace_stored_relative(workspace: Workspace) -> None:
    stored = inputs.dir_input(Path("plan"), workspace.root)

    assert stored.data == {"path": "plan"}


def test_dir_outside_workspace_needs_force(workspace: Workspace, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()

    with pytest.raises(InputError) as caught:
        inputs.dir_input(outside, workspace.root)

    assert "outside the workspace" in caught.value.message
    assert "--force" in caught.value.hint


def test_dir_outside_with_force_stored_absolute(workspace: Workspace, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()

    stored = inputs.dir_input(outside, workspace.root, force=True)

    assert stored.data == {"path": str(outside)}


def test_missing_dir_rejected(workspace: Workspace) -> None:
    with pytest.raises(InputError) as caught:
        inputs.dir_input(Path("nope"), workspace.root)

    assert "not found" in caught.value.message


def test_git_subdir_escaping_rejected() -> None:
    with pytest.raises(InputError):
        inputs.git_input("https://example.com/r.git", "main", "../etc")


def test_empty_secret_rejected() -> None:
    with pytest.raises(InputError):
        inputs.secret_input("")


@pytest.mark.parametrize("name", ["", "a..b", "9lives", "a b", "#def", "a.#b"])
def test_invalid_input_names(environment: Environment, name: str) -> None:
    with pytest.raises(InputError):
        inputs.set_input(environment, name, inputs.text_input("x"))


def test_unset_missing_input_lists_set(environment: Environment) -> None:
    inputs.set_input(environment, "greeting", inputs.text_input("hi"))

    with pytest.raises(InputError) as caught:
        inputs.unset_input(environment, "other")

    assert "greeting" in caught.value.hint


# Listing.


def test_list_without_declared_inputs(environment: Environment) -> None:
    inputs.set_input(environment, "greeting", inputs.text_input("hi"))
    inputs.set_input(environment, "token", inputs.secret_input("s3cret"))

    rows = inputs.list_inputs(environment)

    assert [(row.name, row.state, row.kind, row.value) for row in rows] == [
        ("greeting", "set", "text", '"hi"'),
        ("token", "set", "secret", "***"),
    ]


def test_list_with_declared_inputs(environment: Environment) -> None:
    inputs.set_input(environment, "greeting", inputs.text_input("hi"))
    inputs.set_input(environment, "stale", inputs.text_input("old"))
    declared = [
        DeclaredInput("greeting", "string", "The greeting."),
        DeclaredInput("source", "op.#Dir", "The program's source."),
        DeclaredInput("level", "string", "Log level.", optional=True),
    ]

    rows = {row.name: row for row in inputs.list_inputs(environment, declared)}

    assert rows["greeting"].state == "set"
    assert rows["greeting"].doc == "The greeting."
    assert rows["source"].state == "missing"
    assert rows["source"].type == "op.#Dir"
    assert rows["level"].state == "optional"
    assert rows["stale"].state == "undeclared"


# The overlay.


PLAN = """package main

greeting: string @input()
config: {...} @input()
settings: {...} @input()
verbose: bool @input()
notes: string @input()
source: {$up: [...]} @input()
repo: {$up: [...]} @input()
token: {secret: string} @input()
stages: build: "my-flag": string @input()
"""


def test_overlay_evaluates_with_cue(environment: Environment, workspace: Workspace, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text('first "line"\nsecond \\(line)\n')
    tricky = 'say "hi" \\(x) \n\t\x01 é ☃ 😀'

    inputs.set_input(environment, "greeting", inputs.text_input(tricky))
    inputs.set_input(environment, "config", inputs.json_input('{"replicas": 3, "ratio": 0.5, "tags": ["a", null], "if": true}'))
    inputs.set_input(environment, "settings", inputs.yaml_input("released: 2024-01-02\nports: [80, 443]\n"))
    inputs.set_input(environment, "verbose", inputs.bool_input("true"))
    inputs.set_input(environment, "notes", inputs.file_input(notes))
    inputs.set_input(environment, "source", inputs.dir_input(Path("plan"), workspace.root, include=["*.cue"]))
    inputs.set_input(environment, "repo", inputs.git_input("https://example.com/r.git", "v1.0", "sub/dir", True))
    inputs.set_input(environment, "token", inputs.secret_input("the-secret-value"))
    inputs.set_input(environment, "stages.build.my-flag", inputs.text_input("on"))

    overlay = inputs.input_overlay(environment, "main")
    result = evaluate(tmp_path / "module", PLAN, overlay)

    assert "the-secret-value" not in overlay
    assert result["greeting"] == tricky
    assert result["config"] == {"replicas": 3, "ratio": 0.5, "tags": ["a", None], "if": True}
    assert result["settings"] == {"released": "2024-01-02", "ports": [80, 443]}
    assert result["verbose"] is True
    assert result["notes"] == 'first "line"\nsecond \\(line)\n'
    assert result["token"] == {"secret": "token"}
    assert result["stages"] == {"build": {"my-flag": "on"}}


def test_overlay_components_with_cue(environment: Environment, workspace: Workspace, tmp_path: Path) -> None:
    inputs.set_input(environment, "source", inputs.dir_input(Path("plan"), workspace.root, exclude=["*.tmp"]))
    inputs.set_input(environment, "repo", inputs.git_input("https://example.com/r.git", "v1.0", "sub/dir", True))
    overlay = inputs.input_overlay(environment, "main")
    module = tmp_path / "module"

    source_ops = evaluate(module, PLAN, overlay, "source.$up")
    repo_ops = evaluate(module, PLAN, overlay, "repo.$up")

    assert source_ops == [{"do": "local", "dir": str(workspace.root / "plan"), "exclude": ["*.tmp"]}]
    assert repo_ops == [
        {"do": "fetch-git", "remote": "https://example.com/r.git", "ref": "v1.0", "keepGitDir": True},
        {"do": "subdir", "dir": "/sub/dir"},
    ]


def test_overlay_declares_package(environment: Environment) -> None:
    overlay = inputs.input_overlay(environment, "deploy")

    assert "\npackage deploy\n" in overlay


def test_overlay_rejects_bad_package_name(environment: Environment) -> None:
    with pytest.raises(InputError):
        inputs.input_overlay(environment, "not-a-name")


def test_overlay_only_named_inputs(environment: Environment) -> None:
    inputs.set_input(environment, "greeting", inputs.text_input("hi"))
    inputs.set_input(environment, "stale", inputs.text_input("old"))

    overlay = inputs.input_overlay(environment, "main", names={"greeting"})

    assert 'greeting: "hi"' in overlay
    assert "stale" not in overlay


def test_overlay_missing_dir_reported(environment: Environment, workspace: Workspace) -> None:
    (workspace.root / "gone").mkdir()
    inputs.set_input(environment, "source", inputs.dir_input(Path("gone"), workspace.root))
    (workspace.root / "gone").rmdir()

    with pytest.raises(InputError) as caught:
        inputs.input_overlay(environment, "main")

    assert "of input source not found" in caught.value.message


def test_secret_values_decrypt(environment: Environment) -> None:
    inputs.set_input(environment, "token", inputs.secret_input("the-secret-value"))
    inputs.set_input(environment, "greeting", inputs.text_input("hi"))

    assert inputs.secret_values(environment) == {"token": "the-secret-value"}


def test_inputs_digest_changes_with_inputs(environment: Environment) -> None:
    before = inputs.inputs_digest(environment)
    inputs.set_input(environment, "greeting", inputs.text_input("hi"))

    assert inputs.inputs_digest(environment) != before
    assert inputs.inputs_digest(environment).startswith("sha256:")


def test_inputs_digest_excludes_secret_hash(environment: Environment) -> None:
    # The digest must not be a function of the plain text alone: two
    # encryptions of the same value give two digests.
    inputs.set_input(environment, "token", inputs.secret_input("same"))
    first = inputs.inputs_digest(environment)
    inputs.set_input(environment, "token", inputs.secret_input("same"))

    assert inputs.inputs_digest(environment) != first
