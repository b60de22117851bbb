"""Run history: one SQLite database per workspace (`.dagger/history.db`, WAL mode).

A run calls `start_run` before the solve, `record_vertex` for each completed
vertex and `finish_run` at the end. Every text that reaches the database
(log excerpts, error messages, export values) is masked with the run's
secret values first, in addition to the masking the caller does.

A run whose process dies without `finish_run` stays `running` in the
database. Each run therefore stores its process id and a start marker of
that process: the boot id and the start time from /proc. Opening the
history marks such a run as failed, even after another process reused the pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from archon.engine.secrets import mask
from archon.engine.workspace import StateError, Workspace

STATUSES = ("running", "succeeded", "failed", "cancelled")
FINAL_STATUSES = ("succeeded", "failed", "cancelled")
PROCESS_GONE_MESSAGE = "the process ended before the run finished"

# Log excerpts keep the last characters of a vertex's log, where errors usually are.
MAX_LOG_EXCERPT = 64 * 1024
_TRUNCATED = "[... earlier output truncated ...]\n"

# Concurrent `dagger` processes share the database; wait for a write lock
# instead of failing at once.
_BUSY_TIMEOUT_SECONDS = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    environment   TEXT    NOT NULL,
    plan_digest   TEXT    NOT NULL,
    inputs_digest TEXT    NOT NULL,
    started_at    REAL    NOT NULL,
    ended_at      REAL,
    status        TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    error         TEXT,
    pid           INTEGER,
    process_start TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_environment ON runs (environment, id);
CREATE TABLE IF NOT EXISTS vertices (
    run_id    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    digest    TEXT    NOT NULL,
    position  INTEGER NOT NULL,
    name      TEXT    NOT NULL,
    cached    INTEGER NOT NULL,
    duration  REAL,
    exit_code INTEGER,
    log       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, digest)
);
CREATE TABLE IF NOT EXISTS last_success (
    environment TEXT    PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    vertices    TEXT    NOT NULL,
    exports     TEXT    NOT NULL
);
"""


@dataclass(frozen=True)
class RunRecord:
    """One run. Times are seconds since the epoch; `ended_at` is None while running."""

    id: int
    environment: str
    plan_digest: str
    inputs_digest: str
    started_at: float
    ended_at: float | None
    status: str
    error: str | None
    vertex_count: int = 0
    cached_count: int = 0

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "environment": self.environment,
            "plan_digest": self.plan_digest,
            "inputs_digest": self.inputs_digest,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration": self.duration,
            "status": self.status,
            "error": self.error,
            "vertices": self.vertex_count,
            "cached": self.cached_count,
        }


@dataclass(frozen=True)
class VertexRecord:
    """One vertex of a run. `duration` is in seconds; `exit_code` is set for exec vertices."""

    name: str
    digest: str
    cached: bool
    duration: float | None
    exit_code: int | None
    log: str


@dataclass(frozen=True)
class LastSuccess:
    """The result of an environment's last successful run: vertex digests (digest to name) and export values."""

    environment: str
    run_id: int
    vertices: dict[str, str] = field(default_factory=dict)
    exports: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanDiff:
    """Vertex names added to and removed from the plan since a run, found by digest."""

    added: list[str]
    removed: list[str]
    unchanged: int


class HistoryStore(Protocol):
    """Storage of runs, read by `dagger history`, `dagger logs` and `dagger output list`."""

    def start_run(self, environment: str, plan_digest: str, inputs_digest: str,
                  secret_values: Iterable[str] = ()) -> int: ...

    def record_vertex(self, run_id: int, name: str, digest: str, cached: bool, duration: float | None = None,
                      exit_code: int | None = None, log: str = "") -> None: ...

    def finish_run(self, run_id: int, status: str, error: str | None = None,
                   exports: Mapping[str, Any] | None = None) -> None: ...

    def list_runs(self, environment: str | None = None, limit: int | None = 20) -> list[RunRecord]: ...

    def get_run(self, run_id: int) -> RunRecord: ...

    def latest_run(self, environment: str | None = None) -> RunRecord | None: ...

    def vertices(self, run_id: int, name: str | None = None) -> list[VertexRecord]: ...

    def last_success(self, environment: str) -> LastSuccess | None: ...


