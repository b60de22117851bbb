"""Runs started from the editor: prepare in a worker thread, solve with the engine.

`prepare_run` loads the package in compute mode with the environment's
inputs, compiles it (only the dependency closure of one component when a
component is given), connects to BuildKit and opens the run in the history.
`start` then hands the plan to `archon.engine.run.start_run`, whose thread
reports progress events. Every problem found before the solve becomes a
failure of the returned result, with its place in the source when known.

The result is the JSON object `archon.run` returns (docs/lsp-protocol.md):
`{runId, status, durationMs, failures: [{component, message, uri?, range?}], exports}`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from archon.lsp import environments
from archon.lsp.components import dependency_closure
from archon.lsp.documents import Snapshot
from archon.runtime.diagnostics import ConfigError, Diagnostic, Severity

log = logging.getLogger(__name__)

SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"


class RunsUnavailable(Exception):
    """The engine's run module cannot be imported."""


def engine_run_module():
    try:
        from archon.engine import run
    except ImportError as problem:
        raise RunsUnavailable(f"runs are not available: the engine could not be imported ({problem})") from problem
    return run


@dataclass
class PreparedRun:
    """Everything a solve needs, or the failures that stop the run before it starts."""

    run_id: str
    started: float
    plan: Any = None
    connection: Any = None
    secrets: dict[str, str] = field(default_factory=dict)
    environment: Any = None
    history: Any = None
    history_run: int | None = None
    target: str | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:  # noqa: BLE001 - closing a dead connection
                log.debug("closing the BuildKit connection failed", exc_info=True)
            self.connection = None
        if self.history is not None:
            self.history.close()
            self.history = None


def failure_from_diagnostic(diagnostic: Diagnostic, place: Callable[[Any], tuple[str | None, dict | None]]) -> dict[str, Any]:
    uri, lsp_range = place(diagnostic.span)
    failure: dict[str, Any] = {"component": "configuration", "message": diagnostic.message + (f" ({diagnostic.hint})" if diagnostic.hint else "")}
    if uri and lsp_range:
        failure["uri"] = uri
        failure["range"] = lsp_range
    return failure


def restrict_to(configuration: Any, plan: Any, component: str) -> Any:
    """Return a copy of configuration with only the component and the components it refers to."""
    keep = set(dependency_closure(plan, component))
    return dataclasses.replace(
        configuration,
        components={path: info for path, info in configuration.components.items() if path in keep},
        outputs={path: output for path, output in configuration.outputs.items() if path in keep},
    )


