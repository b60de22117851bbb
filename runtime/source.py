"""Source-level helpers over the parser's syntax tree.

These read what evaluation loses: where a field is written, its doc
comment and attributes, and the place of each op of a literal `$up` list.
"""

from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType
from typing import Iterable, Iterator, Mapping

from archon.runtime.cue import ast
from archon.runtime.cue.cache import derived
from archon.runtime.diagnostics import Span

# Label kinds that name a field a path can reach.
_PATH_LABELS = ("identifier", "definition", "hidden", "string")


def struct_literals(expr) -> Iterator[ast.StructLit]:
    """Yield the struct literals an expression unifies: `{...}`, `A & {...}`, `(...)`."""
    if isinstance(expr, ast.StructLit):
        yield expr
    elif isinstance(expr, ast.BinaryExpr) and expr.op == "&":
        yield from struct_literals(expr.left)
        yield from struct_literals(expr.right)
    elif isinstance(expr, ast.ParenExpr):
        yield from struct_literals(expr.expr)


def fields_of(expr) -> Iterator[ast.Field]:
    for struct in struct_literals(expr):
        for decl in struct.decls:
            if isinstance(decl, ast.Field) and decl.label_kind in _PATH_LABELS:
                yield decl
            elif isinstance(decl, ast.Embedding):
                yield from fields_of(decl.expr)


def top_fields(file: ast.File) -> Iterator[ast.Field]:
    """Yield the fields of a file's top level (a path of one label reaches them), in order."""
    for decl in file.decls:
        if isinstance(decl, ast.Field) and decl.label_kind in _PATH_LABELS:
            yield decl
        elif isinstance(decl, ast.Embedding):
            yield from fields_of(decl.expr)


def iter_fields(file: ast.File) -> Iterator[tuple[tuple[str, ...], ast.Field]]:
    """Yield every field reachable by a path of labels, with that path, depth first."""

    def visit(field: ast.Field, prefix: tuple[str, ...]):
        path = prefix + (field.label,)
        yield path, field
        for child in fields_of(field.value):
            yield from visit(child, path)

    for field in top_fields(file):
        yield from visit(field, ())


def fields(file: ast.File) -> tuple[tuple[tuple[str, ...], ast.Field], ...]:
    """`tuple(iter_fields(file))`, computed once per tree of the parse cache; do not change it."""
    return derived(file, "source.fields", lambda parsed: tuple(iter_fields(parsed)))


def find(file: ast.File, path: tuple[str, ...]) -> ast.Field | None:
    """Return the first field at path, following nested and chained fields."""
    candidates = list(top_fields(file))
    found = None
    for label in path:
        found = next((field for field in candidates if field.label == label), None)
        if found is None:
            return None
        candidates = list(fields_of(found.value))
    return found


def index(file: ast.File) -> Mapping[tuple[str, ...], ast.Field]:
    """Map every path `find` reaches in file onto the field `find(file, path)` returns.

    Built in one walk of the fields; a tree of the parse cache keeps its
    index (see archon.runtime.cue.cache.derived). The mapping is read-only.
    """
    return derived(file, "source.index", _build_index)


def _build_index(file: ast.File) -> Mapping[tuple[str, ...], ast.Field]:
    # As `find` does, each level follows only the first field of a label.
    table: dict[tuple[str, ...], ast.Field] = {}
    pending: list[tuple[tuple[str, ...], Iterable[ast.Field]]] = [((), top_fields(file))]
    while pending:
        prefix, candidates = pending.pop()
        first: dict[str, ast.Field] = {}
        for field in candidates:
            first.setdefault(field.label, field)
        for label, field in first.items():
            path = prefix + (label,)
            table[path] = field
            pending.append((path, fields_of(field.value)))
    return MappingProxyType(table)


class FieldIndex:
    """The fields of several files by path, as `find` on each file in turn would return them."""

    def __init__(self, files: Iterable[ast.File]):
        self._tables = [index(file) for file in files]

    def find(self, path: tuple[str, ...]) -> ast.Field | None:
        """Return the field at path in the first file that has one, or None."""
        for table in self._tables:
            found = table.get(path)
            if found is not None:
                return found
        return None


def attribute(field: ast.Field, name: str) -> ast.Attribute | None:
    return field.attribute(name)


def attribute_args(item: ast.Attribute) -> dict[str, str]:
    return item.args()


def doc(field: ast.Field) -> str | None:
    return field.doc


def label_span(field: ast.Field | None) -> Span | None:
    return field.label_span if field is not None else None


def value_text(field: ast.Field) -> str:
    """Return the value's source text in a compact form, for showing an input's type."""
    from archon.runtime.cue import format_node

    try:
        return " ".join(format_node(field.value).split())
    except Exception:  # noqa: BLE001 - a printing gap must not hide the input
        return "_"


def list_element_spans(field: ast.Field) -> list[Span]:
    """Spans of the elements of a literal list value, up to the first comprehension."""
    spans: list[Span] = []
    value = field.value
    if not isinstance(value, ast.ListLit):
        return spans
    for element in value.elements:
        if isinstance(element, (ast.Comprehension, ast.Ellipsis)):
            break
        spans.append(element.span)
    return spans


def op_field_span(up: ast.Field, index: int, field_path: str | None) -> Span | None:
    """Return the label span of a field inside op `index` of a literal $up list."""
    found = op_field(up, index, field_path)
    return found.label_span if found is not None else None


def op_field(up: ast.Field, index: int, field_path: str | None) -> ast.Field | None:
    """Return a field inside op `index` of a literal $up list.

    field_path is dotted, but labels may contain dots themselves (mount
    targets such as "/src/v1.2"), so each level takes the longest label of
    the written struct that starts the remaining path.
    """
    if not isinstance(up.value, ast.ListLit) or not field_path:
        return None
    elements = [item for item in up.value.elements if not isinstance(item, (ast.Ellipsis,))]
    if index >= len(elements) or isinstance(elements[index], ast.Comprehension):
        return None

    expr = elements[index]
    remaining = field_path
    found: ast.Field | None = None
    while remaining:
        choices = [field for field in fields_of(expr) if remaining == field.label or remaining.startswith(field.label + ".")]
        if not choices:
            break
        found = max(choices, key=lambda field: len(field.label))
        remaining = remaining[len(found.label) + 1:]
        expr = found.value
    return found


def identifiers(node) -> set[str]:
    """Return the names of the identifiers an expression refers to (selectors keep their base)."""
    return set(references_with_spans(node))


@lru_cache(maxsize=None)
def _reference_fields(cls: type) -> tuple[str, ...]:
    """Return the fields of a node class that may contain references: all but spans, a field's label and its alias."""
    names = getattr(cls, "__dataclass_fields__", {})
    return tuple(name for name in names if name not in ("span", "label_span", "label_node", "alias"))


def references_with_spans(node) -> dict[str, Span]:
    """Map each identifier an expression refers to onto the span of its first use."""
    names: dict[str, Span] = {}

    def visit(item) -> None:
        if isinstance(item, ast.Ident):
            names.setdefault(item.name, item.span)
            return
        if isinstance(item, ast.SelectorExpr):
            visit(item.operand)
            return
        if isinstance(item, ast.Node):
            for name in _reference_fields(type(item)):
                visit(getattr(item, name))
        elif isinstance(item, list):
            for element in item:
                visit(element)

    visit(node)
    return names
