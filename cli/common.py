"""Helpers shared by the commands that use the workspace: lookup, the -e option, errors, formatting."""

from __future__ import annotations

import datetime
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from archon.cli.errors import UserError
from archon.engine.history import SQLiteHistory, open_history
from archon.engine.workspace import Environment, StateError, Workspace, find_workspace

if TYPE_CHECKING:
    from rich.console import Console

ENVIRONMENT_VARIABLE = "ARCHON_ENVIRONMENT"

F = TypeVar("F", bound=Callable[..., Any])


def environment_option(function: F) -> F:
    """Add `-e/--environment NAME`, passed to the command as `environment_name`."""
    return click.option(
        "-e",
        "--environment",
        "environment_name",
        metavar="NAME",
        envvar=ENVIRONMENT_VARIABLE,
        help=f"Environment to use (default: the workspace's default environment; env: {ENVIRONMENT_VARIABLE}).",
    )(function)


def state_errors(function: F) -> F:
    """Turn the engine's StateError into the CLI's UserError, keeping message and hint."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except StateError as problem:
            raise UserError(problem.message, problem.hint) from problem

    return wrapper  # type: ignore[return-value]


def open_workspace(start: Path | None = None) -> Workspace:
    try:
        return find_workspace(start)
    except StateError as problem:
        raise UserError(problem.message, problem.hint) from problem


def resolve_environment_name(workspace: Workspace, requested: str | None) -> str:
    """Return the environment to use: `requested`, else the default, else the only one."""
    if requested:
        return requested

    default = workspace.default_environment()
    if default:
        return default

    names = workspace.environment_names()
    if len(names) == 1:
        return names[0]
    if not names:
        raise UserError(
            f"workspace {workspace.root} has no environment",
            "create one with `dagger new NAME --plan DIR`",
        )
    raise UserError(
        f"workspace {workspace.root} has no default environment",
        "pass -e NAME, one of: " + ", ".join(names),
    )


def select_environment(workspace: Workspace, requested: str | None) -> Environment:
    try:
        return workspace.get_environment(resolve_environment_name(workspace, requested))
    except StateError as problem:
        raise UserError(problem.message, problem.hint) from problem


def existing_history(workspace: Workspace) -> SQLiteHistory | None:
    """Open the workspace's history if a run has created it; read-only commands never create it."""
    if not workspace.history_path.exists():
        return None
    return open_history(workspace)


# Width of tables when stdout is not a terminal, so that piped output keeps
# long values such as digests on one line.
PIPE_WIDTH = 200


def console() -> Console:
    # Created per call so that it writes to the current sys.stdout, which
    # click's test runner replaces. rich is imported here, by the commands
    # that print tables, so that `dagger up` does not load it.
    from rich.console import Console

    width = None if sys.stdout.isatty() else PIPE_WIDTH
    return Console(highlight=False, width=width)


def format_time(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def first_line(text: str | None, width: int = 60) -> str:
    if not text:
        return ""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"
