"""Settings and where each value comes from.

Precedence, highest first: a command-line flag, an environment variable, the
workspace's `.dagger/settings.json`, the user's `settings.json` in the config
folder (`$XDG_CONFIG_HOME/archon/`, else `~/.config/archon/`), the default.

Settings files hold one JSON object, with dotted keys (`"buildkit.address"`)
or nested objects (`{"buildkit": {"address": ...}}`). A relative path in a
path setting is resolved against the folder of the file that sets it, or the
current folder for flags and environment variables.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from archon.engine.workspace import StateError, Workspace, atomic_write_json, read_json

PROGRESS_MODES = ("auto", "tty", "plain", "json", "quiet")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class Setting:
    key: str
    doc: str
    default: str | None = None
    env: str | None = None
    choices: tuple[str, ...] = ()
    is_path: bool = False

    @property
    def env_variable(self) -> str:
        return self.env or "ARCHON_" + self.key.upper().replace(".", "_")


SETTINGS: dict[str, Setting] = {
    setting.key: setting
    for setting in (
        # NOTE: the default address assumes the BuildKit of the local Docker
        # daemon; engine/buildkit/connect.py defines what the forms mean.
        Setting("buildkit.address", "BuildKit daemon address: docker://[SOCKET], unix://PATH or tcp://HOST:PORT",
                default="docker://", env="ARCHON_BUILDKIT_ADDR"),
        Setting("buildkit.tls.ca", "CA certificate (PEM file) that signs the daemon's certificate", is_path=True),
        Setting("buildkit.tls.cert", "client certificate (PEM file) for a tcp:// daemon", is_path=True),
        Setting("buildkit.tls.key", "client private key (PEM file) for a tcp:// daemon", is_path=True),
        Setting("buildkit.tls.servername", "server name expected in the daemon's certificate"),
        Setting("cache.import", "cache to import, as BuildKit --import-cache attributes (type=registry,ref=...)"),
        Setting("cache.export", "cache to export, as BuildKit --export-cache attributes (type=registry,ref=...)"),
        Setting("cue.path", "path of the cue binary; unset means the runtime searches .tools/bin and PATH",
                env="ARCHON_CUE", is_path=True),
        Setting("cue.cache", "keep cue's evaluations in the user's cache folder, so that an unchanged configuration skips cue",
                default="on", choices=("on", "off")),
        Setting("progress", "progress display", default="auto", choices=PROGRESS_MODES),
        Setting("log.level", "log level of Archon's own messages", default="warning", choices=LOG_LEVELS),
    )
}


def user_config_dir() -> Path:
    """Return the user's Archon config folder: `$XDG_CONFIG_HOME/archon` or `~/.config/archon`."""
    base = os.environ.get("XDG_CONFIG_HOME")
    if base and os.path.isabs(base):
        return Path(base) / "archon"
    return Path.home() / ".config" / "archon"


def user_settings_path() -> Path:
    return user_config_dir() / "settings.json"


