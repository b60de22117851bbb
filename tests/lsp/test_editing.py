"""Hover, completion, definition, document symbols, formatting and code lenses of dagger-lsp."""

from __future__ import annotations

from lsprotocol import types

from conftest import encoding_of, log_messages, open_document, position_of, wait_for

OP_SPEC = "runtime/spec/cue/op/op.cue"


def hover_params(uri: str, position: types.Position) -> types.HoverParams:
    return types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)


def hover_text(hover: types.Hover | None) -> str:
    assert hover is not None
    return hover.contents.value


async def analysed(client) -> None:
    await wait_for(lambda: any("analysed" in message for message in log_messages(client)), what="the full pass")


async def test_hover_on_op_definition(client, workspace):
    path = workspace / "main.cue"
    text = path.read_text()
    uri = open_document(client, path)
    encoding = encoding_of(client)

    hover = await client.text_document_hover_async(hover_params(uri, position_of(text, "#Exec", offset=2, encoding=encoding)))

    assert "op `exec`" in hover_text(hover)
    assert "Run a command on the current file system." in hover_text(hover)
    assert hover.range.start == position_of(text, "#Exec", encoding=encoding)
    assert hover.range.end == position_of(text, "#Exec", offset=5, encoding=encoding)


async def test_hover_on_op_field(client, workspace):
    path = workspace / "main.cue"
    text = path.read_text()
    uri = open_document(client, path)

    hover = await client.text_document_hover_async(hover_params(uri, position_of(text, "args:", offset=1, encoding=encoding_of(client))))

    assert "`[string, ...string]`" in hover_text(hover)
    assert "Command and its arguments" in hover_text(hover)


async def test_hover_after_emoji_range(client, workspace):
    # `content` sits after no emoji, but `greeting` inside the interpolation
    # follows one: its range must count the emoji as the encoding does.
    path = workspace / "main.cue"
    text = path.read_text()
    uri = open_document(client, path)
    encoding = encoding_of(client)
    start = position_of(text, "greeting)", encoding=encoding)
    await analysed(client)

    hover = await client.text_document_hover_async(hover_params(uri, types.Position(line=start.line, character=start.character + 1)))

    assert "input `greeting`" in hover_text(hover)
    assert hover.range.start == start
    assert hover.range.end == position_of(text, "greeting)", offset=len("greeting"), encoding=encoding)


async def test_hover_on_component(client, workspace):
    path = workspace / "main.cue"
    text = path.read_text()
    uri = open_document(client, path)
    await analysed(client)

    hover = await client.text_document_hover_async(hover_params(uri, position_of(text, "hello: $up", encoding=encoding_of(client))))

    assert "component `hello`" in hover_text(hover)
    assert "2 op(s), 2 vertices in the plan" in hover_text(hover)
    assert "depends on `base`" in hover_text(hover)
    assert "inputs: `greeting`" in hover_text(hover)


async def test_completion_after_do(client, workspace):
    path = workspace / "extra.cue"
    text = path.read_text().replace('{do: "mkdir", path: "/out/more"}', '{do: "')
    uri = open_document(client, path, text)
    position = position_of(text, '{do: "', offset=6, encoding=encoding_of(client))

    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )

    labels = [item.label for item in result.items]
    assert "exec" in labels
    assert "fetch-container" in labels
    assert "docker-build" in labels


async def test_completion_of_op_fields(client, workspace):
    path = workspace / "extra.cue"
    text = path.read_text().replace('{do: "mkdir", path: "/out/more"}', '{do: "mkdir", path: "/out/more", pa}')
    uri = open_document(client, path, text)
    position = position_of(text, ", pa}", offset=4, encoding=encoding_of(client))

    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )

    labels = [item.label for item in result.items]
    assert "parents" in labels
    assert "mode" in labels
    assert "path" not in labels


