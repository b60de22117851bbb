"""`dagger validate PATH`: report every problem of a configuration."""

from __future__ import annotations

import json

import click

from archon.cli.common import environment_option
from archon.cli.configuration import input_options, load_configuration
from archon.runtime.diagnostics import Severity, has_errors


@click.command("validate")
@click.argument("path", type=click.Path(exists=True, file_okay=False), required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the diagnostics as a JSON list.")
@environment_option
@input_options
def command(path: str | None, as_json: bool, environment_name: str | None, inputs: tuple[str, ...]) -> None:
    """Check a configuration without running anything.

    PATH is the plan's folder; without it, the environment's plan (-e, or
    the workspace's default) is checked.

    Unset inputs are listed, not treated as errors. Exits with 1 when there
    is any error.
    """
    configuration, plan_diagnostics = load_configuration(path, inputs, mode="validate", environment_name=environment_name, compile_plan=True)
    diagnostics = configuration.diagnostics + plan_diagnostics

    if as_json:
        click.echo(json.dumps([_as_dict(d) for d in diagnostics], indent=2))
    else:
        for diagnostic in diagnostics:
            click.echo(diagnostic.format(), err=diagnostic.severity == Severity.ERROR)
        missing = [decl for decl in configuration.inputs.values() if not decl.is_set and not decl.has_default]
        if missing:
            click.echo(f"{len(missing)} input(s) not set: " + ", ".join(decl.path for decl in missing))
        if not has_errors(diagnostics):
            click.echo(f"ok: {len(configuration.components)} component(s), no errors")

    if has_errors(diagnostics):
        raise click.exceptions.Exit(1)


def _as_dict(diagnostic) -> dict:
    span = diagnostic.span
    return {
        "severity": diagnostic.severity.name.lower(),
        "code": diagnostic.code,
        "message": diagnostic.message,
        "hint": diagnostic.hint,
        "file": span.file if span else None,
        "line": span.start.line if span else None,
        "column": span.start.column if span else None,
        "related": [
            {"file": info.span.file, "line": info.span.start.line, "column": info.span.start.column, "message": info.message}
            for info in diagnostic.related
        ],
    }
