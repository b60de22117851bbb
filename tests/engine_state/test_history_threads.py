"""A run recorded from two threads, as the language server records it."""

from __future__ import annotations

import threading

from archon.engine.history import SQLiteHistory


def test_run_finished_in_another_thread(tmp_path):
    history = SQLiteHistory(tmp_path / "history.db")
    run_id = history.start_run("dev", "sha256:plan", "sha256:inputs")
    failures: list[BaseException] = []

    def finish() -> None:
        try:
            history.record_vertex(run_id, "build #1 exec", "sha256:vertex", cached=False, duration=0.5)
            history.finish_run(run_id, "succeeded", exports={"version": "1.0"})
        except BaseException as problem:  # handed to the main thread's asserts
            failures.append(problem)

    worker = threading.Thread(target=finish)
    worker.start()
    worker.join()

    assert failures == []
    assert history.get_run(run_id).status == "succeeded"
    assert [vertex.name for vertex in history.vertices(run_id)] == ["build #1 exec"]
