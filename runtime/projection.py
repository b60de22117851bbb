"""A compact view of the evaluated configuration, computed by cue itself.

`cue eval` prints a value in full wherever it is referenced, so a component
that loads another prints that one's ops again, and so on down the chain:
a chain of 300 components printed 290 MB in 33 s. Instead, Archon adds one
file to the package (written here) that tags every component with a hidden
`_archonID` and defines `_archonOut`, a projection that prints each
component's ops once, with every reference to a tagged component replaced
by `{"#ref": [ids]}`. cue evaluates the whole package as usual (every
error is still reported) and prints only the projection, whose size grows
with the number of ops. `rebuild` turns it back into shared Python values.

Components are found syntactically (fields written as structs, definitions
applied with `&`, or references to other candidates) plus, one level down,
the struct members of those fields that have `$up` after evaluation, which
covers components made by comprehensions. A reference to a component
without a tag (one written inline, or made by a comprehension) is printed
in full, which is correct but not compact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from archon.runtime import source as src
from archon.runtime.cue import ast
from archon.runtime.cue.cache import derived
from archon.runtime.values import LEGACY_UP, UP, UP_LABELS

FILE_NAME = "zz_archon_projection.cue"
EXPRESSION = "_archonOut"
REFERENCE_KEY = "#ref"


@dataclass
class Projection:
    text: str
    candidates: list[tuple[str, ...]] = field(default_factory=list)


def _label(name: str) -> str:
    """Quote a label unless it is a plain identifier."""
    if name.replace("_", "a").isalnum() and not name[0].isdigit() and not name.startswith(("#", "_")):
        return name
    return json.dumps(name)


def _selector(path: tuple[str, ...]) -> str:
    """Return a CUE expression that refers to the field at path from the package scope."""
    head, *rest = path
    if not (head.replace("_", "a").isalnum() and not head[0].isdigit()):
        # A top-level label that is not an identifier cannot be referred to.
        return ""
    return head + "".join(f".{_label(part)}" if _label(part) == part else f"[{json.dumps(part)}]" for part in rest)


def _is_candidate(value, names: set[str]) -> bool:
    """Tell whether a field's written value is likely a struct, so a hidden tag can be added to it."""
    if isinstance(value, ast.ParenExpr):
        return _is_candidate(value.expr, names)
    if isinstance(value, ast.StructLit):
        return True
    if isinstance(value, ast.BinaryExpr) and value.op == "&":
        return _is_candidate(value.left, names) or _is_candidate(value.right, names)
    if isinstance(value, ast.Ident):
        return value.name.startswith("#") or value.name in names
    if isinstance(value, ast.SelectorExpr):
        return value.name.startswith("#")
    return False


def candidate_paths(files: Iterable[ast.File]) -> list[tuple[str, ...]]:
    fields: list[tuple[tuple[str, ...], ast.Field]] = []
    for parsed in files:
        fields.extend(src.fields(parsed))

    top_level = {path[0] for path, _ in fields if len(path) == 1}
    found: dict[tuple[str, ...], None] = {}
    for path, node in fields:
        if any(label.startswith(("#", "_")) for label in path):
            continue
        if _is_candidate(node.value, top_level) and _selector(path):
            found.setdefault(path, None)
    return list(found)


def build(files: Iterable[ast.File], package: str, inputs: Iterable[tuple[str, ...]], tag: bool = True) -> Projection:
    """Write the projection file for a package whose files are already parsed.

    The projection names every candidate directly instead of going through
    a shared definition. Unifying a component into a definition's field
    copies the component, and for a chain of 300 components that copying
    took cue 57 s, against 4 s without it.
    """
    files = list(files)
    candidates = candidate_paths(files)
    written_components = _written_components(files)
    plain = _plain_up_paths(files)
    lines = [f"package {package}", "", "// Written by Archon for one evaluation; see archon/runtime/projection.py.", ""]

    if tag:
        for path in candidates:
            lines.append(": ".join(_label(part) for part in path) + f": _archonID: {json.dumps('.'.join(path))}: true")
        lines.append("")

    lines.append("_archonOut: inputs: {")
    for path in inputs:
        selector = _selector(path)
        if not selector:
            continue
        key = json.dumps(".".join(path))
        # Only a component input (a directory) is cut down to its tags; any
        # other input, a tagged struct such as a secret included, prints whole.
        component = " || ".join(f"{selector}.{label} != _|_" for label in UP_LABELS)
        lines.append(f'\tif ({component}) if {selector}._archonID != _|_ {{{key}: "#ref": [for id, _ in {selector}._archonID {{id}}]}}')
        lines.append(f"\tif !({component}) || {selector}._archonID == _|_ {{{key}: {selector}}}")
    lines.append("}")

    lines.append("_archonOut: components: {")
    for path in candidates:
        selector = _selector(path)
        key = json.dumps(".".join(path))
        # Testing for `#up` makes cue look the definition up on every
        # component, a fifth to a third of its time on a chain of 300 (measured
        # here), so it is left out where nothing written can bring one.
        for label in (UP,) if path in plain else UP_LABELS:
            lines.append(f"\tif {selector}.{label} != _|_ {{{key}: {_component(selector, label)}}}")
        if path not in written_components:
            # Members made by comprehensions, one level down.
            prefix = json.dumps(".".join(path) + ".")
            for label in UP_LABELS:
                lines.append(f"\tfor k, m in {selector} if m.{label} != _|_ {{({prefix} + k): {_component('m', label)}}}")
    lines.append("}")
    return Projection("\n".join(lines) + "\n", candidates)


