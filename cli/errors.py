"""The CLI's error boundary: exceptions become messages and exit codes.

Exit codes: 0 success, 1 the configuration or the run failed (diagnostics
or a failed solve), 2 usage errors (click's own), 3 the environment is not
ready (a missing tool or daemon), 130 cancelled with Ctrl-C or SIGTERM,
141 the reader of the output went away.

`end_process` ends the `dagger` process with its exit code once the
command's output is flushed, without the interpreter's tear-down.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import logging
import os
import select
import sys
import threading
from typing import NoReturn

import click

from archon.runtime.diagnostics import ConfigError

log = logging.getLogger("archon.cli")

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3
EXIT_CANCELLED = 130
# The reader of standard output went away (`dagger ... | head`): the code a
# shell reports for a program that SIGPIPE ended, as other tools end then.
EXIT_OUTPUT_CLOSED = 141


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
    except BrokenPipeError as problem:
        return _broken_pipe(problem)
    except SystemExit:
        # click turns an EPIPE in a command into sys.exit(1), printing nothing,
        # after wrapping stdout and stderr so that later flushes stay quiet.
        # NOTE: _PacifyFlushWrapper is click's private class (8.x); if click
        # renames it, a closed output ends with 1 instead of 141.
        if type(sys.stdout).__name__ == "_PacifyFlushWrapper":
            return _broken_pipe(BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE)))
        raise
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


def _broken_pipe(problem: OSError) -> int:
    """Return the exit code of a write that found its pipe or socket closed."""
    if not stdout_closed():
        # A socket to the daemon, not the output: a failure like any other.
        log.debug("broken pipe", exc_info=problem)
        _print_error(f"a connection closed unexpectedly: {problem}", "rerun with --debug for the traceback")
        return EXIT_FAILED
    silence_stdout()
    return EXIT_OUTPUT_CLOSED


def end_process(code: int) -> NoReturn:
    """End the process with `code`, skipping the interpreter's tear-down of every module.

    A run imports grpc, protobuf and the runtime. Tearing them down takes
    tens of milliseconds, more than some commands take, while the
    operating system frees that memory at once. What must outlive the
    command is finished first: the exit callbacks run (they shut logging
    down, flushing its handlers, and remove temporary folders still
    open), then stdout and stderr are flushed. Commands close their own
    files and the history database before they return.

    The process exits the usual way when that could lose something: a
    thread other than the main one still runs (the interpreter would wait
    for it), a profiler or tracer is set (cProfile and coverage write
    their results at exit), or a flush fails (the interpreter then
    reports it and exits with 120).
    """
    if sys.getprofile() is not None or sys.gettrace() is not None or _other_threads_running():
        sys.exit(code)
    # The same callbacks the interpreter runs at exit, in the same order.
    atexit._run_exitfuncs()  # noqa: SLF001 - the public atexit has no way to run them
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is None:
            continue
        try:
            stream.flush()
        except BrokenPipeError:
            if stream in (sys.stdout, sys.__stdout__) and stdout_closed():
                silence_stdout()
                os._exit(EXIT_OUTPUT_CLOSED)
            sys.exit(code)
        except (OSError, ValueError):
            sys.exit(code)
    os._exit(code)


def stdout_closed() -> bool:
    """Tell whether standard output is a pipe whose reader has gone, as after `| head`."""
    try:
        poller = select.poll()
        poller.register(sys.__stdout__.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def silence_stdout() -> None:
    """Send what is still buffered for standard output nowhere, so that exiting reports no broken pipe."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno())
        os.close(devnull)


def _other_threads_running() -> bool:
    main = threading.main_thread()
    return any(thread is not main and not thread.daemon and thread.is_alive() for thread in threading.enumerate())
