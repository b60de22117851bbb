"""`archon.run` through dagger-lsp against a real BuildKit daemon: progress, log lines, results, cancellation.

The daemon's address comes from ARCHON_BUILDKITD_ADDR (or `scripts/daemons
env`, as for the engine tests); without one the tests are skipped. The
configuration runs on a root file system made of a static busybox, sent
as a local directory, so no image registry is needed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import REPOSITORY, client_config, encoding_of, initialize_params, open_document, wait_for

pytestmark = [pytest.mark.daemon, pytest.mark.buildkitd]


def daemon_address() -> str | None:
    address = os.environ.get("ARCHON_BUILDKITD_ADDR")
    if address:
        return address
    script = REPOSITORY / "scripts" / "daemons"
    try:
        output = subprocess.run(["bash", str(script), "env"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in output.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        if name == "ARCHON_BUILDKITD_ADDR":
            return value.strip("'\"") or None
    return None


ADDRESS = daemon_address()


def busybox_rootfs(folder: Path) -> None:
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox):
        pytest.skip("a static busybox is needed for the root file system: apt-get install busybox-static")
    (folder / "bin").mkdir(parents=True)
    shutil.copy2(busybox, folder / "bin" / "busybox")
    for applet in ("sh", "cat", "echo", "sleep"):
        (folder / "bin" / applet).symlink_to("busybox")
    for name in ("tmp", "etc", "dev", "proc"):
        (folder / name).mkdir()


@pytest.fixture
def run_workspace(tmp_path: Path) -> Path:
    root = tmp_path / "run"
    busybox_rootfs(root / "rootfs")
    (root / "cue.mod").mkdir(parents=True)
    (root / "cue.mod" / "module.cue").write_text('module: "archon.test/run"\nlanguage: version: "v0.17.0"\n')
    nonce = uuid.uuid4().hex
    (root / "main.cue").write_text(
        "package run\n\n"
        'import "archon.dev/op"\n\n'
        'rootfs: $up: [op.Local & {dir: "rootfs"}]\n\n'
        "hello: $up: [\n"
        "\top.Load & {from: rootfs},\n"
        f'\top.Exec & {{args: ["sh", "-c", "echo hello-{nonce}"]}},\n'
        "]\n\n"
        "slow: $up: [\n"
        "\top.Load & {from: rootfs},\n"
        f'\top.Exec & {{args: ["sh", "-c", "echo start-{nonce}; sleep 60"]}},\n'
        "]\n"
    )
    return root


@pytest_lsp.fixture(config=client_config(ARCHON_BUILDKIT_ADDR=ADDRESS or ""), params=["visual-studio-code"])
async def run_client(request, lsp_client: LanguageClient):
    if not ADDRESS:
        pytest.skip("no buildkitd address: set ARCHON_BUILDKITD_ADDR or start the daemons with `scripts/daemons start`")
    root = request.getfixturevalue("run_workspace")
    await lsp_client.initialize_session(initialize_params(request.param, root))
    yield
    await lsp_client.shutdown_session()


def run_lines(client) -> list[str]:
    return [params.line for method, params in client.events if method == "archon/runLog"]


async def test_run_component_reports_progress(run_client, run_workspace):
    client = run_client
    uri = open_document(client, run_workspace / "main.cue")
    token = "run-hello"
    client.progress_reports[token] = []
    params = types.ExecuteCommandParams(command="archon.run", arguments=[{"uri": uri, "component": "hello"}], work_done_token=token)

    result = await client.workspace_execute_command_async(params)

    assert result["status"] == "succeeded", result["failures"]
    assert result["failures"] == []
    assert any(line.startswith("hello-") for line in run_lines(client))
    assert not any(line.startswith("start-") for line in run_lines(client))
    reports = client.progress_reports[token]
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)
    assert any(isinstance(report, types.WorkDoneProgressReport) and report.percentage == 100 for report in reports)

    lenses = await client.text_document_code_lens_async(types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    titles = [lens.command.title for lens in lenses]
    assert any(title.startswith("✓ ran in") for title in titles)
    graph = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="archon.previewLLB", arguments=[{"uri": uri}]))
    statuses = {vertex["summary"]: vertex["status"] for vertex in graph["vertices"] if vertex["component"] == "hello"}
    assert set(statuses.values()) == {"ran"}
    assert encoding_of(client) == "utf-16"


async def test_run_cancelled_by_progress_token(run_client, run_workspace):
    client = run_client
    uri = open_document(client, run_workspace / "main.cue")
    token = "run-slow"
    client.progress_reports[token] = []
    params = types.ExecuteCommandParams(command="archon.run", arguments=[{"uri": uri, "component": "slow"}], work_done_token=token)

    pending = asyncio.ensure_future(client.workspace_execute_command_async(params))
    await wait_for(lambda: any(line.startswith("start-") for line in run_lines(client)), timeout=120, what="the slow exec to start")
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    result = await asyncio.wait_for(pending, 60)

    assert result["status"] == "cancelled"
    assert result["durationMs"] < 60_000
