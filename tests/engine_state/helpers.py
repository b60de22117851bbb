"""Helpers for the state tests: the command group under test and the `cue` lookup."""

from __future__ import annotations

import importlib
import os

import click
import pytest

from archon.runtime.cuecmd import CueNotFoundError, find_cue

# The commands under test, registered as cli/main.py registers them.
STATE_COMMANDS = ("init", "new", "list", "input", "output", "history", "logs", "settings", "catalog")

# Read at import, before the autouse fixture clears the ARCHON_* variables.
_CUE_SETTING = os.environ.get("ARCHON_CUE")


def build_group() -> click.Group:
    @click.group()
    def group() -> None:
        """The state commands of `dagger`."""

    for name in STATE_COMMANDS:
        group.add_command(importlib.import_module(f"archon.cli.commands.{name}").command)
    return group


def cue_binary() -> str:
    """Return the path of the pinned `cue` (ARCHON_CUE, .tools/bin, PATH); skip the test without one."""
    try:
        return find_cue(_CUE_SETTING).path
    except CueNotFoundError as problem:
        pytest.skip(f"{problem}; {problem.hint}")


def workspace_bytes(root) -> dict[str, bytes]:
    """Return the content of every file under `root`, by path, for at-rest checks."""
    contents = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as stream:
                contents[path] = stream.read()
    return contents
