"""The server's commands (`workspace/executeCommand`), as docs/lsp-protocol.md describes them.

Each command takes one JSON object as its only argument. Errors are
JSON-RPC errors: InvalidParams (-32602) for a malformed argument, and the
server error codes below for problems the user can fix.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcServerError

from archon.lsp import environments, runs
from archon.lsp.documents import package_folder, read_file, uri_to_path
from archon.lsp.graph import graph_json
from archon.lsp.positions import split_lines
from archon.lsp.session import ComponentResult

if TYPE_CHECKING:
    from archon.lsp.server import ArchonLanguageServer

FEATURE = "commands"
log = logging.getLogger(f"archon.lsp.features.{FEATURE}")
run_log = logging.getLogger("archon.lsp.run")

RUN = "archon.run"
PREVIEW_LLB = "archon.previewLLB"
LIST_ENVIRONMENTS = "archon.listEnvironments"
SELECT_ENVIRONMENT = "archon.selectEnvironment"
SET_INPUT = "archon.setInput"
HISTORY = "archon.history"

RUN_LOG_NOTIFICATION = "archon/runLog"

# Server error codes (JSON-RPC reserves -32099 to -32000 for servers).
CONFIGURATION_ERROR = -32001  # the configuration has errors, so it cannot compile
RUNS_UNAVAILABLE = -32002  # the engine cannot run plans in this installation
STATE_ERROR = -32003  # a workspace, environment or input problem, with its fix
RUN_IN_PROGRESS = -32004  # one run at a time per server

INPUT_KINDS = ("text", "json", "yaml", "file", "dir", "git", "secret", "bool")
DEFAULT_HISTORY_LIMIT = 20


def _argument(arguments: tuple[Any, ...]) -> dict[str, Any]:
    if not arguments:
        return {}
    if len(arguments) > 1 or not isinstance(arguments[0], dict):
        raise JsonRpcInvalidParams(message="the command takes one JSON object as its only argument")
    return arguments[0]


def _string(argument: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = argument.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise JsonRpcInvalidParams(message=f"`{key}` must be a non-empty string, got {type(value).__name__}")
    return value


def _cue_folder(uri: str) -> str:
    path = uri_to_path(uri)
    if path is None or not path.endswith(".cue"):
        raise JsonRpcInvalidParams(message=f"`uri` must be the file: URI of a .cue file, got {uri!r}")
    return package_folder(path)


def _state_error(problem: Exception) -> JsonRpcServerError:
    message = getattr(problem, "message", None) or str(problem)
    hint = getattr(problem, "hint", None)
    return JsonRpcServerError(f"{message} ({hint})" if hint else message, STATE_ERROR)


class Commands:
    def __init__(self, server: "ArchonLanguageServer"):
        self.server = server
        self.active_run: asyncio.Task | None = None
        # Last run status of each vertex, by digest, for the preview.
        self.vertex_statuses: dict[str, str] = {}

    # archon.previewLLB

    async def preview_llb(self, *arguments: Any) -> dict[str, Any]:
        argument = _argument(arguments)
        folder = _cue_folder(_string(argument, "uri", required=True))
        analysis = await self.server.analyzer.current(folder)

        if analysis.plan is None:
            raise JsonRpcServerError(_why_no_plan(analysis), CONFIGURATION_ERROR)

        last_success = await asyncio.get_running_loop().run_in_executor(None, _last_success_digests, folder, analysis)
        lines = _lines_reader(analysis.snapshot.texts)
        graph = graph_json(analysis.plan, self.server.codec, lines, self.vertex_statuses, last_success)
        log.debug("previewLLB: rendered the graph of %s: %d vertices", folder, len(graph["vertices"]))
        return graph

    # archon.listEnvironments, archon.selectEnvironment

    def _folders(self) -> list[str]:
        folders = []
        try:
            folders.extend(uri_to_path(folder.uri) or "" for folder in self.server.workspace.folders.values())
            if self.server.workspace.root_path:
                folders.append(self.server.workspace.root_path)
        except RuntimeError:
            pass
        folders.extend(package_folder(path) for path in self.server.documents.open_paths())
        return [folder for folder in dict.fromkeys(folders) if folder]

    async def list_environments(self, *arguments: Any) -> dict[str, Any]:
        _argument(arguments)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(None, environments.list_environments, self._folders(), self.server.session.selected_environment)
        except environments.EnvironmentsUnavailable as problem:
            raise JsonRpcServerError(str(problem), STATE_ERROR) from problem

    async def select_environment(self, *arguments: Any) -> dict[str, Any]:
        argument = _argument(arguments)
        name = argument.get("name")
        if name is not None and (not isinstance(name, str) or not name):
            raise JsonRpcInvalidParams(message="`name` must be an environment name or null")
        if name is not None:
            listed = await self.list_environments({})
            known = [item["name"] for item in listed["environments"]]
            if name not in known:
                raise JsonRpcServerError(f"environment {name!r} not found (known: {', '.join(known) or 'none'})", STATE_ERROR)
        self.server.session.select_environment(name)
        self.server.analyzer.invalidate_all()
        log.info("selected environment %s", name)
        return {"selected": name}

    # archon.setInput

    async def set_input(self, *arguments: Any) -> dict[str, Any]:
        argument = _argument(arguments)
        name = _string(argument, "name", required=True)
        kind = _string(argument, "kind", required=True)
        value = argument.get("value")
        if kind not in INPUT_KINDS:
            raise JsonRpcInvalidParams(message=f"unknown input kind {kind!r}: use one of {', '.join(INPUT_KINDS)}")
        if not isinstance(value, str):
            raise JsonRpcInvalidParams(message="`value` must be a string")
        if kind == "secret":
            # Before anything can log it.
            self.server.secret_filter.add(value)

        environment_name = self.server.session.selected_environment
        folders = self._folders()
        loop = asyncio.get_running_loop()
        try:
            from archon.engine.workspace import StateError
        except ImportError as problem:
            raise JsonRpcServerError(f"inputs cannot be set: the engine could not be imported ({problem})", STATE_ERROR) from problem
        try:
            saved = await loop.run_in_executor(None, _store_input, folders, environment_name, name, kind, value)
        except environments.EnvironmentsUnavailable as problem:
            raise JsonRpcServerError(str(problem), STATE_ERROR) from problem
        except StateError as problem:
            raise _state_error(problem) from problem
        self.server.analyzer.invalidate_all()
        log.info("set input %s (%s) in environment %s", name, kind, saved)
        return {"name": name, "kind": kind, "environment": saved}

    # archon.history

    async def history(self, *arguments: Any) -> dict[str, Any]:
        argument = _argument(arguments)
        limit = argument.get("limit", DEFAULT_HISTORY_LIMIT)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise JsonRpcInvalidParams(message="`limit` must be a positive integer")
        loop = asyncio.get_running_loop()
        try:
            records = await loop.run_in_executor(None, _history_runs, self._folders(), limit)
        except environments.EnvironmentsUnavailable as problem:
            raise JsonRpcServerError(str(problem), STATE_ERROR) from problem
        return {"runs": records}

    # archon.run

    async def run(self, *arguments: Any) -> dict[str, Any]:
        argument = _argument(arguments)
        uri = _string(argument, "uri")
        component = _string(argument, "component")
        environment_name = _string(argument, "environment") or self.server.session.selected_environment

        try:
            runs.engine_run_module()
        except runs.RunsUnavailable as problem:
            raise JsonRpcServerError(str(problem), RUNS_UNAVAILABLE) from problem
        if self.active_run is not None and not self.active_run.done():
            raise JsonRpcServerError("a run is already in progress; cancel it or wait for it to finish", RUN_IN_PROGRESS)

        folder = _cue_folder(uri) if uri else await self._plan_folder(environment_name)
        params = self.server.command_params()
        token = params.work_done_token if params is not None else None
        self.active_run = asyncio.current_task()
        try:
            return await RunSession(self, folder, component, environment_name, token).execute()
        finally:
            self.active_run = None

    async def _plan_folder(self, environment_name: str | None) -> str:
        loop = asyncio.get_running_loop()
        for folder in self._folders():
            try:
                _, environment = await loop.run_in_executor(None, environments.environment_for, folder, environment_name)
            except environments.EnvironmentsUnavailable:
                break
            if environment is not None:
                return str(environment.plan_path)
        raise JsonRpcInvalidParams(message="pass `uri`: no environment of the open workspace names a plan")


class RunSession:
    """One `archon.run` request: progress, log lines, cancellation and the result."""

    def __init__(self, commands: Commands, folder: str, component: str | None, environment: str | None, token: Any):
        self.commands = commands
        self.server = commands.server
        self.folder = folder
        self.component = component
        self.environment = environment
        self.token = token
        self.loop = asyncio.get_running_loop()
        self.handle: Any = None
        self.total = 0
        self.done = 0
        self.prepared: runs.PreparedRun | None = None

    async def execute(self) -> dict[str, Any]:
        target = self.component or "the plan"
        self._progress_begin(f"Archon: running {target}")
        try:
            return await self._execute()
        finally:
            self._progress_end()

    async def _execute(self) -> dict[str, Any]:
        snapshot = self.server.documents.snapshot(self.folder)
        codec = self.server.codec
        lines = _lines_reader(snapshot.texts)

        def place(span: Any) -> tuple[str | None, dict | None]:
            from archon.lsp.graph import place_of

            return place_of(span, codec, lines)

        evaluator = self.server.session.make_evaluator()
        self._report("evaluating and compiling")
        prepared = await self.loop.run_in_executor(
            None,
            lambda: runs.prepare_run(
                snapshot,
                component=self.component,
                environment_name=self.environment,
                evaluator=evaluator,
                place=place,
                remember_secret=self.server.secret_filter.add,
                packages=_bundled_packages(),
            ),
        )
        self.prepared = prepared
        if prepared.failures:
            prepared.close()
            log.info("run %s of %s stopped before the solve: %d problem(s)", prepared.run_id, self.folder, len(prepared.failures))
            return runs.result_json(prepared, runs.FAILED, prepared.failures)

        from archon.engine.run import start_run

        self.total = len(prepared.plan.vertices)
        self._report(f"solving {self.total} vertices")
        self.handle = start_run(prepared.plan, prepared.connection, secrets=prepared.secrets, progress_mode="quiet", listeners=[self._on_event])
        try:
            result = await asyncio.shield(asyncio.wrap_future(self.handle.future))
        except asyncio.CancelledError:
            # The request was cancelled: stop the solve, and record it when it ends.
            self.handle.cancel()
            self.handle.future.add_done_callback(lambda future: self._finish_in_background(future))
            raise

        await self.loop.run_in_executor(None, runs.finish_history, prepared, result)
        prepared.close()
        return self._result(result, place)

    def _finish_in_background(self, future: Any) -> None:
        if self.prepared is None or future.cancelled() or future.exception() is not None:
            return
        runs.finish_history(self.prepared, future.result())
        self.prepared.close()

    def _result(self, result: Any, place) -> dict[str, Any]:
        prepared = self.prepared
        failures = []
        if result.failure is not None:
            uri, lsp_range = place(result.failure.span)
            failure: dict[str, Any] = {"component": result.failure.component or result.failure.vertex or "run", "message": result.failure.message}
            if uri and lsp_range:
                failure["uri"], failure["range"] = uri, lsp_range
            failures.append(failure)

        for vertex in result.vertices:
            status = "failed" if vertex.error else ("cached" if vertex.cached else "ran")
            self.commands.vertex_statuses[vertex.digest] = status
        self._record_components(result)
        log.info("run %s of %s %s in %.1f s", prepared.run_id, self.folder, result.status, result.duration)
        return runs.result_json(prepared, result.status, failures, result.exports, result.completed)

    def _record_components(self, result: Any) -> None:
        plan = self.prepared.plan
        by_digest = {vertex.digest: vertex for vertex in result.vertices}
        from archon.lsp.components import vertex_closure

        for path, component in plan.components.items():
            closure = vertex_closure(plan, component.digest)
            records = [by_digest[digest] for digest in closure if digest in by_digest]
            failed = result.failure is not None and result.failure.component == path
            status = "failed" if failed else ("cancelled" if result.status == runs.CANCELLED else result.status)
            starts = [record.started for record in records if record.started]
            ends = [record.completed for record in records if record.completed]
            seconds = (max(ends) - min(starts)) if starts and ends else None
            cached = bool(records) and all(record.cached for record in records)
            if path == self.component:
                seconds = result.duration
            self.server.session.record_result(self.folder, path, ComponentResult(status, seconds, cached))

    # Progress and logs, called from the run's threads.

    def _on_event(self, event: Any) -> None:
        self.loop.call_soon_threadsafe(self._handle_event, event)

    def _handle_event(self, event: Any) -> None:
        label = f"[{event.component}] {event.name}" if event.component else (event.name or "")
        if event.kind in ("vertex.completed", "vertex.cached", "vertex.errored"):
            self.done += 1
            state = {"vertex.completed": "done", "vertex.cached": "cached", "vertex.errored": "failed"}[event.kind]
            self._report(f"{state}: {label}")
        elif event.kind == "vertex.started":
            self._report(f"running: {label}")
        elif event.kind == "log" and event.text is not None:
            run_id = self.prepared.run_id if self.prepared else ""
            for line in event.text.splitlines():
                self.server.protocol.notify(RUN_LOG_NOTIFICATION, {"runId": run_id, "vertex": event.digest or event.name or "", "line": line})
                run_log.info("%s %s", label, line)

    def _progress_begin(self, title: str) -> None:
        if self.token is None:
            return
        progress = self.server.work_done_progress
        progress.begin(self.token, types.WorkDoneProgressBegin(title=title, cancellable=True, percentage=0))
        future = progress.tokens.get(self.token)
        if future is not None:
            future.add_done_callback(lambda done: self.loop.call_soon_threadsafe(self._cancel_requested) if done.cancelled() else None)

    def _cancel_requested(self) -> None:
        log.info("cancelling the run of %s at the client's request", self.component or self.folder)
        if self.handle is not None:
            self.handle.cancel()

    def _report(self, message: str) -> None:
        if self.token is None:
            return
        percentage = int(100 * self.done / self.total) if self.total else None
        self.server.work_done_progress.report(self.token, types.WorkDoneProgressReport(message=message, percentage=percentage, cancellable=True))

    def _progress_end(self) -> None:
        if self.token is None:
            return
        self.server.work_done_progress.end(self.token, types.WorkDoneProgressEnd())
        self.server.work_done_progress.tokens.pop(self.token, None)


def _bundled_packages() -> dict[str, str]:
    from archon.lsp.analysis import bundled_packages

    return bundled_packages()


def _why_no_plan(analysis: Any) -> str:
    if analysis.failure:
        return f"the configuration could not be analysed: {analysis.failure}"
    errors = [item for item in analysis.diagnostics if int(item.severity) == 1]
    if errors:
        first = errors[0].format().splitlines()[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"the configuration has errors: {first}{more}"
    pending = [item for item in analysis.diagnostics if item.code in ("input-unset", "incomplete")]
    if pending:
        return f"the configuration is incomplete: {pending[0].format().splitlines()[0]}"
    return "the configuration did not compile; see the server log"


def _lines_reader(texts: dict[str, str]):
    cache: dict[str, list[str] | None] = {}

    def lines_of(path: str) -> list[str] | None:
        if path not in cache:
            text = texts.get(path)
            if text is None:
                text = read_file(path)
            cache[path] = split_lines(text) if text is not None else None
        return cache[path]

    return lines_of


def _last_success_digests(folder: str, analysis: Any) -> set[str] | None:
    """Return the vertex digests of the environment's last successful run, or None."""
    environment = analysis.environment
    if environment is None:
        return None
    try:
        workspace = environments.find_workspace(folder)
        if workspace is None or not workspace.history_path.exists():
            return None
        from archon.engine.history import open_history

        with open_history(workspace) as history:
            success = history.last_success(environment.name)
    except Exception as problem:  # noqa: BLE001 - the preview shows `unknown` instead
        log.warning("could not read the run history of %s: %s", folder, problem)
        return None
    return set(success.vertices) if success is not None else None


