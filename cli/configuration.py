"""Loading a configuration for a command: inputs from flags, errors mapped for the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import click

from archon.cli.errors import EXIT_ENVIRONMENT, UserError
from archon.runtime.config import Configuration, load, render_inputs
from archon.runtime.cuecmd import CueNotFoundError
from archon.runtime.diagnostics import Diagnostic, has_errors

input_options = click.option(
    "--input",
    "-i",
    "inputs",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a text input for this command only; repeat for several. A VALUE starting with '@json:' is read as JSON.",
)


def parse_input_flags(values: tuple[str, ...]) -> dict[str, object]:
    parsed: dict[str, object] = {}
    for item in values:
        name, separator, value = item.partition("=")
        if not separator or not name:
            raise UserError(f"invalid --input {item!r}", hint="write --input NAME=VALUE, such as --input libRef=main")
        if value.startswith("@json:"):
            try:
                parsed[name] = json.loads(value[len("@json:"):])
            except json.JSONDecodeError as problem:
                raise UserError(f"invalid JSON in --input {name}: {problem}", hint="quote the JSON for your shell") from problem
        else:
            parsed[name] = value
    return parsed


def load_configuration(
    path: str,
    inputs: tuple[str, ...] = (),
    *,
    mode: str,
    compile_plan: bool = False,
    cue_path: str | None = None,
) -> tuple[Configuration, list[Diagnostic]]:
    """Load the configuration in path; with compile_plan, also compile it and return the compile diagnostics."""
    values = parse_input_flags(inputs)
    try:
        configuration = load(
            Path(path),
            mode=mode,
            extra_files=render_inputs(values, Path(path)) if values else None,
            cue_path=cue_path,
        )
    except CueNotFoundError as problem:
        raise UserError(str(problem), hint=problem.hint, exit_code=EXIT_ENVIRONMENT) from problem

    plan_diagnostics: list[Diagnostic] = []
    if compile_plan and not has_errors(configuration.diagnostics) and configuration.value is not None:
        from archon.runtime.compiler import compile_configuration
        from archon.runtime.diagnostics import ConfigError

        try:
            compile_configuration(configuration)
        except ConfigError as problem:
            plan_diagnostics = problem.diagnostics
    return configuration, plan_diagnostics
