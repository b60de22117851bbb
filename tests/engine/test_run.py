"""`run` against real daemons: outputs through FileSend, local sources, secrets, failures, cancellation."""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import time
import urllib.error
import urllib.request

import pytest

from archon.engine.buildkit.client import Client, SolveError
from archon.engine.buildkit.transport import docker_get_json
from archon.engine.run import CANCELLED, FAILED, SUCCEEDED, run, start_run
from archon.runtime.diagnostics import Span
from archon.runtime.plan import DirectoryOutput, ExportOutput, ImageOutput, LocalSource

from .conftest import ROOTFS, setting
from .llb_graph import Graph, Mount

pytestmark = pytest.mark.daemon


def _sources(rootfs, **extra) -> dict[str, LocalSource]:
    sources = {ROOTFS: LocalSource(ROOTFS, str(rootfs))}
    sources.update(extra)
    return sources


def _staging_leftovers(folder) -> list[str]:
    return [name for name in os.listdir(folder) if ".archon-staging-" in name]


def test_run_delivers_exports_and_directories(address, rootfs, nonce, tmp_path):
    graph = Graph()
    script = (
        f"echo '  greeting {nonce}  ' > /out/greeting; "
        "printf '{\"replicas\": 3}' > /out/config.json; "
        "mkdir -p /out/site/css; echo '<h1>hi</h1>' > /out/site/index.html; echo 'a{}' > /out/site/css/a.css"
    )
    _, out = graph.exec(graph.rootfs(), script, [Mount("/out", output=True)])
    root = graph.bundle(
        exports={"greeting": (out, "/greeting"), "config": (out, "/config.json")},
        directories={"site": (out, "/site")},
    )
    destination = tmp_path / "public"
    plan = graph.plan(
        root,
        local_sources=_sources(rootfs),
        exports=(ExportOutput("greeting", "/exports/greeting", "string"), ExportOutput("config", "/exports/config", "json")),
        directories=(DirectoryOutput("site", "/dirs/site", str(destination)),),
    )

    result = run(plan, address, secrets={}, progress_mode="quiet")

    assert result.status == SUCCEEDED, result.failure and result.failure.format()
    assert result.exports == {"greeting": f"greeting {nonce}", "config": {"replicas": 3}}
    assert (destination / "index.html").read_text() == "<h1>hi</h1>\n"
    assert (destination / "css" / "a.css").read_text() == "a{}\n"
    assert _staging_leftovers(tmp_path) == []
    assert {(output.name, output.kind) for output in result.outputs} == {
        ("greeting", "export"), ("config", "export"), ("site", "directory"),
    }


def test_run_replaces_previous_directory_contents(address, rootfs, nonce, tmp_path):
    destination = tmp_path / "site"
    destination.mkdir()
    (destination / "stale.html").write_text("old")
    graph = Graph()
    _, out = graph.exec(graph.rootfs(), f"echo {nonce} > /out/new.html", [Mount("/out", output=True)])
    plan = graph.plan(
        graph.bundle(directories={"site": (out, "/")}),
        local_sources=_sources(rootfs),
        directories=(DirectoryOutput("site", "/dirs/site", str(destination)),),
    )

    result = run(plan, address, secrets={}, progress_mode="quiet")

    assert result.status == SUCCEEDED, result.failure and result.failure.format()
    assert sorted(os.listdir(destination)) == ["new.html"]


def test_local_source_honors_include_and_exclude(address, rootfs, nonce, tmp_path):
    context = tmp_path / "context"
    for path in ["a.txt", "b.log", "sub/c.txt", "sub/d.txt", "sub/e.log", "skip/f.txt"]:
        (context / path).parent.mkdir(parents=True, exist_ok=True)
        (context / path).write_text(f"{path} {nonce}")
    include, exclude = ["*.txt", "sub"], ["sub/d.txt", "**/*.log"]
    graph = Graph()
    source = graph.local("context", include=include, exclude=exclude)
    _, out = graph.exec(
        graph.rootfs(),
        f"cd /src && find . -type f | sort > /out/files # {nonce}",
        [Mount("/src", source=source, readonly=True), Mount("/out", output=True)],
    )
    plan = graph.plan(
        graph.bundle(exports={"files": (out, "/files")}),
        local_sources=_sources(rootfs, context=LocalSource("context", str(context), tuple(include), tuple(exclude))),
        exports=(ExportOutput("files", "/exports/files", "string"),),
    )

    result = run(plan, address, secrets={}, progress_mode="quiet")

    assert result.status == SUCCEEDED, result.failure and result.failure.format()
    assert result.exports["files"].split("\n") == ["./a.txt", "./sub/c.txt"]


