"""Workspaces and their environments, stored in a `.dagger/` folder.

A workspace is a folder that contains `.dagger/`. It contains any number of
environments: each names a plan (a CUE package folder inside the workspace,
stored relative to the workspace root so that the workspace can move) and
the inputs set for it. Layout:

    .dagger/workspace.json              {"version": 1, "default": NAME}
    .dagger/environments/NAME.json      {"name", "plan", "inputs"}
    .dagger/settings.json               see archon.engine.settings
    .dagger/history.db                  see archon.engine.history

Every file is replaced atomically (temporary file, fsync, rename), and every
read-modify-write of an environment holds an exclusive lock on
`.dagger/lock`, so concurrent `dagger input` commands do not lose updates.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

WORKSPACE_DIRNAME = ".dagger"
WORKSPACE_FORMAT_VERSION = 1

# Environment names become file names and appear in URLs of a hosted service.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
NAME_RULE = "1 to 63 characters: lowercase letters, digits and '-', starting with a letter or digit"

_GITIGNORE = "# Local run history; inputs and encrypted secrets may be committed.\nhistory.db*\nlock\n"


class StateError(Exception):
    """A problem with the local state that the user can fix.

    `message` states what failed and on which value, and `hint` is the fix.
    The CLI turns it into a `UserError`.
    """

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class WorkspaceNotFoundError(StateError):
    pass


class EnvironmentNotFoundError(StateError):
    pass


class InvalidNameError(StateError):
    pass


def validate_name(name: str) -> str:
    """Return `name` if it is a valid environment name, else raise InvalidNameError."""
    if NAME_PATTERN.match(name):
        return name

    suggestion = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63]
    hint = f"use a name of {NAME_RULE}"
    if suggestion and NAME_PATTERN.match(suggestion):
        hint += f", for example {suggestion!r}"
    raise InvalidNameError(f"invalid environment name {name!r}: it must match {NAME_PATTERN.pattern}", hint)


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` so that readers see the old or the new file, never a part.

    The data goes to a temporary file in the same folder, is flushed to disk,
    and is renamed over `path`. The folder is synced too, so that the rename
    survives a power loss. On any failure the temporary file is removed and
    `path` keeps its old content.
    """
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fchmod(stream.fileno(), mode)
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def atomic_write_json(path: Path, value: Any, mode: int = 0o644) -> None:
    # Serialize first, so that an unserializable value fails before any file is touched.
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write(path, text.encode("utf-8"), mode)


def _fsync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_json(path: Path) -> Any:
    """Read a JSON state file; a corrupt file raises StateError naming path:line:col."""
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as problem:
        raise StateError(
            f"{path}:{problem.lineno}:{problem.colno}: invalid JSON: {problem.msg}",
            "fix the file by hand or restore it from version control",
        ) from None


@dataclass
class StoredInput:
    """One input value as stored: `kind` is an input kind of archon.engine.inputs.

    `data` is kind-specific and JSON-serializable. For secrets it contains
    the age ciphertext, never the value.
    """

    kind: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.data}

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> "StoredInput":
        data = dict(record)
        kind = data.pop("kind")
        return cls(kind, data)


@dataclass
class Environment:
    """An environment: a plan and the inputs set for it.

    `plan` is the plan folder relative to the workspace root, in POSIX form.
    `root` is the absolute workspace root, needed to resolve relative paths.
    """

    name: str
    plan: str
    root: Path
    inputs: dict[str, StoredInput] = field(default_factory=dict)

    @property
    def plan_path(self) -> Path:
        return (self.root / self.plan).resolve()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "plan": self.plan,
            "inputs": {name: stored.to_json() for name, stored in sorted(self.inputs.items())},
        }


class EnvironmentStore(Protocol):
    """Storage of environments: a local `.dagger/` folder, or later a hosted service."""

    def environment_names(self) -> list[str]: ...

    def get_environment(self, name: str) -> Environment: ...

    def create_environment(self, name: str, plan: Path) -> Environment: ...

    def save_environment(self, environment: Environment) -> None: ...

    def delete_environment(self, name: str) -> None: ...

    def default_environment(self) -> str | None: ...

    def set_default_environment(self, name: str) -> None: ...

    def update_environment(self, name: str) -> contextlib.AbstractContextManager[Environment]: ...


