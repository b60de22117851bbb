"""`dagger up PATH`: evaluate, compile and run the whole configuration in one solve."""

from __future__ import annotations

import json

import click

from archon.cli.configuration import input_options, load_configuration
from archon.cli.errors import EXIT_CANCELLED, EXIT_ENVIRONMENT, EXIT_FAILED, UserError
from archon.engine.buildkit.connect import AddressError, DaemonUnavailableError, connect_any
from archon.engine.images import resolver_for
from archon.engine.run import CANCELLED, SUCCEEDED, run
from archon.runtime.compiler import compile_configuration
from archon.runtime.diagnostics import ConfigError, has_errors


@click.command("up")
@click.argument("path", type=click.Path(exists=True, file_okay=False), default=".")
@input_options
@click.option("--addr", "address", envvar="ARCHON_BUILDKIT_ADDR", help="BuildKit address: docker://[SOCKET], unix://PATH or tcp://HOST:PORT.")
@click.option(
    "--progress",
    type=click.Choice(["auto", "tty", "plain", "json", "quiet"]),
    default="auto",
    show_default=True,
    help="Progress output: a live view on terminals, plain lines otherwise, or JSON lines for tools.",
)
def command(path: str, inputs: tuple[str, ...], address: str | None, progress: str) -> None:
    """Run the configuration in PATH on BuildKit: one definition, one solve.

    Directory outputs are replaced only when the whole run succeeds; value
    outputs are printed at the end.
    """
    configuration, _ = load_configuration(path, inputs, mode="compute")
    missing = configuration.missing_inputs()
    if missing:
        lines = [f"  {decl.path} ({decl.type_text}): set it with --input {decl.path}=VALUE" for decl in missing]
        raise UserError(
            f"{len(missing)} input(s) not set, nothing was run:\n" + "\n".join(lines),
            hint="give every input listed above",
        )
    if has_errors(configuration.diagnostics):
        raise ConfigError(configuration.diagnostics)

    try:
        connection = connect_any(address)
    except (DaemonUnavailableError, AddressError) as problem:
        raise UserError(str(problem), hint="start a daemon with `scripts/daemons start`, or pass --addr", exit_code=EXIT_ENVIRONMENT) from problem

    with connection:
        plan = compile_configuration(configuration, resolver=resolver_for(connection))
        result = run(plan, connection, secrets={}, progress_mode=progress)

    if result.status == CANCELLED:
        raise click.exceptions.Exit(EXIT_CANCELLED)
    if result.status != SUCCEEDED:
        raise click.exceptions.Exit(EXIT_FAILED)

    for record in result.outputs:
        click.echo(f"{record.kind} {record.name}: {record.location}")
    for name, value in sorted(result.exports.items()):
        click.echo(f"{name}: {json.dumps(value)}")
