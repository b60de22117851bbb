"""Op-spec checks on the syntax tree of one file, without running `cue`.

The full validation (`archon.runtime.validate`) checks evaluated values, so
it waits for `cue eval`. These checks look only at what is written: a
struct literal with `do: "<name>"`, a struct unified with an op definition
(`op.#Exec & {...}`) and references to definitions of the spec package
(`op.#Exce`). They give the same codes and hints as the full validation, so
the fast pass and the full pass agree while the user types.
"""

from __future__ import annotations

from collections.abc import Iterator

from archon.runtime.cue.ast import (
    BinaryExpr,
    Field,
    File,
    Node,
    SelectorExpr,
    StringLit,
    StructLit,
    Ident,
)
from archon.runtime.diagnostics import Diagnostic
from archon.runtime.validate import OPS, suggest

SPEC_IMPORT_PATH = "archon.dev/op"


def spec_aliases(parsed: File) -> set[str]:
    """Return the names under which the file imports the op spec (usually `op`)."""
    return {spec.package_name for spec in parsed.imports if spec.path.split(":")[0] == SPEC_IMPORT_PATH}


def walk(node: object) -> Iterator[Node]:
    """Yield node and every node below it, parents first."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, list):
            stack.extend(reversed(current))
            continue
        if not isinstance(current, Node):
            continue
        yield current
        for name in current.__slots__:
            if name in ("span", "label_span", "name_span", "path_span"):
                continue
            child = getattr(current, name, None)
            if isinstance(child, (Node, list)):
                stack.append(child)


def check_file(parsed: File) -> list[Diagnostic]:
    """Return the op-spec problems written in one file."""
    from archon.runtime.spec.docs import definition_docs

    definitions = definition_docs()
    aliases = spec_aliases(parsed)
    diagnostics: list[Diagnostic] = []
    checked: set[int] = set()

    for node in walk(parsed.decls):
        if isinstance(node, SelectorExpr) and _is_spec_reference(node, aliases):
            name = node.name
            if name not in definitions:
                close = suggest(name, list(definitions))
                hint = f"did you mean `{node.operand.name}.{close}`?" if close else f"definitions of {SPEC_IMPORT_PATH}: {', '.join(definitions)}"
                diagnostics.append(
                    Diagnostic(f"{SPEC_IMPORT_PATH} has no definition {name}", node.selector.span, code="unknown-definition", hint=hint)
                )
        elif isinstance(node, BinaryExpr) and node.op == "&":
            op_name = _unified_op(node, aliases, definitions)
            for side in (node.left, node.right):
                if op_name and isinstance(side, StructLit) and id(side) not in checked:
                    checked.add(id(side))
                    diagnostics.extend(_check_struct(side, op_name))
        elif isinstance(node, StructLit) and id(node) not in checked:
            do_field = _field(node, "do")
            if do_field is not None and isinstance(do_field.value, StringLit):
                checked.add(id(node))
                diagnostics.extend(_check_struct(node, None))
    return diagnostics


def _is_spec_reference(node: SelectorExpr, aliases: set[str]) -> bool:
    return isinstance(node.operand, Ident) and node.operand.name in aliases


def _unified_op(node: BinaryExpr, aliases: set[str], definitions: dict) -> str | None:
    for side in (node.left, node.right):
        if isinstance(side, SelectorExpr) and _is_spec_reference(side, aliases):
            doc = definitions.get(side.name)
            if doc is not None and doc.op:
                return doc.op
    return None


def _field(struct: StructLit, label: str) -> Field | None:
    for declaration in struct.decls:
        if isinstance(declaration, Field) and declaration.label == label:
            return declaration
    return None


def _check_struct(struct: StructLit, op_name: str | None) -> list[Diagnostic]:
    do_field = _field(struct, "do")
    if do_field is not None and isinstance(do_field.value, StringLit):
        written = str(do_field.value.value)
        if written not in OPS:
            close = suggest(written, list(OPS))
            hint = f'did you mean "{close}"?' if close else f"use one of {', '.join(OPS)}"
            return [Diagnostic(f'unknown op "{written}"', do_field.value.span, code="unknown-op", hint=hint)]
        if op_name is None:
            op_name = written
    if op_name is None or op_name not in OPS:
        return []

    spec = OPS[op_name]
    diagnostics = []
    for declaration in struct.decls:
        if not isinstance(declaration, Field) or declaration.label_kind not in ("identifier", "string"):
            continue
        if declaration.label in spec.fields:
            continue
        close = suggest(declaration.label, list(spec.fields))
        known = ", ".join(name for name in spec.fields if name != "do")
        hint = f"did you mean `{close}`?" if close else f"fields of {op_name}: {known}"
        diagnostics.append(
            Diagnostic(f'unknown field `{declaration.label}` in op "{op_name}"', declaration.label_span, code="unknown-field", hint=hint)
        )
    return diagnostics