def _written_components(files: list[ast.File]) -> set[tuple[str, ...]]:
    """Paths whose written value is a struct literal with a $up (or #up) field."""
    found: set[tuple[str, ...]] = set()
    for parsed in files:
        found.update(derived(parsed, "projection.written_components", _written_in_file))
    return found


def _written_in_file(parsed: ast.File) -> frozenset[tuple[str, ...]]:
    return frozenset(path for path, node in src.fields(parsed) if any(child.label in UP_LABELS for child in src.fields_of(node.value)))


def _plain_up_paths(files: list[ast.File]) -> set[tuple[str, ...]]:
    """Paths written only as struct literals with a `$up` field, no `#up` and nothing embedded.

    A value written so cannot have an `#up`: neither a definition nor an
    embedding is unified into it where it is written, and every other
    place that writes the same path must be plain as well.
    """
    plain: set[tuple[str, ...]] = set()
    other: set[tuple[str, ...]] = set()
    for parsed in files:
        found, rest = derived(parsed, "projection.plain_up_paths", _plain_up_in_file)
        plain |= found
        other |= rest
    return plain - other


def _plain_up_in_file(parsed: ast.File) -> tuple[frozenset[tuple[str, ...]], frozenset[tuple[str, ...]]]:
    """Split the file's field paths into those written as plain `$up` structs and all others."""
    plain, other = set(), set()
    for path, node in src.fields(parsed):
        value = node.value
        while isinstance(value, ast.ParenExpr):
            value = value.expr
        labels = {decl.label for decl in value.decls if isinstance(decl, ast.Field)} if isinstance(value, ast.StructLit) else set()
        embeds = isinstance(value, ast.StructLit) and any(isinstance(decl, ast.Embedding) for decl in value.decls)
        if UP in labels and LEGACY_UP not in labels and not embeds:
            plain.add(path)
        else:
            other.add(path)
    return frozenset(plain), frozenset(other)


def _component(selector: str, label: str = UP) -> str:
    """Write the projection of one component: its tags, and its ops with references cut to tags.

    Every test selects a field of a referenced value (`op.from._archonID`)
    rather than unifying the value into a new struct, which would copy it.
    """
    return (
        "{"
        f"ids: [if {selector}._archonID != _|_ for id, _ in {selector}._archonID {{id}}], "
        f"up: [for op in {selector}.{label} {{{_OP}}}]"
        "}"
    )


_OP = "\n".join(
    "\t\t" + line.strip()
    for line in """
    {
        for k, v in op if k != "from" && k != "mount" && k != "context" {(k): v}
        if op.from._archonID != _|_ {from: "#ref": [for id, _ in op.from._archonID {id}]}
        if op.from != _|_ if op.from._archonID == _|_ {from: op.from}
        if op.context._archonID != _|_ {context: "#ref": [for id, _ in op.context._archonID {id}]}
        if op.context != _|_ if op.context._archonID == _|_ {context: op.context}
        if op.mount != _|_ {mount: {for t, m in op.mount {
            if m.from == _|_ {(t): m}
            if m.from != _|_ {(t): {
                for mk, mv in m if mk != "from" {(mk): mv}
                if m.from._archonID != _|_ {from: "#ref": [for id, _ in m.from._archonID {id}]}
                if m.from._archonID == _|_ {from: m.from}
            }}
        }}}
    }
    """.strip().splitlines()
)


def rebuild(output: Any) -> tuple[dict[str, dict], dict[str, Any]]:
    """Turn the printed projection into components and inputs with shared values.

    Returns `(components, inputs)`: components map dotted paths to
    `{"$up": ops}` dicts, and every `{"#ref": ids}` inside an op is replaced
    by the dict of the component with exactly those tags, the same object
    each time, so a chain is never expanded in memory.
    """
    components: dict[str, dict] = {}
    by_ids: dict[frozenset[str], dict] = {}
    printed = (output or {}).get("components") or {}
    for path, entry in printed.items():
        if not isinstance(entry, dict):
            continue
        component: dict = {UP: []}
        components[path] = component
        ids = frozenset(entry.get("ids") or ())
        if ids:
            by_ids.setdefault(ids, component)

    # The printed output is a tree and stays untouched, because the
    # evaluator caches it: resolving builds new containers.
    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            reference = value.get(REFERENCE_KEY)
            if isinstance(reference, list) and len(value) == 1:
                return by_ids.get(frozenset(reference), {"#unresolved": reference})
            return {key: resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [resolve(item) for item in value]
        return value

    for path, component in components.items():
        component[UP] = resolve(printed[path].get("up", []))

    inputs = {path: resolve(value) for path, value in ((output or {}).get("inputs") or {}).items()}
    return components, inputs
