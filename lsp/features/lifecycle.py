"""Initialization options, start-up report and shutdown.

Initialization options (all optional):

| option        | meaning |
|---------------|---------|
| `logLevel`    | `debug`, `info`, `warning` or `error`: the lowest level sent as `window/logMessage` and written to stderr |
| `environment` | the environment selected at start, as `archon.selectEnvironment` would |
| `cuePath`     | the `cue` binary; without it, `ARCHON_CUE`, `.tools/bin/cue` and `PATH` are searched |
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from archon.lsp import logs

if TYPE_CHECKING:
    from archon.lsp.server import ArchonLanguageServer

FEATURE = "lifecycle"
log = logging.getLogger(f"archon.lsp.features.{FEATURE}")


def register(server: "ArchonLanguageServer") -> None:
    def initialize(params: types.InitializeParams) -> None:
        server.log_forwarder.attach_loop(asyncio.get_running_loop())
        options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
        server.initialization_options = options
        apply_options(server, options)

    async def initialized(params: types.InitializedParams) -> None:
        encoding = server.workspace.position_encoding
        log.info("%s %s started; position encoding %s", server.name, server.version, getattr(encoding, "value", encoding))
        for problem in server.startup_problems:
            log.error("%s", problem)
        # Finding cue runs `cue version`: a process, so not on the event loop.
        message = await asyncio.get_running_loop().run_in_executor(None, _check_cue, server.session.cue_path)
        if message:
            server.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"Archon: {message}"))

    def shutdown(params: Any) -> None:
        server.analyzer.shutdown()

    def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings if isinstance(params.settings, dict) else {}
        archon = settings.get("archon") if isinstance(settings.get("archon"), dict) else settings
        apply_options(server, {key: archon[key] for key in ("logLevel", "cuePath") if key in archon})

    server.register_feature(FEATURE, types.INITIALIZE, initialize, notification=True)
    server.register_feature(FEATURE, types.INITIALIZED, initialized, notification=True)
    server.register_feature(FEATURE, types.SHUTDOWN, shutdown, notification=True)
    server.register_feature(FEATURE, types.WORKSPACE_DID_CHANGE_CONFIGURATION, did_change_configuration, notification=True)


def apply_options(server: "ArchonLanguageServer", options: dict[str, Any]) -> None:
    if "logLevel" in options:
        level = logs.parse_level(options["logLevel"])
        if level is None:
            log.warning("invalid logLevel %r; use one of %s", options["logLevel"], ", ".join(logs.LEVELS))
        else:
            server.log_level = level
            logs.set_level(level)

    if isinstance(options.get("environment"), str) and options["environment"]:
        server.session.select_environment(options["environment"])
        server.analyzer.invalidate_all()

    if "cuePath" in options:
        path = options["cuePath"]
        server.session.cue_path = path if isinstance(path, str) and path else None
        server.analyzer.reset_evaluator()
        server.analyzer.invalidate_all()


def _check_cue(cue_path: str | None) -> str | None:
    """Log which cue binary is used; return an error message when there is none."""
    from archon.runtime.cuecmd import CUE_VERSION, CueNotFoundError, find_cue

    try:
        cue = find_cue(cue_path)
    except CueNotFoundError as problem:
        message = f"{problem}; only syntax and op-spec errors are reported. To fix: {problem.hint}"
        log.error("%s", message)
        return message
    if cue.is_pinned_version:
        log.info("using cue %s at %s", cue.version, cue.path)
    else:
        log.warning("cue at %s is version %s; Archon pins %s", cue.path, cue.version, CUE_VERSION)
    return None
