"""`dagger-lsp`: Archon's language server.

One pygls server object carries the shared state: open documents, the
analyzer, the selected environment and run results. Each feature module
under `archon.lsp.features` registers its handlers on it. Every handler
runs inside `ArchonLanguageServer.guard`, the server's error boundary. An
exception there becomes a logged error (and, for a request, a JSON-RPC
error), and the server goes on serving.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import functools
import inspect
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInternalError
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from archon.lsp import logs
from archon.lsp.analyzer import Analyzer
from archon.lsp.documents import Documents
from archon.lsp.positions import PositionCodec, choose_encoding
from archon.lsp.session import Session

log = logging.getLogger("archon.lsp")

SERVER_NAME = "dagger-lsp"

# Tests set this to an LSP method or command name. Its handler then raises
# before doing any work, so tests reach the error boundary end to end.
FAULT_VARIABLE = "ARCHON_LSP_FAULT"

# Copied from a handler to its guard. Annotations stay behind: pygls would
# evaluate them in the guard's module, where their names are not defined.
_WRAPPED_ATTRIBUTES = ("__module__", "__name__", "__qualname__", "__doc__")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("archon")
    except Exception:  # noqa: BLE001 - a source checkout without metadata
        return "0.0.0"


# The parameters of the `workspace/executeCommand` request being handled;
# pygls passes a command handler its arguments only, without the
# workDoneToken. Each message is handled in a context of its own, and a
# command's task copies it, so the value never leaks between requests.
COMMAND_PARAMS: contextvars.ContextVar[types.ExecuteCommandParams | None] = contextvars.ContextVar("command_params", default=None)


class ArchonProtocol(LanguageServerProtocol):
    """pygls' protocol, with the position encoding chosen as Archon prefers."""

    def __init__(self, *arguments: Any, **options: Any):
        super().__init__(*arguments, **options)
        # Tasks of the commands being executed, by request id.
        self.command_tasks: dict[Any, asyncio.Task] = {}

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams):
        COMMAND_PARAMS.set(params)
        result = yield from super().lsp_workspace__execute_command(params)
        return result

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        # pygls runs a command inside its executeCommand generator. Cancelling
        # the request sends RequestCancelled but leaves the command's own
        # task running, so that task is cancelled here.
        task = self.command_tasks.pop(msg_id, None)
        super()._handle_cancel_notification(msg_id)
        if task is not None and not task.done():
            task.cancel()

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):
        # pygls picks the first encoding of the client's list that it
        # supports. Archon takes UTF-8 whenever it is offered, else UTF-16.
        # Leaving only that choice in the list makes pygls agree, so that its
        # incremental edits and Archon's ranges use the same units.
        general = params.capabilities.general
        offered = list(general.position_encodings or []) if general else []
        chosen = choose_encoding(offered)
        if general is not None:
            general.position_encodings = [chosen]
        result = yield from super().lsp_initialize(params)
        return result


