"""Completion: op names after `do:`, the fields of the current op, component references and imports.

The text being typed rarely parses, so the context is read from the text
before the cursor: the current line for `do:` and import paths, and the
innermost unclosed `{` for the op whose fields are being written.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from archon.lsp import cursor
from archon.lsp.components import package_asts
from archon.lsp.view import DocumentView, open_view

if TYPE_CHECKING:
    from archon.lsp.server import ArchonLanguageServer

FEATURE = "completion"
log = logging.getLogger(f"archon.lsp.features.{FEATURE}")

SPEC_IMPORT = "archon.dev/op"
CATALOG_PREFIX = "archon.dev/catalog/"

_DO_VALUE = re.compile(r'\bdo\s*:\s*(?P<quote>"?)(?P<partial>[\w-]*)$')
_IMPORT_LINE = re.compile(r'^\s*(?:import\s+)?(?:[A-Za-z_][\w]*\s+)?"(?P<partial>[^"]*)$')
_FIELD_START = re.compile(r"(?:^|[{,])\s*(?P<partial>[A-Za-z_#][\w]*)?$")
_VALUE_START = re.compile(r":\s*(?:[^\s:{},]*\s*&\s*)?(?P<partial>[A-Za-z_][\w.]*)?$")
_DO_IN_STRUCT = re.compile(r'(?:^|[{,\s])do\s*:\s*"(?P<op>[\w-]+)"')
_DEFINITION_BEFORE = re.compile(r"(?P<alias>[A-Za-z_]\w*)\.(?P<definition>#?\w+)\s*&\s*(?:\(\s*)?$")


def catalog_packages() -> list[str]:
    """Return the names of the catalog's packages: the folders under engine/catalog/cue/."""
    try:
        from archon.engine.catalog import catalog_root

        root = Path(catalog_root())
    except ImportError:
        return []
    if not root.is_dir():
        return []
    return sorted(path.name for path in root.iterdir() if path.is_dir() and any(path.glob("*.cue")))


def _innermost_open_brace(text: str) -> int | None:
    """Return the offset of the innermost `{` left open before the end of text.

    Strings and `//` comments are skipped, so braces inside them do not count.
    """
    depth_stack: list[int] = []
    index = 0
    length = len(text)
    while index < length:
        character = text[index]
        if character == '"':
            index += 1
            while index < length and text[index] != '"' and text[index] != "\n":
                index += 2 if text[index] == "\\" else 1
        elif character == "/" and text.startswith("//", index):
            newline = text.find("\n", index)
            index = length if newline < 0 else newline
            continue
        elif character == "{":
            depth_stack.append(index)
        elif character == "}" and depth_stack:
            depth_stack.pop()
        index += 1
    return depth_stack[-1] if depth_stack else None


def _struct_text(text: str, start: int) -> str:
    """Return the text of the struct opened at start, up to its closing brace or the end."""
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[start : index + 1]
    return text[start:]


def current_op(text_before: str, full_text: str) -> str | None:
    """Return the op of the struct the cursor is in, from its `do:` or the definition it is unified with."""
    from archon.runtime.spec.docs import definition_docs

    brace = _innermost_open_brace(text_before)
    if brace is None:
        return None
    struct = _struct_text(full_text, brace)
    top_level = _top_level_text(struct)
    match = _DO_IN_STRUCT.search(top_level)
    if match:
        return match.group("op")
    before = _DEFINITION_BEFORE.search(text_before[:brace])
    if before:
        doc = definition_docs().get(before.group("definition"))
        if doc is not None and doc.op:
            return doc.op
    return None


def _top_level_text(struct: str) -> str:
    """Return the struct's text without its nested braces' content."""
    kept = []
    depth = 0
    for character in struct:
        if character == "{":
            depth += 1
            if depth == 1:
                continue
        elif character == "}":
            depth -= 1
            continue
        if depth == 1:
            kept.append(character)
    return "".join(kept)


def op_name_items(quoted: bool) -> list[types.CompletionItem]:
    from archon.runtime.spec.docs import op_docs

    items = []
    for name, doc in sorted(op_docs().items()):
        items.append(
            types.CompletionItem(
                label=name,
                kind=types.CompletionItemKind.EnumMember,
                detail=f"op {doc.definition}",
                documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=doc.summary),
                insert_text=name if quoted else f'"{name}"',
                filter_text=name,
            )
        )
    return items


