"""The ways the run benchmark runs one workload, each returning a `Sample`.

- `run_cli`: `dagger up` in a new process, as a user runs it;
- `InProcess`: the calls the language server makes (load, compile, run)
  on a connection opened once, with one evaluator kept across runs, so an
  unchanged configuration is not evaluated again;
- `Raw`: the definition Archon compiled, submitted with `Client.solve` and
  nothing else: no session unless the plan reads local files or delivers
  outputs, no evaluation, no compile. It is the floor of a run;
- `run_multipass`: the step-by-step baseline of bench/multipass.py.

Times are wall-clock seconds from `time.perf_counter`, memory is in bytes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
import tracemalloc
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from archon.engine.buildkit.client import Client, Exporter, SolveError
from archon.engine.buildkit.connect import Connection
from archon.engine.buildkit.services.auth import AuthService
from archon.engine.buildkit.services.filesend import FileSendService
from archon.engine.buildkit.services.filesync import FileSyncService, SyncedDir
from archon.engine.buildkit.services.health import HealthService
from archon.engine.buildkit.session import Session
from archon.engine.images import resolver_for
from archon.engine.run import SOLVE_ATTEMPTS, run, transient_error
from archon.runtime.compiler import compile_configuration
from archon.runtime.config import COMPUTE, load, render_inputs
from archon.runtime.diagnostics import ConfigError
from archon.runtime.evaluate import Evaluator
from archon.runtime import llb
from archon.runtime.plan import Plan

from multipass import Multipass
from workloads import BASE_IMAGE

ROOT = Path(__file__).resolve().parent.parent
DAGGER = ROOT / ".venv" / "bin" / "dagger"

# Bytecode cache folder of the CLI's Python. Users run the CLI with
# bytecode caches, so the benchmark does too, even where the environment
# sets PYTHONDONTWRITEBYTECODE; the folder keeps them out of the source tree.
PYCACHE = ROOT / ".state" / "bench" / "pycache"
CLI_CACHE = ROOT / ".state" / "bench" / "cache"

# How often the peak RSS of a running CLI process is read, in seconds.
RSS_POLL_SECONDS = 0.005

# The maximum time a single run may take before it is cancelled and recorded as
# failed, in seconds. A daemon that stops starting execs would otherwise
# hold the benchmark forever. The slowest run measured, a cold chain of 300
# on Docker, took about 110 s.
RUN_TIMEOUT_SECONDS = 900.0


class RunFailed(Exception):
    """A mode did not complete its run; the message names the run and the reason."""


@dataclass
class Sample:
    """One measured run.

    `seconds` is the wall time of the whole run. `evaluate` (loading with
    cue), `compile`, `solve` and `push` are its parts where the mode can
    tell them apart. `rss` is the peak resident memory of the CLI process,
    `child_rss` the largest peak of a child it ran (cue).
    """

    seconds: float
    evaluate: float | None = None
    compile: float | None = None
    solve: float | None = None
    push: float | None = None
    rss: int | None = None
    child_rss: int | None = None
    # Solves made again after a transient daemon error, where the mode can tell.
    retries: int | None = None


def cli_environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    # The CLI keeps cue's evaluations under $XDG_CACHE_HOME: the benchmark's
    # own folder, so that its runs neither read nor fill the user's cache.
    environment["XDG_CACHE_HOME"] = str(CLI_CACHE)
    return environment


def cli_command(address: str, folder: Path, inputs: Mapping[str, str]) -> list[str]:
    command = [str(DAGGER), "up", str(folder), "--addr", address, "--progress", "quiet"]
    for name, value in sorted(inputs.items()):
        command += ["--input", f"{name}={value}"]
    return command


def run_cli(address: str, folder: Path, inputs: Mapping[str, str]) -> Sample:
    """Run `dagger up` on `folder` in a new process and measure its time and peak memory."""
    PYCACHE.mkdir(parents=True, exist_ok=True)
    # dagger up prints a failed run's report on stdout and its own errors on stderr.
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            cli_command(address, folder, inputs), stdout=errors, stderr=subprocess.STDOUT, env=cli_environment()
        )
        peak = PeakReader(process.pid)
        peak.start()
        deadline = threading.Timer(RUN_TIMEOUT_SECONDS, process.kill)
        deadline.start()
        _, status = os.waitpid(process.pid, 0)
        seconds = time.perf_counter() - started
        deadline.cancel()
        peak.stop()
        # The process is reaped here; tell Popen so it does not wait again.
        process.returncode = os.waitstatus_to_exitcode(status)

        if process.returncode != 0:
            if seconds >= RUN_TIMEOUT_SECONDS:
                raise RunFailed(f"dagger up {folder} did not finish within {RUN_TIMEOUT_SECONDS:.0f} s and was killed")
            errors.seek(0)
            message = errors.read().decode("utf-8", "replace").strip()
            raise RunFailed(f"dagger up {folder} exited with {process.returncode}: {message[-2000:]}")
    return Sample(seconds, rss=peak.value, child_rss=peak.children)


class PeakReader:
    """Reads VmHWM (peak RSS) of a process and of its children from /proc until stopped.

    `value` is the process's last value read and `children` the largest of
    any child's (such as cue under dagger up). VmHWM starts afresh at exec.
    The ru_maxrss that wait4 returns does not: on Linux it also counts the
    memory the parent had when it forked. A child that lives less than one
    poll interval is missed.
    """

    def __init__(self, pid: int):
        self.pid = pid
        self.value: int | None = None
        self.children: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name=f"rss-{pid}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.is_set():
            own = _peak_rss(self.pid)
            if own is None:
                return
            self.value = own
            for child in _children(self.pid):
                peak = _peak_rss(child)
                if peak is not None and (self.children is None or peak > self.children):
                    self.children = peak
            self._stop.wait(RSS_POLL_SECONDS)


def _peak_rss(pid: int) -> int | None:
    """Return VmHWM of a process in bytes, or None once it has exited."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


