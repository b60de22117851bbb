"""`dagger input`: set, unset and list the inputs of an environment."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.table import Table

from archon.cli.common import (
    console,
    environment_option,
    open_workspace,
    resolve_environment_name,
    select_environment,
    state_errors,
)
from archon.cli.errors import UserError
from archon.engine import inputs
from archon.engine.inputs import DeclaredInput
from archon.engine.workspace import Environment, StoredInput

# Provider of the plan's declared inputs for `dagger input list`, set by the
# runtime wiring. While it is None, the command lists only the stored inputs.
DeclaredInputsProvider = Callable[[Environment], list[DeclaredInput]]
declared_inputs_provider: DeclaredInputsProvider | None = None


@click.group("input")
def command() -> None:
    """Set, unset and list the inputs of an environment."""


def _store(requested: str | None, name: str, build: Callable[[Environment], StoredInput]) -> Environment:
    """Set input `name` of the selected environment to what `build` returns, under the workspace lock."""
    workspace = open_workspace()
    with workspace.update_environment(resolve_environment_name(workspace, requested)) as environment:
        inputs.set_input(environment, name, build(environment))
    return environment


def _read_value(value: str | None, file: Path | None, subject: str) -> str:
    """Return the value from VALUE, `-` (standard input) or --file."""
    if file is not None and value is not None:
        raise UserError(f"both VALUE and --file given for {subject}", "pass one of them")
    if file is not None:
        return file.read_text(encoding="utf-8")
    if value == "-":
        return _without_final_newline(sys.stdin.read())
    if value is None:
        raise UserError(f"missing value for {subject}", "pass VALUE, - to read standard input, or --file PATH")
    return value


def _confirm(environment: Environment, name: str, kind: str) -> None:
    click.echo(f"Set {kind} input {name} of environment {environment.name}")


value_argument = click.argument("value", required=False)
file_option = click.option(
    "-f", "--file", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="Read the value from this file."
)


@command.command("text")
@click.argument("name")
@value_argument
@file_option
@environment_option
@state_errors
def text_command(name: str, value: str | None, file: Path | None, environment_name: str | None) -> None:
    """Set input NAME to the string VALUE (`-` reads standard input)."""
    text = _read_value(value, file, f"input {name}")
    environment = _store(environment_name, name, lambda _: inputs.text_input(text))
    _confirm(environment, name, "text")


@command.command("json")
@click.argument("name")
@value_argument
@file_option
@environment_option
@state_errors
def json_command(name: str, value: str | None, file: Path | None, environment_name: str | None) -> None:
    """Set input NAME to a JSON value, checked now."""
    source = _read_value(value, file, f"input {name}")
    environment = _store(environment_name, name, lambda _: inputs.json_input(source, name))
    _confirm(environment, name, "json")


@command.command("yaml")
@click.argument("name")
@value_argument
@file_option
@environment_option
@state_errors
def yaml_command(name: str, value: str | None, file: Path | None, environment_name: str | None) -> None:
    """Set input NAME to a YAML value, checked now."""
    source = _read_value(value, file, f"input {name}")
    environment = _store(environment_name, name, lambda _: inputs.yaml_input(source, name))
    _confirm(environment, name, "yaml")


@command.command("bool")
@click.argument("name")
@click.argument("value")
@environment_option
@state_errors
def bool_command(name: str, value: str, environment_name: str | None) -> None:
    """Set input NAME to true or false."""
    environment = _store(environment_name, name, lambda _: inputs.bool_input(value))
    _confirm(environment, name, "bool")


@command.command("file")
@click.argument("name")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@environment_option
@state_errors
def file_command(name: str, path: Path, environment_name: str | None) -> None:
    """Set input NAME to the content of the text file PATH, read now."""
    environment = _store(environment_name, name, lambda _: inputs.file_input(path))
    _confirm(environment, name, "file")


@command.command("dir")
@click.argument("name")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--include", multiple=True, metavar="PATTERN", help="Send only matching files (repeatable).")
@click.option("--exclude", multiple=True, metavar="PATTERN", help="Do not send matching files (repeatable).")
@click.option("--force", is_flag=True, help="Allow a directory outside the workspace.")
@environment_option
@state_errors
def dir_command(
    name: str, path: Path, include: tuple[str, ...], exclude: tuple[str, ...], force: bool, environment_name: str | None
) -> None:
    """Set input NAME to the local directory PATH, sent to BuildKit at each run."""
    environment = _store(
        environment_name,
        name,
        lambda environment: inputs.dir_input(path, environment.root, include, exclude, force),
    )
    _confirm(environment, name, "dir")


@command.command("git")
@click.argument("name")
@click.argument("remote")
@click.argument("ref", default="HEAD")
@click.argument("subdir", required=False)
@click.option("--keep-git-dir", is_flag=True, help="Keep the .git folder in the checkout.")
@environment_option
@state_errors
def git_command(
    name: str, remote: str, ref: str, subdir: str | None, keep_git_dir: bool, environment_name: str | None
) -> None:
    """Set input NAME to a checkout of REF (default HEAD) of REMOTE, optionally only SUBDIR."""
    environment = _store(environment_name, name, lambda _: inputs.git_input(remote, ref, subdir, keep_git_dir))
    _confirm(environment, name, "git")


@command.command("secret")
@click.argument("name")
@click.argument("value", required=False)
@environment_option
@state_errors
def secret_command(name: str, value: str | None, environment_name: str | None) -> None:
    """Set input NAME to a secret, stored encrypted.

    Without VALUE, or with `-`, the value is read from standard input (one
    trailing newline is removed) or, on a terminal, from a prompt that does
    not echo it.
    """
    if value is None or value == "-":
        value = _read_secret(name)
    else:
        click.echo("note: a value on the command line can stay in the shell history; pass - to read it from stdin",
                   err=True)

    secret = value
    environment = _store(environment_name, name, lambda _: inputs.secret_input(secret))
    click.echo(f"Set secret input {name} of environment {environment.name} (stored encrypted)")


def _read_secret(name: str) -> str:
    if sys.stdin.isatty():
        return click.prompt(f"Value of secret {name}", hide_input=True, prompt_suffix=": ")

    return _without_final_newline(sys.stdin.read())


def _without_final_newline(value: str) -> str:
    """Drop the one line ending that `echo` or a here-string adds, as for secrets."""
    if value.endswith("\r\n"):
        return value[:-2]
    if value.endswith("\n"):
        return value[:-1]
    return value


@command.command("unset")
@click.argument("name")
@environment_option
@state_errors
def unset_command(name: str, environment_name: str | None) -> None:
    """Remove input NAME from the environment."""
    workspace = open_workspace()
    with workspace.update_environment(resolve_environment_name(workspace, environment_name)) as environment:
        inputs.unset_input(environment, name)
    click.echo(f"Unset input {name} of environment {environment.name}")


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@environment_option
@state_errors
def list_command(as_json: bool, environment_name: str | None) -> None:
    """List the inputs: set, missing and optional ones, with their doc once the plan is known."""
    environment = select_environment(open_workspace(), environment_name)
    declared = declared_inputs_provider(environment) if declared_inputs_provider else None
    show_inputs(environment, declared, as_json)


def show_inputs(environment: Environment, declared: list[DeclaredInput] | None, as_json: bool) -> None:
    """Print the input list of `environment`; secrets show as `***` and are never decrypted."""
    rows = inputs.list_inputs(environment, declared)

    if as_json:
        document = [
            {"name": row.name, "state": row.state, "kind": row.kind, "value": row.value, "type": row.type, "doc": row.doc}
            for row in rows
        ]
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return

    if not rows:
        click.echo(f"No inputs set in environment {environment.name}. Set one with `dagger input text NAME VALUE`.")
        return

    table = Table(box=None, header_style="bold")
    columns = ["INPUT", "KIND", "VALUE"]
    if declared is not None:
        columns[1:1] = ["STATE", "TYPE"]
        columns.append("DOC")
    for column in columns:
        table.add_column(column)

    for row in rows:
        cells = [row.name, row.kind or "-", row.value]
        if declared is not None:
            cells[1:1] = [row.state, row.type]
            cells.append(row.doc.splitlines()[0] if row.doc else "")
        table.add_row(*cells)
    console().print(table)
