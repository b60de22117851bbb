"""Targets of commands: a plan folder, maybe an environment, and their inputs.

A command names a plan folder, an environment (`-e`), both or neither. With
an environment, its stored inputs join the evaluation as one extra file,
its secrets go to the run's session, and the run is recorded in the
workspace's history. Without one, only inputs given on the command line
are used and nothing is recorded.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from archon.engine import inputs as stored_inputs
from archon.engine.catalog import list_packages
from archon.engine.workspace import Environment, StateError, Workspace, find_workspace
from archon.runtime.config import INPUTS_FILE, Configuration, load, render_inputs
from archon.runtime.cue import parse

log = logging.getLogger(__name__)

# The file under which an environment's stored inputs join the package.
ENVIRONMENT_INPUTS_FILE = "zz_archon_environment_inputs.cue"


@dataclass
class Target:
    package: Path
    workspace: Workspace | None = None
    environment: Environment | None = None
    flag_inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def environment_name(self) -> str | None:
        return self.environment.name if self.environment else None


def catalog_packages() -> dict[str, str]:
    """Import paths of the bundled catalog, mapped to their folders."""
    return {package.import_path: str(package.path) for package in list_packages()}


def resolve_target(path: str | None, environment_name: str | None, flag_inputs: Mapping[str, Any] | None = None) -> Target:
    """Find the plan and environment a command works on.

    A path alone runs that folder, with the workspace's environment whose
    plan it is when there is exactly one such. `-e` alone runs the
    environment's plan. No path and no `-e` use the workspace's default
    environment, or the current folder outside a workspace.
    """
    start = Path(path).resolve() if path else Path.cwd()
    workspace = _find_workspace(start)
    environment = None

    if environment_name:
        if workspace is None:
            raise StateError(f"no workspace found above {start} for environment {environment_name!r}", "run `dagger init` at the root of the project")
        environment = workspace.get_environment(environment_name)
    elif workspace is not None:
        environment = _environment_for(workspace, start if path else None)

    if path:
        package = start
        if environment is not None and environment.plan_path != package:
            if environment_name:
                raise StateError(
                    f"environment {environment.name!r} runs the plan {environment.plan_path}, not {package}",
                    f"drop the path, or drop -e {environment.name}",
                )
            environment = None
    elif environment is not None:
        package = environment.plan_path
    else:
        package = start
    return Target(package, workspace, environment, dict(flag_inputs or {}))


def _find_workspace(start: Path) -> Workspace | None:
    try:
        return find_workspace(start if start.is_dir() else start.parent)
    except StateError:
        return None


def _environment_for(workspace: Workspace, package: Path | None) -> Environment | None:
    """Return the environment for a plan folder (only when exactly one runs it), or the default one."""
    names = workspace.environment_names()
    if package is None:
        default = workspace.default_environment()
        return workspace.get_environment(default) if default else None
    matching = [workspace.get_environment(name) for name in names if workspace.get_environment(name).plan_path == package]
    if len(matching) == 1:
        return matching[0]
    default = workspace.default_environment()
    return next((item for item in matching if item.name == default), None)


def package_name(package: Path) -> str:
    for path in sorted(package.glob("*.cue")):
        parsed = parse(path.read_text(encoding="utf-8", errors="replace"), str(path))
        if parsed.package is not None:
            return parsed.package.name
    return "main"


def input_files(target: Target) -> tuple[dict[str, str], set[str]]:
    """Return the extra files that carry the target's inputs, and the names of the inputs they set.

    Inputs given on the command line replace the environment's inputs of
    the same name.
    """
    files: dict[str, str] = {}
    names: set[str] = set(target.flag_inputs)
    if target.flag_inputs:
        files.update(render_inputs(target.flag_inputs, target.package))
    if target.environment is not None:
        stored = set(target.environment.inputs) - set(target.flag_inputs)
        if stored:
            files[ENVIRONMENT_INPUTS_FILE] = stored_inputs.input_overlay(target.environment, package_name(target.package), stored)
            names |= stored
    return files, names


def load_target(target: Target, mode: str, *, overlays: Mapping[str, str] | None = None, cue_path: str | None = None, evaluator=None) -> Configuration:
    extra_files, names = input_files(target)
    return load(
        target.package,
        mode=mode,
        overlays=overlays,
        extra_files=extra_files or None,
        packages=catalog_packages(),
        set_inputs=names,
        cue_path=cue_path,
        evaluator=evaluator,
    )


def secrets_for(target: Target) -> dict[str, str]:
    return stored_inputs.secret_values(target.environment) if target.environment is not None else {}


def plan_digest(definition: bytes) -> str:
    return "sha256:" + hashlib.sha256(definition).hexdigest()


def declared_inputs(configuration: Configuration) -> list[stored_inputs.DeclaredInput]:
    """Return the plan's inputs in the form `dagger input list` shows them."""
    return [
        stored_inputs.DeclaredInput(decl.path, decl.type_text, decl.doc or "", decl.has_default)
        for decl in configuration.inputs.values()
    ]


__all__ = [
    "ENVIRONMENT_INPUTS_FILE",
    "INPUTS_FILE",
    "Target",
    "catalog_packages",
    "declared_inputs",
    "input_files",
    "load_target",
    "package_name",
    "plan_digest",
    "resolve_target",
    "secrets_for",
]
