"""Documentation of the op spec, read from the doc comments of `op.cue`.

Each op definition (`#FetchContainer: {do: "fetch-container", ...}`) has a
doc comment, and so has each of its fields. `OP_DOCS` maps the op name (the
value of `do:`) to an `OpDoc`; `DEFINITION_DOCS` maps every definition of
the package (`#Exec`, and also `#Component`, `#Dir`, `#Secret`) to one. The
file is parsed with Archon's own CUE parser once, on first use.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

OP_CUE = Path(__file__).resolve().parent / "cue" / "op" / "op.cue"


@dataclass(frozen=True)
class FieldDoc:
    """One field of an op: its CUE type as written in the spec, and its doc comment."""

    name: str
    type_text: str
    doc: str
    optional: bool = False


@dataclass(frozen=True)
class OpDoc:
    """One definition of the spec.

    `op` is the value of its `do:` field (None for definitions that are not
    ops, such as `#Component`). `summary` is the definition's doc comment.
    """

    definition: str
    op: str | None
    summary: str
    fields: dict[str, FieldDoc] = field(default_factory=dict)

    def signature(self) -> str:
        """Render the definition as CUE, one field per line, for hover text."""
        lines = [f"{self.definition}: {{"]
        for item in self.fields.values():
            marker = "?" if item.optional else ""
            lines.append(f"\t{item.name}{marker}: {item.type_text}")
        lines.append("}")
        return "\n".join(lines)


def read_docs(path: Path = OP_CUE) -> dict[str, OpDoc]:
    """Parse the spec file and return an OpDoc per definition, keyed by `#Name`."""
    from archon.runtime.cue import parse
    from archon.runtime.cue.ast import Field, StringLit, StructLit

    text = path.read_text(encoding="utf-8")
    parsed = parse(text, str(path))
    lines = text.splitlines()
    docs: dict[str, OpDoc] = {}
    for declaration in parsed.decls:
        if not isinstance(declaration, Field) or declaration.label_kind != "definition":
            continue
        body = declaration.value
        fields: dict[str, FieldDoc] = {}
        op_name = None
        if isinstance(body, StructLit):
            for member in body.decls:
                if not isinstance(member, Field):
                    continue
                if member.label == "do" and isinstance(member.value, StringLit):
                    op_name = str(member.value.value)
                    continue
                fields[member.label] = FieldDoc(
                    name=member.label,
                    type_text=_source_text(lines, member.value.span),
                    doc=_clean(member.doc),
                    optional=member.constraint == "?",
                )
        docs[declaration.label] = OpDoc(declaration.label, op_name, _clean(declaration.doc), fields)
    return docs


def _source_text(lines: list[str], span) -> str:
    """Return the source text of a span, joined to one line."""
    start, end = span.start, span.end
    if start.line == end.line:
        return lines[start.line - 1][start.column - 1 : end.column - 1]
    parts = [lines[start.line - 1][start.column - 1 :]]
    parts.extend(lines[start.line : end.line - 1])
    parts.append(lines[end.line - 1][: end.column - 1])
    return " ".join(part.strip() for part in parts)


def _clean(doc: str | None) -> str:
    """Join a doc comment's lines into paragraphs, as Markdown renders them."""
    if not doc:
        return ""
    text = "\n".join(line.removeprefix("//").strip() if line.lstrip().startswith("//") else line.rstrip() for line in doc.splitlines())
    return text.strip()


@functools.cache
def definition_docs() -> dict[str, OpDoc]:
    return read_docs()


@functools.cache
def op_docs() -> dict[str, OpDoc]:
    """Return the OpDoc of every op, keyed by its `do:` value (`fetch-container`)."""
    return {doc.op: doc for doc in definition_docs().values() if doc.op}


def __getattr__(name: str):
    # OP_DOCS and DEFINITION_DOCS are read on first access, not at import,
    # so that importing the module never parses the spec.
    if name == "OP_DOCS":
        return op_docs()
    if name == "DEFINITION_DOCS":
        return definition_docs()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
