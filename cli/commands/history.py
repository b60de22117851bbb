"""`dagger history`: the runs of the workspace."""

from __future__ import annotations

import json

import click
from rich.table import Table

from archon.cli.common import (
    console,
    existing_history,
    first_line,
    format_duration,
    format_time,
    open_workspace,
    state_errors,
)

STATUS_STYLES = {"succeeded": "green", "failed": "red", "cancelled": "yellow", "running": "cyan"}


@click.command("history")
@click.option("-e", "--environment", "environment_name", metavar="NAME", help="Show only the runs of this environment.")
@click.option("-n", "--limit", default=20, show_default=True, type=click.IntRange(min=1), help="Maximum number of runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@state_errors
def command(environment_name: str | None, limit: int, as_json: bool) -> None:
    """List the latest runs, newest first."""
    workspace = open_workspace()
    history = existing_history(workspace)
    runs = []
    if history is not None:
        with history:
            runs = history.list_runs(environment_name, limit)

    if as_json:
        click.echo(json.dumps([run.to_json() for run in runs], indent=2))
        return
    if not runs:
        click.echo("No runs yet.")
        return

    table = Table(box=None, header_style="bold")
    for column in ("RUN", "ENVIRONMENT", "STATUS", "STARTED", "DURATION", "VERTICES", "ERROR"):
        table.add_column(column)
    for run in runs:
        style = STATUS_STYLES.get(run.status, "")
        table.add_row(
            str(run.id),
            run.environment,
            f"[{style}]{run.status}[/]" if style else run.status,
            format_time(run.started_at),
            format_duration(run.duration),
            f"{run.vertex_count} ({run.cached_count} cached)",
            first_line(run.error),
        )
    console().print(table)
