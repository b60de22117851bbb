"""Syntax tree of a CUE file.

Every node has a `span` (1-based lines, code-point columns, end exclusive).
Expressions and declarations are plain dataclasses; `Node` is their common
base for `isinstance` checks. `dump` renders a tree without spans, for
comparing the structure of two parses.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Union

from archon.runtime.cue.literals import decode_string
from archon.runtime.diagnostics import Diagnostic, Span


class Node:
    __slots__ = ()
    span: Span


# Expressions


@dataclass(slots=True)
class Ident(Node):
    """An identifier: a reference, or `_` (top). Definitions keep their `#`."""

    name: str
    span: Span


@dataclass(slots=True)
class NumberLit(Node):
    raw: str
    value: int | float | None  # None when the literal is invalid
    is_float: bool
    span: Span


@dataclass(slots=True)
class StringLit(Node):
    """A string or bytes literal without interpolation."""

    raw: str  # the source text, quotes included
    value: str | bytes  # decoded; best effort when the literal has errors
    span: Span

    @property
    def is_bytes(self) -> bool:
        return self.raw.lstrip("#").startswith("'")


@dataclass(slots=True)
class Interpolation(Node):
    """A string with `\\(expr)` parts.

    `raw_fragments` are the source pieces around the expressions (quotes and
    `\\(`, `)` included); `fragments` are their decoded values, one more than
    `exprs`.
    """

    raw_fragments: list[str]
    fragments: list[str | bytes]
    exprs: list[Expr]
    span: Span

    @property
    def is_bytes(self) -> bool:
        return self.raw_fragments[0].lstrip("#").startswith("'")


@dataclass(slots=True)
class BoolLit(Node):
    value: bool
    span: Span


@dataclass(slots=True)
class NullLit(Node):
    span: Span


@dataclass(slots=True)
class BottomLit(Node):
    """`_|_`."""

    span: Span


@dataclass(slots=True)
class StructLit(Node):
    """`{ decls }`; `implicit` for the struct a chained field `a: b: 1` stands for."""

    decls: list[Decl]
    span: Span
    implicit: bool = False


@dataclass(slots=True)
class ListLit(Node):
    elements: list[Expr]  # expressions, `Ellipsis` and `Comprehension`
    span: Span


@dataclass(slots=True)
class Ellipsis(Node):
    """`...` or `...T`, in a list or as a struct declaration."""

    value: Expr | None
    span: Span


@dataclass(slots=True)
class UnaryExpr(Node):
    """`op operand`: `-x`, `!x`, a default marker `*x`, or a bound such as `>=1`."""

    op: str
    operand: Expr
    span: Span


@dataclass(slots=True)
class BinaryExpr(Node):
    op: str
    left: Expr
    right: Expr
    span: Span


@dataclass(slots=True)
class ParenExpr(Node):
    expr: Expr
    span: Span


@dataclass(slots=True)
class SelectorExpr(Node):
    """`operand.name`; `selector` is an `Ident` or a `StringLit` (`x."a-b"`)."""

    operand: Expr
    selector: Ident | StringLit
    span: Span

    @property
    def name(self) -> str:
        if isinstance(self.selector, Ident):
            return self.selector.name
        value = self.selector.value
        return value if isinstance(value, str) else value.decode("utf-8", "replace")


@dataclass(slots=True)
class IndexExpr(Node):
    operand: Expr
    index: Expr
    span: Span


@dataclass(slots=True)
class SliceExpr(Node):
    operand: Expr
    low: Expr | None
    high: Expr | None
    span: Span


@dataclass(slots=True)
class CallExpr(Node):
    func: Expr
    args: list[Expr]
    span: Span


@dataclass(slots=True)
class Alias(Node):
    """`name=expr`, in a pattern label `[Name=string]` or a list element."""

    name: Ident
    expr: Expr
    span: Span


@dataclass(slots=True)
class ForClause(Node):
    key: Ident | None
    value: Ident
    source: Expr
    span: Span


@dataclass(slots=True)
class IfClause(Node):
    condition: Expr
    span: Span


@dataclass(slots=True)
class LetClause(Node):
    """`let name = value`: a comprehension clause or a struct declaration."""

    name: Ident
    value: Expr
    span: Span
    doc: str | None = None


@dataclass(slots=True)
class Comprehension(Node):
    clauses: list[ForClause | IfClause | LetClause]
    body: StructLit
    span: Span


@dataclass(slots=True)
class BadExpr(Node):
    """Source text that could not be parsed as an expression."""

    text: str
    span: Span


# Declarations


@dataclass(slots=True)
class Attribute(Node):
    """`@name(body)`, after a field's value or as a declaration."""

    name: str
    body: str  # the text between the parentheses
    span: Span

    def args(self) -> dict[str, str]:
        """Return the `key=value` arguments; quoted values are decoded."""
        return {key: value for key, value in _attribute_items(self.body) if key is not None}

    def positional(self) -> list[str]:
        """Return the arguments without a `key=`, in order; quoted values are decoded."""
        return [value for key, value in _attribute_items(self.body) if key is None]


