"""Document symbols: the fields of a file as a tree, components marked as classes.

Components are `Class` symbols: fields written with `$up`, and fields the
last analysis found to be components. Their children are their ops, named
by the op (`exec`, `load`). Definitions are `Interface` symbols, inputs
`Variable` and other fields `Field`, nested as written.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from archon.lsp import cursor
from archon.lsp.view import DocumentView, open_view
from archon.runtime.cue.ast import Embedding, Field, SelectorExpr, StringLit
from archon.runtime.values import UP_LABELS

if TYPE_CHECKING:
    from archon.lsp.server import ArchonLanguageServer

FEATURE = "symbols"
log = logging.getLogger(f"archon.lsp.features.{FEATURE}")

# Deeper fields are left out of the tree: editors show outlines, not data.
MAX_DEPTH = 8


def _kind(field: Field, dotted: str, components: set[str]) -> types.SymbolKind:
    if dotted in components or cursor.is_component_field(field):
        return types.SymbolKind.Class
    if field.attribute("input") is not None:
        return types.SymbolKind.Variable
    if field.label_kind == "definition":
        return types.SymbolKind.Interface
    return types.SymbolKind.Field


def _op_label(element: Any, aliases: set[str]) -> str:
    from archon.runtime import source
    from archon.runtime.spec.docs import definition_docs

    for struct in source.struct_literals(element):
        for declaration in struct.decls:
            if isinstance(declaration, Field) and declaration.label == "do" and isinstance(declaration.value, StringLit):
                return str(declaration.value.value)
    # `op.#Exec & {...}`: the op of the unified definition.
    from archon.lsp.speccheck import walk

    docs = definition_docs()
    for node in walk(element):
        if isinstance(node, SelectorExpr) and getattr(node.operand, "name", None) in aliases:
            doc = docs.get(node.name)
            if doc is not None and doc.op:
                return doc.op
    return "op"


def _field_symbol(view: DocumentView, field: Field, prefix: tuple[str, ...], components: set[str], aliases: set[str], depth: int) -> types.DocumentSymbol:
    from archon.runtime import source

    path = prefix + (field.label,)
    dotted = ".".join(path)
    kind = _kind(field, dotted, components)
    children: list[types.DocumentSymbol] = []
    if depth < MAX_DEPTH:
        for child in source.fields_of(field.value):
            if child.label in UP_LABELS:
                children.extend(_op_symbols(view, child, aliases))
            else:
                children.append(_field_symbol(view, child, path, components, aliases, depth + 1))
    detail = None
    if kind == types.SymbolKind.Class:
        detail = "component"
    elif kind == types.SymbolKind.Variable:
        detail = "input"
    return types.DocumentSymbol(
        name=field.label,
        kind=kind,
        range=view.range_of(field.span),
        selection_range=view.range_of(field.label_span),
        detail=detail,
        children=children or None,
    )


def _op_symbols(view: DocumentView, up: Field, aliases: set[str]) -> list[types.DocumentSymbol]:
    from archon.runtime.cue.ast import Comprehension, Ellipsis, ListLit

    if not isinstance(up.value, ListLit):
        return []
    symbols = []
    for index, element in enumerate(up.value.elements):
        if isinstance(element, (Comprehension, Ellipsis)):
            continue
        symbols.append(
            types.DocumentSymbol(
                name=f"{index + 1}. {_op_label(element, aliases)}",
                kind=types.SymbolKind.Method,
                range=view.range_of(element.span),
                selection_range=view.range_of(element.span),
            )
        )
    return symbols


def document_symbols(server: "ArchonLanguageServer", view: DocumentView) -> list[types.DocumentSymbol]:
    from archon.runtime import source

    analysis = server.analyzer.latest(view.folder)
    components = set(analysis.configuration.components) if analysis is not None and analysis.configuration is not None else set()
    aliases = cursor.spec_aliases(view.parsed)
    top_fields = [item for item in view.parsed.decls if isinstance(item, Field)]
    for item in view.parsed.decls:
        if isinstance(item, Embedding):
            top_fields.extend(source.fields_of(item.expr))
    top_fields.sort(key=lambda field: (field.span.start.line, field.span.start.column))
    return [_field_symbol(view, field, (), components, aliases, 1) for field in top_fields]


def register(server: "ArchonLanguageServer") -> None:
    async def symbols(params: types.DocumentSymbolParams) -> list[types.DocumentSymbol] | None:
        view = await open_view(server, params.text_document.uri)
        if view is None:
            return None
        return document_symbols(server, view)

    server.register_feature(FEATURE, types.TEXT_DOCUMENT_DOCUMENT_SYMBOL, symbols)
