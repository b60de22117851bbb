"""Environments for the editor: which one applies to a package, and its inputs.

The server keeps one selected environment name (`archon.selectEnvironment`,
or the initialization option `environment`). For a package, the environment
that applies is the selected one when its plan is that package's folder,
else the workspace's default when its plan is that folder, else the first
environment whose plan is that folder. A package outside any workspace, or
with no environment, is analysed without inputs.

The engine modules are imported on use, so that the language server still
starts (without environments) when they are missing.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from archon.lsp.analysis import EnvironmentContext

log = logging.getLogger(__name__)


class EnvironmentsUnavailable(Exception):
    """The engine's workspace modules cannot be imported."""


def _workspace_module():
    try:
        from archon.engine import workspace
    except ImportError as problem:
        raise EnvironmentsUnavailable(f"environments are not available: {problem}") from problem
    return workspace


def find_workspace(folder: str) -> Any | None:
    """Return the workspace that contains folder, or None."""
    workspace = _workspace_module()
    try:
        return workspace.find_workspace(Path(folder))
    except workspace.StateError:
        return None


def environment_for(folder: str, selected: str | None) -> tuple[Any, Any] | tuple[None, None]:
    """Return (workspace, environment) that applies to the package in folder."""
    workspace = find_workspace(folder)
    if workspace is None:
        return None, None

    package = os.path.realpath(folder)
    candidates = []
    if selected:
        candidates.append(selected)
    default = workspace.default_environment()
    if default:
        candidates.append(default)
    candidates.extend(workspace.environment_names())

    for name in dict.fromkeys(candidates):
        try:
            environment = workspace.get_environment(name)
        except Exception as problem:  # noqa: BLE001 - a broken environment file must not stop the others
            log.warning("skipped environment %r of %s: %s", name, workspace.root, problem)
            continue
        if os.path.realpath(environment.plan_path) == package:
            return workspace, environment
    return workspace, None


def declared_inputs(texts: dict[str, str]) -> list[str]:
    """Return the dotted paths of the `@input()` fields written in the given files."""
    from archon.runtime import source
    from archon.runtime.cue import parse

    names: list[str] = []
    for path, text in texts.items():
        parsed = parse(text, path)
        for field_path, node in source.iter_fields(parsed):
            if source.attribute(node, "input") is not None:
                names.append(".".join(field_path))
    return names


def package_texts(folder: str, overlays: dict[str, str]) -> dict[str, str]:
    """Return the text of every .cue file of the package folder, buffers first."""
    texts = {}
    for path in sorted(Path(folder).glob("*.cue")):
        key = str(path)
        if key in overlays:
            texts[key] = overlays[key]
            continue
        try:
            texts[key] = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    for path, text in overlays.items():
        if os.path.dirname(path) == folder and path.endswith(".cue"):
            texts.setdefault(path, text)
    return texts


def package_name(texts: dict[str, str]) -> str | None:
    from archon.runtime.cue import parse

    for path, text in texts.items():
        parsed = parse(text, path)
        if parsed.package is not None:
            return parsed.package.name
    return None


def environment_context(folder: str, overlays: dict[str, str], selected: str | None) -> EnvironmentContext | None:
    """Build the inputs overlay of the environment that applies to the package in folder.

    Only the inputs that the package declares are rendered: an input set
    for another plan would otherwise add a field (or a whole component) to
    this one. Secrets are rendered as their id, never their value.
    """
    try:
        _, environment = environment_for(folder, selected)
    except EnvironmentsUnavailable:
        return None
    if environment is None:
        return None

    context = EnvironmentContext(environment.name)
    texts = package_texts(folder, overlays)
    name = package_name(texts)
    declared = set(declared_inputs(texts))
    names = frozenset(name for name in environment.inputs if name in declared)
    if not name or not names:
        return context

    from archon.engine.inputs import input_overlay

    try:
        context.overlay = input_overlay(environment, name, names)
        context.names = names
    except Exception as problem:  # noqa: BLE001 - reported as a warning, the analysis goes on without inputs
        context.problem = f"inputs of environment {environment.name!r} could not be rendered: {problem}"
        log.warning("%s", context.problem)
    return context


def list_environments(folders: list[str], selected: str | None) -> dict[str, Any]:
    """Return the environments of the workspaces that contain the given folders."""
    workspace_module = _workspace_module()
    seen: dict[str, dict[str, Any]] = {}
    roots: set[str] = set()
    for folder in folders:
        workspace = find_workspace(folder)
        if workspace is None or str(workspace.root) in roots:
            continue
        roots.add(str(workspace.root))
        default = workspace.default_environment()
        for name in workspace.environment_names():
            try:
                environment = workspace.get_environment(name)
            except workspace_module.StateError as problem:
                log.warning("skipped environment %r of %s: %s", name, workspace.root, problem.message)
                continue
            seen.setdefault(name, {"name": name, "plan": environment.plan, "default": name == default})
    chosen = selected
    if chosen is None:
        defaults = [item["name"] for item in seen.values() if item["default"]]
        chosen = defaults[0] if defaults else None
    return {"environments": list(seen.values()), "selected": chosen}
