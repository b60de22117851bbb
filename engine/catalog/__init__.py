"""The catalog: CUE packages bundled with Archon, importable as `archon.dev/catalog/<name>`.

Each package is a folder under `cue/` with `package <name>` files. The
runtime copies `cue/` into the evaluation's `cue.mod/pkg/archon.dev/catalog/`.
Documentation comes from the CUE files themselves: the `//` comment block
right above the `package` clause documents the package, and the block
right above a top-level `#Name:` documents that definition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CATALOG_ROOT = Path(__file__).resolve().parent / "cue"
IMPORT_PREFIX = "archon.dev/catalog/"

_PACKAGE_CLAUSE = re.compile(r"^package\s+([A-Za-z_][A-Za-z0-9_]*)\s*$")
_DEFINITION = re.compile(r"^(#[A-Za-z_][A-Za-z0-9_]*)\s*:")


@dataclass(frozen=True)
class Definition:
    """A top-level definition of a catalog package, such as `#Run`, and its doc comment."""

    name: str
    doc: str


@dataclass(frozen=True)
class Package:
    """A catalog package: `path` is its folder, `doc` its package doc comment without `//`."""

    name: str
    import_path: str
    doc: str
    path: Path
    definitions: tuple[Definition, ...] = ()

    @property
    def summary(self) -> str:
        """Return the first sentence of the doc comment, on one line."""
        paragraph = self.doc.split("\n\n", 1)[0].replace("\n", " ").strip()
        end = paragraph.find(". ")
        return paragraph if end < 0 else paragraph[: end + 1]


def catalog_root() -> Path:
    """Return the folder to copy to `cue.mod/pkg/archon.dev/catalog/`."""
    return CATALOG_ROOT


def list_packages(root: Path | None = None) -> list[Package]:
    """Return the catalog's packages sorted by name, with their doc comments."""
    root = root or CATALOG_ROOT
    packages = []
    for folder in sorted(path for path in root.iterdir() if path.is_dir()):
        files = sorted(folder.glob("*.cue"))
        if not files:
            continue
        doc = ""
        definitions: list[Definition] = []
        for file in files:
            file_doc, file_definitions = _read_docs(file)
            doc = doc or file_doc
            definitions.extend(file_definitions)
        packages.append(
            Package(
                name=folder.name,
                import_path=IMPORT_PREFIX + folder.name,
                doc=doc,
                path=folder,
                definitions=tuple(sorted(definitions, key=lambda definition: definition.name)),
            )
        )
    return packages


def get_package(name: str, root: Path | None = None) -> Package | None:
    for package in list_packages(root):
        if package.name == name:
            return package
    return None


def _read_docs(file: Path) -> tuple[str, list[Definition]]:
    """Return the package doc comment and the documented top-level definitions of one file."""
    package_doc = ""
    definitions = []
    comment: list[str] = []
    for line in file.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if line.startswith("//"):
            comment.append(_uncomment(line))
            continue

        if _PACKAGE_CLAUSE.match(stripped):
            package_doc = _join(comment)
        elif match := _DEFINITION.match(line):
            definitions.append(Definition(match.group(1), _join(comment)))
        comment = []
    return package_doc, definitions


def _uncomment(line: str) -> str:
    text = line[2:]
    # A tab after `//` marks a code example in Go-style doc comments: keep it.
    return text[1:] if text.startswith(" ") else text


def _join(lines: list[str]) -> str:
    return "\n".join(lines).strip()
