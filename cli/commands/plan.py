"""`dagger plan PATH`: the build graph, compiled but not run."""

from __future__ import annotations

import click

from archon.cli.configuration import input_options, load_configuration
from archon.runtime.compiler import compile_configuration
from archon.runtime.diagnostics import ConfigError, has_errors
from archon.runtime.render import render_dot, render_json, render_text


@click.command("plan")
@click.argument("path", type=click.Path(exists=True, file_okay=False), default=".")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "dot"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, dot for Graphviz.",
)
@input_options
def command(path: str, output_format: str, inputs: tuple[str, ...]) -> None:
    """Compile the configuration in PATH into one LLB definition and show its graph.

    Shows components, vertices with their op summaries and digests, edges
    and source ranges. Nothing is run.
    """
    configuration, _ = load_configuration(path, inputs, mode="compute")
    if has_errors(configuration.diagnostics):
        raise ConfigError(configuration.diagnostics)

    plan = compile_configuration(configuration)
    renderers = {"text": render_text, "json": render_json, "dot": render_dot}
    click.echo(renderers[output_format](plan))
