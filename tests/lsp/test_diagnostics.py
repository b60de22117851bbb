"""Live diagnostics of dagger-lsp, against the real server process and the real cue binary."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from conftest import (
    encoding_of,
    log_messages,
    open_document,
    position_of,
    replace_document,
    wait_for,
)

CONFLICT_MAIN = "\nlimit: 2\n"
CONFLICT_EXTRA = "\nlimit: 1\n"


def codes(diagnostics) -> list:
    return [item.code for item in diagnostics or []]


async def test_syntax_error_published_before_cue_runs(client, workspace):
    path = workspace / "main.cue"
    text = path.read_text() + "\nbroken: {\n"
    uri = open_document(client, path, text)

    await wait_for(lambda: "syntax" in codes(client.diagnostics.get(uri)), what="the syntax error")
    await wait_for(lambda: any("analysed" in message for message in log_messages(client)), what="the full pass")

    def event_kind(kind: str, params) -> str | None:
        if kind == "publish" and "syntax" in codes(params.diagnostics):
            return "syntax"
        if kind == "log" and "cue eval" in params.message:
            return "eval"
        return None

    kinds = [event_kind(kind, params) for kind, params in client.events]
    assert kinds.index("syntax") < kinds.index("eval")

    diagnostic = next(item for item in client.diagnostics[uri] if item.code == "syntax")
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert diagnostic.range.start == position_of(text, "broken: {", offset=8, encoding=encoding_of(client))


async def test_cue_conflict_has_related_position(client, workspace):
    (workspace / "extra.cue").write_text((workspace / "extra.cue").read_text() + CONFLICT_EXTRA)
    main = workspace / "main.cue"
    text = main.read_text() + CONFLICT_MAIN
    open_document(client, main, text)
    extra_uri = (workspace / "extra.cue").as_uri()

    diagnostics = await wait_for(lambda: client.diagnostics.get(extra_uri), what="the conflict in extra.cue")

    conflict = diagnostics[0]
    assert conflict.code == "cue"
    assert "conflicting values" in conflict.message
    assert conflict.related_information is not None
    related = conflict.related_information[0].location
    assert related.uri == main.as_uri()
    assert related.range.start == position_of(text, "2", encoding=encoding_of(client), occurrence=text.count("2") - 1)


async def test_unknown_op_suggests_name(client, workspace):
    path = workspace / "extra.cue"
    text = path.read_text().replace('{do: "mkdir"', '{do: "mkdri"')
    uri = open_document(client, path, text)

    diagnostics = await wait_for(lambda: [item for item in client.diagnostics.get(uri) or [] if item.code == "unknown-op"], what="unknown-op")

    assert 'unknown op "mkdri"' in diagnostics[0].message
    assert 'did you mean "mkdir"?' in diagnostics[0].message
    assert diagnostics[0].range.start == position_of(text, '"mkdri"', encoding=encoding_of(client))


async def test_fix_clears_both_files(client, workspace):
    main = workspace / "main.cue"
    extra = workspace / "extra.cue"
    main_uri = open_document(client, main, main.read_text() + CONFLICT_MAIN)
    extra_uri = open_document(client, extra, extra.read_text() + CONFLICT_EXTRA)
    await wait_for(lambda: client.diagnostics.get(extra_uri), what="the conflict")

    replace_document(client, main_uri, main.read_text() + "\nlimit: 1\n", version=2)

    await wait_for(lambda: client.diagnostics.get(extra_uri) == [], what="extra.cue cleared")
    assert client.diagnostics.get(main_uri) in (None, [])


async def test_fix_clears_closed_file(client, workspace):
    extra = workspace / "extra.cue"
    extra.write_text(extra.read_text() + CONFLICT_EXTRA)
    main = workspace / "main.cue"
    main_uri = open_document(client, main, main.read_text() + CONFLICT_MAIN)
    extra_uri = extra.as_uri()
    await wait_for(lambda: client.diagnostics.get(extra_uri), what="the conflict in the closed file")

    replace_document(client, main_uri, main.read_text(), version=2)

    await wait_for(lambda: client.diagnostics.get(extra_uri) == [], what="the closed file cleared")


async def test_stale_full_pass_dropped(client, workspace):
    path = workspace / "main.cue"
    original = path.read_text()
    # Enough work for cue that the pass is still running when the fix arrives.
    slow = "\n".join(f'filler{i}: $up: [op.WriteFile & {{dest: "/f{i}", content: "{i}"}}]' for i in range(400))
    broken = original + "\n" + slow + "\nlimit: 1 & 2\n"
    uri = open_document(client, path, original)
    await wait_for(lambda: any("analysed" in message for message in log_messages(client)), what="the first full pass")

    def passes_started() -> int:
        return sum("full pass of" in message and message.endswith("started") for message in log_messages(client))

    started = passes_started()
    replace_document(client, uri, broken, version=2)
    await wait_for(lambda: passes_started() > started, what="the second pass")
    replace_document(client, uri, original, version=3)

    await wait_for(lambda: any("dropped the full pass" in message for message in log_messages(client)), what="the dropped pass")
    await asyncio.sleep(0.5)
    conflicts = [params for params in client.published if any("conflicting" in item.message for item in params.diagnostics)]
    assert conflicts == []
    assert client.published[-1].version == 3


async def test_missing_input_is_warning(client, workspace):
    path = workspace / "main.cue"
    text = path.read_text() + '\n// A token.\ntoken: string @input()\n'
    uri = open_document(client, path, text)

    warnings = await wait_for(lambda: [item for item in client.diagnostics.get(uri) or [] if item.code == "input-missing"], what="the missing input")

    assert warnings[0].severity == types.DiagnosticSeverity.Warning
    assert warnings[0].range.start == position_of(text, "token:", encoding=encoding_of(client))
