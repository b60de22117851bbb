"""`dagger new`: create an environment."""

from __future__ import annotations

from pathlib import Path

import click

from archon.cli.common import open_workspace, state_errors


@click.command("new")
@click.argument("name")
@click.option(
    "--plan",
    "plan",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the plan's CUE package, inside the workspace.",
)
@click.option("--default", "make_default", is_flag=True, help="Make it the workspace's default environment.")
@state_errors
def command(name: str, plan: Path, make_default: bool) -> None:
    """Create environment NAME for the plan in --plan DIR."""
    workspace = open_workspace()
    environment = workspace.create_environment(name, plan)
    if make_default:
        workspace.set_default_environment(name)

    default = " (default)" if workspace.default_environment() == name else ""
    click.echo(f"Created environment {environment.name}{default} for plan {environment.plan}")
