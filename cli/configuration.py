"""Loading a configuration for a command: target, inputs from flags, errors mapped for the CLI."""

from __future__ import annotations

import json

import click

from archon.cli.errors import EXIT_ENVIRONMENT, UserError
from archon.engine.evaluation_cache import EvaluationCache
from archon.engine.settings import Settings
from archon.engine.targets import Target, load_target, resolve_target
from archon.engine.workspace import StateError, Workspace
from archon.runtime.config import Configuration
from archon.runtime.cuecmd import CueNotFoundError
from archon.runtime.diagnostics import Diagnostic, has_errors
from archon.runtime.evaluate import Evaluator

input_options = click.option(
    "--input",
    "-i",
    "inputs",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a text input for this command only, over the environment's value; repeat for several. A VALUE starting with '@json:' is read as JSON.",
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


def target_for(path: str | None, environment_name: str | None, flag_inputs: dict[str, object]) -> Target:
    try:
        return resolve_target(path, environment_name, flag_inputs)
    except StateError as problem:
        raise UserError(problem.message, hint=problem.hint) from problem


def evaluator_for(settings: Settings) -> Evaluator:
    """Return a command's evaluator: cue from the setting cue.path, evaluations kept on disk unless cue.cache is off.

    With the evaluations on disk, a command on an unchanged configuration
    does not run cue again (see archon.engine.evaluation_cache).
    """
    store = EvaluationCache() if settings.get("cue.cache") != "off" else None
    return Evaluator(settings.get("cue.path"), store=store)


def load_configuration(
    path: str | None,
    inputs: tuple[str, ...] = (),
    *,
    mode: str,
    environment_name: str | None = None,
    compile_plan: bool = False,
) -> tuple[Configuration, list[Diagnostic]]:
    """Load the configuration of a command; with compile_plan, also compile it and return the compile diagnostics."""
    target = target_for(path, environment_name, parse_input_flags(inputs))
    try:
        evaluator = evaluator_for(Settings(workspace=target.workspace))
        configuration = load_target(target, mode, evaluator=evaluator)
    except CueNotFoundError as problem:
        raise UserError(str(problem), hint=problem.hint, exit_code=EXIT_ENVIRONMENT) from problem
    except StateError as problem:
        raise UserError(problem.message, hint=problem.hint) from problem

    plan_diagnostics: list[Diagnostic] = []
    if compile_plan and not has_errors(configuration.diagnostics) and configuration.value is not None:
        from archon.runtime.compiler import compile_configuration
        from archon.runtime.diagnostics import ConfigError

        try:
            compile_configuration(configuration)
        except ConfigError as problem:
            plan_diagnostics = problem.diagnostics
    return configuration, plan_diagnostics


def declared_inputs_for(environment) -> list:
    """The inputs an environment's plan declares, for `dagger input list`."""
    from archon.engine.targets import Target, declared_inputs

    workspace = Workspace(environment.root)
    target = Target(environment.plan_path, workspace, environment)
    try:
        configuration = load_target(target, "validate", evaluator=evaluator_for(Settings(workspace=workspace)))
    except (CueNotFoundError, StateError) as problem:
        raise UserError(str(problem), hint=getattr(problem, "hint", None)) from problem
    return declared_inputs(configuration)