def process_start_marker(pid: int) -> str | None:
    """Return an id of process `pid`'s start (boot id and start time), or None if unknown or a zombie.

    Two processes with the same pid get different markers, so a reused pid
    is not mistaken for the original process. Linux only: elsewhere the
    marker is None and only the pid is checked.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None

    # The command name (field 2) is in parentheses and may contain spaces,
    # so fields are counted after its closing parenthesis: the state is
    # field 3 and the start time in clock ticks since boot is field 22.
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return f"{boot_id}:{fields[19]}"


def process_is_alive(pid: int, marker: str | None) -> bool:
    """Return whether process `pid` still runs and is the process that stored `marker`."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, but belongs to another user

    current = process_start_marker(pid)
    if marker is None:
        return True
    return current == marker


class SQLiteHistory:
    """The local HistoryStore."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A run is recorded from more than one thread (the language server
        # starts it in one worker thread and records its end in another), so
        # the connection is not tied to its thread; the lock serializes writes.
        self._connection = sqlite3.connect(
            self.path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.RLock()
        self._connection.row_factory = sqlite3.Row
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA foreign_keys=ON")
        self._connection.executescript(_SCHEMA)
        # Secret values per run, kept in memory only.
        self._masks: dict[int, tuple[str, ...]] = {}
        self.fail_abandoned_runs()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        # The connection is in autocommit mode, so transactions are explicit.
        # IMMEDIATE takes the write lock at the start, because upgrading a
        # read lock later can fail with SQLITE_BUSY without waiting for the
        # busy timeout.
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> "SQLiteHistory":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _mask(self, run_id: int, text: str | None) -> str | None:
        values = self._masks.get(run_id)
        if text is None or not values:
            return text
        return mask(text, values)

    def _mask_value(self, run_id: int, value: Any) -> Any:
        if isinstance(value, str):
            return self._mask(run_id, value)
        if isinstance(value, Mapping):
            return {key: self._mask_value(run_id, item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._mask_value(run_id, item) for item in value]
        return value

    # Recording a run.

    def start_run(self, environment: str, plan_digest: str, inputs_digest: str,
                  secret_values: Iterable[str] = ()) -> int:
        """Record a new running run of this process and return its id.

        `secret_values` are kept in memory only, to mask what is recorded
        for this run.
        """
        pid = os.getpid()
        cursor = self._connection.execute(
            "INSERT INTO runs (environment, plan_digest, inputs_digest, started_at, status, pid, process_start)"
            " VALUES (?, ?, ?, ?, 'running', ?, ?)",
            (environment, plan_digest, inputs_digest, time.time(), pid, process_start_marker(pid)),
        )
        run_id = int(cursor.lastrowid)
        self._masks[run_id] = tuple(value for value in secret_values if value)
        return run_id

    def record_vertex(self, run_id: int, name: str, digest: str, cached: bool, duration: float | None = None,
                      exit_code: int | None = None, log: str = "") -> None:
        """Record a vertex of a run; recording the same digest again replaces the earlier record.

        `log` is cut to its last MAX_LOG_EXCERPT characters.
        """
        excerpt = self._mask(run_id, log) or ""
        if len(excerpt) > MAX_LOG_EXCERPT:
            excerpt = _TRUNCATED + excerpt[-MAX_LOG_EXCERPT:]

        with self._transaction():
            row = self._connection.execute(
                "SELECT position FROM vertices WHERE run_id = ? AND digest = ?", (run_id, digest)
            ).fetchone()
            if row is None:
                row = self._connection.execute(
                    "SELECT COALESCE(MAX(position), 0) + 1 FROM vertices WHERE run_id = ?", (run_id,)
                ).fetchone()
            self._connection.execute(
                "INSERT OR REPLACE INTO vertices (run_id, digest, position, name, cached, duration, exit_code, log)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, digest, row[0], self._mask(run_id, name), int(cached), duration, exit_code, excerpt),
            )

    def finish_run(self, run_id: int, status: str, error: str | None = None,
                   exports: Mapping[str, Any] | None = None) -> None:
        """Record the end of a run.

        For a succeeded run the environment's last success becomes this run:
        its recorded vertex digests and `exports` (output name to value).
        """
        if status not in FINAL_STATUSES:
            raise ValueError(f"invalid final status {status!r}: use one of {', '.join(FINAL_STATUSES)}")

        run = self.get_run(run_id)
        with self._transaction():
            self._connection.execute(
                "UPDATE runs SET status = ?, error = ?, ended_at = ? WHERE id = ?",
                (status, self._mask(run_id, error), time.time(), run_id),
            )
            if status == "succeeded":
                digests = {vertex.digest: vertex.name for vertex in self.vertices(run_id)}
                masked_exports = self._mask_value(run_id, dict(exports or {}))
                self._connection.execute(
                    "INSERT OR REPLACE INTO last_success (environment, run_id, vertices, exports) VALUES (?, ?, ?, ?)",
                    (run.environment, run_id, json.dumps(digests), json.dumps(masked_exports, default=str)),
                )
        self._masks.pop(run_id, None)

    def fail_abandoned_runs(self) -> list[int]:
        """Mark `running` runs whose process is gone as failed; return their ids."""
        rows = self._connection.execute("SELECT id, pid, process_start FROM runs WHERE status = 'running'").fetchall()
        abandoned = [row["id"] for row in rows if row["pid"] is None or not process_is_alive(row["pid"], row["process_start"])]

        with self._transaction():
            for run_id in abandoned:
                self._connection.execute(
                    "UPDATE runs SET status = 'failed', error = ?, ended_at = ? WHERE id = ? AND status = 'running'",
                    (PROCESS_GONE_MESSAGE, time.time(), run_id),
                )
        return abandoned

    # Queries.

    _RUN_QUERY = (
        "SELECT runs.*, COUNT(vertices.digest) AS vertex_count, COALESCE(SUM(vertices.cached), 0) AS cached_count"
        " FROM runs LEFT JOIN vertices ON vertices.run_id = runs.id"
    )

    @staticmethod
    def _run_from_row(row: sqlite3.Row) -> RunRecord:
        return RunRecord(
            id=row["id"],
            environment=row["environment"],
            plan_digest=row["plan_digest"],
            inputs_digest=row["inputs_digest"],
            started_at=row["started_at"],
            ended_at=row["ended_at"],
            status=row["status"],
            error=row["error"],
            vertex_count=row["vertex_count"],
            cached_count=row["cached_count"],
        )

    def list_runs(self, environment: str | None = None, limit: int | None = 20) -> list[RunRecord]:
        """Return runs, newest first, optionally of one environment; `limit=None` returns all."""
        where, parameters = ("WHERE runs.environment = ?", [environment]) if environment else ("", [])
        query = f"{self._RUN_QUERY} {where} GROUP BY runs.id ORDER BY runs.id DESC"
        if limit is not None:
            query += " LIMIT ?"
            parameters.append(limit)
        return [self._run_from_row(row) for row in self._connection.execute(query, parameters)]

    def get_run(self, run_id: int) -> RunRecord:
        row = self._connection.execute(f"{self._RUN_QUERY} WHERE runs.id = ? GROUP BY runs.id", (run_id,)).fetchone()
        if row is None:
            raise StateError(f"run {run_id} not found in {self.path}", "list the runs with `dagger history`")
        return self._run_from_row(row)

    def latest_run(self, environment: str | None = None) -> RunRecord | None:
        runs = self.list_runs(environment, limit=1)
        return runs[0] if runs else None

    def vertices(self, run_id: int, name: str | None = None) -> list[VertexRecord]:
        """Return a run's vertices in recording order; with `name`, only the vertices of that name."""
        query = "SELECT * FROM vertices WHERE run_id = ?"
        parameters: list[Any] = [run_id]
        if name is not None:
            query += " AND name = ?"
            parameters.append(name)
        rows = self._connection.execute(query + " ORDER BY position", parameters)
        return [
            VertexRecord(
                name=row["name"],
                digest=row["digest"],
                cached=bool(row["cached"]),
                duration=row["duration"],
                exit_code=row["exit_code"],
                log=row["log"],
            )
            for row in rows
        ]

    def last_success(self, environment: str) -> LastSuccess | None:
        row = self._connection.execute(
            "SELECT * FROM last_success WHERE environment = ?", (environment,)
        ).fetchone()
        if row is None:
            return None
        return LastSuccess(environment, row["run_id"], json.loads(row["vertices"]), json.loads(row["exports"]))


def plan_diff(previous: Mapping[str, str], current: Mapping[str, str]) -> PlanDiff:
    """Compare two vertex maps (digest to name): the names of vertices added and removed, sorted."""
    added = sorted(name for digest, name in current.items() if digest not in previous)
    removed = sorted(name for digest, name in previous.items() if digest not in current)
    unchanged = sum(1 for digest in current if digest in previous)
    return PlanDiff(added, removed, unchanged)


def open_history(workspace: Workspace) -> SQLiteHistory:
    """Open the history of a Workspace (`workspace.history_path`)."""
    return SQLiteHistory(workspace.history_path)
