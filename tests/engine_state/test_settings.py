"""Settings precedence: flag > environment variable > workspace > user > default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archon.engine.settings import SETTINGS, Settings, user_settings_path
from archon.engine.workspace import StateError, Workspace


def write_user(config_home: Path, document: dict) -> Path:
    config_home.mkdir(parents=True, exist_ok=True)
    path = config_home / "settings.json"
    path.write_text(json.dumps(document))
    return path


def write_workspace(workspace: Workspace, document: dict) -> Path:
    workspace.settings_path.write_text(json.dumps(document))
    return workspace.settings_path


def test_required_keys_exist() -> None:
    required = {
        "buildkit.address",
        "buildkit.tls.ca",
        "buildkit.tls.cert",
        "buildkit.tls.key",
        "buildkit.tls.servername",
        "cache.import",
        "cache.export",
        "cue.path",
        "progress",
        "log.level",
    }

    assert required <= set(SETTINGS)


def test_environment_variable_names() -> None:
    assert SETTINGS["buildkit.address"].env_variable == "ARCHON_BUILDKIT_ADDR"
    assert SETTINGS["cue.path"].env_variable == "ARCHON_CUE"
    assert SETTINGS["buildkit.tls.ca"].env_variable == "ARCHON_BUILDKIT_TLS_CA"
    assert SETTINGS["progress"].env_variable == "ARCHON_PROGRESS"


def test_default_level(workspace: Workspace) -> None:
    assert Settings(workspace=workspace).resolve("progress") == ("auto", "default")


def test_user_level_beats_default(workspace: Workspace, config_home: Path) -> None:
    path = write_user(config_home, {"progress": "plain"})

    assert Settings(workspace=workspace).resolve("progress") == ("plain", f"user:{path}")


def test_workspace_level_beats_user(workspace: Workspace, config_home: Path) -> None:
    write_user(config_home, {"progress": "plain"})
    path = write_workspace(workspace, {"progress": "json"})

    assert Settings(workspace=workspace).resolve("progress") == ("json", f"workspace:{path}")


def test_environment_level_beats_workspace(
    workspace: Workspace, config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_user(config_home, {"progress": "plain"})
    write_workspace(workspace, {"progress": "json"})
    monkeypatch.setenv("ARCHON_PROGRESS", "tty")

    assert Settings(workspace=workspace).resolve("progress") == ("tty", "env:ARCHON_PROGRESS")


def test_flag_level_beats_environment(workspace: Workspace, config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_user(config_home, {"progress": "plain"})
    write_workspace(workspace, {"progress": "json"})
    monkeypatch.setenv("ARCHON_PROGRESS", "tty")

    settings = Settings(flags={"progress": "auto"}, workspace=workspace)

    assert settings.resolve("progress") == ("auto", "flag")


def test_flag_none_means_not_given(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHON_BUILDKIT_ADDR", "tcp://127.0.0.1:1234")

    settings = Settings(flags={"buildkit.address": None}, workspace=workspace)

    assert settings.resolve("buildkit.address") == ("tcp://127.0.0.1:1234", "env:ARCHON_BUILDKIT_ADDR")


def test_empty_environment_variable_ignored(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHON_PROGRESS", "")

    assert Settings(workspace=workspace).resolve("progress") == ("auto", "default")


def test_without_workspace_user_applies(config_home: Path) -> None:
    path = write_user(config_home, {"log.level": "debug"})

    assert Settings().resolve("log.level") == ("debug", f"user:{path}")


def test_nested_keys_in_file(workspace: Workspace) -> None:
    write_workspace(workspace, {"buildkit": {"tls": {"servername": "buildkitd"}}})

    assert Settings(workspace=workspace).get("buildkit.tls.servername") == "buildkitd"


def test_relative_path_resolved_against_file(workspace: Workspace) -> None:
    write_workspace(workspace, {"buildkit.tls.ca": "certs/ca.pem"})

    value = Settings(workspace=workspace).get("buildkit.tls.ca")

    assert value == str(workspace.state_dir / "certs" / "ca.pem")


def test_relative_path_flag_resolved_against_cwd(workspace: Workspace) -> None:
    value = Settings(flags={"cue.path": "bin/cue"}, workspace=workspace).get("cue.path")

    assert value == str(workspace.root / "bin" / "cue")


def test_invalid_choice_names_source(workspace: Workspace) -> None:
    path = write_workspace(workspace, {"progress": "fancy"})

    with pytest.raises(StateError) as caught:
        Settings(workspace=workspace).resolve("progress")

    assert str(path) in caught.value.message
    assert "'fancy'" in caught.value.message
    assert "auto, tty, plain, json" in caught.value.hint


def test_unknown_key_in_file_suggests(workspace: Workspace) -> None:
    path = write_workspace(workspace, {"buildkit.adress": "unix:///run/buildkit.sock"})

    with pytest.raises(StateError) as caught:
        Settings(workspace=workspace).resolve("progress")

    assert str(path) in caught.value.message
    assert "buildkit.address" in caught.value.hint


def test_unknown_key_resolve_rejected(workspace: Workspace) -> None:
    with pytest.raises(StateError) as caught:
        Settings(workspace=workspace).resolve("no.such")

    assert "unknown setting 'no.such'" in caught.value.message


def test_invalid_flag_rejected(workspace: Workspace) -> None:
    with pytest.raises(StateError) as caught:
        Settings(flags={"log.level": "loud"}, workspace=workspace)

    assert "flag" in caught.value.message


def test_corrupt_file_names_position(workspace: Workspace) -> None:
    workspace.settings_path.write_text('{"progress": "plain",}')

    with pytest.raises(StateError) as caught:
        Settings(workspace=workspace).resolve("progress")

    assert "settings.json:1:22" in caught.value.message


def test_file_set_keeps_other_keys(workspace: Workspace) -> None:
    write_workspace(workspace, {"progress": "plain"})
    settings = Settings(workspace=workspace)

    settings.workspace_file.set("log.level", "info")

    assert json.loads(workspace.settings_path.read_text()) == {"progress": "plain", "log.level": "info"}


def test_user_settings_path(config_home: Path) -> None:
    assert user_settings_path() == config_home / "settings.json"


def test_all_lists_every_setting(workspace: Workspace) -> None:
    keys = [item.key for item in Settings(workspace=workspace).all()]

    assert keys == list(SETTINGS)
