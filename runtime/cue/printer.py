"""Print a CUE syntax tree back as source text.

The output parses to the same structure (`ast.dump`) as the tree it came
from. It keeps field doc comments but drops other comments. Structs get
one declaration per line with tab indentation, and lists stay on one line.
The output does not try to match `cue fmt` byte for byte (no alignment).
"""

from __future__ import annotations

from archon.runtime.cue import ast
from archon.runtime.cue.literals import quote_string

_INDENT = "\t"


def format_node(node: ast.Node) -> str:
    """Return CUE source text for a file, declaration or expression."""
    if isinstance(node, ast.File):
        return _file(node)
    if isinstance(node, (ast.Field, ast.Embedding, ast.Attribute, ast.LetClause, ast.BadDecl)):
        return _decl(node, 0)
    return _expr(node, 0)


def _file(file: ast.File) -> str:
    sections: list[str] = []
    header = [_attribute(attribute) for attribute in file.attributes]
    if file.package is not None:
        header.append(f"package {file.package.name}")
    if header:
        sections.append("\n".join(header))

    if len(file.imports) == 1:
        sections.append("import " + _import_spec(file.imports[0]))
    elif file.imports:
        specs = "\n".join(_INDENT + _import_spec(spec) for spec in file.imports)
        sections.append(f"import (\n{specs}\n)")

    if file.decls:
        sections.append(_decls(file.decls, 0))
    return "\n\n".join(sections) + "\n" if sections else ""


def _import_spec(spec: ast.ImportSpec) -> str:
    path = quote_string(spec.path)
    return f"{spec.alias} {path}" if spec.alias else path


def _decls(decls: list[ast.Node], level: int) -> str:
    prefix = _INDENT * level
    return "\n".join(prefix + _decl(decl, level) for decl in decls)


def _decl(decl: ast.Node, level: int) -> str:
    if isinstance(decl, ast.Field):
        return _doc(decl.doc, level) + _field(decl, level)
    if isinstance(decl, ast.Embedding):
        return _expr(decl.expr, level)
    if isinstance(decl, ast.LetClause):
        return _doc(decl.doc, level) + _expr(decl, level)
    if isinstance(decl, ast.BadDecl):
        return decl.text
    return _expr(decl, level)


def _doc(doc: str | None, level: int) -> str:
    if doc is None:
        return ""
    prefix = _INDENT * level
    lines = [("// " + line) if line else "//" for line in doc.split("\n")]
    return "".join(line + "\n" + prefix for line in lines)


def _field(field: ast.Field, level: int) -> str:
    text = f"{field.alias.name}=" if field.alias is not None else ""
    text += _label(field, level)
    text += field.constraint or ""
    text += ": "

    value = field.value
    if isinstance(value, ast.StructLit) and value.implicit and len(value.decls) == 1:
        inner = value.decls[0]
        text += _field(inner, level) if isinstance(inner, ast.Field) else _decl(inner, level)
    else:
        text += _expr(value, level)

    for attribute in field.attributes:
        text += " " + _attribute(attribute)
    return text


def _label(field: ast.Field, level: int) -> str:
    if field.label_node is not None:
        return _expr(field.label_node, level)
    if field.label_kind == "string":
        return quote_string(field.label)
    return field.label


def _attribute(attribute: ast.Attribute) -> str:
    return f"@{attribute.name}({attribute.body})"


def _expr(node: ast.Node, level: int) -> str:
    printer = _PRINTERS.get(type(node))
    if printer is None:
        raise TypeError(f"cannot print {type(node).__name__} as CUE")
    return printer(node, level)


def _struct(node: ast.StructLit, level: int) -> str:
    if not node.decls:
        return "{}"
    if node.implicit and len(node.decls) == 1:
        return _decl(node.decls[0], level)
    body = _decls(node.decls, level + 1)
    return "{\n" + body + "\n" + _INDENT * level + "}"


def _list(node: ast.ListLit, level: int) -> str:
    return "[" + ", ".join(_expr(element, level) for element in node.elements) + "]"


def _unary(node: ast.UnaryExpr, level: int) -> str:
    operand = _expr(node.operand, level)
    # `!` then `=~x` must not print as the single token `!=`.
    separator = " " if operand[:1] in ("=", "~") else ""
    return node.op + separator + operand


def _interpolation(node: ast.Interpolation, level: int) -> str:
    parts = [node.raw_fragments[0]]
    for expr, fragment in zip(node.exprs, node.raw_fragments[1:]):
        parts.append(_expr(expr, level))
        parts.append(fragment)
    return "".join(parts)


def _ellipsis(node: ast.Ellipsis, level: int) -> str:
    return "..." if node.value is None else "..." + _expr(node.value, level)


def _for(node: ast.ForClause, level: int) -> str:
    names = node.value.name if node.key is None else f"{node.key.name}, {node.value.name}"
    return f"for {names} in {_expr(node.source, level)}"


def _comprehension(node: ast.Comprehension, level: int) -> str:
    clauses = " ".join(_expr(clause, level) for clause in node.clauses)
    return f"{clauses} {_struct(node.body, level)}"


def _slice(node: ast.SliceExpr, level: int) -> str:
    low = "" if node.low is None else _expr(node.low, level)
    high = "" if node.high is None else _expr(node.high, level)
    return f"{_expr(node.operand, level)}[{low}:{high}]"


_PRINTERS = {
    ast.Ident: lambda n, level: n.name,
    ast.NumberLit: lambda n, level: n.raw,
    ast.StringLit: lambda n, level: n.raw,
    ast.Interpolation: _interpolation,
    ast.BoolLit: lambda n, level: "true" if n.value else "false",
    ast.NullLit: lambda n, level: "null",
    ast.BottomLit: lambda n, level: "_|_",
    ast.StructLit: _struct,
    ast.ListLit: _list,
    ast.Ellipsis: _ellipsis,
    ast.UnaryExpr: _unary,
    ast.BinaryExpr: lambda n, level: f"{_expr(n.left, level)} {n.op} {_expr(n.right, level)}",
    ast.ParenExpr: lambda n, level: f"({_expr(n.expr, level)})",
    ast.SelectorExpr: lambda n, level: f"{_expr(n.operand, level)}.{_expr(n.selector, level)}",
    ast.IndexExpr: lambda n, level: f"{_expr(n.operand, level)}[{_expr(n.index, level)}]",
    ast.SliceExpr: _slice,
    ast.CallExpr: lambda n, level: f"{_expr(n.func, level)}({', '.join(_expr(a, level) for a in n.args)})",
    ast.Alias: lambda n, level: f"{n.name.name}={_expr(n.expr, level)}",
    ast.ForClause: _for,
    ast.IfClause: lambda n, level: f"if {_expr(n.condition, level)}",
    ast.LetClause: lambda n, level: f"let {n.name.name} = {_expr(n.value, level)}",
    ast.Comprehension: _comprehension,
    ast.Attribute: lambda n, level: _attribute(n),
    ast.Field: _field,
    ast.Embedding: lambda n, level: _expr(n.expr, level),
    ast.BadExpr: lambda n, level: n.text,
    ast.BadDecl: lambda n, level: n.text,
}
