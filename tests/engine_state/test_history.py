"""Run history: recording, queries, masking, and runs whose process was killed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from archon.engine.history import (
    MAX_LOG_EXCERPT,
    PROCESS_GONE_MESSAGE,
    SQLiteHistory,
    open_history,
    plan_diff,
    process_start_marker,
)
from archon.engine.workspace import StateError, Workspace


@pytest.fixture
def history(workspace: Workspace):
    store = open_history(workspace)
    yield store
    store.close()


def record_run(history: SQLiteHistory, environment: str = "dev", status: str = "succeeded", **finish) -> int:
    run_id = history.start_run(environment, "sha256:plan", "sha256:inputs")
    history.record_vertex(run_id, "base", "sha256:a", cached=True, duration=0.1)
    history.record_vertex(run_id, "build", "sha256:b", cached=False, duration=2.5, exit_code=0, log="compiling\n")
    history.finish_run(run_id, status, **finish)
    return run_id


def test_database_in_wal_mode(history: SQLiteHistory, workspace: Workspace) -> None:
    connection = sqlite3.connect(workspace.history_path)
    mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    connection.close()

    assert history.path == workspace.state_dir / "history.db"
    assert mode == "wal"


def test_start_run_is_running(history: SQLiteHistory) -> None:
    run_id = history.start_run("dev", "sha256:plan", "sha256:inputs")
    run = history.get_run(run_id)

    assert run.status == "running"
    assert run.ended_at is None
    assert run.environment == "dev"
    assert run.plan_digest == "sha256:plan"
    assert run.inputs_digest == "sha256:inputs"


def test_finish_run_records_end(history: SQLiteHistory) -> None:
    run_id = record_run(history, status="failed", error="exec failed: exit code 2")
    run = history.get_run(run_id)

    assert run.status == "failed"
    assert run.error == "exec failed: exit code 2"
    assert run.ended_at >= run.started_at
    assert run.vertex_count == 2
    assert run.cached_count == 1


def test_finish_run_rejects_running_status(history: SQLiteHistory) -> None:
    run_id = history.start_run("dev", "p", "i")

    with pytest.raises(ValueError):
        history.finish_run(run_id, "running")


def test_cancelled_status(history: SQLiteHistory) -> None:
    run_id = record_run(history, status="cancelled")

    assert history.get_run(run_id).status == "cancelled"


def test_vertices_in_recording_order(history: SQLiteHistory) -> None:
    run_id = record_run(history)
    vertices = history.vertices(run_id)

    assert [vertex.name for vertex in vertices] == ["base", "build"]
    assert vertices[0].cached is True
    assert vertices[1].exit_code == 0
    assert vertices[1].duration == 2.5
    assert vertices[1].log == "compiling\n"


def test_vertex_recorded_twice_replaced(history: SQLiteHistory) -> None:
    run_id = history.start_run("dev", "p", "i")
    history.record_vertex(run_id, "build", "sha256:b", cached=False)
    history.record_vertex(run_id, "test", "sha256:c", cached=False)
    history.record_vertex(run_id, "build", "sha256:b", cached=False, duration=3.0, exit_code=1, log="boom")

    vertices = history.vertices(run_id)

    assert [vertex.name for vertex in vertices] == ["build", "test"]
    assert vertices[0].exit_code == 1
    assert vertices[0].log == "boom"


def test_vertices_filtered_by_name(history: SQLiteHistory) -> None:
    run_id = record_run(history)

    assert [vertex.digest for vertex in history.vertices(run_id, "build")] == ["sha256:b"]
    assert history.vertices(run_id, "nothing") == []


def test_log_excerpt_keeps_tail(history: SQLiteHistory) -> None:
    run_id = history.start_run("dev", "p", "i")
    log = "x" * MAX_LOG_EXCERPT + "THE END"

    history.record_vertex(run_id, "build", "sha256:b", cached=False, log=log)
    stored = history.vertices(run_id)[0].log

    assert stored.endswith("THE END")
    assert stored.startswith("[... earlier output truncated ...]")
    assert len(stored) < len(log) + 100


def test_list_runs_newest_first(history: SQLiteHistory) -> None:
    first = record_run(history)
    second = record_run(history, environment="prod")
    third = record_run(history)

    assert [run.id for run in history.list_runs()] == [third, second, first]
    assert [run.id for run in history.list_runs("dev")] == [third, first]
    assert [run.id for run in history.list_runs(limit=1)] == [third]
    assert history.latest_run("prod").id == second


def test_unknown_run_rejected(history: SQLiteHistory) -> None:
    with pytest.raises(StateError) as caught:
        history.get_run(42)

    assert "run 42 not found" in caught.value.message


def test_secret_values_masked_everywhere(history: SQLiteHistory, workspace: Workspace) -> None:
    secret = "tok-5ecret-value"
    run_id = history.start_run("dev", "p", "i", secret_values=[secret])
    history.record_vertex(run_id, "push", "sha256:p", cached=False, log=f"login with {secret}\n")
    history.finish_run(run_id, "succeeded", error=None, exports={"token": secret, "nested": [f"x{secret}"]})

    assert history.vertices(run_id)[0].log == "login with ***\n"
    assert history.last_success("dev").exports == {"token": "***", "nested": ["x***"]}


def test_error_message_masked(history: SQLiteHistory) -> None:
    run_id = history.start_run("dev", "p", "i", secret_values=["s3cr3t-pw"])
    history.finish_run(run_id, "failed", error="auth failed for s3cr3t-pw")

    assert history.get_run(run_id).error == "auth failed for ***"


def test_last_success_keeps_digests_and_exports(history: SQLiteHistory) -> None:
    run_id = record_run(history, exports={"version": "1.2.3"})
    record_run(history, status="failed")

    last = history.last_success("dev")

    assert last.run_id == run_id
    assert last.vertices == {"sha256:a": "base", "sha256:b": "build"}
    assert last.exports == {"version": "1.2.3"}
    assert history.last_success("prod") is None


def test_plan_diff_by_digest() -> None:
    previous = {"sha256:a": "base", "sha256:b": "build"}
    current = {"sha256:a": "base", "sha256:c": "build", "sha256:d": "test"}

    diff = plan_diff(previous, current)

    assert diff.added == ["build", "test"]
    assert diff.removed == ["build"]
    assert diff.unchanged == 1


def test_live_run_stays_running(workspace: Workspace) -> None:
    first = open_history(workspace)
    run_id = first.start_run("dev", "p", "i")

    second = open_history(workspace)
    status = second.get_run(run_id).status
    first.close()
    second.close()

    assert status == "running"


_RUNNER = """
import sys, time
from archon.engine.history import SQLiteHistory
history = SQLiteHistory(sys.argv[1])
run_id = history.start_run("dev", "sha256:plan", "sha256:inputs")
history.record_vertex(run_id, "build", "sha256:b", cached=False, log="half way")
print(run_id, flush=True)
time.sleep(60)
"""


def test_killed_run_failed_on_next_open(workspace: Workspace) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, str(workspace.history_path)], stdout=subprocess.PIPE, text=True
    )
    run_id = int(child.stdout.readline())

    with open_history(workspace) as history:
        assert history.get_run(run_id).status == "running"

    child.send_signal(signal.SIGKILL)
    child.wait()

    with open_history(workspace) as history:
        run = history.get_run(run_id)

    assert run.status == "failed"
    assert run.error == PROCESS_GONE_MESSAGE
    assert run.ended_at is not None


def test_reused_pid_detected(history: SQLiteHistory, workspace: Workspace) -> None:
    # A running run stored with this process's pid but another start marker
    # belongs to a process that ended; the pid was reused.
    run_id = history.start_run("dev", "p", "i")
    connection = sqlite3.connect(workspace.history_path)
    connection.execute("UPDATE runs SET process_start = 'another-boot:1' WHERE id = ?", (run_id,))
    connection.commit()
    connection.close()

    with open_history(workspace) as reopened:
        assert reopened.get_run(run_id).status == "failed"


def test_start_marker_of_live_process() -> None:
    marker = process_start_marker(os.getpid())

    if marker is None:
        pytest.skip("no /proc on this system")
    assert marker == process_start_marker(os.getpid())
    assert ":" in marker


def test_start_marker_of_missing_process() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()

    assert process_start_marker(child.pid) is None


def test_history_shared_between_connections(workspace: Workspace) -> None:
    with open_history(workspace) as writer:
        run_id = record_run(writer)

    with open_history(workspace) as reader:
        assert reader.get_run(run_id).status == "succeeded"


def test_history_file_created_in_workspace(workspace: Workspace) -> None:
    assert not workspace.history_path.exists()

    with open_history(workspace):
        pass

    assert Path(workspace.history_path).is_file()
