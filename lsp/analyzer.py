"""Scheduling of the analysis passes, on the event loop.

Each edit of a `.cue` buffer starts a fast pass of that buffer at once and
(re)starts a debounce timer for a full pass of its package. Both run in
worker threads: the fast passes in one thread of their own, so that they
never queue behind a `cue eval`, the full passes in a small pool. At most
one full pass per package runs at a time; an edit made while it runs
schedules another one after it.

A result is handed to the listeners only when it still matches the
buffers: the fast pass of a buffer whose version changed meanwhile, and the
full pass of a package whose buffers changed meanwhile, are dropped.
Requests that need an up-to-date analysis (the LLB preview, a run) await
`current()`, which waits for the pass matching the buffers as they are.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from archon.lsp import analysis as passes
from archon.lsp.documents import Documents, Snapshot, package_folder, path_to_uri, uri_to_path

log = logging.getLogger(__name__)

# Delay between the last edit and the start of a full pass, in seconds.
DEBOUNCE_SECONDS = 0.15

# Worker threads for full passes. Each spends most of its time waiting for
# a `cue` process, so two let a second package proceed meanwhile.
FULL_PASS_WORKERS = 2

# Seconds without document events after which the server collects garbage.
IDLE_COLLECT_SECONDS = 5.0


@dataclass
class FastResult:
    path: str
    version: int | None
    parsed: Any
    diagnostics: list


@dataclass
class PackageState:
    folder: str
    timer: asyncio.TimerHandle | None = None
    running: asyncio.Task | None = None
    rerun: bool = False
    result: passes.Analysis | None = None
    disk_generation: int = 0
    waiters: list[asyncio.Future] = field(default_factory=list)


class Analyzer:
    """Runs and schedules the analysis passes for every package with open buffers."""

    def __init__(
        self,
        documents: Documents,
        environment_of: Callable[[str, dict[str, str]], passes.EnvironmentContext | None],
        evaluator_factory: Callable[[], Any],
    ):
        self._documents = documents
        self._environment_of = environment_of
        self._evaluator_factory = evaluator_factory
        self._evaluator: Any = None
        self._fast_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archon-lsp-parse")
        self._full_pool = ThreadPoolExecutor(max_workers=FULL_PASS_WORKERS, thread_name_prefix="archon-lsp-eval")
        self._packages: dict[str, PackageState] = {}
        self._parsed: dict[str, tuple[int | None, Any]] = {}
        self._versions: dict[str, int | None] = {}
        self.fast_listeners: list[Callable[[FastResult], None]] = []
        self.full_listeners: list[Callable[[passes.Analysis], None]] = []
        self.failure_listeners: list[Callable[[str, str], None]] = []
        # Bumped when something outside the buffers changes every package's
        # result: the selected environment, an input, the cue binary.
        self.generation = 0
        self.debounce_seconds = DEBOUNCE_SECONDS
        self._closed = False
        self._idle_timer: asyncio.TimerHandle | None = None

    # Events from the document handlers.

    def document_changed(self, uri: str) -> None:
        """Schedule the fast pass of a changed buffer and the full pass of its package."""
        path = uri_to_path(uri)
        if path is None or not path.endswith(".cue"):
            return
        self._versions[path] = self._documents.version_of(path)
        self._start_fast(path)
        self.schedule(package_folder(path))
        self._collect_when_idle()

    def document_saved(self, uri: str) -> None:
        path = uri_to_path(uri)
        if path is None or not path.endswith(".cue"):
            return
        self._state(package_folder(path)).disk_generation += 1
        self.schedule(package_folder(path))

    def document_closed(self, uri: str) -> None:
        """Re-analyse the package from disk: the closed buffer's unsaved text is gone."""
        path = uri_to_path(uri)
        if path is None or not path.endswith(".cue"):
            return
        self._versions.pop(path, None)
        self._parsed.pop(path, None)
        self.schedule(package_folder(path))

    def files_changed_on_disk(self, paths: list[str]) -> None:
        for folder in {package_folder(path) for path in paths if path.endswith(".cue")}:
            self._state(folder).disk_generation += 1
            if folder in self._packages:
                self.schedule(folder)

    def invalidate_all(self) -> None:
        """Re-analyse every known package, after a change of environment or settings."""
        self.generation += 1
        for folder in list(self._packages):
            self.schedule(folder)

    # Results.

    def latest(self, folder: str) -> passes.Analysis | None:
        """Return the last full pass of the package, current or not."""
        state = self._packages.get(folder)
        return state.result if state else None

    def parsed(self, path: str) -> Any | None:
        """Return the AST of the last fast pass of path, if it matches the buffer's version."""
        entry = self._parsed.get(path)
        if entry is None or entry[0] != self._documents.version_of(path):
            return None
        return entry[1]

    async def parse_now(self, path: str, text: str) -> Any:
        """Parse text in the parse thread and return its AST."""
        loop = asyncio.get_running_loop()
        parsed, _ = await loop.run_in_executor(self._fast_pool, passes.fast_check, path, text)
        return parsed

    async def current(self, folder: str) -> passes.Analysis:
        """Return the full pass that matches the package's buffers, waiting for it if needed."""
        loop = asyncio.get_running_loop()
        while True:
            state = self._state(folder)
            key = self._key(self._documents.snapshot(folder), state)
            if state.result is not None and state.result.key == key:
                return state.result
            if state.timer is None and state.running is None:
                self._start_full(folder)
            waiter = loop.create_future()
            state.waiters.append(waiter)
            await waiter

    def schedule(self, folder: str, delay: float | None = None) -> None:
        if self._closed:
            return
        state = self._state(folder)
        if state.timer is not None:
            state.timer.cancel()
        loop = asyncio.get_running_loop()
        state.timer = loop.call_later(self.debounce_seconds if delay is None else delay, self._start_full, folder)

    def shutdown(self) -> None:
        """Stop scheduling passes and drop the results of those still running."""
        self._closed = True
        for state in self._packages.values():
            if state.timer is not None:
                state.timer.cancel()
        self._fast_pool.shutdown(wait=False, cancel_futures=True)
        self._full_pool.shutdown(wait=False, cancel_futures=True)

    # Internals.

    def _state(self, folder: str) -> PackageState:
        state = self._packages.get(folder)
        if state is None:
            state = self._packages[folder] = PackageState(folder)
        return state

    def _key(self, snapshot: Snapshot, state: PackageState) -> tuple:
        return (tuple(sorted(snapshot.versions.items())), self.generation, state.disk_generation)

    def _start_fast(self, path: str) -> None:
        document_text = self._documents.text_of(path_to_uri(path))
        if document_text is None:
            return
        version = self._versions.get(path)
        loop = asyncio.get_running_loop()
        started = time.perf_counter()

        def run() -> tuple[Any, list] | None:
            # A later edit already queued its own pass: skip this one.
            if self._versions.get(path) != version:
                return None
            return passes.fast_check(path, document_text)

        future = loop.run_in_executor(self._fast_pool, run)
        future.add_done_callback(lambda done: self._finish_fast(path, version, done, started))

    def _finish_fast(self, path: str, version: int | None, done: asyncio.Future, started: float) -> None:
        if done.cancelled():
            return
        if done.exception() is not None:
            log.error("fast pass of %s failed: %s", path, done.exception(), exc_info=done.exception())
            return
        outcome = done.result()
        if self._closed or outcome is None or self._documents.version_of(path) != version:
            return
        parsed, diagnostics = outcome
        log.debug("fast pass of %s version %s: %.0f ms, %d diagnostics", path, version, (time.perf_counter() - started) * 1000, len(diagnostics))
        self._parsed[path] = (version, parsed)
        result = FastResult(path, version, parsed, diagnostics)
        for listener in self.fast_listeners:
            _call_listener(listener, result)

    def _start_full(self, folder: str) -> None:
        state = self._state(folder)
        state.timer = None
        if state.running is not None:
            state.rerun = True
            return
        snapshot = self._documents.snapshot(folder)
        key = self._key(snapshot, state)
        if state.result is not None and state.result.key == key:
            self._wake(state)
            return
        state.running = asyncio.ensure_future(self._run_full(state, snapshot, key))

    async def _run_full(self, state: PackageState, snapshot: Snapshot, key: tuple) -> None:
        loop = asyncio.get_running_loop()
        log.debug("full pass of %s started", state.folder)
        try:
            analysis = await loop.run_in_executor(self._full_pool, self._full_pass, snapshot, key)
        except Exception as problem:  # noqa: BLE001 - the next edit starts a new pass
            log.exception("full pass of %s failed", state.folder)
            analysis = passes.Analysis(state.folder, snapshot, key, failure=str(problem))
        finally:
            state.running = None

        state.result = analysis
        if self._closed:
            return
        _freeze_live_objects()
        is_current = self._key(self._documents.snapshot(state.folder), state) == key
        if is_current:
            if analysis.failure:
                for listener in self.failure_listeners:
                    _call_listener(listener, state.folder, analysis.failure)
            for listener in self.full_listeners:
                _call_listener(listener, analysis)
        else:
            log.debug("dropped the full pass of %s: the buffers changed while it ran", state.folder)
        self._wake(state)

        if (state.rerun or not is_current) and state.timer is None:
            state.rerun = False
            self.schedule(state.folder, delay=0)

    def _full_pass(self, snapshot: Snapshot, key: tuple) -> passes.Analysis:
        if self._evaluator is None:
            self._evaluator = self._evaluator_factory()
        environment = None
        try:
            environment = self._environment_of(snapshot.package, snapshot.overlays())
        except Exception:  # noqa: BLE001 - the package is still analysed, without inputs
            log.exception("could not read the environment of %s", snapshot.package)
        return passes.analyse_package(snapshot, key, evaluator=self._evaluator, environment=environment)

    def _wake(self, state: PackageState) -> None:
        waiters, state.waiters = state.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _collect_when_idle(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = asyncio.get_running_loop().call_later(IDLE_COLLECT_SECONDS, self._collect_garbage)

    def _collect_garbage(self) -> None:
        self._idle_timer = None
        if self._closed or any(state.running is not None or state.timer is not None for state in self._packages.values()):
            self._collect_when_idle()
            return
        started = time.perf_counter()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        log.debug("collected garbage while idle in %.0f ms", (time.perf_counter() - started) * 1000)

    def reset_evaluator(self) -> None:
        """Create a new evaluator on the next pass, after the cue binary setting changed."""
        self._evaluator = None


def _call_listener(listener: Callable, *args: Any) -> None:
    try:
        listener(*args)
    except Exception:  # noqa: BLE001 - one failing feature must not stop the others
        log.exception("listener %s failed", getattr(listener, "__qualname__", listener))


def _freeze_live_objects() -> None:
    """Move every live object out of the collector's sight until the next idle collection.

    A full pass leaves a large result alive (the decoded configuration, the
    plan, the syntax trees). Without this, a full collection scans all of
    it, and one falling into a fast pass made that pass several times
    slower (bench/lsp_latency.py: p95 from about 250 ms down to 66 ms on its
    200 components). Freed objects are still reclaimed by reference
    counting, and the idle collection unfreezes everything, so cyclic
    garbage frozen here is collected there.
    """
    gc.freeze()
