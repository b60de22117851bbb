"""`dagger plan [PATH]`: the build graph, compiled but not run."""

from __future__ import annotations

import json

import click

from archon.cli.common import environment_option
from archon.cli.configuration import input_options, load_configuration, target_for
from archon.cli.errors import UserError
from archon.runtime.compiler import compile_configuration
from archon.runtime.diagnostics import ConfigError, has_errors
from archon.runtime.plan import Plan
from archon.runtime.render import render_dot, render_json, render_text, span_dict

# Seconds to wait for a daemon when --diff resolves image configs.
DAEMON_TIMEOUT_SECONDS = 2.0


@click.command("plan")
@click.argument("path", type=click.Path(exists=True, file_okay=False), required=False)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "dot"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, dot for Graphviz.",
)
@click.option("--diff", is_flag=True, help="List the vertices that changed since the environment's last successful run: what will rebuild.")
@environment_option
@input_options
def command(path: str | None, output_format: str, diff: bool, environment_name: str | None, inputs: tuple[str, ...]) -> None:
    """Compile a configuration into one LLB definition and show its graph.

    Shows components, vertices with their op summaries and digests, edges
    and source ranges. Nothing is run. PATH is the plan's folder; without
    it, the environment's plan (-e, or the workspace's default) is used.
    """
    configuration, _ = load_configuration(path, inputs, mode="compute", environment_name=environment_name)
    if has_errors(configuration.diagnostics):
        raise ConfigError(configuration.diagnostics)

    if not diff:
        plan = compile_configuration(configuration)
        renderers = {"text": render_text, "json": render_json, "dot": render_dot}
        click.echo(renderers[output_format](plan))
        return

    if output_format == "dot":
        raise UserError("--diff lists changed vertices, which have no dot form", hint="use --format text or --format json with --diff")
    target = target_for(path, environment_name, {})
    if target.environment is None:
        raise UserError("--diff compares with an environment's last run, and no environment was found", hint="pass -e NAME, or run inside a workspace with a default environment")
    plan = compile_configuration(configuration, resolver=_daemon_resolver())
    _show_diff(plan, target, output_format)


def _daemon_resolver():
    """Resolve image configs as runs do, so that digests match the recorded ones; None without a daemon."""
    from archon.engine.buildkit.connect import AddressError, DaemonUnavailableError, connect_any
    from archon.engine.images import resolver_for

    try:
        connection = connect_any(timeout=DAEMON_TIMEOUT_SECONDS)
    except (DaemonUnavailableError, AddressError):
        click.echo("note: no BuildKit daemon answered, so image configs were not read; execs on images may show as changed", err=True)
        return None
    resolver = resolver_for(connection)
    connection.close()
    return resolver


def _show_diff(plan: Plan, target, output_format: str) -> None:
    from archon.engine.history import open_history

    with open_history(target.workspace) as history:
        last = history.last_success(target.environment.name)
    if output_format == "json":
        changed = [vertex for vertex in plan.vertices.values() if last is None or vertex.digest not in last.vertices]
        click.echo(json.dumps({
            "environment": target.environment.name,
            "sinceRun": last.run_id if last is not None else None,
            "vertices": len(plan.vertices),
            "changed": [
                {"digest": vertex.digest, "kind": vertex.kind, "summary": vertex.summary, "component": vertex.component, "span": span_dict(vertex.span)}
                for vertex in changed
            ],
        }, indent=2))
        return
    if last is None:
        click.echo(f"environment {target.environment.name} has no successful run yet: all {len(plan.vertices)} vertices will build")
        return

    changed = [vertex for vertex in plan.vertices.values() if vertex.digest not in last.vertices]
    if not changed:
        click.echo(f"nothing changed since run #{last.run_id}: all {len(plan.vertices)} vertices are cached")
        return
    click.echo(f"{len(changed)} of {len(plan.vertices)} vertices changed since run #{last.run_id} and will rebuild:")
    for vertex in changed:
        where = f"  ({vertex.span})" if vertex.span else ""
        owner = f"[{vertex.component}] " if vertex.component else ""
        click.echo(f"  {owner}{vertex.kind} {vertex.summary}{where}")