class ArchonLanguageServer(LanguageServer):
    def __init__(self, log_level: int = logging.INFO):
        super().__init__(
            SERVER_NAME,
            _version(),
            protocol_cls=ArchonProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.log_level = log_level
        self.secret_filter = logs.SecretFilter()
        self.log_forwarder = logs.configure(self, log_level, self.secret_filter)
        self.documents = Documents(lambda: self.workspace)
        self.session = Session(self)
        self.analyzer = Analyzer(self.documents, self.session.environment_context, self.session.make_evaluator)
        self.startup_problems: list[str] = []
        self.initialization_options: dict[str, Any] = {}
        # Set by the commands feature; None when it failed to register.
        self.commands: Any = None
        self._fault = os.environ.get(FAULT_VARIABLE) or None

    def command_params(self) -> types.ExecuteCommandParams | None:
        """Return the parameters of the executeCommand request the current task serves."""
        return COMMAND_PARAMS.get()

    @property
    def codec(self) -> PositionCodec:
        """Return the converter for the position encoding agreed at initialization."""
        try:
            encoding = self.workspace.position_encoding
        except RuntimeError:
            encoding = None
        return PositionCodec(encoding)

    def report_server_error(self, error: Exception, source: Any) -> None:
        # Request errors reach the client as JSON-RPC errors; log the others
        # instead of pygls' default pop-up, which would repeat on every keystroke.
        log.error("%s: %s", getattr(source, "__name__", source), error)

    def guard(self, feature: str, method: str, handler: Callable, *, notification: bool = False) -> Callable:
        """Wrap a handler in the error boundary.

        A failing request handler raises a JSON-RPC internal error naming
        the method and the exception; a failing notification handler is
        logged and dropped. Cancellation passes through, so that pygls
        responds to a cancelled request with RequestCancelled.
        """
        logger = logging.getLogger(f"archon.lsp.features.{feature}")
        fault = self._fault

        def fail(problem: Exception) -> None:
            logger.error("%s failed: %s: %s", method, type(problem).__name__, problem, exc_info=problem)
            if not notification:
                raise JsonRpcInternalError(message=f"{method} failed: {type(problem).__name__}: {problem}") from problem

        if inspect.iscoroutinefunction(handler):

            @functools.wraps(handler, assigned=_WRAPPED_ATTRIBUTES, updated=())
            async def guarded(*arguments: Any) -> Any:
                try:
                    if fault == method:
                        raise RuntimeError(f"fault injected into {method} by {FAULT_VARIABLE}")
                    return await handler(*arguments)
                except (asyncio.CancelledError, JsonRpcException):
                    raise
                except Exception as problem:  # noqa: BLE001 - the error boundary
                    fail(problem)
                    return None

        else:

            @functools.wraps(handler, assigned=_WRAPPED_ATTRIBUTES, updated=())
            def guarded(*arguments: Any) -> Any:
                try:
                    if fault == method:
                        raise RuntimeError(f"fault injected into {method} by {FAULT_VARIABLE}")
                    return handler(*arguments)
                except JsonRpcException:
                    raise
                except Exception as problem:  # noqa: BLE001 - the error boundary
                    fail(problem)
                    return None

        # pygls reads a command handler's signature to structure its
        # arguments; the wrapper takes them all, untouched, as *arguments.
        del guarded.__wrapped__
        guarded.__signature__ = inspect.Signature(
            [inspect.Parameter("arguments", inspect.Parameter.VAR_POSITIONAL)]
        )
        return guarded

    def register_feature(self, feature: str, method: str, handler: Callable, options: Any = None, *, notification: bool = False) -> None:
        self.feature(method, options)(self.guard(feature, method, handler, notification=notification))

    def register_command(self, feature: str, name: str, handler: Callable) -> None:
        protocol = self.protocol

        async def tracked(*arguments: Any) -> Any:
            request = protocol.msg_id
            protocol.command_tasks[request] = asyncio.current_task()
            try:
                return await handler(*arguments)
            finally:
                protocol.command_tasks.pop(request, None)

        tracked.__name__ = tracked.__qualname__ = getattr(handler, "__name__", name)
        self.command(name)(self.guard(feature, name, tracked))


def create_server(log_level: int = logging.INFO) -> ArchonLanguageServer:
    """Build the server with every feature registered; a feature that fails to register is left out."""
    from archon.lsp.features import register_all

    server = ArchonLanguageServer(log_level)
    register_all(server)
    return server


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=SERVER_NAME, description="Archon's language server for CUE configurations.")
    parser.add_argument("--version", action="version", version=f"{SERVER_NAME} {_version()}")
    parser.add_argument("--stdio", action="store_true", help="Serve over standard input and output (the default).")
    parser.add_argument("--tcp", action="store_true", help="Serve over TCP instead of standard input and output.")
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on with --tcp (default: 127.0.0.1).")
    parser.add_argument("--port", type=int, default=2087, help="Port to listen on with --tcp (default: 2087).")
    parser.add_argument(
        "--log-level",
        default=logs.DEFAULT_LEVEL,
        choices=sorted(logs.LEVELS, key=logs.LEVELS.get),
        help="Lowest level of the messages logged to stderr and sent as window/logMessage (default: info). "
        "The initialization option logLevel overrides it.",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    server = create_server(logs.LEVELS[arguments.log_level])
    try:
        if arguments.tcp:
            log.info("%s %s listening on %s:%d", SERVER_NAME, server.version, arguments.host, arguments.port)
            server.start_tcp(arguments.host, arguments.port)
        else:
            server.start_io()
    finally:
        server.analyzer.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
