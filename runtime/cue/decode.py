"""Reading the text that `cue eval -A` prints into Python values.

`decode_value(text)` returns `(value, errors)`:

- structs become `Struct`, a `dict` subclass whose keys are the labels as
  printed (definitions keep their `#`, hidden fields their `_`). What JSON
  cannot hold stays on the struct: `attributes_of(struct, key)` returns a
  field's attributes, `field_info(struct, key)` also its `?`/`!` marker,
  `struct.attributes` the declaration attributes, and `struct.embedded`
  embedded values that are not structs;
- lists become `list` (an open list's `...` is dropped), strings `str`
  (decoded, multi-line indentation removed), bytes `bytes`, integers `int`,
  floats `float`, `true`/`false`/`null` `True`/`False`/`None`;
- a disjunction with one default, `*"a" | string`, becomes its default;
- anything not concrete (`string`, `>=1`, a disjunction without default,
  a reference, an interpolation of a reference, `_|_`) becomes `Incomplete`
  with its source text, span and referenced names.

Pattern constraints (`[string]: T`), dynamic labels, `let` and `...` inside a
struct describe no data and are skipped. When a label repeats at one level,
struct values merge and otherwise the first value is kept.

Speed: the common shapes of eval output (labels, scalars, nested structs and
lists) are decoded straight from the token list by an iterative loop, so
nesting depth is unlimited. Any other expression is handed to the parser at
that point, and text with syntax errors is parsed in full so that every error
is reported.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from archon.runtime.cue import ast
from archon.runtime.cue.literals import decode_string, parse_number
from archon.runtime.cue.parser import Parser, ensure_recursion_limit
from archon.runtime.cue.query import children
from archon.runtime.cue.scanner import (
    KEYWORDS,
    KIND_ATTRIBUTE,
    KIND_EOF,
    KIND_FLOAT,
    KIND_IDENT,
    KIND_INT,
    KIND_STRING,
    LineIndex,
    scan,
)
from archon.runtime.diagnostics import Diagnostic, Span

# Names the CUE spec predeclares; they are types or builtins, not references.
PREDECLARED = frozenset(
    {
        "_", "null", "bool", "int", "float", "string", "bytes", "number", "uint", "rune",
        "int8", "int16", "int32", "int64", "int128", "uint8", "uint16", "uint32", "uint64",
        "uint128", "float32", "float64", "len", "close", "and", "or", "div", "mod", "quo", "rem",
    }
)


@dataclass(frozen=True, slots=True)
class Incomplete:
    """A value that is not concrete: a type, a bound, a reference, `_|_`, ...

    `text` is the expression as written in the decoded text, `references`
    the identifiers it refers to (roots of selectors, in order, without the
    predeclared ones such as `string`).
    """

    text: str
    span: Span
    references: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Incomplete({self.text!r})"


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """The attributes and the `?`/`!` marker of a decoded field."""

    attributes: tuple[ast.Attribute, ...] = ()
    constraint: str | None = None  # "?" or "!"


class Struct(dict):
    """A decoded CUE struct: a dict of field values plus what JSON cannot hold.

    `field_info` maps a key to its `FieldInfo` only for fields with
    attributes or a `?`/`!` marker. `attributes` are declaration attributes
    (`@if(x)` on a line of their own). `embedded` contains the embedded
    values that are not structs, such as an incomplete comprehension.
    """

    field_info: MappingProxyType | dict[str, FieldInfo] = MappingProxyType({})
    attributes: tuple[ast.Attribute, ...] = ()
    embedded: tuple[Any, ...] = ()

    def __repr__(self) -> str:
        return f"Struct({dict.__repr__(self)})"


def attributes_of(struct: dict, key: str) -> tuple[ast.Attribute, ...]:
    """Return the attributes of field `key` of a decoded struct (empty if none)."""
    info = getattr(struct, "field_info", {}).get(key)
    return info.attributes if info is not None else ()


def field_info(struct: dict, key: str) -> FieldInfo | None:
    """Return the attributes and marker of field `key`, or None when it has neither."""
    return getattr(struct, "field_info", {}).get(key)


def decode_value(text: str, filename: str = "<eval>") -> tuple[Any, list[Diagnostic]]:
    """Convert `cue eval` output into Python values; never raises (the fuzz tests check it).

    Text holding only one embedded value (as `cue eval -e expr` prints) decodes
    to that value; otherwise the result is a `Struct` of the top-level fields.
    """
    ensure_recursion_limit()
    result = scan(text)
    decoder = _Decoder(result, filename)
    if not result.errors:
        try:
            return decoder.decode_fast(), []
        except _Fallback:
            pass
        except RecursionError:
            pass
    return decoder.decode_parsed()


class _Fallback(Exception):
    """The fast path met text it does not handle; decode from the full parse."""


_EMBED = object()  # the "key" of an embedded value in a struct frame
_UNSET = object()
_json_loads = json.JSONDecoder(strict=False).decode
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_CONCRETE = object()
_VALUE_ENDS = frozenset({",", "}", "]", KIND_ATTRIBUTE, KIND_EOF})
_LABEL_KINDS = frozenset({KIND_IDENT}) | KEYWORDS


class _Decoder:
    def __init__(self, result, filename: str):
        self.result = result
        self.text = result.text
        self.tokens = result.tokens
        self.filename = filename
        self.lines = LineIndex(result.text)
        self.parser = Parser(result, filename, self.lines)
        self.converter = _Converter(self.text, self.lines)

    # Slow path

    def decode_parsed(self) -> tuple[Any, list[Diagnostic]]:
        parser = Parser(self.result, self.filename, self.lines)
        try:
            file = parser.parse_file()
        except RecursionError:
            file = parser.abandon("nesting too deep to parse")
        struct = Struct()
        for decl in file.decls:
            self.converter.add_decl(struct, decl)
        return self.converter.finish(struct), file.errors

    # Fast path

    def _parse_with(self, index: int, method: str) -> tuple[Any, int]:
        """Parse one node at token `index` with the parser; any syntax error aborts the fast path."""
        parser = self.parser
        parser.i = index
        node = getattr(parser, method)()
        if parser.errors:
            raise _Fallback
        return node, parser.i

    def decode_fast(self) -> Any:
        tokens = self.tokens
        converter = self.converter
        i = 0
        if tokens[0][0] == KIND_IDENT and tokens[0][1] in ("package", "import"):
            i = self._skip_preamble()

        top = Struct()
        container: Any = top
        is_struct = True
        closer = KIND_EOF
        # Frames of the enclosing containers:
        # (container, is_struct, closer, key, constraint, value_index).
        stack: list[tuple[Any, bool, str, Any, str | None, int]] = []

        while True:
            kind, text, _, _ = tokens[i]
            if kind == ",":
                i += 1
                continue

            if kind == closer:
                if not stack:
                    return converter.finish(top)
                i += 1
                value = converter.finish(container) if is_struct else container
                container, is_struct, closer, key, constraint, value_index = stack.pop()
                following = tokens[i][0]
                if following == "," or following == closer:
                    # Commonest case, inlined: nothing follows the value.
                    if not is_struct:
                        container.append(value)
                    elif key is _EMBED or key in container or constraint:
                        self._store(container, key, constraint, value, [])
                    else:
                        container[key] = value
                    if following == ",":
                        i += 1
                    continue
                i = self._after_value(container, is_struct, closer, key, constraint, value, i, value_index)
                continue

            if kind == KIND_EOF:
                raise _Fallback  # a struct or list left open

            constraint = None
            if is_struct:
                following = tokens[i + 1][0]
                if following == ":" and (kind in _LABEL_KINDS or kind == KIND_STRING):
                    key = text if kind != KIND_STRING else self._label_string(text)
                    i += 2
                elif (following == "?" or following == "!") and tokens[i + 2][0] == ":" and (
                    kind in _LABEL_KINDS or kind == KIND_STRING
                ):
                    key = text if kind != KIND_STRING else self._label_string(text)
                    constraint = following
                    i += 3
                elif kind == "{" or kind == "[":
                    key = _EMBED
                else:
                    decl, i = self._parse_with(i, "parse_decl")
                    if decl is not None:
                        converter.add_decl(container, decl)
                    if tokens[i][0] not in (",", closer):
                        raise _Fallback
                    continue
            else:
                key = None
                if kind == "..." or kind == "for" or kind == "if":
                    element, i = self._parse_with(i, "parse_list_element")
                    if not isinstance(element, ast.Ellipsis):
                        container.append(converter.value_of(element))
                    i = self._expect_separator(i, closer)
                    continue

            value_index = i
            kind, text, _, _ = tokens[i]
            if kind == KIND_EOF:
                raise _Fallback  # a label without a value
            if kind == "{":
                stack.append((container, is_struct, closer, key, constraint, value_index))
                container, is_struct, closer = Struct(), True, "}"
                i += 1
                continue
            if kind == "[":
                stack.append((container, is_struct, closer, key, constraint, value_index))
                container, is_struct, closer = [], False, "]"
                i += 1
                continue

            # Commonest case, inlined: one literal followed by a separator.
            following = tokens[i + 1][0]
            if following == "," or following == closer:
                value = _UNSET
                if kind == KIND_STRING:
                    if text[0] == '"' and not text.startswith('"""') and "\r" not in text:
                        if "\\" not in text:
                            value = text[1:-1]
                        else:
                            value = _json_string(text)
                elif kind == KIND_INT:
                    if text.isdigit() and (text[0] != "0" or len(text) == 1):
                        value = int(text)
                elif kind == KIND_FLOAT:
                    value = _float(text)
                elif kind == KIND_IDENT:
                    value = self._incomplete_identifier(i)
                elif kind == "true":
                    value = True
                elif kind == "false":
                    value = False
                elif kind == "null":
                    value = None
                if value is not _UNSET:
                    if not is_struct:
                        container.append(value)
                    elif key is _EMBED or key in container or constraint:
                        self._store(container, key, constraint, value, [])
                    else:
                        container[key] = value
                    i += 2 if following == "," else 1
                    continue

            value, i = self._scalar(i)
            i = self._after_value(container, is_struct, closer, key, constraint, value, i, value_index)

    def _incomplete_identifier(self, i: int) -> Incomplete:
        """Return the `Incomplete` for a value that is one identifier, such as `string`."""
        _, name, start, end = self.tokens[i]
        span = Span(self.filename, self.lines.position(start), self.lines.position(end))
        names = () if name in PREDECLARED or name.startswith("__") else (name,)
        return Incomplete(name, span, names)

    def _skip_preamble(self) -> int:
        parser = self.parser
        parser.i = 0
        parser.parse_package()
        parser.parse_imports()
        if parser.errors:
            raise _Fallback
        return parser.i

    def _label_string(self, raw: str) -> str:
        if raw[0] == '"' and "\\" not in raw and "\r" not in raw and not raw.startswith('"""'):
            return raw[1:-1]
        value, errors = decode_string(raw)
        if errors or not isinstance(value, str):
            raise _Fallback
        return value

    def _scalar(self, i: int) -> tuple[Any, int]:
        """Decode the value at token `i` when it is one literal, else parse the expression."""
        tokens = self.tokens
        kind, text, _, _ = tokens[i]
        if tokens[i + 1][0] in _VALUE_ENDS:
            if kind == KIND_STRING:
                if text[0] == '"' and "\\" not in text and "\r" not in text and not text.startswith('"""'):
                    return text[1:-1], i + 1
                value, errors = decode_string(text)
                if errors:
                    raise _Fallback
                return value, i + 1
            if kind == KIND_INT and (text[0] != "0" or len(text) == 1) and text.isdigit():
                return int(text), i + 1
            if kind == KIND_INT or kind == KIND_FLOAT:
                number, problem = parse_number(text)
                if problem:
                    raise _Fallback
                return number, i + 1
            if kind == KIND_IDENT:
                return self._incomplete_identifier(i), i + 1
            if kind == "true":
                return True, i + 1
            if kind == "false":
                return False, i + 1
            if kind == "null":
                return None, i + 1
        expr, i = self._parse_with(i, "parse_expr")
        return self.converter.value_of(expr), i

    def _after_value(
        self, container: Any, is_struct: bool, closer: str, key: Any,
        constraint: str | None, value: Any, i: int, value_index: int,
    ) -> int:
        """Store a decoded value with its attributes; return the index after its separator."""
        tokens = self.tokens
        kind = tokens[i][0]
        if kind not in _VALUE_ENDS:
            # The value goes on, as in `{a: 1} & {b: 2}`: parse it whole.
            expr, i = self._parse_with(value_index, "parse_expr")
            value = self.converter.value_of(expr)
            kind = tokens[i][0]

        if not is_struct:
            container.append(value)
            return self._expect_separator(i, closer)

        attributes = []
        while kind == KIND_ATTRIBUTE:
            attributes.append(self.parser.parse_attribute_at(i))
            i += 1
            kind = tokens[i][0]

        self._store(container, key, constraint, value, attributes)
        return self._expect_separator(i, closer)

    def _store(self, struct: Struct, key: Any, constraint: str | None, value: Any, attributes: list) -> None:
        if key is _EMBED:
            self.converter.embed(struct, value)
            return
        self.converter.store(struct, key, value)
        if attributes or constraint:
            self.converter.store_info(struct, key, FieldInfo(tuple(attributes), constraint))

    def _expect_separator(self, i: int, closer: str) -> int:
        kind = self.tokens[i][0]
        if kind == ",":
            return i + 1
        if kind == closer:
            return i
        raise _Fallback


