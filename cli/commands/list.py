"""`dagger list`: the environments of the workspace."""

from __future__ import annotations

import click
from rich.table import Table

from archon.cli.common import console, existing_history, format_time, open_workspace, state_errors


@click.command("list")
@state_errors
def command() -> None:
    """List the workspace's environments with their plan, inputs and last run."""
    workspace = open_workspace()
    names = workspace.environment_names()
    if not names:
        click.echo(f"No environments in {workspace.root}. Create one with `dagger new NAME --plan DIR`.")
        return

    default = workspace.default_environment()
    history = existing_history(workspace)

    table = Table(box=None, header_style="bold")
    for column in ("", "ENVIRONMENT", "PLAN", "INPUTS", "LAST RUN"):
        table.add_column(column)

    try:
        for name in names:
            environment = workspace.get_environment(name)
            last_run = history.latest_run(name) if history else None
            last = f"#{last_run.id} {last_run.status} {format_time(last_run.started_at)}" if last_run else "-"
            marker = "*" if name == default else ""
            table.add_row(marker, name, environment.plan, str(len(environment.inputs)), last)
    finally:
        if history:
            history.close()

    console().print(table)
