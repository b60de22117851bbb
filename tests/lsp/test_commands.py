"""The workspace/executeCommand commands of dagger-lsp: LLB preview, environments, inputs, history, runs."""

from __future__ import annotations

import json

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from conftest import CLIENTS, client_config, encoding_of, initialize_params, log_messages, open_document, position_of

SECRET = "s3cr3t-value-never-shown"


async def execute(client, command: str, argument: dict | None = None, token: str | None = None):
    params = types.ExecuteCommandParams(command=command, arguments=[argument or {}], work_done_token=token)
    return await client.workspace_execute_command_async(params)


def make_workspace(root) -> None:
    from archon.engine.workspace import init

    workspace = init(root)
    workspace.create_environment("dev", root)


async def test_preview_llb_graph(client, workspace):
    path = workspace / "main.cue"
    text = path.read_text()
    uri = open_document(client, path)

    graph = await execute(client, "archon.previewLLB", {"uri": uri})

    vertices = {vertex["summary"]: vertex for vertex in graph["vertices"]}
    assert set(vertices) >= {"mkfile /greeting.txt", "exec cat /greeting.txt", "mkdir /out/more"}
    exec_vertex = vertices["exec cat /greeting.txt"]
    assert exec_vertex["kind"] == "exec"
    assert exec_vertex["component"] == "hello"
    assert exec_vertex["uri"] == uri
    assert exec_vertex["status"] == "unknown"
    start = position_of(text, "op.#Exec & {args", encoding=encoding_of(client))
    assert exec_vertex["range"]["start"] == {"line": start.line, "character": start.character}
    assert {"from": vertices["mkfile /greeting.txt"]["digest"], "to": exec_vertex["digest"]} in graph["edges"]
    assert sorted(component["path"] for component in graph["components"]) == ["base", "bundle", "hello"]
    assert graph["root"] in {vertex["digest"] for vertex in graph["vertices"]}


async def test_preview_of_broken_configuration(client, workspace):
    path = workspace / "main.cue"
    uri = open_document(client, path, path.read_text() + "\nlimit: 1 & 2\n")

    with pytest.raises(JsonRpcException) as raised:
        await execute(client, "archon.previewLLB", {"uri": uri})

    assert raised.value.code == -32001
    assert "conflicting values" in raised.value.message


async def test_preview_rejects_invalid_uri(client, workspace):
    with pytest.raises(JsonRpcException) as raised:
        await execute(client, "archon.previewLLB", {"uri": 5})

    assert raised.value.code == -32602


async def test_environments_and_inputs(client, workspace):
    make_workspace(workspace)
    path = workspace / "main.cue"
    text = path.read_text()
    uri = open_document(client, path)

    listed = await execute(client, "archon.listEnvironments")
    selected = await execute(client, "archon.selectEnvironment", {"name": "dev"})
    stored = await execute(client, "archon.setInput", {"name": "greeting", "kind": "text", "value": "hello"})
    await execute(client, "archon.setInput", {"name": "token", "kind": "secret", "value": SECRET})
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(text, "greeting:", encoding=encoding_of(client)))
    )

    assert listed == {"environments": [{"name": "dev", "plan": ".", "default": True}], "selected": "dev"}
    assert selected == {"selected": "dev"}
    assert stored == {"name": "greeting", "kind": "text", "environment": "dev"}
    saved = json.loads((workspace / ".dagger" / "environments" / "dev.json").read_text())
    assert saved["inputs"]["greeting"] == {"kind": "text", "value": "hello"}
    assert SECRET not in json.dumps(saved)
    assert "set in environment `dev`" in hover.contents.value
    traffic = json.dumps([str(params) for _, params in client.events]) + json.dumps([str(item) for item in client.log_messages])
    assert SECRET not in traffic


async def test_select_unknown_environment(client, workspace):
    make_workspace(workspace)

    with pytest.raises(JsonRpcException) as raised:
        await execute(client, "archon.selectEnvironment", {"name": "prod"})

    assert raised.value.code == -32003
    assert "'prod' not found" in raised.value.message


async def test_history_without_runs(client, workspace):
    make_workspace(workspace)

    history = await execute(client, "archon.history", {"limit": 5})

    assert history == {"runs": []}


async def test_run_stops_on_missing_input(client, workspace):
    path = workspace / "main.cue"
    text = path.read_text() + "\n// A token.\ntoken: string @input()\n"
    uri = open_document(client, path, text)

    result = await execute(client, "archon.run", {"uri": uri, "component": "hello"})

    assert result["status"] == "failed"
    failure = result["failures"][0]
    assert "input `token` is not set" in failure["message"]
    assert failure["uri"] == uri
    start = position_of(text, "token:", encoding=encoding_of(client))
    assert failure["range"]["start"] == {"line": start.line, "character": start.character}


@pytest_lsp.fixture(config=client_config(ARCHON_BUILDKIT_ADDR="unix:///nonexistent/archon-test.sock", DOCKER_HOST="unix:///nonexistent/docker.sock"), params=CLIENTS[:1])
async def offline_client(request, lsp_client: LanguageClient):
    root = request.getfixturevalue("workspace")
    await lsp_client.initialize_session(initialize_params(request.param, root))
    yield
    await lsp_client.shutdown_session()


async def test_run_without_daemon_reports_failure(offline_client, workspace):
    client = offline_client
    uri = open_document(client, workspace / "main.cue")
    token = "run-without-daemon"
    client.progress_reports[token] = []

    result = await execute(client, "archon.run", {"uri": uri, "component": "hello"}, token=token)

    assert result["status"] == "failed"
    assert result["failures"][0]["component"] == "buildkit"
    assert "no BuildKit daemon answered" in result["failures"][0]["message"]
    kinds = [type(report).__name__ for report in client.progress_reports[token]]
    assert kinds[0] == "WorkDoneProgressBegin"
    assert kinds[-1] == "WorkDoneProgressEnd"
    assert any("cue eval" in message for message in log_messages(client))


async def test_run_history_in_hover_and_lens(client, workspace):
    from archon.engine.history import open_history
    from archon.engine.workspace import Workspace

    make_workspace(workspace)
    path = workspace / "main.cue"
    text = path.read_text()
    uri = open_document(client, path)
    graph = await execute(client, "archon.previewLLB", {"uri": uri})
    digest = next(component["digest"] for component in graph["components"] if component["path"] == "hello")
    with open_history(Workspace(workspace)) as history:
        run = history.start_run("dev", "sha256:plan", "sha256:inputs")
        history.record_vertex(run, "exec cat /greeting.txt", digest, cached=True, duration=0.25)
        history.finish_run(run, "succeeded")

    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(text, "hello: $up", encoding=encoding_of(client)))
    )
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri)))

    assert "last run: ✓ cached in 0.2 s (run history)" in hover.contents.value
    titles = [lens.command.title for lens in lenses]
    assert "✓ cached in 0.2 s" in titles
