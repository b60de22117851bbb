"""cue's evaluations kept on disk, so that a new process skips cue for an unchanged configuration.

The runtime's Evaluator caches evaluations in memory under a digest of
every file of the module, the extra files (such as injected inputs), the
bundled packages and the cue binary. `EvaluationCache` is its second-level
store (`archon.runtime.evaluate.EvaluationStore`): one JSON file per key in
`$XDG_CACHE_HOME/archon/evaluations` (else `~/.cache/archon/evaluations`),
holding what cue printed and the errors it reported. The Evaluator decodes
the value again from that text.

Secrets never reach cue (a secret input is evaluated as `{secret: "<id>"}`),
so no entry contains one. Text inputs and the configuration's values do, and
an entry decides what a run builds, so the folder is private to the user
(0700, files 0600) and one that others may write to is not used. Entries
are written atomically, the least recently used beyond `max_entries` or
`max_bytes` are removed, and an entry that cannot be read or parsed is a
miss. The file name is a digest of the format version, the key and cue's
CUE_* environment variables, so a change of format starts afresh.

The CLI uses it unless the setting `cue.cache` is `off` (variable
ARCHON_CUE_CACHE); the language server keeps its evaluations in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

from archon.runtime.diagnostics import Diagnostic, Position, RelatedInfo, Severity, Span
from archon.runtime.evaluate import Evaluation

log = logging.getLogger(__name__)

# Bump when the entries' content changes meaning; older entries are then never read.
FORMAT_VERSION = 2

FOLDER_NAME = "evaluations"
SUFFIX = ".json"
DEFAULT_MAX_ENTRIES = 256
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# A temporary file this old was left by a writer that was killed.
STALE_TEMPORARY_SECONDS = 3600
TEMPORARY_PREFIX = ".tmp-"


def user_cache_dir() -> Path:
    """Return the user's Archon cache folder: `$XDG_CACHE_HOME/archon` or `~/.cache/archon`."""
    base = os.environ.get("XDG_CACHE_HOME")
    if base and os.path.isabs(base):
        return Path(base) / "archon"
    return Path.home() / ".cache" / "archon"


class EvaluationCache:
    """A bounded folder of evaluations, one file per key; every failure is a miss, never an error."""

    def __init__(self, folder: Path | None = None, *, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES):
        self.folder = Path(folder) if folder is not None else user_cache_dir() / FOLDER_NAME
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._usable: bool | None = None

    def path_for(self, key: str) -> Path:
        # cue also reads CUE_* variables (experiments, debug flags) from the
        # environment it inherits, which the Evaluator's key leaves out.
        variables = sorted((name, value) for name, value in os.environ.items() if name.startswith("CUE_") and name != "CUE_REGISTRY")
        text = f"archon-evaluation-v{FORMAT_VERSION}\0{key}\0{variables!r}"
        return self.folder / (hashlib.sha256(text.encode()).hexdigest() + SUFFIX)

    def get(self, key: str) -> Evaluation | None:
        if not self._folder_usable(create=False):
            return None
        path = self.path_for(key)
        try:
            with open(path, "rb") as handle:
                if os.fstat(handle.fileno()).st_uid != os.getuid():
                    raise ValueError("the entry belongs to another user")
                document = json.loads(handle.read())
            evaluation = _from_document(document, key)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError) as problem:
            # Unreadable, truncated, or of another format: a miss.
            log.debug("ignored the cached evaluation %s: %s", path, problem)
            return None
        with contextlib.suppress(OSError):
            # Entries are removed oldest first: a hit makes one new again.
            os.utime(path)
        return evaluation

    def put(self, key: str, evaluation: Evaluation) -> None:
        data = json.dumps(_to_document(evaluation, key), separators=(",", ":")).encode()
        if len(data) > self.max_bytes // 4 or not self._folder_usable(create=True):
            return
        try:
            # mkstemp creates the file with mode 0600.
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=TEMPORARY_PREFIX, suffix=SUFFIX)
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
                os.replace(temporary, self.path_for(key))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as problem:
            log.debug("could not keep the evaluation in %s: %s", self.folder, problem)
            return
        self._prune()

    def _folder_usable(self, *, create: bool) -> bool:
        """Tell whether the folder is the user's own and closed to others, creating it (0700) if asked.

        Entries decide what a run builds, so a folder that another user
        owns or may write to is never read.
        """
        if self._usable is None:
            try:
                if create:
                    self.folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                    self.folder.mkdir(mode=0o700, exist_ok=True)
                info = self.folder.stat()
            except OSError as problem:
                if create:
                    log.debug("not caching evaluations in %s: %s", self.folder, problem)
                    self._usable = False
                # Without create, a missing folder may yet be created by put.
                return False
            self._usable = _private(self.folder, info)
        return self._usable

    def _prune(self) -> None:
        """Remove the least recently used entries beyond the limits, and temporary files left by killed writers."""
        entries = []
        try:
            with os.scandir(self.folder) as listing:
                for entry in listing:
                    if not entry.name.endswith(SUFFIX):
                        continue
                    with contextlib.suppress(OSError):
                        info = entry.stat(follow_symlinks=False)
                        entries.append((info.st_mtime, info.st_size, entry.path, entry.name.startswith(TEMPORARY_PREFIX)))
        except OSError:
            return
        entries.sort(reverse=True)
        count = total = 0
        for modified, size, path, temporary in entries:
            if temporary:
                # Another process may be writing it right now.
                if modified < time.time() - STALE_TEMPORARY_SECONDS:
                    with contextlib.suppress(OSError):
                        os.unlink(path)
                continue
            count += 1
            total += size
            if count > self.max_entries or total > self.max_bytes:
                with contextlib.suppress(OSError):
                    os.unlink(path)