def op_field_items(op: str, present: set[str]) -> list[types.CompletionItem]:
    from archon.runtime.spec.docs import op_docs

    doc = op_docs().get(op)
    if doc is None:
        return []
    items = []
    for name, field in doc.fields.items():
        if name in present:
            continue
        items.append(
            types.CompletionItem(
                label=name,
                kind=types.CompletionItemKind.Field,
                detail=field.type_text,
                documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=field.doc),
                insert_text=f"{name}: ",
            )
        )
    return items


def definition_items() -> list[types.CompletionItem]:
    from archon.runtime.spec.docs import definition_docs

    return [
        types.CompletionItem(
            label=name,
            kind=types.CompletionItemKind.Struct,
            detail=f'op "{doc.op}"' if doc.op else "definition",
            documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=doc.summary),
        )
        for name, doc in definition_docs().items()
    ]


def import_items(partial: str) -> list[types.CompletionItem]:
    paths = [SPEC_IMPORT] + [CATALOG_PREFIX + name for name in catalog_packages()]
    return [
        types.CompletionItem(label=path, kind=types.CompletionItemKind.Module, detail="bundled with Archon")
        for path in paths
        if path.startswith(partial) or partial in path
    ]


def component_items(server: "ArchonLanguageServer", view: DocumentView) -> list[types.CompletionItem]:
    """Return the components of the package, by their top-level names."""
    names: dict[str, str] = {}
    analysis = server.analyzer.latest(view.folder)
    if analysis is not None and analysis.configuration is not None:
        for path, info in analysis.configuration.components.items():
            if path not in analysis.configuration.inputs:
                names.setdefault(path.split(".")[0], (info.doc or "").strip())
    trees = package_asts(server, view.folder)
    trees[view.path] = view.parsed
    for parsed in trees.values():
        for field_path, field in cursor.iter_component_fields(parsed):
            names.setdefault(field_path[0], (field.doc or "").strip())
    return [
        types.CompletionItem(
            label=name,
            kind=types.CompletionItemKind.Reference,
            detail="component",
            documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=doc) if doc else None,
        )
        for name, doc in sorted(names.items())
    ]


def complete(server: "ArchonLanguageServer", view: DocumentView, line: int, column: int) -> list[types.CompletionItem]:
    line_text = view.lines[line - 1] if line - 1 < len(view.lines) else ""
    prefix = line_text[: column - 1]
    # Rebuilt from the lines, so that offsets agree whatever the line ends.
    full_text = "\n".join(view.lines)
    text_before = "\n".join(view.lines[: line - 1] + [prefix])

    match = _DO_VALUE.search(prefix)
    if match:
        return op_name_items(quoted=bool(match.group("quote")))

    if _in_import(view, line) or re.match(r"^\s*import\s", prefix):
        match = _IMPORT_LINE.match(prefix)
        if match:
            return import_items(match.group("partial"))

    aliases = cursor.spec_aliases(view.parsed) or {"op"}
    if re.search(r"(?:^|[^\w.])(" + "|".join(re.escape(alias) for alias in aliases) + r")\.#?\w*$", prefix):
        return definition_items()

    if _VALUE_START.search(prefix):
        return component_items(server, view)

    if _FIELD_START.search(prefix):
        op = current_op(text_before, full_text)
        if op is not None:
            brace = _innermost_open_brace(text_before)
            present = set(re.findall(r"(?:^|[{,\s])(\w+)\s*:", _top_level_text(_struct_text(full_text, brace)))) if brace is not None else set()
            return op_field_items(op, present)
    return []


def _in_import(view: DocumentView, line: int) -> bool:
    """Tell whether the line is inside an `import ( ... )` block."""
    opened = False
    for text in view.lines[: line - 1]:
        stripped = text.strip()
        if re.match(r"^import\s*\($", stripped):
            opened = True
        elif opened and stripped.startswith(")"):
            opened = False
    return opened


def register(server: "ArchonLanguageServer") -> None:
    async def completion(params: types.CompletionParams) -> types.CompletionList | None:
        view = await open_view(server, params.text_document.uri)
        if view is None:
            return None
        line, column = view.runtime_position(params.position)
        items = complete(server, view, line, column)
        return types.CompletionList(is_incomplete=False, items=items)

    options = types.CompletionOptions(trigger_characters=['"', ":", ".", "#", " "])
    server.register_feature(FEATURE, types.TEXT_DOCUMENT_COMPLETION, completion, options)
