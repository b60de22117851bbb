"""dagger-lsp under faults: a failing handler, cancelled requests, odd input, position encodings."""

from __future__ import annotations

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

from conftest import CLIENTS, client_config, encoding_of, initialize_params, log_messages, open_document, position_of, wait_for

EMOJI_LINE = 'smiles: $up: [{dest: "😀😀", do: "mkdri", path: "/x"}]\n'
EMOJI_CONFLICT = 'faces: {text: "😀", count: 1 & 2}\n'


@pytest_lsp.fixture(config=client_config(ARCHON_LSP_FAULT="textDocument/hover"), params=CLIENTS)
async def faulty_client(request, lsp_client: LanguageClient):
    root = request.getfixturevalue("workspace")
    await lsp_client.initialize_session(initialize_params(request.param, root))
    yield
    await lsp_client.shutdown_session()


async def test_failing_handler_keeps_server(faulty_client, workspace):
    client = faulty_client
    path = workspace / "main.cue"
    uri = open_document(client, path)
    hover = types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=9, character=5))

    with pytest.raises(JsonRpcException) as raised:
        await client.text_document_hover_async(hover)
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    with pytest.raises(JsonRpcException):
        await client.text_document_hover_async(hover)

    assert raised.value.code == -32603
    assert "textDocument/hover failed: RuntimeError: fault injected" in raised.value.message
    assert [symbol.name for symbol in symbols] == ["greeting", "base", "hello"]
    errors = [message for message in client.log_messages if message.type == types.MessageType.Error]
    assert any("textDocument/hover failed" in message.message for message in errors)


async def test_cancelled_request_not_computed(client, workspace):
    uri = open_document(client, workspace / "main.cue")
    params = types.ExecuteCommandParams(command="archon.previewLLB", arguments=[{"uri": uri}])

    # The analysis waits for the debounce delay and cue, so the cancellation
    # reaches the server while the request still waits for it.
    pending = asyncio.ensure_future(client.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="preview-to-cancel"))
    await asyncio.sleep(0.02)
    client.cancel_request(types.CancelParams(id="preview-to-cancel"))

    with pytest.raises(JsonRpcRequestCancelled):
        await pending
    await wait_for(lambda: any("analysed" in message for message in log_messages(client)), what="the full pass")
    assert not any("previewLLB: rendered" in message for message in log_messages(client))
    graph = await client.workspace_execute_command_async(params)
    assert graph["vertices"]
    assert any("previewLLB: rendered" in message for message in log_messages(client))


@pytest.mark.parametrize(
    "text",
    [
        "\x00\x01\x02 {{{{ ]]]] @@@ \"unterminated",
        "[" * 3000,
        "package x\n" + "a: " * 2000 + "1\n",
        "\ufeffpackage x\r\nb: \"\\u00\"\r\n😀: 1\n",
    ],
    ids=["binary", "deep-nesting", "long-chain", "bom-crlf-emoji"],
)
async def test_odd_input_gets_answers(client, workspace, text):
    uri = open_document(client, workspace / "odd.cue", text)
    position = types.Position(line=0, character=3)

    hover = await client.text_document_hover_async(types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position))
    await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    await client.text_document_completion_async(types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position))
    await wait_for(lambda: uri in client.diagnostics, what="diagnostics of the odd file")

    assert hover is None or hover.contents is not None
    assert client.error is None


async def test_encoding_negotiated(client, workspace):
    offered = client.capabilities.general.position_encodings if client.capabilities.general else None

    expected = "utf-8" if offered and "utf-8" in offered else "utf-16"

    assert client.initialize_result.capabilities.position_encoding == expected
    await wait_for(lambda: any(f"position encoding {expected}" in message for message in log_messages(client)), what="the start-up message")


async def test_spec_error_range_after_emoji(client, workspace):
    path = workspace / "main.cue"
    text = path.read_text() + EMOJI_LINE
    uri = open_document(client, path, text)

    found = await wait_for(lambda: [item for item in client.diagnostics.get(uri) or [] if item.code == "unknown-op"], what="unknown-op")

    encoding = encoding_of(client)
    assert found[0].range.start == position_of(text, '"mkdri"', encoding=encoding)
    assert found[0].range.end == position_of(text, '"mkdri"', offset=7, encoding=encoding)


async def test_cue_error_range_after_emoji(client, workspace):
    path = workspace / "main.cue"
    text = path.read_text() + EMOJI_CONFLICT
    uri = open_document(client, path, text)

    found = await wait_for(lambda: [item for item in client.diagnostics.get(uri) or [] if item.code == "cue"], what="the cue conflict")

    encoding = encoding_of(client)
    positions = [found[0].range.start] + [info.location.range.start for info in found[0].related_information or []]
    assert position_of(text, "1 & 2", encoding=encoding) in positions
    assert position_of(text, "1 & 2", offset=4, encoding=encoding) in positions
