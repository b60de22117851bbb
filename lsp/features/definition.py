"""Go to definition: references to fields, definitions of imported packages, imports.

A reference resolves lexically as in CUE: the innermost enclosing struct
that declares the name wins, then the package's top level across all of its
files. `op.#Exec` and `busybox.#Image` go to the definition in the bundled
package; an import path goes to the package's first file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from archon.lsp import cursor
from archon.lsp.components import package_asts, package_files, parsed_file
from archon.lsp.documents import path_to_uri
from archon.lsp.positions import split_lines
from archon.lsp.view import DocumentView, open_view
from archon.runtime.cue.ast import Field, LetClause, StructLit
from archon.runtime.diagnostics import Span

if TYPE_CHECKING:
    from archon.lsp.server import ArchonLanguageServer

FEATURE = "definition"
log = logging.getLogger(f"archon.lsp.features.{FEATURE}")

SPEC_IMPORT = "archon.dev/op"
CATALOG_PREFIX = "archon.dev/catalog/"


def bundled_folder(import_path: str, module_root: str | None) -> str | None:
    """Return the folder of an imported package: bundled with Archon, or a package of the module."""
    if import_path == SPEC_IMPORT:
        from archon.runtime.evaluate import SPEC_FOLDER

        return str(SPEC_FOLDER)
    if import_path.startswith(CATALOG_PREFIX):
        try:
            from archon.engine.catalog import catalog_root
        except ImportError:
            return None
        folder = Path(catalog_root()) / import_path[len(CATALOG_PREFIX) :]
        return str(folder) if folder.is_dir() else None
    if module_root:
        module = _module_name(module_root)
        if module and (import_path == module or import_path.startswith(module + "/")):
            folder = Path(module_root) / import_path[len(module) :].lstrip("/")
            return str(folder) if folder.is_dir() else None
        vendored = Path(module_root) / "cue.mod" / "pkg" / import_path
        if vendored.is_dir():
            return str(vendored)
    return None


def _module_name(module_root: str) -> str | None:
    import re

    try:
        text = (Path(module_root) / "cue.mod" / "module.cue").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r'^\s*module\s*:\s*"([^"]+)"', text, re.MULTILINE)
    return match.group(1).split("@")[0] if match else None


def location(path: str, span: Span, lines: list[str] | None, codec) -> types.Location:
    return types.Location(uri=path_to_uri(path), range=codec.span_to_range(span, lines))


def _lines(path: str) -> list[str] | None:
    try:
        return split_lines(Path(path).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None


def find_in_package(server: "ArchonLanguageServer", folder: str, labels: tuple[str, ...]) -> list[tuple[str, Field]]:
    """Return (file, field) for every file of the package folder that declares the path."""
    from archon.runtime import source

    found = []
    for path, parsed in package_asts(server, folder).items():
        field = source.find(parsed, labels)
        if field is not None:
            found.append((path, field))
    return found


def _lexical(view: DocumentView, line: int, column: int, name: str) -> Field | LetClause | None:
    """Return the declaration of name in the structs enclosing the position, innermost first."""
    path = cursor.node_path(view.parsed, line, column)
    for node in reversed(path):
        if not isinstance(node, StructLit):
            continue
        for declaration in node.decls:
            if isinstance(declaration, Field) and declaration.label == name:
                return declaration
            if isinstance(declaration, LetClause) and declaration.name.name == name:
                return declaration
    return None


def _descend(field: Field, labels: tuple[str, ...]) -> Field | None:
    from archon.runtime import source

    current = field
    for label in labels:
        current = next((child for child in source.fields_of(current.value) if child.label == label), None)
        if current is None:
            return None
    return current


def definition_at(server: "ArchonLanguageServer", view: DocumentView, line: int, column: int) -> list[types.Location]:
    target = cursor.target_at(view.parsed, line, column)
    if target is None:
        return []
    codec = view.codec

    if target.kind == "import":
        from archon.lsp.documents import module_root

        folder = bundled_folder(target.name, module_root(view.folder))
        files = package_files(folder) if folder else []
        if not files:
            return []
        start = Span.point(files[0], 1, 1)
        return [location(files[0], start, None, codec)]

    if target.kind == "definition":
        folder = bundled_folder(SPEC_IMPORT, None)
        return _locations_in_folder(folder, (target.name,), codec)

    if target.kind != "reference":
        return []

    chain = target.path
    spec = cursor.import_of(view.parsed, chain[0])
    if spec is not None and len(chain) > 1:
        from archon.lsp.documents import module_root

        folder = bundled_folder(spec.path.split(":")[0], module_root(view.folder))
        return _locations_in_folder(folder, chain[1:], codec) if folder else []

    declaration = _lexical(view, line, column, chain[0])
    if isinstance(declaration, LetClause):
        return [location(view.path, declaration.name.span, view.lines, codec)]
    if declaration is not None:
        found = _descend(declaration, chain[1:]) if len(chain) > 1 else declaration
        if found is not None:
            return [location(view.path, found.label_span, view.lines, codec)]

    locations = []
    for path, field in find_in_package(server, view.folder, tuple(chain)):
        lines = view.lines if path == view.path else _lines(path)
        locations.append(location(path, field.label_span, lines, codec))
    return locations


def _locations_in_folder(folder: str | None, labels: tuple[str, ...], codec) -> list[types.Location]:
    from archon.runtime import source

    if folder is None:
        return []
    locations = []
    for path in package_files(folder):
        parsed = parsed_file(path)
        field = source.find(parsed, labels) if parsed is not None else None
        if field is not None:
            locations.append(location(path, field.label_span, _lines(path), codec))
    return locations


def register(server: "ArchonLanguageServer") -> None:
    async def definition(params: types.DefinitionParams) -> list[types.Location] | None:
        view = await open_view(server, params.text_document.uri)
        if view is None:
            return None
        line, column = view.runtime_position(params.position)
        return definition_at(server, view, line, column) or None

    server.register_feature(FEATURE, types.TEXT_DOCUMENT_DEFINITION, definition)