def require_setting(key: str, where: str | None = None) -> Setting:
    """Return the Setting for `key`; an unknown key raises StateError, prefixed with `where`."""
    setting = SETTINGS.get(key)
    if setting is None:
        close = difflib.get_close_matches(key, SETTINGS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "known settings: " + ", ".join(SETTINGS)
        prefix = f"{where}: " if where else ""
        raise StateError(f"{prefix}unknown setting {key!r}", hint)
    return setting


def _validate_value(setting: Setting, value: Any, source: str) -> str:
    if not isinstance(value, str):
        raise StateError(f"{source}: setting {setting.key} must be a string, not {value!r}", f"write it as \"{value}\"")
    if setting.choices and value not in setting.choices:
        raise StateError(
            f"{source}: invalid value {value!r} for {setting.key}",
            "use one of: " + ", ".join(setting.choices),
        )
    return value


class SettingsSource(Protocol):
    """One level of the precedence: returns a key's value, or None when this level does not set it."""

    label: str

    def get(self, key: str) -> str | None: ...


class MappingSource:
    """Values given by the caller, such as command-line flags."""

    def __init__(self, values: Mapping[str, str | None], label: str = "flag"):
        self.label = label
        self._values = {key: value for key, value in values.items() if value is not None}
        for key, value in self._values.items():
            _validate_value(require_setting(key, label), value, label)

    def get(self, key: str) -> str | None:
        value = self._values.get(key)
        if value is not None and SETTINGS[key].is_path:
            return _resolve_path(value, Path.cwd())
        return value


class EnvironmentSource:
    """Environment variables, one per setting (`Setting.env_variable`)."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self._environ = os.environ if environ is None else environ
        self.label = "env"

    def variable(self, key: str) -> str:
        return SETTINGS[key].env_variable

    def get(self, key: str) -> str | None:
        value = self._environ.get(self.variable(key))
        if not value:
            return None
        _validate_value(SETTINGS[key], value, f"environment variable {self.variable(key)}")
        return _resolve_path(value, Path.cwd()) if SETTINGS[key].is_path else value


class FileSource:
    """A settings.json file; a missing file sets nothing."""

    def __init__(self, path: Path, label: str):
        self.path = Path(path)
        self.label = label
        self._values: dict[str, str] | None = None

    def values(self) -> dict[str, str]:
        if self._values is None:
            self._values = self._load()
        return self._values

    def _load(self) -> dict[str, str]:
        if not self.path.exists():
            return {}

        document = read_json(self.path)
        if not isinstance(document, dict):
            raise StateError(f"{self.path}: settings must be a JSON object", 'write {"key": "value", ...}')

        values = {}
        for key, value in _flatten(document).items():
            setting = require_setting(key, str(self.path))
            values[key] = _validate_value(setting, value, str(self.path))
        return values

    def get(self, key: str) -> str | None:
        value = self.values().get(key)
        if value is not None and SETTINGS[key].is_path:
            return _resolve_path(value, self.path.parent)
        return value

    def set(self, key: str, value: str | None) -> None:
        """Write `key` to the file (remove it when `value` is None), keeping the other keys."""
        setting = require_setting(key)
        values = dict(self.values())
        if value is None:
            values.pop(key, None)
        else:
            values[key] = _validate_value(setting, value, "value")

        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path, values)
        self._values = values


def _flatten(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in document.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _resolve_path(value: str, base: Path) -> str:
    expanded = Path(value).expanduser()
    return str(expanded if expanded.is_absolute() else (base / expanded).resolve())


@dataclass(frozen=True)
class ResolvedSetting:
    key: str
    value: str | None
    source: str


class Settings:
    """Resolve settings through the precedence chain.

    `flags` maps keys to command-line values (None means not given).
    `workspace` is the current workspace, if any.
    """

    def __init__(
        self,
        flags: Mapping[str, str | None] | None = None,
        workspace: Workspace | None = None,
        environ: Mapping[str, str] | None = None,
        user_path: Path | None = None,
    ):
        self.flags = MappingSource(flags or {}, "flag")
        self.environment = EnvironmentSource(environ)
        self.workspace_file = FileSource(workspace.settings_path, "workspace") if workspace else None
        self.user_file = FileSource(user_path or user_settings_path(), "user")

    def _sources(self) -> list[SettingsSource]:
        sources: list[SettingsSource] = [self.flags, self.environment]
        if self.workspace_file is not None:
            sources.append(self.workspace_file)
        sources.append(self.user_file)
        return sources

    def resolve(self, key: str) -> tuple[str | None, str]:
        """Return the value of `key` and its source.

        The source is `flag`, `env:VARIABLE`, `workspace:PATH`, `user:PATH`
        or `default`.
        """
        setting = require_setting(key)
        for source in self._sources():
            value = source.get(key)
            if value is None:
                continue
            if source is self.environment:
                return value, f"env:{self.environment.variable(key)}"
            if isinstance(source, FileSource):
                return value, f"{source.label}:{source.path}"
            return value, source.label
        return setting.default, "default"

    def get(self, key: str) -> str | None:
        return self.resolve(key)[0]

    def all(self) -> list[ResolvedSetting]:
        return [ResolvedSetting(key, *self.resolve(key)) for key in SETTINGS]