@contextlib.contextmanager
def _deadline():
    """Yield an event that is set once RUN_TIMEOUT_SECONDS have passed, to cancel a solve."""
    event = threading.Event()
    timer = threading.Timer(RUN_TIMEOUT_SECONDS, event.set)
    timer.start()
    try:
        yield event
    finally:
        timer.cancel()


def _load(folder: Path, inputs: Mapping[str, str], evaluator: Evaluator):
    extra_files = render_inputs(dict(inputs), folder) if inputs else None
    configuration = load(folder, mode=COMPUTE, extra_files=extra_files, evaluator=evaluator)
    if not configuration.ok:
        raise RunFailed(f"{folder}: " + "; ".join(item.format() for item in configuration.diagnostics[:3]))
    return configuration


def _compile(configuration, connection: Connection) -> Plan:
    try:
        return compile_configuration(configuration, resolver=resolver_for(connection))
    except ConfigError as error:
        raise RunFailed("; ".join(item.format() for item in error.diagnostics[:3])) from error


class InProcess:
    """Archon's own calls on an open connection, with one evaluator kept across runs as the language server keeps it."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.evaluator = Evaluator()

    def run(self, folder: Path, inputs: Mapping[str, str]) -> Sample:
        started = time.perf_counter()
        configuration = _load(folder, inputs, self.evaluator)
        loaded = time.perf_counter()
        plan = _compile(configuration, self.connection)
        compiled = time.perf_counter()
        with _deadline() as cancel_event:
            result = run(plan, self.connection, secrets={}, progress_mode="quiet", cancel_event=cancel_event)
        finished = time.perf_counter()
        if not result.succeeded:
            raise RunFailed(f"run of {folder} {result.status}: {result.failure.format() if result.failure else ''}")
        return Sample(finished - started, evaluate=loaded - started, compile=compiled - loaded, solve=finished - compiled, retries=result.retries)

    def peak_allocation(self, folder: Path, inputs: Mapping[str, str]) -> int:
        """Return the peak bytes Python allocated during load, compile and run, with a new evaluator (tracemalloc)."""
        tracemalloc.start()
        try:
            configuration = _load(folder, inputs, Evaluator())
            plan = _compile(configuration, self.connection)
            result = run(plan, self.connection, secrets={}, progress_mode="quiet")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        if not result.succeeded:
            raise RunFailed(f"run of {folder} {result.status}")
        return peak


class Raw:
    """Submits a prepared definition with the Control API alone."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.client = Client(connection)
        self.evaluator = Evaluator()
        self.retries = 0

    def prepare(self, folder: Path, inputs: Mapping[str, str]) -> Plan:
        """Load and compile the workload, outside the measured time."""
        return _compile(_load(folder, inputs, self.evaluator), self.connection)

    def run(self, plan: Plan) -> Sample:
        started = time.perf_counter()
        self.retries = 0
        needs_export = bool(plan.exports or plan.directories)
        if not (plan.local_sources or needs_export):
            with _deadline() as cancel_event:
                self._solve(plan.definition, session_id="", cancel_event=cancel_event)
            seconds = time.perf_counter() - started
            return Sample(seconds, solve=seconds, retries=self.retries)

        delivery = tempfile.mkdtemp(prefix="archon-raw-")
        try:
            services = [
                FileSyncService({name: SyncedDir(name, source.path, tuple(source.exclude)) for name, source in plan.local_sources.items()}),
                FileSendService(lambda relative: str(Path(delivery, relative))),
                AuthService(),
                HealthService(),
            ]
            with Session(services) as session:
                session.attach(self.connection)
                exporter = Exporter("local") if needs_export else None
                with _deadline() as cancel_event:
                    self._solve(plan.definition, session_id=session.id, exporter=exporter, cancel_event=cancel_event)
        finally:
            shutil.rmtree(delivery, ignore_errors=True)
        seconds = time.perf_counter() - started
        return Sample(seconds, solve=seconds, retries=self.retries)

    def _solve(self, definition: bytes, **options) -> None:
        """Solve with the run's policy: again, up to SOLVE_ATTEMPTS in all, after a transient daemon error."""
        for attempt in range(1, SOLVE_ATTEMPTS + 1):
            try:
                self.client.solve(definition, ref=uuid.uuid4().hex, **options)
                return
            except SolveError as error:
                if attempt == SOLVE_ATTEMPTS or transient_error(error) is None:
                    raise
                self.retries += 1


def run_multipass(baseline: Multipass, folder: Path, label: str, inputs: Mapping[str, str]) -> Sample:
    with _deadline() as cancel_event:
        baseline.cancel_event = cancel_event
        result = baseline.run(folder, label, inputs=inputs)
    return Sample(
        result.seconds,
        evaluate=result.evaluate,
        compile=result.compile,
        solve=sum(step.solve for step in result.steps),
        push=sum(step.push for step in result.steps),
    )


def exec_cost(connection: Connection, network: str, count: int = 10) -> float:
    """Return the seconds per cold exec of a raw chain of `count` execs on the base image, with the given exec network mode."""
    state = llb.State.image(BASE_IMAGE)
    nonce = uuid.uuid4().hex[:12]
    for index in range(count):
        state = state.run(["sh", "-c", f"echo {index} {nonce} > /e{index}"], network=network).root()
    definition = llb.marshal(state).to_bytes()

    started = time.perf_counter()
    Client(connection).solve(definition, ref=uuid.uuid4().hex, session_id="")
    return (time.perf_counter() - started) / count
