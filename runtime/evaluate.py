"""Evaluating a CUE package with the real `cue` command.

Every evaluation runs once, on a *mirror* of the CUE module in a temporary
folder: files on disk are linked in, unsaved editor buffers (overlays) and
extra files (such as injected inputs) are written in their place, and the
op spec and other bundled packages are linked under `cue.mod/pkg/`. Every
position `cue` reports is mapped back to the real file.

`cue eval -A` prints the evaluated configuration as CUE text, with
definitions, attributes and incomplete values, all of which JSON
export drops; `archon.runtime.cue.decode_value` reads it into Python.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Protocol

from cachetools import LRUCache

from archon.runtime.cuecmd import CueCommand, find_cue
from archon.runtime.diagnostics import Diagnostic, Position, RelatedInfo, Span

log = logging.getLogger(__name__)

SPEC_IMPORT_PATH = "archon.dev/op"
SPEC_FOLDER = Path(__file__).resolve().parent / "spec" / "cue" / "op"

# Folders never mirrored: they hold no CUE of the configuration and can be large.
SKIPPED_FOLDERS = {".git", ".dagger", ".venv", "node_modules", "__pycache__", ".tools", ".state"}

# The most .cue files a module mirror takes; a module root placed too high
# (a home folder, say) would otherwise make every evaluation walk it all.
MAX_MIRRORED_FILES = 5000

# cue's own deadline; an evaluation that takes longer is reported, not awaited forever.
CUE_TIMEOUT_SECONDS = 120

# An error position line printed by cue: "    ./main.cue:3:7" (the path may be relative).
_POSITION_LINE = re.compile(r"^\s+(?P<path>\S.*?):(?P<line>\d+):(?P<column>\d+)$")


@dataclass
class Evaluation:
    """The outcome of one `cue eval` of a package.

    `text` is what cue printed (empty when it reported errors), `value` the
    decoded configuration (None when there were errors), `diagnostics`
    every error with every position cue reported.
    """

    package_dir: str
    text: str
    value: Any
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    cue: CueCommand | None = None


def find_module_root(package_dir: Path) -> Path | None:
    """Return the nearest folder at or above package_dir holding `cue.mod/`."""
    for folder in (package_dir, *package_dir.parents):
        if (folder / "cue.mod").is_dir():
            return folder
    return None


class EvaluationStore(Protocol):
    """A second-level cache of evaluations, kept by the caller (the CLI keeps one on disk).

    Keys are the Evaluator's content digests. `put` receives each new
    evaluation worth keeping; `get` returns the one put under the key, or
    None. A store need keep only `text` and `diagnostics`: the Evaluator
    rebuilds the decoded value, the files and the cue command itself.
    Neither method should raise; a store that cannot be read misses.
    """

    def get(self, key: str) -> Evaluation | None: ...

    def put(self, key: str, evaluation: Evaluation) -> None: ...


class Evaluator:
    """Runs `cue eval` on mirrors and caches results keyed by content.

    The cache key is a digest of every mirrored file's content, the extra
    files, the bundled packages and the cue binary, so an unchanged
    configuration is never evaluated twice. `store`, when given, is asked
    before cue runs and given what cue returned, so that evaluations
    outlive the Evaluator.
    """

    def __init__(self, cue_path: str | None = None, cache_size: int = 64, store: EvaluationStore | None = None):
        self._cue_setting = cue_path
        self._cache: LRUCache[str, Evaluation] = LRUCache(maxsize=cache_size)
        self._lock = threading.Lock()
        self._store = store

    def evaluate(
        self,
        package_dir: str | os.PathLike[str],
        *,
        overlays: Mapping[str, str] | None = None,
        extra_files: Mapping[str, str] | None = None,
        packages: Mapping[str, str] | None = None,
        expression: str | None = None,
    ) -> Evaluation:
        """Evaluate the CUE package in package_dir.

        overlays maps absolute file paths to unsaved text that replaces the
        file on disk (or adds it). extra_files maps file names to text added
        to the package folder. packages maps import paths to folders linked
        under `cue.mod/pkg/`; the op spec is always added. expression,
        when given, is what cue prints (`cue eval -e`); the whole package
        is still validated.
        """
        package = Path(package_dir).resolve()
        overlays = {str(Path(path).resolve()): text for path, text in (overlays or {}).items()}
        bundled = {SPEC_IMPORT_PATH: str(SPEC_FOLDER), **(packages or {})}
        cue = find_cue(self._cue_setting)

        module_root = find_module_root(package) or package
        sources = _module_sources(module_root, overlays)
        for name, text in (extra_files or {}).items():
            sources[str(package / name)] = text

        key = _cache_key(cue, package, sources, bundled) + (expression or "")
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached

        evaluation = self._stored(key, package, sources, cue)
        if evaluation is None:
            evaluation = _run_on_mirror(cue, module_root, package, sources, bundled, expression)
            if self._store is not None and _worth_storing(evaluation):
                self._store.put(key, evaluation)
        with self._lock:
            self._cache[key] = evaluation
        return evaluation

    def _stored(self, key: str, package: Path, sources: Mapping[str, str], cue: CueCommand) -> Evaluation | None:
        stored = self._store.get(key) if self._store is not None else None
        if stored is None:
            return None
        return _evaluation(package, stored.text, list(stored.diagnostics), sources, cue)


def _worth_storing(evaluation: Evaluation) -> bool:
    """Keep what cue decided about the configuration: a value, or errors at positions in it.

    A timeout or a failure without positions (cue killed, say) may not
    happen again, so it is not kept beyond this Evaluator.
    """
    return not evaluation.diagnostics or any(diagnostic.span is not None for diagnostic in evaluation.diagnostics)


def _module_sources(module_root: Path, overlays: Mapping[str, str]) -> dict[str, str]:
    """Read every .cue file of the module, overlays taking precedence."""
    sources: dict[str, str] = {}
    for folder, subfolders, files in os.walk(module_root):
        subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED_FOLDERS and not name.startswith("."))
        for name in sorted(files):
            if not name.endswith(".cue"):
                continue
            path = os.path.join(folder, name)
            if path in overlays:
                continue
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    sources[path] = handle.read()
            except OSError as problem:
                log.warning("skipped unreadable file %s: %s", path, problem)
            if len(sources) >= MAX_MIRRORED_FILES:
                log.warning("module %s has more than %d .cue files; mirrored the first ones", module_root, MAX_MIRRORED_FILES)
                return sources
    for path, text in overlays.items():
        if path.startswith(str(module_root) + os.sep):
            sources[path] = text
    return sources


def _cache_key(cue: CueCommand, package: Path, sources: Mapping[str, str], bundled: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    digest.update(f"{cue.path}\0{cue.version}\0{package}\0".encode())
    for path in sorted(sources):
        digest.update(path.encode() + b"\0" + sources[path].encode() + b"\0")
    for import_path in sorted(bundled):
        digest.update(import_path.encode() + b"\0")
        for file in sorted(Path(bundled[import_path]).rglob("*.cue")):
            digest.update(str(file).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def _run_on_mirror(
    cue: CueCommand,
    module_root: Path,
    package: Path,
    sources: Mapping[str, str],
    bundled: Mapping[str, str],
    expression: str | None = None,
) -> Evaluation:
    with tempfile.TemporaryDirectory(prefix="archon-eval-") as scratch:
        mirror = Path(scratch) / "module"
        _build_mirror(mirror, module_root, sources, bundled)
        workdir = mirror / package.relative_to(module_root)
        workdir.mkdir(parents=True, exist_ok=True)

        command = [cue.path, "eval", "-A", "-E", "."]
        if expression:
            command += ["-e", expression]
        log.debug("running %s in %s", " ".join(command), workdir)
        try:
            completed = subprocess.run(
                command,
                cwd=workdir,
                capture_output=True,
                text=True,
                timeout=CUE_TIMEOUT_SECONDS,
                env={**os.environ, "CUE_REGISTRY": "none"},
            )
        except subprocess.TimeoutExpired:
            message = f"cue eval did not finish within {CUE_TIMEOUT_SECONDS} s"
            return Evaluation(str(package), "", None, [Diagnostic(message, code="cue-timeout")], dict(sources), cue)

        mapper = _PathMapper(mirror, module_root, workdir, bundled, sources)
        diagnostics = parse_cue_errors(completed.stderr, mapper) if completed.returncode != 0 else []
        if completed.returncode != 0 and not diagnostics:
            diagnostics = [Diagnostic(f"cue eval failed: {completed.stderr.strip() or 'no output'}", code="cue")]

    return _evaluation(package, completed.stdout, diagnostics, sources, cue)


def _evaluation(package: Path, text: str, diagnostics: list[Diagnostic], sources: Mapping[str, str], cue: CueCommand) -> Evaluation:
    """Build the Evaluation of what cue printed; there is a value only when cue reported no error."""
    value = None
    if not diagnostics:
        # Imported late: the parser package imports nothing from here, but
        # keeping the evaluator importable without it eases testing.
        from archon.runtime.cue import decode_value

        value, decode_errors = decode_value(text, filename="<cue eval>")
        for problem in decode_errors:
            # An op whose value cue left as an expression (such as an
            # undefined op.X) is reported by the op checks; this is detail.
            log.debug("could not decode part of cue's output: %s", problem.message)
    return Evaluation(str(package), text, value, diagnostics, dict(sources), cue)


def _build_mirror(mirror: Path, module_root: Path, sources: Mapping[str, str], bundled: Mapping[str, str]) -> None:
    mirror.mkdir(parents=True)
    for path, text in sources.items():
        target = mirror / Path(path).relative_to(module_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    module_file = mirror / "cue.mod" / "module.cue"
    if not module_file.exists():
        # A folder without a CUE module still evaluates: give it a module so
        # that the bundled packages can be imported.
        module_file.parent.mkdir(parents=True, exist_ok=True)
        module_file.write_text('module: "archon.local/config"\nlanguage: version: "v0.17.0"\n')

    for import_path, folder in bundled.items():
        link = mirror / "cue.mod" / "pkg" / import_path
        if link.exists() or link.is_symlink():
            # The module vendors its own copy; the bundled one wins so that
            # the spec matches the compiler.
            if link.is_dir() and not link.is_symlink():
                shutil.rmtree(link)
            else:
                link.unlink()
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(folder, target_is_directory=True)


class _PathMapper:
    """Maps paths cue prints (relative to the mirror) back to real files."""

    def __init__(self, mirror: Path, module_root: Path, workdir: Path, bundled: Mapping[str, str], sources: Mapping[str, str]):
        self._mirror = mirror
        self._module_root = module_root
        self._workdir = workdir
        self._bundled = {str(mirror / "cue.mod" / "pkg" / path): folder for path, folder in bundled.items()}
        self._sources = sources

    def real_path(self, printed: str) -> str:
        path = Path(os.path.normpath(self._workdir / printed))
        for link, folder in self._bundled.items():
            if str(path).startswith(link + os.sep):
                return str(Path(folder) / path.relative_to(link))
        try:
            return str(self._module_root / path.relative_to(self._mirror))
        except ValueError:
            return printed

    def is_bundled(self, real_path: str) -> bool:
        """Tell whether a real path is inside a package Archon bundles (the op spec, say)."""
        return any(real_path.startswith(str(folder).rstrip(os.sep) + os.sep) for folder in self._bundled.values())

    def text_of(self, real_path: str) -> str | None:
        if real_path in self._sources:
            return self._sources[real_path]
        try:
            return Path(real_path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None


def parse_cue_errors(stderr: str, mapper: _PathMapper) -> list[Diagnostic]:
    """Turn cue's error output into diagnostics, keeping every position.

    cue prints each error as a message line followed by indented position
    lines. The first position in the user's own files is the diagnostic's
    range, preferring where a conflicting value is written, because a
    position in a bundled package (the op spec) is not where the fix goes.
    The others become related information, so an error reported at
    several places shows all of them. A value that matches none of a
    disjunction's choices is reported once, with the choices.
    """
    diagnostics: list[Diagnostic] = []
    message: str | None = None
    spans: list[Span] = []

    def flush() -> None:
        if message is None:
            return
        text = message.rstrip(":").strip()
        conflict = _CONFLICT.match(text)
        values = (conflict["first"], conflict["second"]) if conflict else ()
        ordered = sorted(
            spans, key=lambda span: (mapper.is_bundled(span.file), not any(_written_at(mapper, span, value) for value in values))
        )
        related = tuple(RelatedInfo(span, f"also reported here: {text}") for span in ordered[1:])
        diagnostics.append(Diagnostic(text, ordered[0] if ordered else None, code="cue", related=related))

    for line in stderr.splitlines():
        if not line.strip():
            continue
        position = _POSITION_LINE.match(line)
        if position and message is not None:
            spans.append(_span_at(mapper, position["path"], int(position["line"]), int(position["column"])))
            continue
        flush()
        message, spans = line, []
    flush()
    return _merge_disjunctions(diagnostics, mapper)


# "PATH: 3 errors in empty disjunction" and the errors that follow it, one per choice.
_EMPTY_DISJUNCTION = re.compile(r"^(?P<path>.+): (?P<count>\d+) errors in empty disjunction$")
_CONFLICT = re.compile(r"^(?P<path>.+?): conflicting values (?P<first>.+?) and (?P<second>.+?)(?: \(mismatched types \w+ and \w+\))?$")


def _merge_disjunctions(diagnostics: list[Diagnostic], mapper: _PathMapper) -> list[Diagnostic]:
    """Report a value that matches none of a disjunction's literal choices as one error with the choices.

    cue prints a header without a position and one conflict per choice, each
    naming the choice and the value. Where every conflict names the same
    value, they become one diagnostic at the value's position, and the
    closest choice becomes the hint. Other groups are left as cue printed them.
    The range is where the value is written, when cue names that place.
    """
    merged: list[Diagnostic] = []
    index = 0
    while index < len(diagnostics):
        header = _EMPTY_DISJUNCTION.match(diagnostics[index].message)
        count = int(header["count"]) if header else 0
        group = diagnostics[index + 1:index + 1 + count]
        conflicts = [_CONFLICT.match(item.message) for item in group]
        if not header or len(group) != count or not all(match and match["path"] == header["path"] for match in conflicts):
            merged.append(diagnostics[index])
            index += 1
            continue

        pairs = [{match["first"], match["second"]} for match in conflicts]
        shared = set.intersection(*pairs)
        if len(shared) != 1:
            merged.append(diagnostics[index])
            index += 1
            continue
        (value,) = shared
        choices = sorted(next(iter(pair - shared)) for pair in pairs if pair - shared)
        spans: list[Span] = []
        for item in group:
            for span in [item.span, *(info.span for info in item.related)]:
                if span is not None and span not in spans:
                    spans.append(span)
        spans.sort(key=lambda span: (mapper.is_bundled(span.file), not _written_at(mapper, span, value)))
        primary = spans[0] if spans else None
        related = [RelatedInfo(span, "also reported here") for span in spans[1:]]
        close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
        merged.append(Diagnostic(
            f"{header['path']}: {value} is not one of {', '.join(choices)}",
            primary,
            code="cue",
            hint=f"did you mean {close[0]}?" if close else f"use one of {', '.join(choices)}",
            related=tuple(related),
        ))
        index += 1 + count
    return merged


def _written_at(mapper: _PathMapper, span: Span, value: str) -> bool:
    """Tell whether the source text at span starts with value."""
    text = mapper.text_of(span.file)
    lines = text.splitlines() if text is not None else []
    if not 0 < span.start.line <= len(lines):
        return False
    return lines[span.start.line - 1][span.start.column - 1:].startswith(value)


def _span_at(mapper: _PathMapper, printed: str, line: int, byte_column: int) -> Span:
    """Build a one-token span; cue counts columns in bytes, Archon in code points."""
    path = mapper.real_path(printed)
    column = byte_column
    text = mapper.text_of(path)
    if text is not None:
        lines = text.splitlines()
        if 0 < line <= len(lines):
            encoded = lines[line - 1].encode("utf-8")
            column = len(encoded[: byte_column - 1].decode("utf-8", errors="ignore")) + 1
            end = _token_end(lines[line - 1], column)
            return Span(path, Position(line, column), Position(line, end))
    return Span(path, Position(line, column), Position(line, column + 1))


def _token_end(line_text: str, column: int) -> int:
    """Return the column just past the token starting at column."""
    match = re.compile(r'"(?:[^"\\]|\\.)*"|[#_$A-Za-z0-9.]+|\S').match(line_text, column - 1)
    return match.end() + 1 if match else column + 1
