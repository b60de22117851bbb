"""The `dagger` command: one click group, one error boundary.

Each command lives in its own module under `archon.cli.commands` and is
registered in `COMMAND_MODULES`; a module exposes a click command (or group)
named `command`.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from archon.cli.configuration import declared_inputs_for
from archon.cli.errors import run_with_error_boundary

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, envvar="ARCHON_DEBUG", help="Log at debug level and show tracebacks.")
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


for _name in COMMAND_MODULES:
    _module = importlib.import_module(f"archon.cli.commands.{_name}")
    cli.add_command(_module.command)

# `dagger input list` shows the inputs the plan declares, read by the runtime.
importlib.import_module("archon.cli.commands.input").declared_inputs_provider = declared_inputs_for


def main(argv: list[str] | None = None) -> int:
    return run_with_error_boundary(cli, argv)


if __name__ == "__main__":
    sys.exit(main())
