"""What is at a position of a file: syntax-tree lookups for hover, completion and definition.

Positions here are runtime positions (1-based line, code-point column);
`archon.lsp.positions` converts the client's. A position touching the end of
a node counts as inside it, so that hovering or completing right after a
word still finds the word.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from archon.runtime.cue.ast import (
    BinaryExpr,
    Field,
    File,
    Ident,
    ImportSpec,
    ListLit,
    Node,
    ParenExpr,
    SelectorExpr,
    StringLit,
    StructLit,
)
from archon.runtime.diagnostics import Span
from archon.runtime.values import UP_LABELS

_SPAN_SLOTS = frozenset({"span", "label_span", "name_span", "path_span"})


def contains(span: Span, line: int, column: int) -> bool:
    return (span.start.line, span.start.column) <= (line, column) <= (span.end.line, span.end.column)


def children(node: Node) -> Iterator[Node]:
    for name in node.__slots__:
        if name in _SPAN_SLOTS:
            continue
        value = getattr(node, name, None)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Node):
                    yield item


def node_path(parsed: File, line: int, column: int) -> list[Node]:
    """Return the nodes that contain the position, from the file down to the innermost."""
    path: list[Node] = [parsed]
    current: Node = parsed
    while True:
        found = None
        for child in children(current):
            if contains(child.span, line, column):
                found = child
                # A later sibling that also touches the position (the
                # position sits between two nodes) wins only if it starts
                # exactly there.
                if (child.span.end.line, child.span.end.column) != (line, column):
                    break
        if found is None:
            return path
        path.append(found)
        current = found


def field_path_at(path: list[Node]) -> tuple[str, ...]:
    """Return the labels of the fields enclosing the innermost node."""
    return tuple(node.label for node in path if isinstance(node, Field))


def enclosing_field(path: list[Node]) -> Field | None:
    for node in reversed(path):
        if isinstance(node, Field):
            return node
    return None


def spec_aliases(parsed: File) -> set[str]:
    from archon.lsp.speccheck import spec_aliases as aliases

    return aliases(parsed)


@dataclass(frozen=True)
class Target:
    """The thing under the cursor.

    `kind` is one of:
    - `definition`: a spec definition such as `op.#Exec` (`name` is `#Exec`);
    - `op-name`: the string value of a `do:` field (`name` is the op);
    - `op-field`: a field label inside an op struct (`op` and `name`);
    - `field`: a field label elsewhere (`path` is its full path);
    - `reference`: an identifier used as a value (`name`, and `path`, the
      selector chain such as ("base", "out"));
    - `import`: an import path (`name` is the path).
    """

    kind: str
    name: str
    span: Span
    op: str | None = None
    path: tuple[str, ...] = ()
    alias: str | None = None


def target_at(parsed: File, line: int, column: int) -> Target | None:
    path = node_path(parsed, line, column)
    aliases = spec_aliases(parsed)
    innermost = path[-1]

    for spec in parsed.imports:
        if contains(spec.path_span, line, column):
            return Target("import", spec.path.split(":")[0], spec.path_span)

    selector = _selector_at(path)
    if selector is not None:
        root = _selector_root(selector)
        if isinstance(root, Ident) and root.name in aliases:
            return Target("definition", selector.name, selector.selector.span, alias=root.name)
        chain = _selector_chain(selector)
        if chain:
            return Target("reference", chain[-1], selector.span, path=tuple(chain))

    field = enclosing_field(path)
    if field is not None and contains(field.label_span, line, column):
        struct = _parent_struct(path, field)
        op = op_of_struct(struct, path, aliases) if struct is not None else None
        if op is not None and field.label != "do":
            return Target("op-field", field.label, field.label_span, op=op)
        labels = field_path_at(path[: path.index(field) + 1])
        return Target("field", field.label, field.label_span, path=labels)

    if isinstance(innermost, StringLit) and field is not None and field.label == "do" and field.value is innermost:
        return Target("op-name", str(innermost.value), innermost.span)

    if isinstance(innermost, Ident) and field is not None and innermost is not field.label_node:
        return Target("reference", innermost.name, innermost.span, path=(innermost.name,))
    return None


def _selector_at(path: list[Node]) -> SelectorExpr | None:
    """Return the outermost selector chain whose selector the position is in."""
    found = None
    for node in reversed(path):
        if isinstance(node, SelectorExpr):
            found = node
        elif found is not None:
            break
    return found


def _selector_root(selector: SelectorExpr) -> Node:
    node: Node = selector
    while isinstance(node, SelectorExpr):
        node = node.operand
    return node


def _selector_chain(selector: SelectorExpr) -> list[str]:
    names: list[str] = []
    node: Node = selector
    while isinstance(node, SelectorExpr):
        names.append(node.name)
        node = node.operand
    if not isinstance(node, Ident):
        return []
    names.append(node.name)
    return list(reversed(names))


def _parent_struct(path: list[Node], field: Field) -> StructLit | None:
    index = path.index(field)
    for node in reversed(path[:index]):
        if isinstance(node, StructLit):
            return node
        if isinstance(node, Field):
            return None
    return None


def op_of_struct(struct: StructLit, path: list[Node], aliases: set[str]) -> str | None:
    """Return the op a struct literal describes: its `do:` string, or the op definition it is unified with."""
    from archon.runtime.spec.docs import definition_docs

    for declaration in struct.decls:
        if isinstance(declaration, Field) and declaration.label == "do" and isinstance(declaration.value, StringLit):
            return str(declaration.value.value)

    # Walk up through `&` and parentheses: `op.#Exec & {...}`, `(op.#Exec & {...}) & {...}`.
    index = path.index(struct) if struct in path else -1
    definitions = definition_docs()
    for node in reversed(path[:index] if index >= 0 else []):
        if isinstance(node, ParenExpr):
            continue
        if not (isinstance(node, BinaryExpr) and node.op == "&"):
            break
        for side in (node.left, node.right):
            if isinstance(side, SelectorExpr) and isinstance(side.operand, Ident) and side.operand.name in aliases:
                doc = definitions.get(side.name)
                if doc is not None and doc.op:
                    return doc.op
    return None


def is_component_field(field: Field) -> bool:
    """Tell whether a field's written value has a `$up` (or legacy `#up`) field: `a: $up: [...]` or `a: {$up: [...]}`."""
    from archon.runtime import source

    return any(child.label in UP_LABELS for child in source.fields_of(field.value))


def iter_component_fields(parsed: File) -> Iterator[tuple[tuple[str, ...], Field]]:
    """Yield (path, field) for every field of the file written as a component."""
    from archon.runtime import source

    for field_path, field in source.iter_fields(parsed):
        if field.label not in UP_LABELS and is_component_field(field):
            yield field_path, field


def import_of(parsed: File, name: str) -> ImportSpec | None:
    for spec in parsed.imports:
        if spec.package_name == name:
            return spec
    return None


def up_elements(field: Field) -> list[Node]:
    from archon.runtime import source

    for child in source.fields_of(field.value):
        if child.label in UP_LABELS and isinstance(child.value, ListLit):
            return list(child.value.elements)
    return []
