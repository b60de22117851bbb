"""The `dagger` command: one click group, one error boundary.

Each command lives in its own module under `archon.cli.commands` and is
registered in `COMMAND_MODULES`; a module exposes a click command (or group)
named `command`, and is imported only when its command runs.
"""

from __future__ import annotations

import importlib
import logging
import signal
import sys

import click

from archon.cli.errors import end_process, run_with_error_boundary

log = logging.getLogger("archon")

# Module name under archon.cli.commands, in the order `dagger --help` lists them.
COMMAND_MODULES = (
    "plan",
    "validate",
    "up",
    "init",
    "new",
    "list",
    "input",
    "output",
    "history",
    "logs",
    "settings",
    "catalog",
)


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs.

    Starting `dagger up` then loads the run's modules but not those of the
    other commands, which keeps the start-up of a short command short.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [_command_name(name) for name in COMMAND_MODULES]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module_name = next((item for item in COMMAND_MODULES if _command_name(item) == name), None)
        if module_name is None:
            return None
        module = importlib.import_module(f"archon.cli.commands.{module_name}")
        if module_name == "input":
            # `dagger input list` shows the inputs the plan declares, read by the runtime.
            from archon.cli.configuration import declared_inputs_for

            module.declared_inputs_provider = declared_inputs_for
        return module.command


def _command_name(module_name: str) -> str:
    return module_name.replace("_", "-")


EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 the configuration or the run failed; 2 usage error; "
    "3 a tool or daemon is missing; 130 cancelled (Ctrl-C or SIGTERM); 141 the output's reader went away."
)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.option("--debug", is_flag=True, envvar="ARCHON_DEBUG", help="Log at debug level and show tracebacks.")
@click.version_option(package_name="archon", prog_name="dagger", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Run delivery workflows described in CUE on BuildKit."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Without argv, main is the `dagger` program itself (the console script,
    `python -m archon.cli.main`): it reads sys.argv and ends the process
    with the exit code, without the interpreter's tear-down (see
    `end_process`). With argv, as a caller running it in its own process
    passes, it returns.
    """
    if argv is None:
        # A service manager or CI job stops a command with SIGTERM: end it as
        # Ctrl-C does, so that a run is cancelled on the daemon, its staging
        # folders are removed and the history records it as cancelled.
        signal.signal(signal.SIGTERM, _interrupt)
    code = run_with_error_boundary(cli, argv)
    if argv is None:
        end_process(code)
    return code


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
