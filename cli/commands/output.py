"""`dagger output`: the outputs of an environment's last successful run."""

from __future__ import annotations

import json

import click
from rich.table import Table

from archon.cli.common import (
    console,
    environment_option,
    existing_history,
    first_line,
    format_time,
    open_workspace,
    select_environment,
    state_errors,
)


@click.group("output")
def command() -> None:
    """Show the outputs of an environment."""


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@environment_option
@state_errors
def list_command(as_json: bool, environment_name: str | None) -> None:
    """List the export values of the environment's last successful run."""
    workspace = open_workspace()
    environment = select_environment(workspace, environment_name)

    history = existing_history(workspace)
    last = None
    run = None
    if history is not None:
        with history:
            last = history.last_success(environment.name)
            run = history.get_run(last.run_id) if last else None

    if as_json:
        document = {"environment": environment.name, "run": last.run_id if last else None,
                    "outputs": last.exports if last else {}}
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return

    if last is None:
        click.echo(f"No successful run of environment {environment.name} yet.")
        return

    click.echo(f"Outputs of run {last.run_id} ({format_time(run.ended_at if run else None)})")
    table = Table(box=None, header_style="bold")
    table.add_column("OUTPUT")
    table.add_column("VALUE")
    for name, value in sorted(last.exports.items()):
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        table.add_row(name, first_line(text, 100))
    console().print(table)