def prepare_run(
    snapshot: Snapshot,
    *,
    component: str | None,
    environment_name: str | None,
    evaluator: Any,
    place: Callable[[Any], tuple[str | None, dict | None]],
    remember_secret: Callable[[str], None],
    packages: dict[str, str] | None = None,
) -> PreparedRun:
    """Load, check and compile the package for a run; connect to BuildKit. Runs in a worker thread."""
    from archon.runtime.compiler import compile_configuration
    from archon.runtime.config import COMPUTE, INPUTS_FILE, load

    engine_run_module()
    prepared = PreparedRun(run_id=uuid.uuid4().hex[:12], started=time.time(), target=component)

    workspace, environment = environments.environment_for(snapshot.package, environment_name)
    if environment_name and environment is None:
        prepared.failures.append({"component": "environment", "message": f"environment {environment_name!r} not found for the plan in {snapshot.package}"})
        return prepared
    prepared.environment = environment

    context = environments.environment_context(snapshot.package, snapshot.overlays(), environment.name if environment else None)
    extra_files = {INPUTS_FILE: context.overlay} if context and context.overlay else None
    configuration = load(
        snapshot.package,
        mode=COMPUTE,
        overlays=snapshot.overlays(),
        extra_files=extra_files,
        set_inputs=set(context.names) if context else set(),
        evaluator=evaluator,
        packages=packages,
    )
    for decl in configuration.missing_inputs():
        where = f" in environment {environment.name!r}" if environment else ""
        prepared.failures.append(
            failure_from_diagnostic(
                Diagnostic(f"input `{decl.path}` is not set{where}; nothing was run", decl.span, hint=f"set it with `dagger input {decl.kind} {decl.path} VALUE`"),
                place,
            )
        )
    for diagnostic in configuration.diagnostics:
        if diagnostic.severity == Severity.ERROR:
            prepared.failures.append(failure_from_diagnostic(diagnostic, place))
    if component is not None and component not in configuration.components:
        prepared.failures.append({"component": component, "message": f"component {component!r} not found in {snapshot.package}"})
    if prepared.failures:
        return prepared

    if environment is not None:
        from archon.engine.inputs import secret_values

        prepared.secrets = secret_values(environment)
        for value in prepared.secrets.values():
            remember_secret(value)

    from archon.engine.buildkit.connect import AddressError, DaemonUnavailableError, connect_any
    from archon.engine.images import resolver_for

    address = _address_setting(workspace)
    try:
        prepared.connection = connect_any(None, address)
    except (DaemonUnavailableError, AddressError) as problem:
        prepared.failures.append({"component": "buildkit", "message": f"no BuildKit daemon answered: {problem}"})
        return prepared

    try:
        resolver = resolver_for(prepared.connection)
        plan = compile_configuration(configuration, resolver=resolver)
        if component is not None:
            plan = compile_configuration(restrict_to(configuration, plan, component), resolver=resolver)
    except ConfigError as problem:
        prepared.failures.extend(failure_from_diagnostic(item, place) for item in problem.diagnostics)
        prepared.close()
        return prepared
    prepared.plan = plan

    if workspace is not None and environment is not None:
        _open_history(prepared, workspace, environment, plan)
    return prepared


def _address_setting(workspace: Any) -> str | None:
    try:
        from archon.engine.settings import Settings

        return Settings(workspace=workspace).get("buildkit.address")
    except Exception as problem:  # noqa: BLE001 - fall back to the default addresses
        log.warning("could not read the buildkit.address setting: %s", problem)
        return None


def _open_history(prepared: PreparedRun, workspace: Any, environment: Any, plan: Any) -> None:
    try:
        from archon.engine.history import open_history
        from archon.engine.inputs import inputs_digest

        prepared.history = open_history(workspace)
        plan_digest = "sha256:" + hashlib.sha256(plan.definition).hexdigest()
        prepared.history_run = prepared.history.start_run(environment.name, plan_digest, inputs_digest(environment), prepared.secrets.values())
        prepared.run_id = str(prepared.history_run)
    except Exception as problem:  # noqa: BLE001 - a run without history still runs
        log.warning("the run is not recorded in the history: %s", problem)
        if prepared.history is not None:
            prepared.history.close()
        prepared.history = None
        prepared.history_run = None


def finish_history(prepared: PreparedRun, result: Any) -> None:
    """Record the vertices and the end of a run in the history; runs in a worker thread."""
    if prepared.history is None or prepared.history_run is None:
        return
    try:
        for vertex in result.vertices:
            prepared.history.record_vertex(prepared.history_run, vertex.name, vertex.digest, vertex.cached, vertex.duration, vertex.exit_code, vertex.log)
        error = result.failure.message if result.failure is not None else None
        prepared.history.finish_run(prepared.history_run, result.status, error, result.exports)
    except Exception as problem:  # noqa: BLE001 - the run itself is over
        log.warning("recording run %s in the history failed: %s", prepared.history_run, problem)


def result_json(prepared: PreparedRun, status: str, failures: list[dict[str, Any]], exports: dict[str, Any] | None = None, finished: float | None = None) -> dict[str, Any]:
    end = finished or time.time()
    return {
        "runId": prepared.run_id,
        "status": status,
        "durationMs": int(max(0.0, end - prepared.started) * 1000),
        "failures": failures,
        "exports": exports or {},
    }