def _private(folder: Path, info: os.stat_result) -> bool:
    if info.st_uid != os.getuid():
        log.warning("not caching evaluations in %s: the folder belongs to another user", folder)
        return False
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        log.warning("not caching evaluations in %s: other users may write to it (fix: chmod 700 %s)", folder, folder)
        return False
    if mode != 0o700:
        with contextlib.suppress(OSError):
            folder.chmod(0o700)
    return True


def _to_document(evaluation: Evaluation, key: str) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "key": key,
        "package": evaluation.package_dir,
        "text": evaluation.text,
        "diagnostics": [_diagnostic_to_json(diagnostic) for diagnostic in evaluation.diagnostics],
    }


def _from_document(document: Any, key: str) -> Evaluation:
    if not isinstance(document, dict) or document.get("format") != FORMAT_VERSION or document.get("key") != key:
        raise ValueError("not an entry of this format and key")
    text = document["text"]
    package = document["package"]
    if not isinstance(text, str) or not isinstance(package, str):
        raise TypeError("text and package must be strings")
    diagnostics = [_diagnostic_from_json(item) for item in document["diagnostics"]]
    return Evaluation(package, text, None, diagnostics)


def _span_to_json(span: Span | None) -> list | None:
    if span is None:
        return None
    return [span.file, span.start.line, span.start.column, span.end.line, span.end.column]


def _span_from_json(data: Any) -> Span | None:
    if data is None:
        return None
    file, start_line, start_column, end_line, end_column = data
    if not isinstance(file, str) or not all(isinstance(number, int) for number in (start_line, start_column, end_line, end_column)):
        raise TypeError(f"invalid span {data!r}")
    return Span(file, Position(start_line, start_column), Position(end_line, end_column))


def _diagnostic_to_json(diagnostic: Diagnostic) -> dict[str, Any]:
    return {
        "message": diagnostic.message,
        "span": _span_to_json(diagnostic.span),
        "severity": int(diagnostic.severity),
        "code": diagnostic.code,
        "hint": diagnostic.hint,
        "related": [[_span_to_json(info.span), info.message] for info in diagnostic.related],
    }


def _diagnostic_from_json(data: dict[str, Any]) -> Diagnostic:
    message, code, hint = data["message"], data["code"], data["hint"]
    if not isinstance(message, str) or not isinstance(code, str) or not (hint is None or isinstance(hint, str)):
        raise TypeError("invalid diagnostic")
    related = tuple(RelatedInfo(_span_from_json(span), str(text)) for span, text in data["related"])
    return Diagnostic(message, _span_from_json(data["span"]), Severity(data["severity"]), code, hint, related)
