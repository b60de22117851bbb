"""Documents and packages: URIs, paths, open buffers and snapshots of them.

A CUE package is the set of `.cue` files in one folder. The server analyses
packages, not files: an edit in one file can change the diagnostics of every
file of its package. A `Snapshot` records the text and version of every open
buffer of a module at one moment, so that work done in a worker thread sees
one consistent state and its results can be matched against later edits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pygls import uris

from archon.lsp.positions import split_lines

if TYPE_CHECKING:
    from pygls.workspace import Workspace


def uri_to_path(uri: str) -> str | None:
    """Return the absolute path of a `file:` URI, or None for other schemes."""
    path = uris.to_fs_path(uri)
    if not path or not uri.startswith("file:"):
        return None
    return os.path.abspath(path)


def path_to_uri(path: str) -> str:
    return uris.from_fs_path(path) or Path(path).as_uri()


def package_folder(path: str) -> str:
    return os.path.dirname(os.path.abspath(path))


def module_root(folder: str) -> str:
    """Return the nearest folder at or above folder that holds `cue.mod/`, else folder itself."""
    current = Path(folder)
    for candidate in (current, *current.parents):
        if (candidate / "cue.mod").is_dir():
            return str(candidate)
    return folder


def is_cue_uri(uri: str) -> bool:
    path = uri_to_path(uri)
    return path is not None and path.endswith(".cue")


@dataclass(frozen=True)
class Snapshot:
    """The open buffers of one module at one moment.

    `texts` and `versions` are keyed by absolute path. `package` is the
    package folder the snapshot was taken for.
    """

    package: str
    texts: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int | None] = field(default_factory=dict)

    def overlays(self) -> dict[str, str]:
        return dict(self.texts)

    def text_of(self, path: str) -> str | None:
        """Return the buffer text of path, else its content on disk, else None."""
        if path in self.texts:
            return self.texts[path]
        return read_file(path)

    def lines_of(self, path: str) -> list[str] | None:
        text = self.text_of(path)
        return split_lines(text) if text is not None else None


def read_file(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


class Documents:
    """Open buffers of the pygls workspace, seen by path and by package."""

    def __init__(self, workspace_getter):
        # pygls creates its workspace at initialization, after the features
        # are registered, so it is looked up on each use.
        self._workspace_getter = workspace_getter

    @property
    def workspace(self) -> "Workspace":
        return self._workspace_getter()

    def open_paths(self) -> dict[str, tuple[str, int | None]]:
        """Return (text, version) of every open `.cue` buffer, by absolute path."""
        result: dict[str, tuple[str, int | None]] = {}
        for uri, document in list(self.workspace.text_documents.items()):
            path = uri_to_path(uri)
            if path is not None and path.endswith(".cue"):
                result[path] = (document.source, document.version)
        return result

    def version_of(self, path: str) -> int | None:
        document = self.workspace.text_documents.get(path_to_uri(path))
        return document.version if document is not None else None

    def is_open(self, path: str) -> bool:
        return path_to_uri(path) in self.workspace.text_documents

    def text_of(self, uri: str) -> str | None:
        """Return the buffer text of uri if it is open, else its content on disk."""
        document = self.workspace.text_documents.get(uri)
        if document is not None:
            return document.source
        path = uri_to_path(uri)
        return read_file(path) if path else None

    def snapshot(self, package: str) -> Snapshot:
        """Record every open buffer of the module that contains the package folder."""
        root = module_root(package)
        prefix = root.rstrip(os.sep) + os.sep
        texts: dict[str, str] = {}
        versions: dict[str, int | None] = {}
        for path, (text, version) in self.open_paths().items():
            if path.startswith(prefix) or os.path.dirname(path) == package:
                texts[path] = text
                versions[path] = version
        return Snapshot(package, texts, versions)

    def is_current(self, snapshot: Snapshot) -> bool:
        """Tell whether no buffer of the snapshot's module changed, opened or closed since."""
        return self.snapshot(snapshot.package).versions == snapshot.versions
