"""Run a compiled plan: one session, one solve, outputs delivered whole.

`run(plan, address, secrets=..., progress_mode=...)` blocks until the run
ends and returns a `RunResult`; it raises only for programming errors.
The steps:

1. connect to the daemon (or use the given `Connection`) and start a
   session serving the plan's local directories, the secrets, and a
   FileSend target;
2. solve `plan.definition` with the `local` exporter. The daemon sends the
   output bundle back: `/dirs/<name>` lands in a staging folder next to
   each destination, `/exports/<name>` in a private temporary folder;
3. solve each image output's definition with the `moby` exporter (Docker)
   or the `image` exporter with push=true (buildkitd, or a push output);
   these are cache hits of step 2;
4. parse the export values, then swap each staged folder into place.

A failed or cancelled run discards the staging folders, so destinations
keep their previous contents.

`start_run` runs the same in a thread and returns a `RunHandle` whose
`future` is a `concurrent.futures.Future`. An asyncio caller such as the
language server awaits `asyncio.wrap_future(handle.future)`.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, TextIO

from archon.engine import outputs
from archon.engine.buildkit import transport
from archon.engine.buildkit.client import Client, Exporter, SolveCancelled, SolveError
from archon.engine.buildkit.connect import AddressError, Connection, DaemonUnavailableError, TLSConfig, connect, connect_any
from archon.engine.buildkit.digests import daemon_digests
from archon.engine.buildkit.services.auth import AuthService
from archon.engine.buildkit.services.filesend import FileSendService
from archon.engine.buildkit.services.filesync import FileSyncService, SyncedDir
from archon.engine.buildkit.services.health import HealthService
from archon.engine.buildkit.services.secrets import SecretsService
from archon.engine.buildkit.session import Session
from archon.engine.progress import ProgressEvent, ProgressTracker, Renderer, SecretMasker, VertexState, make_renderer
from archon.runtime.diagnostics import Span
from archon.runtime.plan import ImageOutput, Plan

log = logging.getLogger(__name__)

SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"

# Log lines kept in a failure report and in each vertex record.
FAILURE_LOG_LINES = 15

_EXIT_CODE = re.compile(r"exit code: (-?\d+)")

# Daemon errors that are not caused by the configuration and usually pass
# when the same definition is solved again. BuildKit's flightcontrol gives
# up on a step that many others wait on (moby/buildkit#1822). Docker
# 20.10's builder did so in the benchmark for fans of 50 or more parallel
# execs on two cores (docs/benchmarks.md).
TRANSIENT_ERRORS = ("flightcontrol: exceeded retry timeout",)

# Solves of one definition in all, the first included, while the daemon
# reports only transient errors. Steps that completed are cached by then.
SOLVE_ATTEMPTS = 3

_CANCELLED_ERRORS = ("context canceled", "canceled", "cancelled")


def transient_error(error: SolveError) -> str | None:
    """Return the transient daemon error that `error` reports, or None when it is another failure."""
    return next((marker for marker in TRANSIENT_ERRORS if marker in error.message), None)


@dataclass(frozen=True)
class VertexRecord:
    """One vertex of a solve, for progress summaries and the run history.

    Times are Unix seconds; `duration` is in seconds. `exit_code` is set for
    a failed exec when the daemon reports it.
    """

    name: str
    digest: str
    cached: bool
    started: float | None
    completed: float | None
    duration: float | None
    error: str | None = None
    exit_code: int | None = None
    log: str = ""
    component: str | None = None
    span: Span | None = None


@dataclass(frozen=True)
class OutputRecord:
    """An output the run delivered: `kind` is directory, export or image; `location` a path or image reference."""

    name: str
    kind: str
    location: str


@dataclass(frozen=True)
class RunFailure:
    """The reason a run failed, with the source position of the failing op when known."""

    message: str
    digest: str | None = None
    vertex: str | None = None
    component: str | None = None
    span: Span | None = None
    exit_code: int | None = None
    log_tail: tuple[str, ...] = ()

    def format(self) -> str:
        where = f"{self.span}: " if self.span else ""
        subject = self.component or self.vertex
        head = f"{where}error: "
        if subject:
            head += f"{subject} failed"
            if self.exit_code is not None:
                head += f" with exit code {self.exit_code}"
            head += f": {self.message}"
        else:
            head += self.message
        lines = [head]
        if self.log_tail:
            lines.append("  last lines of output:")
            lines.extend(f"    {line}" for line in self.log_tail)
        return "\n".join(lines)


@dataclass
class RunResult:
    """The outcome of one run. `status` is succeeded, failed or cancelled.

    `retries` counts the solves made again after a transient daemon error.
    """

    status: str
    vertices: list[VertexRecord] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    outputs: list[OutputRecord] = field(default_factory=list)
    image_vertices: dict[str, list[VertexRecord]] = field(default_factory=dict)
    failure: RunFailure | None = None
    daemon: str | None = None
    started: float = 0.0
    completed: float = 0.0
    retries: int = 0

    @property
    def duration(self) -> float:
        return max(0.0, self.completed - self.started)

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED


class _Cancelled(Exception):
    pass


def run(
    plan: Plan,
    address: str | Connection | None = None,
    *,
    secrets: Mapping[str, str],
    progress_mode: str = "auto",
    cancel_event: threading.Event | None = None,
    stream: TextIO | None = None,
    tls: TLSConfig | None = None,
    credentials: Mapping[str, tuple[str, str]] | None = None,
    listeners: Iterable[Callable[[ProgressEvent], None]] = (),
) -> RunResult:
    """Solve `plan` and deliver its outputs; see the module documentation.

    `address` is a BuildKit address, an open `Connection` (left open), or
    None to try the defaults. `secrets` maps secret ids to values; they are
    served to the daemon and masked in all progress output. `progress_mode`
    is auto, tty, plain, json or quiet; progress goes to `stream` (stdout
    by default). `listeners` receive every progress event, already masked.
    Setting `cancel_event`, or Ctrl-C in the calling thread, cancels the run.
    """
    cancel_event = cancel_event or threading.Event()
    masker = SecretMasker(secrets.values())
    renderer = make_renderer(progress_mode, stream)
    runner = _Runner(plan, secrets, masker, renderer, list(listeners), cancel_event, credentials)
    result = RunResult(status=FAILED, started=time.time())

    connection: Connection | None = None
    owns_connection = not isinstance(address, Connection)
    try:
        if isinstance(address, Connection):
            connection = address
        elif address:
            connection = connect(address, tls=tls)
        else:
            connection = connect_any(tls=tls)
        result.daemon = connection.describe()
        renderer.message(f"using {result.daemon}")
        runner.execute(connection, result)
        result.status = SUCCEEDED
    except (_Cancelled, SolveCancelled, KeyboardInterrupt):
        result.status = CANCELLED
        renderer.message("cancelled: the run was stopped before it finished and its solve ended on the daemon; outputs were left unchanged")
    except SolveError as error:
        result.status = FAILED
        result.failure = runner.failure_from(error)
    except (DaemonUnavailableError, AddressError, outputs.OutputError) as error:
        result.status = FAILED
        result.failure = RunFailure(masker.mask(str(error)))
    except transport.UpgradeError as error:
        result.status = FAILED
        result.failure = RunFailure(masker.mask(f"cannot attach the session to the daemon: {error}"))
    except OSError as error:
        result.status = FAILED
        result.failure = RunFailure(masker.mask(f"run failed: {error}"))
    finally:
        result.retries = runner.retries
        runner.cleanup()
        renderer.close()
        if connection is not None and owns_connection:
            connection.close()
        result.completed = time.time()

    if result.failure is not None:
        renderer.message(result.failure.format())
    elif result.status == SUCCEEDED:
        renderer.message(f"run succeeded in {result.duration:.1f}s")
    finished = ProgressEvent(
        "run.finished", time.time(), status=result.status, duration=result.duration,
        error=result.failure.format() if result.failure else None,
    )
    for listener in [renderer.event, *runner.listeners]:
        listener(finished)
    return result


class _Runner:
    """The steps of one run. Keeps the staging folders until `cleanup`."""

    def __init__(self, plan, secrets, masker, renderer: Renderer, listeners, cancel_event, credentials):
        self.plan: Plan = plan
        self.secrets = dict(secrets)
        self.masker: SecretMasker = masker
        self.renderer = renderer
        self.listeners = listeners
        self.cancel_event: threading.Event = cancel_event
        self.credentials = credentials
        self.staged: dict[str, str] = {}
        self.exports_folder: str | None = None
        self.tracker: ProgressTracker | None = None
        self.retries = 0
        self.components = {digest: vertex.component for digest, vertex in plan.vertices.items() if vertex.component}

    # --- steps ----------------------------------------------------------------

    def execute(self, connection: Connection, result: RunResult) -> None:
        missing = [secret for secret in self.plan.secrets if secret not in self.secrets]
        if missing:
            raise outputs.OutputError(
                f"secret {missing[0]!r} is used by the configuration but has no value; set it before running"
                + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else "")
            )
        for directory in self.plan.directories:
            outputs.check_destination(directory.name, directory.destination)
        self._check_cancelled()

        router = self._prepare_staging()
        file_send = FileSendService(router)
        services = [
            FileSyncService({
                name: SyncedDir(name, source.path, tuple(source.exclude))
                for name, source in self.plan.local_sources.items()
            }),
            file_send,
            SecretsService(self.secrets),
            AuthService(self.credentials),
            HealthService(),
        ]

        client = Client(connection)
        with Session(services) as session:
            session.attach(connection)
            self.renderer.start()

            needs_export = bool(self.plan.exports or self.plan.directories)
            self._solve(
                client, session, self.plan.definition, Exporter("local") if needs_export else None, result.vertices
            )
            if file_send.errors:
                raise outputs.OutputError(file_send.errors[0])

            for image in self.plan.images:
                self._check_cancelled()
                exporter = self._image_exporter(connection, image)
                records = result.image_vertices.setdefault(image.name, [])
                self._solve(client, session, image.definition, exporter, records)
                if connection.backend == "docker" and image.push:
                    self._docker_push(connection, image.ref)
                result.outputs.append(OutputRecord(image.name, "image", image.ref))

        self._check_cancelled()
        result.exports = self._read_exports()
        result.outputs.extend(OutputRecord(export.name, "export", export.path) for export in self.plan.exports)
        self._replace_directories(result)

    def _solve(
        self, client: Client, session: Session, definition: bytes, exporter: Exporter | None, records: list[VertexRecord]
    ) -> None:
        """Solve `definition` and append its vertex records to `records`, also when the solve fails or is cancelled.

        A solve that fails with a transient daemon error is solved again,
        up to SOLVE_ATTEMPTS in all. The records are the last attempt's, with
        the earlier record of each step that ran then and was cached since.
        """
        earlier: dict[str, VertexRecord] = {}
        for attempt in range(1, SOLVE_ATTEMPTS + 1):
            attempt_records: list[VertexRecord] = []
            retrying = False
            try:
                self._solve_once(client, session, definition, exporter, attempt_records)
                return
            except SolveError as error:
                transient = transient_error(error)
                if transient is None or attempt == SOLVE_ATTEMPTS or self.cancel_event.is_set():
                    raise
                retrying = True
                self.retries += 1
                log.info("solve attempt %d of %d failed with %r; solving again", attempt, SOLVE_ATTEMPTS, transient)
                self.renderer.message(
                    f"the daemon failed with a transient error ({transient}); solving again, attempt {attempt + 1} of {SOLVE_ATTEMPTS}"
                )
                for record in attempt_records:
                    if record.error is None and not record.cached and record.completed is not None:
                        earlier[record.digest] = record
            finally:
                if not retrying:
                    records.extend(earlier.get(record.digest, record) if record.cached else record for record in attempt_records)

    def _solve_once(
        self, client: Client, session: Session, definition: bytes, exporter: Exporter | None, records: list[VertexRecord]
    ) -> None:
        tracker = ProgressTracker(
            self.masker, self.components, [self.renderer.event, *self.listeners], digest_map=daemon_digests(definition)
        )
        self.tracker = tracker
        self.renderer.bind(tracker)
        try:
            client.solve(
                definition,
                ref=uuid.uuid4().hex,
                session_id=session.id,
                exporter=exporter,
                entitlements=self.plan.entitlements,
                on_status=tracker.update,
                cancel_event=self.cancel_event,
            )
        finally:
            tracker.finish()
            records.extend(self._records(tracker))

    def _image_exporter(self, connection: Connection, image: ImageOutput) -> Exporter:
        if connection.backend == "docker":
            # The moby exporter stores into Docker's image store. A push
            # output is then pushed through Docker's API, which every Docker
            # version with BuildKit offers.
            return Exporter("moby", {"name": image.ref})
        attrs = {"name": image.ref, "push": "true"}
        if _registry_host(image.ref).split(":")[0] in ("127.0.0.1", "localhost", "[::1]"):
            attrs["registry.insecure"] = "true"
        return Exporter("image", attrs)

    def _docker_push(self, connection: Connection, ref: str) -> None:
        name, tag = _split_tag(ref)
        endpoint = f"/images/{name}/push?tag={tag}"
        # Anonymous access; X-Registry-Auth is required even when empty.
        auth = base64.urlsafe_b64encode(b"{}").decode()
        messages = transport.docker_post_stream(connection.docker_socket, endpoint, {"X-Registry-Auth": auth})
        for message in messages:
            if "error" in message:
                raise outputs.OutputError(f"image {ref}: push through Docker failed: {message['error']}")
        self.renderer.message(f"pushed {ref}")

    def _prepare_staging(self):
        prefixes: dict[str, str] = {}
        if self.plan.exports:
            self.exports_folder = tempfile.mkdtemp(prefix="archon-exports-")
            for export in self.plan.exports:
                target = os.path.join(self.exports_folder, export.name)
                prefixes[export.path.strip("/")] = target
        for directory in self.plan.directories:
            staging = outputs.stage_directory(directory.destination)
            self.staged[directory.name] = staging
            prefixes[directory.path.strip("/")] = staging

        def route(path: str) -> str | None:
            for prefix, target in prefixes.items():
                if path == prefix:
                    return target
                if path.startswith(prefix + "/"):
                    return os.path.join(target, path[len(prefix) + 1:])
            return None

        return route

    def _read_exports(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for export in self.plan.exports:
            path = os.path.join(self.exports_folder, export.name)
            try:
                with open(path, "rb") as file:
                    data = file.read()
            except FileNotFoundError:
                where = f"{export.span}: " if export.span else ""
                raise outputs.OutputError(
                    f"{where}export {export.name!r}: the solve produced no file at {export.path}; "
                    "check that the op writes the exported path"
                ) from None
            values[export.name] = outputs.parse_export(export.name, data, export.format)
        return values

    def _replace_directories(self, result: RunResult) -> None:
        for directory in self.plan.directories:
            staging = self.staged.pop(directory.name)
            outputs.replace_directory(staging, directory.destination)
            result.outputs.append(OutputRecord(directory.name, "directory", directory.destination))

    def _check_cancelled(self) -> None:
        if self.cancel_event.is_set():
            raise _Cancelled()

    def cleanup(self) -> None:
        for staging in self.staged.values():
            outputs.discard(staging)
        self.staged.clear()
        outputs.discard(self.exports_folder)
        self.exports_folder = None

    # --- reports --------------------------------------------------------------

    def _records(self, tracker: ProgressTracker) -> list[VertexRecord]:
        with tracker.lock:
            states = sorted(tracker.vertices.values(), key=lambda state: state.number)
            return [self._record(state) for state in states]

    def _record(self, state: VertexState) -> VertexRecord:
        vertex = self.plan.vertices.get(state.digest)
        exit_code = None
        if state.error:
            match = _EXIT_CODE.search(state.error)
            exit_code = int(match.group(1)) if match else None
        return VertexRecord(
            name=state.name,
            digest=state.digest,
            cached=state.cached,
            started=state.started,
            completed=state.completed,
            duration=state.duration,
            error=state.error,
            exit_code=exit_code,
            log="\n".join(list(state.logs)[-FAILURE_LOG_LINES:]) if state.error else "\n".join(state.logs),
            component=vertex.component if vertex else state.component,
            span=vertex.span if vertex else None,
        )

    def failure_from(self, error: SolveError) -> RunFailure:
        message = self.masker.mask(error.message)
        failed = self._failed_vertex(message)
        if failed is None:
            return RunFailure(message, exit_code=error.exit_code)

        vertex = self.plan.vertices.get(failed.digest)
        exit_code = error.exit_code
        if exit_code is None and failed.error:
            match = _EXIT_CODE.search(failed.error)
            exit_code = int(match.group(1)) if match else None
        return RunFailure(
            message=failed.error or message,
            digest=failed.digest,
            vertex=failed.name,
            component=(vertex.component if vertex else None) or failed.component,
            span=vertex.span if vertex else None,
            exit_code=exit_code,
            log_tail=tuple(list(failed.logs)[-FAILURE_LOG_LINES:]),
        )

    def _failed_vertex(self, message: str) -> VertexState | None:
        """Find the vertex that caused the failure: the errored vertex named in the message, else the first not cancelled."""
        if self.tracker is None:
            return None
        with self.tracker.lock:
            errored = [state for state in self.tracker.vertices.values() if state.error]
        if not errored:
            return None
        for state in errored:
            if state.error and state.error in message:
                return state
        for state in errored:
            if not state.error.strip().lower().endswith(_CANCELLED_ERRORS):
                return state
        return errored[0]


def _registry_host(ref: str) -> str:
    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _split_tag(ref: str) -> tuple[str, str]:
    name, _, digest = ref.partition("@")
    if digest:
        return name, digest
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, "latest"


class RunHandle:
    """A run in a background thread. `future` resolves to the `RunResult`."""

    def __init__(self, future: Future, cancel_event: threading.Event, thread: threading.Thread):
        self.future = future
        self.cancel_event = cancel_event
        self.thread = thread

    def cancel(self) -> None:
        """Ask the daemon to stop the solve; the result's status becomes cancelled."""
        self.cancel_event.set()

    def done(self) -> bool:
        return self.future.done()

    def result(self, timeout: float | None = None) -> RunResult:
        return self.future.result(timeout)


def start_run(plan: Plan, address: str | Connection | None = None, **options) -> RunHandle:
    """Start `run(plan, address, **options)` in a thread and return its handle.

    The `cancel_event` option, when absent, is created for the handle.
    Listeners are called on the run's threads.
    """
    cancel_event = options.pop("cancel_event", None) or threading.Event()
    future: Future = Future()

    def target() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(run(plan, address, cancel_event=cancel_event, **options))
        except BaseException as error:  # handed to the caller through the future
            future.set_exception(error)

    thread = threading.Thread(target=target, name="archon-run", daemon=True)
    thread.start()
    return RunHandle(future, cancel_event, thread)
