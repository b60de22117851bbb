"""The CLI's error boundary: exceptions become messages and exit codes.

Exit codes: 0 success, 1 the configuration or the run failed (diagnostics
or a failed solve), 2 usage errors (click's own), 3 the environment is not
ready (a missing tool or daemon), 130 cancelled with Ctrl-C.
"""

from __future__ import annotations

import logging
import sys

import click

from archon.runtime.diagnostics import ConfigError

log = logging.getLogger("archon.cli")

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3
EXIT_CANCELLED = 130


class UserError(Exception):
    """A failure the user can fix: what failed, and the exact fix.

    `exit_code` defaults to EXIT_FAILED; environment problems (no daemon, no
    `cue`) use EXIT_ENVIRONMENT.
    """

    def __init__(self, message: str, hint: str | None = None, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code


def _print_error(message: str, hint: str | None = None) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)


def run_with_error_boundary(group: click.Group, argv: list[str] | None) -> int:
    try:
        # Outside standalone mode, click returns the code of an Exit raised
        # by a command (such as `validate` finding errors) instead of raising it.
        result = group.main(args=argv, prog_name="dagger", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as stop:
        return stop.exit_code
    except click.ClickException as problem:
        problem.show()
        return problem.exit_code
    except click.Abort:
        click.echo("cancelled", err=True)
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        click.echo("cancelled", err=True)
        return EXIT_CANCELLED
    except ConfigError as problem:
        for diagnostic in problem.diagnostics:
            click.echo(diagnostic.format(), err=True)
        return EXIT_FAILED
    except UserError as problem:
        log.debug("user error", exc_info=True)
        _print_error(problem.message, problem.hint)
        return problem.exit_code
    except Exception as problem:  # noqa: BLE001 - the boundary reports every failure
        log.debug("unexpected failure", exc_info=True)
        _print_error(f"{type(problem).__name__}: {problem}", "rerun with --debug for the traceback")
        return EXIT_FAILED
