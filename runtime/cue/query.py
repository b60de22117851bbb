"""Walking a CUE syntax tree and finding fields by path or position.

A field path is a tuple of labels as `Field.label` spells them: `("a", "b")`
for `a: b: 1` or `a: {b: 1}`, `("#Def", "x")` for a definition. Lookups see
through what makes fields of one struct in CUE: chained labels, embedded
struct literals, comprehension bodies, and struct operands of `&` (as in
`op.#Exec & {args: [...]}`). A decimal label such as `"0"` selects a list
element, so `("hello", "#up", "1", "args")` reaches into a list of ops.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from functools import lru_cache

from archon.runtime.cue import ast
from archon.runtime.diagnostics import Position, Span


@lru_cache(maxsize=None)
def _child_fields(cls: type) -> tuple[str, ...]:
    skip = {"span", "label_span", "name_span", "path_span", "errors"}
    return tuple(item.name for item in dataclasses.fields(cls) if item.name not in skip)


def children(node: ast.Node) -> Iterator[ast.Node]:
    """Yield the direct child nodes of `node`, in source order.

    Comments are not children; a file lists them in `File.comments`.
    """
    if isinstance(node, ast.File):
        yield from node.attributes
        if node.package is not None:
            yield node.package
        yield from node.imports
        yield from node.decls
        return
    if isinstance(node, ast.Field):
        if node.alias is not None:
            yield node.alias
        if node.label_node is not None:
            yield node.label_node
        yield node.value
        yield from node.attributes
        return
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, ast.Node):
            yield value
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, ast.Node):
                    yield item


def walk(node: ast.Node) -> Iterator[ast.Node]:
    """Yield `node` and every node below it, depth first, parents before children."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))


class Visitor:
    """Calls `visit_<ClassName>(node)` for each node; `generic_visit` visits the children.

    A `visit_...` method that wants the children visited too calls
    `self.generic_visit(node)`.
    """

    def visit(self, node: ast.Node) -> None:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            self.generic_visit(node)
        else:
            method(node)

    def generic_visit(self, node: ast.Node) -> None:
        for child in children(node):
            self.visit(child)


# Structs and their fields


def _struct_members(decls: list[ast.Node]) -> Iterator[ast.Node]:
    """Yield the declarations of one struct level, looking into embeddings and comprehensions."""
    for decl in decls:
        if isinstance(decl, ast.Embedding):
            for struct in _structs_of(decl.expr):
                yield from _struct_members(struct.decls)
        elif isinstance(decl, ast.Comprehension):
            yield from _struct_members(decl.body.decls)
        else:
            yield decl


def _structs_of(expr: ast.Node) -> Iterator[ast.StructLit]:
    """Yield the struct literals that make up a value: `{...}`, `(...)`, operands of `&`."""
    if isinstance(expr, ast.StructLit):
        yield expr
    elif isinstance(expr, ast.ParenExpr):
        yield from _structs_of(expr.expr)
    elif isinstance(expr, ast.BinaryExpr) and expr.op == "&":
        yield from _structs_of(expr.left)
        yield from _structs_of(expr.right)
    elif isinstance(expr, ast.Alias):
        yield from _structs_of(expr.expr)


def _list_of(expr: ast.Node) -> ast.ListLit | None:
    if isinstance(expr, ast.ListLit):
        return expr
    if isinstance(expr, ast.ParenExpr):
        return _list_of(expr.expr)
    if isinstance(expr, ast.BinaryExpr) and expr.op == "&":
        return _list_of(expr.left) or _list_of(expr.right)
    if isinstance(expr, ast.Alias):
        return _list_of(expr.expr)
    return None


def _fields_at(value: ast.Node, label: str) -> Iterator[ast.Field]:
    for struct in _structs_of(value):
        for member in _struct_members(struct.decls):
            if isinstance(member, ast.Field) and member.label == label:
                yield member


def _matches(values: list[ast.Node], path: tuple[str, ...]) -> Iterator[ast.Field]:
    """Yield the fields at `path` below any of `values`, in source order."""
    label, rest = path[0], path[1:]
    for value in values:
        found: list[ast.Field] = list(_fields_at(value, label))
        if not found and label.isdecimal():
            found_values = _element(value, int(label))
            if found_values is not None:
                if rest:
                    yield from _matches([found_values], rest)
                continue
        for field in found:
            if rest:
                yield from _matches([field.value], rest)
            else:
                yield field


def _element(value: ast.Node, index: int) -> ast.Node | None:
    array = _list_of(value)
    if array is None:
        return None
    elements = [element for element in array.elements if not isinstance(element, ast.Ellipsis)]
    return elements[index] if index < len(elements) else None


def _top(file: ast.File) -> ast.StructLit:
    return ast.StructLit(file.decls, file.span)


def find_fields(file: ast.File, path: tuple[str, ...]) -> list[ast.Field]:
    """Return every field at `path`, in source order (CUE unifies repeated labels)."""
    if not path:
        return []
    return list(_matches([_top(file)], tuple(path)))


def find_field(file: ast.File, path: tuple[str, ...]) -> ast.Field | None:
    """Return the first field at `path`, or None."""
    if not path:
        return None
    return next(_matches([_top(file)], tuple(path)), None)


def field_span(file: ast.File, path: tuple[str, ...]) -> Span | None:
    """Return the span of the first field at `path`, or None."""
    field = find_field(file, path)
    return field.span if field is not None else None


# Positions


def _contains(span: Span, position: Position) -> bool:
    # Inclusive end, so that a cursor just after a value still counts.
    return span.start <= position <= span.end


def field_at(file: ast.File, line: int, column: int) -> tuple[str, ...] | None:
    """Return the path of the innermost field whose span contains the position, or None.

    The end of a span counts as inside, so a cursor right after `a: 1` is in `a`.
    """
    position = Position(line, column)
    path: list[str] = []
    _descend(file.decls, position, path)
    return tuple(path) if path else None


def _descend(decls: list[ast.Node], position: Position, path: list[str]) -> None:
    for member in _struct_members(decls):
        if isinstance(member, ast.Field) and _contains(member.span, position):
            path.append(member.label)
            _descend_value(member.value, position, path)
            return


def _descend_value(value: ast.Node, position: Position, path: list[str]) -> None:
    for struct in _structs_of(value):
        if _contains(struct.span, position):
            before = len(path)
            _descend(struct.decls, position, path)
            if len(path) > before:
                return

    array = _list_of(value)
    if array is None or not _contains(array.span, position):
        return
    elements = [element for element in array.elements if not isinstance(element, ast.Ellipsis)]
    for index, element in enumerate(elements):
        if _contains(element.span, position):
            path.append(str(index))
            _descend_value(element, position, path)
            return


def nodes_at(node: ast.Node, line: int, column: int) -> list[ast.Node]:
    """Return the chain of nodes whose spans contain the position, outermost first."""
    position = Position(line, column)
    chain = [node]
    current = node
    while True:
        for child in children(current):
            if _contains(child.span, position):
                chain.append(child)
                current = child
                break
        else:
            return chain


def node_at(node: ast.Node, line: int, column: int) -> ast.Node:
    """Return the innermost node whose span contains the position."""
    return nodes_at(node, line, column)[-1]