async def test_completion_of_components(client, workspace):
    path = workspace / "extra.cue"
    text = path.read_text().replace("op.Copy & {from: base,", "op.Copy & {from: ba,")
    uri = open_document(client, path, text)
    await analysed(client)
    position = position_of(text, "from: ba,", offset=8, encoding=encoding_of(client))

    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )

    labels = [item.label for item in result.items]
    assert "base" in labels
    assert "hello" in labels


async def test_completion_of_imports(client, workspace):
    path = workspace / "extra.cue"
    text = path.read_text().replace('import "archon.dev/op"', 'import "archon.dev/')
    uri = open_document(client, path, text)
    position = position_of(text, 'import "archon.dev/', offset=len('import "archon.dev/'), encoding=encoding_of(client))

    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )

    labels = [item.label for item in result.items]
    assert "archon.dev/op" in labels
    assert "archon.dev/catalog/busybox" in labels


async def test_definition_of_component_reference(client, workspace):
    extra = workspace / "extra.cue"
    text = extra.read_text()
    uri = open_document(client, extra)
    main_text = (workspace / "main.cue").read_text()

    locations = await client.text_document_definition_async(
        types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(text, "from: base", offset=7, encoding=encoding_of(client)))
    )

    assert len(locations) == 1
    assert locations[0].uri == (workspace / "main.cue").as_uri()
    assert locations[0].range.start == position_of(main_text, "base: $up", encoding=encoding_of(client))


async def test_definition_of_op_and_import(client, workspace):
    path = workspace / "main.cue"
    text = path.read_text()
    uri = open_document(client, path)
    encoding = encoding_of(client)

    op = await client.text_document_definition_async(
        types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(text, "#Exec", offset=1, encoding=encoding))
    )
    imported = await client.text_document_definition_async(
        types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position_of(text, '"archon.dev/op"', offset=3, encoding=encoding))
    )

    assert op[0].uri.endswith(OP_SPEC)
    assert imported[0].uri.endswith(OP_SPEC)
    assert imported[0].range.start == types.Position(line=0, character=0)


async def test_document_symbols(client, workspace):
    path = workspace / "main.cue"
    uri = open_document(client, path)

    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri)))

    by_name = {symbol.name: symbol for symbol in symbols}
    assert list(by_name) == ["greeting", "base", "hello"]
    assert by_name["hello"].kind == types.SymbolKind.Class
    assert by_name["greeting"].kind == types.SymbolKind.Variable
    assert [child.name for child in by_name["hello"].children] == ["1. load", "2. exec"]


async def test_formatting_whole_document(client, workspace):
    path = workspace / "extra.cue"
    text = path.read_text().replace("bundle: #up: [", "bundle:     #up: [")
    uri = open_document(client, path, text)

    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(text_document=types.TextDocumentIdentifier(uri=uri), options=types.FormattingOptions(tab_size=4, insert_spaces=False))
    )

    assert len(edits) == 1
    assert edits[0].new_text == path.read_text()
    assert edits[0].range.start == types.Position(line=0, character=0)


async def test_code_lenses_on_components(client, workspace):
    path = workspace / "main.cue"
    text = path.read_text()
    uri = open_document(client, path)

    lenses = await client.text_document_code_lens_async(types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri)))

    runs = [lens for lens in lenses if lens.command.command == "archon.run"]
    previews = [lens for lens in lenses if lens.command.command == "archon.previewLLB"]
    assert [lens.command.arguments[0]["component"] for lens in runs] == ["base", "hello"]
    assert len(previews) == 2
    assert runs[0].range.start == position_of(text, "base: $up", encoding=encoding_of(client))


async def test_hover_on_open_op_struct(client, workspace):
    path = workspace / "main.cue"
    text = path.read_text()
    uri = open_document(client, path)

    hover = await client.text_document_hover_async(hover_params(uri, position_of(text, "op.Load", offset=4, encoding=encoding_of(client))))

    assert "op `load`" in hover_text(hover)
    assert "Continue from the file system of another component." in hover_text(hover)
