"""`dagger up [PATH]`: evaluate, compile and run the whole configuration in one solve."""

from __future__ import annotations

import json
import threading

import click

from archon.cli.common import environment_option
from archon.cli.configuration import evaluator_for, input_options, parse_input_flags, target_for
from archon.cli.errors import EXIT_CANCELLED, EXIT_ENVIRONMENT, EXIT_FAILED, UserError
from archon.engine.buildkit.connect import AddressError, Connection, DaemonUnavailableError, connect_any
from archon.engine.history import open_history
from archon.engine.images import resolver_for
from archon.engine.inputs import inputs_digest
from archon.engine.run import CANCELLED, SUCCEEDED, run
from archon.engine.settings import Settings
from archon.engine.targets import load_target, plan_digest, secrets_for
from archon.runtime.compiler import compile_configuration
from archon.runtime.config import set_input_hint
from archon.runtime.diagnostics import ConfigError, has_errors


@click.command("up")
@click.argument("path", type=click.Path(exists=True, file_okay=False), required=False)
@environment_option
@input_options
@click.option("--addr", "address", help="BuildKit address: docker://[SOCKET], unix://PATH or tcp://HOST:PORT (setting buildkit.address, variable ARCHON_BUILDKIT_ADDR).")
@click.option(
    "--progress",
    type=click.Choice(["auto", "tty", "plain", "json", "quiet"]),
    default=None,
    help="Progress output: a live view on terminals, plain lines otherwise, JSON lines for tools (setting progress).",
)
def command(path: str | None, environment_name: str | None, inputs: tuple[str, ...], address: str | None, progress: str | None) -> None:
    """Run a configuration on BuildKit: one definition, one solve.

    PATH is the plan's folder; without it, the environment's plan (-e, or
    the workspace's default) runs. Directory outputs are replaced only when
    the whole run succeeds; value outputs are printed at the end. Runs of an
    environment are recorded in the workspace's history.
    """
    target = target_for(path, environment_name, parse_input_flags(inputs))
    settings = Settings(flags={"buildkit.address": address, "progress": progress}, workspace=target.workspace)

    connecting = _Connecting(settings.get("buildkit.address"))
    try:
        configuration = load_target(target, "compute", evaluator=evaluator_for(settings))
        missing = configuration.missing_inputs()
        if missing:
            environment = f", adding -e {target.environment_name}" if target.environment else ""
            lines = [f"  {decl.path} ({decl.type_text}): {set_input_hint(decl)}{environment}" for decl in missing]
            raise UserError(
                f"{len(missing)} input(s) not set, nothing was run:\n" + "\n".join(lines),
                hint="set every input listed above" + (f" for environment {target.environment_name}" if target.environment else ""),
            )
        if has_errors(configuration.diagnostics):
            raise ConfigError(configuration.diagnostics)
        secrets = secrets_for(target)
    except BaseException:
        connecting.close()
        raise

    try:
        connection = connecting.result()
    except (DaemonUnavailableError, AddressError) as problem:
        raise UserError(str(problem), hint="start a daemon with `scripts/daemons start`, or pass --addr", exit_code=EXIT_ENVIRONMENT) from problem

    with connection:
        plan = compile_configuration(configuration, resolver=resolver_for(connection))
        history = open_history(target.workspace) if target.environment is not None else None
        run_id = None
        if history is not None:
            run_id = history.start_run(target.environment.name, plan_digest(plan.definition), inputs_digest(target.environment), secrets.values())
        try:
            result = run(plan, connection, secrets=secrets, progress_mode=settings.get("progress") or "auto")
        finally:
            if history is not None and run_id is not None:
                _record(history, run_id, locals().get("result"))
                history.close()

    if result.status == CANCELLED:
        raise click.exceptions.Exit(EXIT_CANCELLED)
    if result.status != SUCCEEDED:
        if (settings.get("progress") or "auto") == "quiet" and result.failure is not None:
            # The quiet renderer prints nothing, the failure included.
            click.echo(result.failure.format(), err=True)
        raise click.exceptions.Exit(EXIT_FAILED)

    for record in result.outputs:
        if record.kind != "export":
            click.echo(f"{record.kind} {record.name}: {record.location}")
    for name, value in sorted(result.exports.items()):
        click.echo(f"{name}: {json.dumps(value)}")


# How long a failed command waits for the daemon's probe to end before it exits.
CLOSE_WAIT_SECONDS = 1.0


class _Connecting:
    """Connects to the daemon on a thread, so that probing it overlaps loading the configuration.

    Errors wait for `result()`, so that a configuration's errors are still
    reported before an unreachable daemon.
    """

    def __init__(self, address: str | None):
        self._connection: Connection | None = None
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._connect, args=(address,), name="archon-connect", daemon=True)
        self._thread.start()

    def _connect(self, address: str | None) -> None:
        try:
            self._connection = connect_any(address)
        except Exception as error:  # noqa: BLE001 - raised again by result()
            self._error = error

    def result(self) -> Connection:
        """Wait for the connection; raise what connecting raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._connection is not None
        return self._connection

    def close(self) -> None:
        """Close the connection, which nothing will use.

        An attempt still waiting for a daemon that does not respond is left
        to end with the process, so that a configuration's errors are not
        held back for the connect timeout.
        """
        self._thread.join(CLOSE_WAIT_SECONDS)
        if self._connection is not None:
            self._connection.close()


def _record(history, run_id: int, result) -> None:
    """Record a run's vertices and end; a run interrupted before it returned counts as cancelled."""
    if result is None:
        history.finish_run(run_id, "cancelled", "the run was interrupted")
        return
    for vertex in result.vertices:
        history.record_vertex(run_id, vertex.name, vertex.digest, vertex.cached, vertex.duration, vertex.exit_code, vertex.log or "")
    error = result.failure.format() if result.failure is not None else None
    history.finish_run(run_id, result.status, error, result.exports if result.status == SUCCEEDED else None)
