"""Components of a document: where they are written and what the analysis found about them.

Shared by hover, code lenses and document symbols. A component's place
comes from the syntax tree of the buffer when the component is written in
it (so lenses follow edits at once), else from the last analysis.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archon.lsp import cursor
from archon.lsp.speccheck import walk
from archon.runtime.cue.ast import Ident
from archon.runtime.diagnostics import Span
from archon.runtime.values import ops_of

if TYPE_CHECKING:
    from archon.lsp.server import ArchonLanguageServer
    from archon.lsp.view import DocumentView

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=256)
def _parse_file(path: str, modified: float) -> Any:
    from archon.runtime.cue import parse

    return parse(Path(path).read_text(encoding="utf-8", errors="replace"), path)


def parsed_file(path: str) -> Any | None:
    """Return the syntax tree of a file on disk, parsed again only when it changes."""
    try:
        return _parse_file(path, os.stat(path).st_mtime)
    except OSError:
        return None


def package_files(folder: str) -> list[str]:
    try:
        return sorted(str(path) for path in Path(folder).glob("*.cue"))
    except OSError:
        return []


def package_asts(server: "ArchonLanguageServer", folder: str) -> dict[str, Any]:
    """Return the syntax tree of every file of the package: open buffers as they are, other files from disk."""
    from archon.runtime.cue import parse_cached

    trees: dict[str, Any] = {}
    for path in package_files(folder):
        if server.documents.is_open(path):
            trees[path] = server.analyzer.parsed(path) or parse_cached(server.documents.text_of(_uri(path)) or "", path)
        else:
            tree = parsed_file(path)
            if tree is not None:
                trees[path] = tree
    return trees


def _uri(path: str) -> str:
    from archon.lsp.documents import path_to_uri

    return path_to_uri(path)


@dataclass
class ComponentSummary:
    path: str
    doc: str | None
    ops: int
    vertices: int | None
    dependencies: list[str]
    inputs: list[str]
    digest: str | None
    last_run: str | None


@dataclass(frozen=True)
class ComponentPlace:
    path: str
    span: Span


def component_places(view: "DocumentView", analysis: Any) -> list[ComponentPlace]:
    """Return the components written in the document, in source order."""
    places: dict[str, ComponentPlace] = {}
    for field_path, field in cursor.iter_component_fields(view.parsed):
        dotted = ".".join(field_path)
        places.setdefault(dotted, ComponentPlace(dotted, field.label_span))

    configuration = analysis.configuration if analysis is not None else None
    if configuration is not None:
        for dotted, info in configuration.components.items():
            if dotted in configuration.inputs or dotted in places:
                continue
            # Components the tree does not show as such (`base: busybox.#Image`).
            if info.span is not None and info.span.file == view.path:
                places[dotted] = ComponentPlace(dotted, info.span)
    return sorted(places.values(), key=lambda place: (place.span.start.line, place.span.start.column))


def vertex_closure(plan: Any, digest: str) -> set[str]:
    """Return the digests of a vertex and every vertex it depends on."""
    seen: set[str] = set()
    pending = [digest]
    while pending:
        current = pending.pop()
        if current in seen or current not in plan.vertices:
            continue
        seen.add(current)
        pending.extend(plan.vertices[current].inputs)
    return seen


def dependency_closure(plan: Any, path: str) -> list[str]:
    """Return the component and every component it refers to, directly or not."""
    seen: list[str] = []
    pending = [path]
    while pending:
        current = pending.pop()
        if current in seen or current not in plan.components:
            continue
        seen.append(current)
        pending.extend(plan.components[current].dependencies)
    return seen


def _referenced_names(node: Any) -> set[str]:
    return {item.name for item in walk(node) if isinstance(item, Ident)}


def _inputs_of(configuration: Any, files: dict[str, Any], paths: list[str]) -> list[str]:
    """Return the inputs referenced in the written fields of the given components."""
    from archon.runtime import source

    declared = {decl.path.split(".")[0]: decl.path for decl in configuration.inputs.values()}
    found: set[str] = set()
    for path in paths:
        for parsed in files.values():
            field = source.find(parsed, tuple(path.split(".")))
            if field is not None:
                found.update(declared[name] for name in _referenced_names(field.value) if name in declared)
    return sorted(found)


def summarize_component(
    server: "ArchonLanguageServer",
    view: "DocumentView",
    analysis: Any,
    path: tuple[str, ...],
) -> ComponentSummary | None:
    """Return what is known of the component at path, or None if path is not a component."""
    from archon.runtime import source

    dotted = ".".join(path)
    configuration = analysis.configuration if analysis is not None else None
    plan = analysis.plan if analysis is not None else None
    info = configuration.components.get(dotted) if configuration is not None else None

    field = source.find(view.parsed, path)
    if info is None and (field is None or not cursor.is_component_field(field)):
        return None

    if info is not None:
        ops = len(ops_of(info.value) or [])
        doc = info.doc
    else:
        ops = len(cursor.up_elements(field))
        doc = field.doc

    vertices = digest = None
    dependencies: list[str] = []
    inputs: list[str] = []
    if plan is not None and dotted in plan.components:
        component = plan.components[dotted]
        digest = component.digest
        vertices = len(vertex_closure(plan, digest))
        dependencies = list(component.dependencies)
        if configuration is not None:
            inputs = _inputs_of(configuration, configuration.files, dependency_closure(plan, dotted))
    elif configuration is not None:
        inputs = _inputs_of(configuration, configuration.files, [dotted])

    result = server.session.result_of(view.folder, dotted)
    last_run = result.describe() if result is not None else None
    return ComponentSummary(dotted, doc, ops, vertices, dependencies, inputs, digest, last_run)
