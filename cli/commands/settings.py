"""`dagger settings`: each setting's value and where it came from."""

from __future__ import annotations

import json

import click
from rich.table import Table

from archon.cli.common import console, state_errors
from archon.cli.errors import UserError
from archon.engine.settings import SETTINGS, FileSource, Settings, user_settings_path
from archon.engine.workspace import StateError, Workspace, find_workspace


def _current_workspace() -> Workspace | None:
    try:
        return find_workspace()
    except StateError:
        return None


@click.group("settings", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
@state_errors
def command(context: click.Context, as_json: bool) -> None:
    """Show each setting, its value and its source.

    Precedence, highest first: flag, environment variable, workspace
    (.dagger/settings.json), user (settings.json in the config folder), default.
    """
    if context.invoked_subcommand is not None:
        return

    resolved = Settings(workspace=_current_workspace()).all()
    if as_json:
        document = {item.key: {"value": item.value, "source": item.source} for item in resolved}
        click.echo(json.dumps(document, indent=2))
        return

    table = Table(box=None, header_style="bold")
    for column in ("SETTING", "VALUE", "SOURCE", "ENV"):
        table.add_column(column)
    for item in resolved:
        value = item.value if item.value is not None else "(unset)"
        table.add_row(item.key, value, item.source, SETTINGS[item.key].env_variable)
    console().print(table)


def _settings_file(user: bool) -> FileSource:
    if user:
        return FileSource(user_settings_path(), "user")

    workspace = _current_workspace()
    if workspace is None:
        raise UserError("no workspace found in the current folder or its parents",
                        "pass --user to change your user settings, or run `dagger init`")
    return FileSource(workspace.settings_path, "workspace")


user_option = click.option("--user", is_flag=True, help="Change the user settings instead of the workspace's.")


@command.command("set")
@click.argument("key")
@click.argument("value")
@user_option
@state_errors
def set_command(key: str, value: str, user: bool) -> None:
    """Set KEY to VALUE in the workspace's settings (or the user's with --user)."""
    target = _settings_file(user)
    target.set(key, value)
    click.echo(f"Set {key} in {target.path}")


@command.command("unset")
@click.argument("key")
@user_option
@state_errors
def unset_command(key: str, user: bool) -> None:
    """Remove KEY from the workspace's settings (or the user's with --user)."""
    target = _settings_file(user)
    target.set(key, None)
    click.echo(f"Unset {key} in {target.path}")
