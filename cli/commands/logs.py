"""`dagger logs`: the recorded logs of one run."""

from __future__ import annotations

import difflib

import click

from archon.cli.common import existing_history, format_duration, open_workspace, state_errors
from archon.cli.errors import UserError


@click.command("logs")
@click.argument("run")
@click.option("--vertex", "vertex_name", metavar="NAME", help="Show only the vertex with this name.")
@state_errors
def command(run: str, vertex_name: str | None) -> None:
    """Show the log excerpts of RUN's vertices (a run number, or `last`).

    Logs are stored masked: secret values appear as ***.
    """
    workspace = open_workspace()
    history = existing_history(workspace)
    if history is None:
        raise UserError("no runs recorded in this workspace yet", "run a plan first")

    with history:
        if run == "last":
            latest = history.latest_run()
            if latest is None:
                raise UserError("no runs recorded in this workspace yet", "run a plan first")
            run_id = latest.id
        else:
            try:
                run_id = int(run)
            except ValueError:
                raise UserError(f"invalid run {run!r}", "pass a run number from `dagger history`, or `last`") from None

        record = history.get_run(run_id)
        vertices = history.vertices(run_id, vertex_name)
        if vertex_name is not None and not vertices:
            names = sorted({vertex.name for vertex in history.vertices(run_id)})
            close = difflib.get_close_matches(vertex_name, names, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "vertices of this run: " + (", ".join(names) or "none")
            raise UserError(f"run {run_id} has no vertex named {vertex_name!r}", hint)

    click.echo(f"run {record.id} of environment {record.environment}: {record.status}")
    for vertex in vertices:
        if vertex.cached:
            state = "cached"
        elif vertex.exit_code is not None:
            state = f"exit {vertex.exit_code}"
        else:
            state = "done"
        click.echo(f"\n=> {vertex.name}  [{state}, {format_duration(vertex.duration)}]  {vertex.digest}")
        if vertex.log:
            click.echo(vertex.log.rstrip("\n"))
    if record.error and vertex_name is None:
        click.echo(f"\nerror: {record.error}")