def test_secret_mount_is_readable_and_masked(address, rootfs, nonce, tmp_path):
    secret = f"first-line-{nonce}\nsecond-line-{nonce}"
    graph = Graph()
    _, out = graph.exec(
        graph.rootfs(),
        # The exec copies only a hash of the secret into its output, and
        # prints the value to its log, which the progress output must mask.
        "sha256sum /run/secrets/token | cut -d' ' -f1 > /out/hash; cat /run/secrets/token",
        [Mount("/out", output=True), Mount("/run/secrets/token", secret="token")],
        name=f"use secret {nonce}",
    )
    plan = graph.plan(
        graph.bundle(exports={"hash": (out, "/hash")}),
        local_sources=_sources(rootfs),
        secrets=("token",),
        exports=(ExportOutput("hash", "/exports/hash", "string"),),
    )
    plain, lines = io.StringIO(), io.StringIO()
    events = []

    result = run(plan, address, secrets={"token": secret}, progress_mode="plain", stream=plain, listeners=[events.append])
    run(plan, address, secrets={"token": secret}, progress_mode="json", stream=lines)

    assert result.status == SUCCEEDED, result.failure and result.failure.format()
    assert result.exports["hash"] == hashlib.sha256(secret.encode()).hexdigest()
    everything = plain.getvalue() + lines.getvalue() + json.dumps([event.to_json() for event in events])
    for part in secret.split("\n"):
        assert part.encode() not in plan.definition
        assert part not in everything
        assert part not in json.dumps([record.log for record in result.vertices])
    assert "****" in plain.getvalue()


def test_unknown_secret_fails_before_solve(address, rootfs):
    graph = Graph()
    root = graph.exec(graph.rootfs(), "true", [Mount("/run/secrets/token", secret="token")])[0]
    plan = graph.plan(root, local_sources=_sources(rootfs), secrets=("token",))

    result = run(plan, address, secrets={}, progress_mode="quiet")

    assert result.status == FAILED
    assert "secret 'token'" in result.failure.message


def test_status_events_cover_vertices(address, rootfs, nonce):
    graph = Graph()
    root = graph.exec(graph.rootfs(), f"echo event-{nonce}", name=f"events {nonce}")[0]
    plan = graph.plan(root, local_sources=_sources(rootfs))
    events = []
    stream = io.StringIO()

    result = run(plan, address, secrets={}, progress_mode="json", stream=stream, listeners=[events.append])

    assert result.status == SUCCEEDED, result.failure and result.failure.format()
    kinds = {(event.kind, event.digest) for event in events}
    assert ("vertex.started", root.digest) in kinds
    assert ("vertex.completed", root.digest) in kinds
    assert any(event.kind == "log" and event.text == f"event-{nonce}" for event in events)
    decoded = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert decoded[-1]["event"] == "run.finished"
    assert {"vertex.completed", "log"} <= {line["event"] for line in decoded}
    record = next(record for record in result.vertices if record.digest == root.digest)
    assert record.cached is False
    assert record.duration is not None


def test_failing_exec_reports_exit_code_and_source(address, rootfs, nonce, tmp_path):
    graph = Graph()
    root = graph.exec(graph.rootfs(), f"echo 'about to fail {nonce}'; exit 3")[0]
    span = Span.point(str(tmp_path / "archon.cue"), 12, 5)
    plan = graph.plan(root, local_sources=_sources(rootfs), components={root.digest: ("build", span)})

    result = run(plan, address, secrets={}, progress_mode="quiet")

    assert result.status == FAILED
    assert result.failure.exit_code == 3
    assert result.failure.span == span
    assert result.failure.component == "build"
    assert f"about to fail {nonce}" in result.failure.log_tail
    assert result.failure.format().startswith(f"{span}: error: build failed with exit code 3")


class _CountingSolves:
    """Counts Client.solve calls and fails the first `failures` with `message` before they reach the daemon."""

    def __init__(self, monkeypatch, failures: int, message: str):
        self.calls = 0
        solve = Client.solve

        def counting_solve(client, *args, **kwargs):
            self.calls += 1
            if self.calls <= failures:
                raise SolveError(message)
            return solve(client, *args, **kwargs)

        monkeypatch.setattr(Client, "solve", counting_solve)


def test_transient_daemon_error_solves_again(address, rootfs, nonce, tmp_path, monkeypatch):
    solves = _CountingSolves(monkeypatch, 1, "executor failed running [sh -c true]: flightcontrol: exceeded retry timeout")
    graph = Graph()
    _, out = graph.exec(graph.rootfs(), f"echo {nonce} > /out/value", [Mount("/out", output=True)])
    plan = graph.plan(
        graph.bundle(exports={"value": (out, "/value")}),
        local_sources=_sources(rootfs),
        exports=(ExportOutput("value", "/exports/value", "string"),),
    )
    progress = io.StringIO()

    result = run(plan, address, secrets={}, progress_mode="plain", stream=progress)

    assert result.status == SUCCEEDED, result.failure and result.failure.format()
    assert result.exports == {"value": nonce}
    assert solves.calls == 2
    assert result.retries == 1
    assert "solving again, attempt 2 of 3" in progress.getvalue()