def _store_input(folders: list[str], environment_name: str | None, name: str, kind: str, value: str) -> str:
    """Store an input in the environment; return the environment's name. Runs in a worker thread."""
    from archon.engine import inputs

    workspace = None
    for folder in folders:
        workspace = environments.find_workspace(folder)
        if workspace is not None:
            break
    if workspace is None:
        raise inputs.InputError("no workspace found for the open folders", "run `dagger init` in the project's root folder")
    target = environment_name or workspace.default_environment()
    if not target:
        raise inputs.InputError(f"workspace {workspace.root} has no selected or default environment", "select one with archon.selectEnvironment")

    if kind == "text":
        stored = inputs.text_input(value)
    elif kind == "bool":
        stored = inputs.bool_input(value)
    elif kind == "json":
        stored = inputs.json_input(value, name)
    elif kind == "yaml":
        stored = inputs.yaml_input(value, name)
    elif kind == "file":
        stored = inputs.file_input(Path(value))
    elif kind == "dir":
        stored = inputs.dir_input(Path(value), workspace.root)
    elif kind == "git":
        remote, _, ref = value.partition("#")
        stored = inputs.git_input(remote, ref or "HEAD")
    else:
        stored = inputs.secret_input(value)

    with workspace.update_environment(target) as environment:
        inputs.set_input(environment, name, stored)
    return target