class _Converter:
    """Turns syntax-tree values into Python values (shared by both paths)."""

    def __init__(self, text: str, lines: LineIndex):
        self.text = text
        self.lines = lines

    # Structs

    def store(self, struct: Struct, key: str, value: Any) -> None:
        if key in struct:
            previous = struct[key]
            if isinstance(previous, dict) and isinstance(value, dict):
                for inner_key, inner_value in value.items():
                    self.store(previous, inner_key, inner_value)
            return
        struct[key] = value

    def store_info(self, struct: Struct, key: str, info: FieldInfo) -> None:
        if not isinstance(struct.field_info, dict):
            struct.field_info = {}
        previous = struct.field_info.get(key)
        if previous is not None:
            info = FieldInfo(previous.attributes + info.attributes, previous.constraint or info.constraint)
        struct.field_info[key] = info

    def embed(self, struct: Struct, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                self.store(struct, key, inner)
            for key, info in getattr(value, "field_info", {}).items():
                self.store_info(struct, key, info)
            return
        struct.embedded = struct.embedded + (value,)

    def finish(self, struct: Struct) -> Any:
        """Return the struct, or its one embedded value when it has no regular fields."""
        if len(struct.embedded) == 1 and not any(key[:1] not in ("#", "_") for key in struct):
            return struct.embedded[0]
        return struct

    def add_decl(self, struct: Struct, decl: ast.Node) -> None:
        if isinstance(decl, ast.Field):
            if decl.label_kind not in ("identifier", "definition", "hidden", "string"):
                return
            self.store(struct, decl.label, self.value_of(decl.value))
            if decl.attributes or decl.constraint:
                self.store_info(struct, decl.label, FieldInfo(tuple(decl.attributes), decl.constraint))
        elif isinstance(decl, ast.Embedding):
            self.embed(struct, self.value_of(decl.expr))
        elif isinstance(decl, ast.Comprehension):
            struct.embedded = struct.embedded + (self.incomplete(decl),)
        elif isinstance(decl, ast.Attribute):
            struct.attributes = struct.attributes + (decl,)

    # Values

    def value_of(self, node: ast.Node) -> Any:
        """Return the Python value of an expression, or `Incomplete` if it is not concrete."""
        value = self._evaluate(node)
        return self.incomplete(node) if value is _NOT_CONCRETE else value

    def _evaluate(self, node: ast.Node) -> Any:
        """Return the value of `node`, or `_NOT_CONCRETE`.

        Operands are evaluated with this method, not `value_of`, so that
        only the outermost non-concrete expression becomes an `Incomplete`
        (building one per level would be quadratic in the nesting depth).
        """
        if isinstance(node, ast.StringLit):
            return node.value
        if isinstance(node, ast.NumberLit):
            return node.value if node.value is not None else _NOT_CONCRETE
        if isinstance(node, ast.BoolLit):
            return node.value
        if isinstance(node, ast.NullLit):
            return None
        if isinstance(node, ast.StructLit):
            struct = Struct()
            for decl in node.decls:
                self.add_decl(struct, decl)
            return self.finish(struct)
        if isinstance(node, ast.ListLit):
            return [self.value_of(element) for element in node.elements if not isinstance(element, ast.Ellipsis)]
        if isinstance(node, ast.ParenExpr):
            return self._evaluate(node.expr)
        if isinstance(node, ast.UnaryExpr):
            return self._unary(node)
        if isinstance(node, ast.BinaryExpr):
            if node.op == "|":
                return self._disjunction(node)
            if node.op == "&":
                return self._unification(node)
        if isinstance(node, ast.Interpolation):
            return self._interpolation(node)
        return _NOT_CONCRETE

    def _unary(self, node: ast.UnaryExpr) -> Any:
        if node.op in ("-", "+"):
            operand = self._evaluate(node.operand)
            if isinstance(operand, (int, float)) and not isinstance(operand, bool):
                return -operand if node.op == "-" else operand
        return _NOT_CONCRETE

    def _disjunction(self, node: ast.BinaryExpr) -> Any:
        alternatives: list[ast.Node] = []
        _flatten(node, "|", alternatives)
        defaults = [alt.operand for alt in alternatives if isinstance(alt, ast.UnaryExpr) and alt.op == "*"]
        if not defaults:
            return _NOT_CONCRETE
        return _agreed([self._evaluate(default) for default in defaults])

    def _unification(self, node: ast.BinaryExpr) -> Any:
        operands: list[ast.Node] = []
        _flatten(node, "&", operands)
        return _agreed([self._evaluate(operand) for operand in operands])

    def _interpolation(self, node: ast.Interpolation) -> Any:
        parts: list[str] = []
        for index, fragment in enumerate(node.fragments):
            parts.append(fragment.decode("utf-8", "replace") if isinstance(fragment, bytes) else fragment)
            if index < len(node.exprs):
                text = _interpolated_text(self._evaluate(node.exprs[index]))
                if text is None:
                    return _NOT_CONCRETE
                parts.append(text)
        joined = "".join(parts)
        return joined.encode("utf-8") if node.is_bytes else joined

    def incomplete(self, node: ast.Node) -> Incomplete:
        start = self.lines.offset(node.span.start.line, node.span.start.column)
        end = self.lines.offset(node.span.end.line, node.span.end.column)
        return Incomplete(self.text[start:end], node.span, references(node))


def _json_string(raw: str) -> Any:
    """Decode a one-line double-quoted literal with JSON's decoder, or return `_UNSET`.

    JSON's escapes mean the same in CUE, so a literal that JSON accepts
    decodes to the same string. CUE-only escapes (`\\a`, `\\U...`) make JSON
    fail, and the caller then uses `literals.decode_string`. It does the same
    for a lone surrogate, which JSON accepts but CUE rejects.
    """
    try:
        value = _json_loads(raw)
    except ValueError:
        return _UNSET
    if "\\u" in raw and _SURROGATE.search(value):
        return _UNSET
    return value


def _float(raw: str) -> Any:
    # Python's float syntax accepts every CUE float literal the scanner
    # produces, and rejects misplaced underscores as CUE does.
    try:
        return float(raw)
    except ValueError:
        return _UNSET


def _flatten(node: ast.Node, op: str, into: list[ast.Node]) -> None:
    if isinstance(node, ast.BinaryExpr) and node.op == op:
        _flatten(node.left, op, into)
        _flatten(node.right, op, into)
    else:
        into.append(node)


def _is_incomplete(value: Any) -> bool:
    if value is _NOT_CONCRETE or isinstance(value, Incomplete):
        return True
    if isinstance(value, dict):
        return any(_is_incomplete(item) for item in value.values())
    if isinstance(value, list):
        return any(_is_incomplete(item) for item in value)
    return False


def _agreed(values: list[Any]) -> Any:
    """Return the one concrete value all of `values` equal, or `_NOT_CONCRETE`."""
    first = values[0]
    if _is_incomplete(first):
        return _NOT_CONCRETE
    for other in values[1:]:
        if type(other) is not type(first) or other != first or _is_incomplete(other):
            return _NOT_CONCRETE
    return first


def _interpolated_text(value: Any) -> str | None:
    """Return how CUE prints a concrete value inside `\\(...)`, or None if it cannot be."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # NOTE: cue prints floats in its own decimal form; repr matches it
        # for ordinary values (1.5) but not for every exponent form.
        return repr(value)
    return None


def references(node: ast.Node) -> tuple[str, ...]:
    """Return the names an expression refers to, in order of first use.

    A selector counts by its root (`base` for `base.#up`). Names bound
    inside the expression (fields of its struct literals, `let`, `for`,
    aliases) are left out, and so are predeclared names (`string`, `len`).
    """
    found: dict[str, None] = {}
    _collect_references(node, frozenset(), found)
    return tuple(found)


def _collect_references(node: ast.Node, bound: frozenset[str], found: dict[str, None]) -> None:
    if isinstance(node, ast.Ident):
        name = node.name
        if name and name not in bound and name not in PREDECLARED and not name.startswith("__"):
            found.setdefault(name, None)
    elif isinstance(node, ast.SelectorExpr):
        _collect_references(node.operand, bound, found)
    elif isinstance(node, ast.StructLit):
        _collect_struct(node.decls, bound, found)
    elif isinstance(node, ast.Comprehension):
        _collect_comprehension(node, bound, found)
    elif isinstance(node, ast.Alias):
        _collect_references(node.expr, bound, found)
    else:
        for child in children(node):
            _collect_references(child, bound, found)


def _collect_struct(decls: list[ast.Node], bound: frozenset[str], found: dict[str, None]) -> None:
    names = set(bound)
    for decl in decls:
        if isinstance(decl, ast.Field):
            if decl.label_kind in ("identifier", "definition", "hidden"):
                names.add(decl.label)
            if decl.alias is not None:
                names.add(decl.alias.name)
        elif isinstance(decl, ast.LetClause):
            names.add(decl.name.name)
    inner = frozenset(names)

    for decl in decls:
        if isinstance(decl, ast.Field):
            label_bound = inner
            if decl.label_kind in ("pattern", "dynamic", "interpolated") and decl.label_node is not None:
                _collect_references(decl.label_node, inner, found)
                aliases = [element.name.name for element in getattr(decl.label_node, "elements", ()) if isinstance(element, ast.Alias)]
                label_bound = inner | frozenset(aliases)
            _collect_references(decl.value, label_bound, found)
        elif isinstance(decl, ast.LetClause):
            _collect_references(decl.value, inner, found)
        elif isinstance(decl, ast.Attribute):
            continue
        else:
            _collect_references(decl, inner, found)


def _collect_comprehension(node: ast.Comprehension, bound: frozenset[str], found: dict[str, None]) -> None:
    scope = bound
    for clause in node.clauses:
        if isinstance(clause, ast.ForClause):
            _collect_references(clause.source, scope, found)
            names = {clause.value.name} | ({clause.key.name} if clause.key is not None else set())
            scope = scope | frozenset(names)
        elif isinstance(clause, ast.LetClause):
            _collect_references(clause.value, scope, found)
            scope = scope | {clause.name.name}
        else:
            _collect_references(clause.condition, scope, found)
    _collect_references(node.body, scope, found)