def test_other_daemon_errors_are_not_solved_again(address, rootfs, nonce, monkeypatch):
    solves = _CountingSolves(monkeypatch, 1, "executor failed running [sh -c true]: exit code: 9")
    graph = Graph()
    plan = graph.plan(graph.exec(graph.rootfs(), f"echo {nonce}")[0], local_sources=_sources(rootfs))

    result = run(plan, address, secrets={}, progress_mode="quiet")

    assert result.status == FAILED
    assert solves.calls == 1


def test_failure_leaves_outputs_intact(address, rootfs, nonce, tmp_path):
    destination = tmp_path / "site"
    destination.mkdir()
    (destination / "index.html").write_text("previous")
    graph = Graph()
    _, out = graph.exec(graph.rootfs(), f"echo {nonce} > /out/index.html", [Mount("/out", output=True)])
    failing = graph.exec(graph.rootfs(), f"exit 1 # {nonce}", [Mount("/in", source=out)])[0]
    bundle = graph.bundle(directories={"site": (out, "/")})
    root = graph.copy(failing, "/bin/busybox", "/ignored", onto=bundle)
    plan = graph.plan(
        root, local_sources=_sources(rootfs), directories=(DirectoryOutput("site", "/dirs/site", str(destination)),)
    )

    result = run(plan, address, secrets={}, progress_mode="quiet")

    assert result.status == FAILED
    assert (destination / "index.html").read_text() == "previous"
    assert _staging_leftovers(tmp_path) == []


def test_cancel_stops_run_and_keeps_destination(address, rootfs, nonce, tmp_path):
    destination = tmp_path / "site"
    destination.mkdir()
    (destination / "index.html").write_text("previous")
    graph = Graph()
    _, out = graph.exec(graph.rootfs(), f"sleep 30; echo {nonce} > /out/index.html", [Mount("/out", output=True)])
    plan = graph.plan(
        graph.bundle(directories={"site": (out, "/")}),
        local_sources=_sources(rootfs),
        directories=(DirectoryOutput("site", "/dirs/site", str(destination)),),
    )
    stream = io.StringIO()
    started = time.monotonic()

    handle = start_run(plan, address, secrets={}, progress_mode="plain", stream=stream)
    time.sleep(1.0)
    handle.cancel()
    result = handle.result(timeout=30)

    assert result.status == CANCELLED
    assert time.monotonic() - started < 20
    assert (destination / "index.html").read_text() == "previous"
    assert _staging_leftovers(tmp_path) == []
    assert "cancelled" in stream.getvalue()


def _registry_has(registry: str, repository: str, tag: str) -> bool:
    request = urllib.request.Request(
        f"http://{registry}/v2/{repository}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
                           "application/vnd.docker.distribution.manifest.v2+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status == 200
    except urllib.error.HTTPError:
        return False


@pytest.mark.parametrize("push", [False, True], ids=["store", "push"])
def test_image_output_is_cache_hit(address, backend, rootfs, nonce, push):
    registry = setting("ARCHON_REGISTRY")
    if (push or backend == "buildkitd") and not registry:
        pytest.skip("no registry to push to: set ARCHON_REGISTRY or start the daemons with `scripts/daemons start`")
    if backend == "buildkitd" and not push:
        pytest.skip("buildkitd has no image store of its own: image outputs are always pushed there")
    graph = Graph()
    image_root = graph.exec(graph.rootfs(), f"echo {nonce} > /version")[0]
    image_definition = graph.definition(image_root)
    root = graph.bundle(exports={"version": (image_root, "/version")})
    repository, tag = "archon-test/image", nonce[:12]
    ref = f"{registry}/{repository}:{tag}" if push else f"{repository}:{tag}"
    plan = graph.plan(
        root,
        local_sources=_sources(rootfs),
        exports=(ExportOutput("version", "/exports/version", "string"),),
        images=(ImageOutput("app", ref, push, image_definition),),
    )

    result = run(plan, address, secrets={}, progress_mode="quiet")

    assert result.status == SUCCEEDED, result.failure and result.failure.format()
    assert ("app", "image", ref) in {(o.name, o.kind, o.location) for o in result.outputs}
    exec_records = [record for record in result.image_vertices["app"] if record.digest == image_root.digest]
    assert exec_records
    assert all(record.cached for record in exec_records)
    if backend == "docker":
        docker_socket = address.removeprefix("docker://")
        assert docker_get_json(docker_socket, f"/images/{ref}/json")["Id"]
    if push:
        assert _registry_has(registry, repository, tag)
