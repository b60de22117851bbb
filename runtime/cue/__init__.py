"""An error-tolerant CUE parser (syntax only) and a decoder for `cue eval` output.

- `parse(text, filename)` returns a `File` and never raises (checked by
  tests/runtime/test_cue_fuzz.py); syntax errors are `Diagnostic`s (code
  `syntax`) in `File.errors`.
- `parse_cached(text, filename)` returns the same, shared with every
  earlier parse of the same content (archon.runtime.cue.cache): read-only.
- `find_field`, `find_fields`, `field_span`, `field_at`, `node_at`, `walk`
  and `Visitor` navigate the tree for editor features.
- `format_node(node)` prints a tree back as CUE text.
- `decode_value(text)` turns the text `cue eval -A` prints into Python
  values, with `Incomplete` for values that are not concrete.
"""

from archon.runtime.cue.ast import (
    Alias,
    Attribute,
    BadDecl,
    BadExpr,
    BinaryExpr,
    BoolLit,
    BottomLit,
    CallExpr,
    Comment,
    Comprehension,
    Ellipsis,
    Embedding,
    Field,
    File,
    ForClause,
    Ident,
    IfClause,
    ImportSpec,
    IndexExpr,
    Interpolation,
    LetClause,
    ListLit,
    Node,
    NullLit,
    NumberLit,
    PackageClause,
    ParenExpr,
    SelectorExpr,
    SliceExpr,
    StringLit,
    StructLit,
    UnaryExpr,
    dump,
)
from archon.runtime.cue.decode import (
    FieldInfo,
    Incomplete,
    Struct,
    attributes_of,
    decode_value,
    field_info,
    references,
)
from archon.runtime.cue.parser import parse, parse_expr
from archon.runtime.cue.cache import parse_cached
from archon.runtime.cue.printer import format_node
from archon.runtime.cue.query import (
    Visitor,
    children,
    field_at,
    field_span,
    find_field,
    find_fields,
    node_at,
    nodes_at,
    walk,
)
from archon.runtime.cue.scanner import scan

__all__ = [
    "Alias", "Attribute", "BadDecl", "BadExpr", "BinaryExpr", "BoolLit", "BottomLit",
    "CallExpr", "Comment", "Comprehension", "Ellipsis", "Embedding", "Field", "FieldInfo",
    "File", "ForClause", "Ident", "IfClause", "ImportSpec", "Incomplete", "IndexExpr",
    "Interpolation", "LetClause", "ListLit", "Node", "NullLit", "NumberLit", "PackageClause",
    "ParenExpr", "SelectorExpr", "SliceExpr", "StringLit", "Struct", "StructLit", "UnaryExpr",
    "Visitor", "attributes_of", "children", "decode_value", "dump", "field_at", "field_info",
    "field_span", "find_field", "find_fields", "format_node", "node_at", "nodes_at", "parse",
    "parse_cached", "parse_expr", "references", "scan", "walk",
]