@dataclass(slots=True)
class Field(Node):
    """`label: value`, with optional alias, `?`/`!` marker and attributes.

    `label` is the name a path uses: identifiers and definitions as written
    (`#up` keeps its `#`), string labels decoded. Pattern, dynamic and
    interpolated labels use their canonical source text, such as `[string]`.
    `label_kind` is one of "identifier", "definition", "hidden", "string",
    "interpolated", "pattern" or "dynamic". `doc` is the text of the `//`
    comment block directly above the field, or None.
    """

    label: str
    label_kind: str
    constraint: str | None
    value: Expr
    attributes: list[Attribute]
    span: Span
    label_span: Span
    doc: str | None = None
    label_node: Expr | None = None
    alias: Ident | None = None

    def attribute(self, name: str) -> Attribute | None:
        """Return the first attribute called `name`, or None."""
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        return None


@dataclass(slots=True)
class Embedding(Node):
    """An expression declared in a struct, unified with the struct."""

    expr: Expr
    span: Span


@dataclass(slots=True)
class BadDecl(Node):
    """Source text that could not be parsed as a declaration."""

    text: str
    span: Span


# File level


@dataclass(slots=True)
class PackageClause(Node):
    name: str
    span: Span
    name_span: Span


@dataclass(slots=True)
class ImportSpec(Node):
    """One import: `path` as written (it may end in `:name`), `alias` if given."""

    path: str
    alias: str | None
    span: Span
    path_span: Span

    @property
    def package_name(self) -> str:
        """Return the name the file refers to the package by."""
        if self.alias:
            return self.alias
        path, _, qualifier = self.path.partition(":")
        if qualifier:
            return qualifier
        last = path.rstrip("/").rsplit("/", 1)[-1]
        return re.sub(r"@.*$", "", last)


@dataclass(slots=True)
class Comment(Node):
    text: str  # with the leading `//`
    span: Span


@dataclass(slots=True)
class File(Node):
    package: PackageClause | None
    imports: list[ImportSpec]
    decls: list[Decl]
    comments: list[Comment]
    errors: list[Diagnostic]
    span: Span
    filename: str = "<input>"
    attributes: list[Attribute] = field(default_factory=list)  # before the package clause


Expr = Union[
    Ident, NumberLit, StringLit, Interpolation, BoolLit, NullLit, BottomLit, StructLit,
    ListLit, Ellipsis, UnaryExpr, BinaryExpr, ParenExpr, SelectorExpr, IndexExpr, SliceExpr,
    CallExpr, Alias, Comprehension, BadExpr,
]
Decl = Union[Field, Embedding, Attribute, Ellipsis, LetClause, Comprehension, BadDecl]


def dump(node: Any) -> Any:
    """Return the structure of a node as nested tuples, without spans.

    Two parses of equivalent text dump equal, which is how round trips
    through `format_node` are compared. File comments and errors are left
    out; field doc comments stay.
    """
    if isinstance(node, Node):
        parts: list[Any] = [type(node).__name__]
        for item in dataclasses.fields(node):
            if item.name in _DUMP_SKIP:
                continue
            parts.append((item.name, dump(getattr(node, item.name))))
        return tuple(parts)
    if isinstance(node, list):
        return tuple(dump(item) for item in node)
    return node


_DUMP_SKIP = frozenset({"span", "label_span", "name_span", "path_span", "comments", "errors", "filename"})


# Attribute bodies


# Quoted strings (also `#`-padded ones), brackets and commas of an attribute body.
_ATTRIBUTE_TOKEN = re.compile(
    r"""(?P<hashes>\#+)(?P<quote>["']).*?(?P=quote)(?P=hashes)"""
    r"""|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'"""
    r"""|(?P<open>[(\[{])|(?P<close>[)\]}])|(?P<comma>,)""",
    re.DOTALL,
)
_QUOTED = re.compile(
    r"""(?P<hashes>\#*)(?P<quote>["']).*(?P=quote)(?P=hashes)""",
    re.DOTALL,
)
_ATTRIBUTE_KEY = re.compile(r"\s*([\w$#-]+)\s*=(?!=)(.*)", re.DOTALL)


def _attribute_items(body: str) -> list[tuple[str | None, str]]:
    """Split an attribute body at top-level commas into (key or None, value)."""
    parts = []
    depth = 0
    start = 0
    for m in _ATTRIBUTE_TOKEN.finditer(body):
        if m.group("open"):
            depth += 1
        elif m.group("close"):
            depth -= 1
        elif m.group("comma") and depth == 0:
            parts.append(body[start : m.start()])
            start = m.end()
    parts.append(body[start:])
    if len(parts) == 1 and not parts[0].strip():
        return []

    items: list[tuple[str | None, str]] = []
    for part in parts:
        key = None
        value = part.strip()
        keyed = _ATTRIBUTE_KEY.fullmatch(part)
        if keyed:
            key, value = keyed.group(1), keyed.group(2).strip()
        if _QUOTED.fullmatch(value):
            decoded, errors = decode_string(value)
            if isinstance(decoded, str) and not errors:
                value = decoded
        items.append((key, value))
    return items
