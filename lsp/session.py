"""State the server keeps between requests, apart from the documents.

The selected environment, the `cue` binary setting, and the results of the
runs started from this editor session (for code lenses and hovers). The
run history in `.dagger/history.db` outlives the session and is read when
this session has no result of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archon.lsp import environments
from archon.lsp.analysis import EnvironmentContext

if TYPE_CHECKING:
    from archon.lsp.server import ArchonLanguageServer

log = logging.getLogger(__name__)

EVALUATION_CACHE_SIZE = 8


@dataclass
class ComponentResult:
    """The outcome of a component in the last run that included it.

    `status` is `succeeded`, `failed` or `cancelled`. `cached` is true when
    every vertex of the component came from the cache.
    """

    status: str
    seconds: float | None
    cached: bool
    finished_at: float = field(default_factory=time.time)
    message: str | None = None

    def describe(self) -> str:
        duration = f" in {self.seconds:.1f} s" if self.seconds is not None else ""
        if self.status == "succeeded":
            return f"✓ cached{duration}" if self.cached else f"✓ ran{duration}"
        if self.status == "cancelled":
            return f"⊘ cancelled{duration}"
        return f"✗ failed{duration}"


class Session:
    def __init__(self, server: "ArchonLanguageServer"):
        self._server = server
        self._lock = threading.Lock()
        self.selected_environment: str | None = None
        self.cue_path: str | None = None
        self.results: dict[tuple[str, str], ComponentResult] = {}

    def environment_context(self, folder: str, overlays: dict[str, str]) -> EnvironmentContext | None:
        """Return the environment that applies to the package in folder (called in worker threads)."""
        with self._lock:
            selected = self.selected_environment
        return environments.environment_context(folder, overlays, selected)

    def make_evaluator(self) -> Any:
        from archon.runtime.evaluate import Evaluator

        # Nearly every pass evaluates new text, so a large cache of past
        # evaluations would only hold memory.
        return Evaluator(self.cue_path, cache_size=EVALUATION_CACHE_SIZE)

    def select_environment(self, name: str | None) -> None:
        with self._lock:
            self.selected_environment = name

    def record_result(self, folder: str, component: str, result: ComponentResult) -> None:
        with self._lock:
            self.results[(folder, component)] = result

    def result_of(self, folder: str, component: str) -> ComponentResult | None:
        with self._lock:
            return self.results.get((folder, component))


def history_results(folder: str, environment: str | None, digests: dict[str, str]) -> dict[str, ComponentResult]:
    """Read the outcome of each component in the environment's latest recorded run.

    Called in worker threads. digests maps component paths to the digest of
    the vertex each one ends on. A component whose vertex the run did not
    record is left out.
    """
    if environment is None or not digests:
        return {}
    try:
        workspace = environments.find_workspace(folder)
        if workspace is None or not workspace.history_path.exists():
            return {}
        from archon.engine.history import open_history

        with open_history(workspace) as history:
            run = history.latest_run(environment)
            if run is None:
                return {}
            records = {record.digest: record for record in history.vertices(run.id)}
    except Exception as problem:  # noqa: BLE001 - hovers and lenses go on without the history
        log.warning("could not read the run history of %s: %s", folder, problem)
        return {}

    results = {}
    for path, digest in digests.items():
        record = records.get(digest)
        if record is None:
            continue
        if record.exit_code not in (None, 0):
            status = "failed"
        else:
            status = run.status
        results[path] = ComponentResult(status, record.duration, record.cached, run.ended_at or run.started_at)
    return results
