"""Documentation of the op spec, read from the doc comments of `op.cue`.

Each op (`FetchContainer: {do: "fetch-container", ...}`, aliased as the
closed definition `#FetchContainer`) has a doc comment, and so has each of
its fields. `OP_DOCS` maps the op name (the value of `do:`) to an `OpDoc`.
`DEFINITION_DOCS` maps every top-level label of the package (`Exec`,
`#Exec`, and also `#Component`, `#Dir`, `#Secret`) to one. The file is
parsed with Archon's own CUE parser once, on first use.
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
    """Parse the spec file and return an OpDoc per top-level struct and definition, keyed by label.

    An op is written once as an open struct (`Exec: {do: "exec", ...}`) and
    aliased as a closed definition (`#Exec: Exec`); both labels map to the
    op's OpDoc, whose `definition` is the label used in the alias's place.
    """
    from archon.runtime.cue import parse
    from archon.runtime.cue.ast import Field, Ident, StringLit, StructLit

    text = path.read_text(encoding="utf-8")
    parsed = parse(text, str(path))
    lines = text.splitlines()
    fields = {item.label: item for item in parsed.decls if isinstance(item, Field) and item.label_kind in ("identifier", "definition")}

    docs: dict[str, OpDoc] = {}
    for label, declaration in fields.items():
        body = declaration.value
        summary = _clean(declaration.doc)
        if isinstance(body, Ident) and body.name in fields:
            # `#Exec: Exec`: the alias takes the fields and, without a doc
            # comment of its own, the doc of the struct it names.
            target = fields[body.name]
            summary = summary or _clean(target.doc)
            body = target.value
        if not isinstance(body, StructLit):
            continue

        members: dict[str, FieldDoc] = {}
        op_name = None
        for member in body.decls:
            if not isinstance(member, Field):
                continue
            if member.label == "do" and isinstance(member.value, StringLit):
                op_name = str(member.value.value)
                continue
            members[member.label] = FieldDoc(
                name=member.label,
                type_text=_source_text(lines, member.value.span),
                doc=_clean(member.doc),
                optional=member.constraint == "?",
            )
        docs[label] = OpDoc(label, op_name, summary, members)
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
    """Return the OpDoc of every op, keyed by its `do:` value (`fetch-container`).

    The closed definition (`#Exec`) is preferred, since the docs name it.
    """
    found: dict[str, OpDoc] = {}
    for label, doc in definition_docs().items():
        if doc.op and (doc.op not in found or label.startswith("#")):
            found[doc.op] = doc
    return found


def __getattr__(name: str):
    # OP_DOCS and DEFINITION_DOCS are read on first access, not at import,
    # so that importing the module never parses the spec.
    if name == "OP_DOCS":
        return op_docs()
    if name == "DEFINITION_DOCS":
        return definition_docs()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