class Workspace:
    """The local EnvironmentStore: a folder with a `.dagger/` subfolder."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.state_dir = self.root / WORKSPACE_DIRNAME
        self.environments_dir = self.state_dir / "environments"
        self.settings_path = self.state_dir / "settings.json"
        self.history_path = self.state_dir / "history.db"
        self._metadata_path = self.state_dir / "workspace.json"
        self._lock_path = self.state_dir / "lock"
        self._lock_depth = 0

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # Workspace metadata.

    def _metadata(self) -> dict[str, Any]:
        if not self._metadata_path.exists():
            return {"version": WORKSPACE_FORMAT_VERSION, "default": None}

        metadata = read_json(self._metadata_path)
        version = metadata.get("version")
        if version != WORKSPACE_FORMAT_VERSION:
            raise StateError(
                f"{self._metadata_path}: unsupported workspace format version {version!r}",
                f"this Archon reads version {WORKSPACE_FORMAT_VERSION}; upgrade Archon",
            )
        return metadata

    def default_environment(self) -> str | None:
        return self._metadata().get("default")

    def set_default_environment(self, name: str) -> None:
        with self.lock():
            self._require_environment_file(name)
            metadata = self._metadata()
            metadata["default"] = name
            atomic_write_json(self._metadata_path, metadata)

    # Environments.

    def _environment_path(self, name: str) -> Path:
        return self.environments_dir / f"{validate_name(name)}.json"

    def _require_environment_file(self, name: str) -> Path:
        path = self._environment_path(name)
        if not path.exists():
            known = self.environment_names()
            hint = f"known environments: {', '.join(known)}" if known else "create one with `dagger new NAME --plan DIR`"
            raise EnvironmentNotFoundError(f"environment {name!r} not found in workspace {self.root}", hint)
        return path

    def environment_names(self) -> list[str]:
        if not self.environments_dir.is_dir():
            return []
        names = (path.stem for path in self.environments_dir.glob("*.json"))
        return sorted(name for name in names if NAME_PATTERN.match(name))

    def get_environment(self, name: str) -> Environment:
        path = self._require_environment_file(name)
        record = read_json(path)
        inputs = {key: StoredInput.from_json(value) for key, value in record.get("inputs", {}).items()}
        return Environment(name=name, plan=record["plan"], root=self.root, inputs=inputs)

    def create_environment(self, name: str, plan: Path) -> Environment:
        """Create environment `name` for the plan folder `plan` (absolute, or relative to the current folder).

        The first environment of a workspace becomes its default.
        """
        validate_name(name)
        relative_plan = self.relative_plan_path(plan)

        with self.lock():
            path = self._environment_path(name)
            if path.exists():
                raise StateError(
                    f"environment {name!r} already exists in workspace {self.root}",
                    "choose another name, or change its inputs with `dagger input ... -e " + name + "`",
                )

            environment = Environment(name=name, plan=relative_plan, root=self.root)
            self.environments_dir.mkdir(exist_ok=True)
            atomic_write_json(path, environment.to_json())

            metadata = self._metadata()
            if not metadata.get("default"):
                metadata["default"] = name
                atomic_write_json(self._metadata_path, metadata)
        return environment

    def relative_plan_path(self, plan: Path) -> str:
        """Check that `plan` is a CUE package folder inside the workspace; return it relative to the root."""
        absolute = Path(plan).resolve()
        if not absolute.is_dir():
            raise StateError(f"plan folder {plan} not found", "pass the folder that contains the plan's .cue files")
        if not any(absolute.glob("*.cue")):
            raise StateError(f"plan folder {plan} contains no .cue files", "pass the folder of the CUE package to run")
        try:
            relative = absolute.relative_to(self.root)
        except ValueError:
            raise StateError(
                f"plan folder {absolute} is outside the workspace {self.root}",
                "move the plan into the workspace, or run `dagger init` in a folder that contains both",
            ) from None
        return relative.as_posix() or "."

    def save_environment(self, environment: Environment) -> None:
        validate_name(environment.name)
        self.environments_dir.mkdir(exist_ok=True)
        atomic_write_json(self._environment_path(environment.name), environment.to_json())

    def delete_environment(self, name: str) -> None:
        with self.lock():
            self._require_environment_file(name).unlink()
            metadata = self._metadata()
            if metadata.get("default") == name:
                metadata["default"] = None
                atomic_write_json(self._metadata_path, metadata)

    @contextlib.contextmanager
    def update_environment(self, name: str) -> Iterator[Environment]:
        """Load environment `name` under the workspace lock and save it when the block succeeds."""
        with self.lock():
            environment = self.get_environment(name)
            yield environment
            self.save_environment(environment)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive advisory lock on the workspace (re-entrant within one process)."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return

        descriptor = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)


def init(path: Path) -> Workspace:
    """Create a workspace in folder `path`; raise StateError if it already is one."""
    root = Path(path).resolve()
    if not root.is_dir():
        raise StateError(f"folder {path} not found", "create it first, or pass an existing folder")

    state_dir = root / WORKSPACE_DIRNAME
    if state_dir.exists():
        raise StateError(f"{root} is already a workspace ({state_dir} exists)", "use it as it is: `dagger list`")

    state_dir.mkdir()
    (state_dir / "environments").mkdir()
    workspace = Workspace(root)
    atomic_write_json(workspace._metadata_path, {"version": WORKSPACE_FORMAT_VERSION, "default": None})
    atomic_write(state_dir / ".gitignore", _GITIGNORE.encode())
    return workspace


def find_workspace(start: Path | None = None) -> Workspace:
    """Return the workspace that contains `start` (default: the current folder), walking up to `/`."""
    origin = Path(start or Path.cwd()).resolve()
    for folder in (origin, *origin.parents):
        if (folder / WORKSPACE_DIRNAME).is_dir():
            return Workspace(folder)
    raise WorkspaceNotFoundError(
        f"no workspace found in {origin} or any parent folder",
        "run `dagger init` in the project's root folder",
    )
