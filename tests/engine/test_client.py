"""The Control client against real daemons: workers, status, cancellation, disk usage, prune."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from archon.engine.buildkit.client import Client, SolveCancelled, SolveError
from archon.engine.buildkit.digests import daemon_digests
from archon.engine.buildkit.services.filesync import FileSyncService, SyncedDir
from archon.engine.buildkit.services.health import HealthService
from archon.engine.buildkit.session import Session

from .conftest import ROOTFS
from .llb_graph import Graph, Mount

pytestmark = pytest.mark.daemon


def test_connect_describes_daemon(connection, backend):
    description = connection.describe()
    assert description.startswith("Docker " if backend == "docker" else "buildkitd")
    assert connection.info.worker_id


def test_list_workers(connection):
    workers = Client(connection).list_workers()
    assert workers
    assert any(platform.startswith("linux/") for platform in workers[0].platforms)


def _solve(connection, rootfs, graph, root, statuses=None, dirs=None, cancel_event=None):
    synced = {ROOTFS: SyncedDir(ROOTFS, str(rootfs))}
    synced.update({name: SyncedDir(name, path) for name, path in (dirs or {}).items()})
    client = Client(connection)
    with Session([HealthService(), FileSyncService(synced)]) as session:
        session.attach(connection)
        return client.solve(
            graph.definition(root),
            ref=uuid.uuid4().hex,
            session_id=session.id,
            on_status=statuses.append if statuses is not None else None,
            cancel_event=cancel_event,
        )


def test_status_stream_reports_vertices_and_logs(connection, rootfs, nonce):
    graph = Graph()
    root = graph.exec(graph.rootfs(), f"echo status-log-{nonce}")[0]
    statuses = []

    _solve(connection, rootfs, graph, root, statuses)

    to_plan = daemon_digests(graph.definition(root))
    completed = {to_plan.get(v.digest) for s in statuses for v in s.vertexes if v.completed.seconds}
    logs = b"".join(entry.msg for s in statuses for entry in s.logs if to_plan.get(entry.vertex) == root.digest)
    assert root.digest in completed
    assert f"status-log-{nonce}".encode() in logs


def test_failing_solve_raises_with_exit_code(connection, rootfs, nonce):
    graph = Graph()
    root = graph.exec(graph.rootfs(), f"echo {nonce}; exit 7")[0]

    with pytest.raises(SolveError) as caught:
        _solve(connection, rootfs, graph, root)

    assert caught.value.exit_code == 7


def test_solve_cancel_stops_daemon(connection, rootfs, nonce):
    graph = Graph()
    root = graph.exec(graph.rootfs(), f"sleep 30 # {nonce}")[0]
    cancel = threading.Event()
    timer = threading.Timer(1.0, cancel.set)
    timer.start()
    started = time.monotonic()

    with pytest.raises(SolveCancelled):
        _solve(connection, rootfs, graph, root, cancel_event=cancel)

    timer.cancel()
    assert time.monotonic() - started < 20


def test_disk_usage_lists_records(connection, rootfs, nonce):
    graph = Graph()
    _solve(connection, rootfs, graph, graph.exec(graph.rootfs(), f"echo {nonce} > /x")[0])

    records = Client(connection).disk_usage()

    assert records
    assert all(record.size >= 0 for record in records)
    assert all(record.id for record in records)


def test_prune_removes_matching_record(connection, rootfs, nonce, tmp_path):
    # A local source leaves a cache record described as "local source for
    # <name>". A prune filtered on its id removes only that record and
    # leaves the rest of a shared daemon's cache alone. The id is used
    # because BuildKit v0.8 ignores regular-expression filters on the
    # description.
    (tmp_path / "file").write_text(nonce)
    name = f"prune{nonce[:12]}"
    graph = Graph()
    source = graph.local(name)
    root = graph.exec(graph.rootfs(), "cat /src/file", [Mount("/src", source=source, readonly=True)])[0]
    _solve(connection, rootfs, graph, root, dirs={name: str(tmp_path)})
    client = Client(connection)
    described = [record for record in client.disk_usage() if name in record.description]
    assert described

    pruned = client.prune(all=True, filters=[f"id=={described[0].id}"])

    assert [record.id for record in pruned] == [described[0].id]
    assert described[0].id not in {record.id for record in client.disk_usage()}