def _history_runs(folders: list[str], limit: int) -> list[dict[str, Any]]:
    from archon.engine.history import open_history

    records = []
    seen = set()
    for folder in folders:
        workspace = environments.find_workspace(folder)
        if workspace is None or str(workspace.root) in seen or not workspace.history_path.exists():
            continue
        seen.add(str(workspace.root))
        with open_history(workspace) as history:
            for run in history.list_runs(limit=limit):
                records.append(
                    {
                        "id": str(run.id),
                        "environment": run.environment,
                        "status": run.status,
                        "start": _iso(run.started_at),
                        "end": _iso(run.ended_at),
                    }
                )
    records.sort(key=lambda record: record["start"] or "", reverse=True)
    return records[:limit]


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc).isoformat()


def register(server: "ArchonLanguageServer") -> None:
    commands = Commands(server)
    server.register_command(FEATURE, PREVIEW_LLB, commands.preview_llb)
    server.register_command(FEATURE, LIST_ENVIRONMENTS, commands.list_environments)
    server.register_command(FEATURE, SELECT_ENVIRONMENT, commands.select_environment)
    server.register_command(FEATURE, SET_INPUT, commands.set_input)
    server.register_command(FEATURE, HISTORY, commands.history)
    server.register_command(FEATURE, RUN, commands.run)
    server.commands = commands

