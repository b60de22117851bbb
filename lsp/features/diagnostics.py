"""Live diagnostics: document events in, `textDocument/publishDiagnostics` out.

An edit publishes the fast pass of the edited buffer (syntax and op-spec
errors) as soon as it is done, together with the last full-pass
diagnostics of that file that the fast pass cannot find (cue errors,
compile errors, missing inputs), so that those do not flicker while the
user types. The full pass then publishes every file of the package, and an
empty list for every file that had diagnostics before and has none now,
open or not.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lsprotocol import types

from archon.lsp.analysis import SYNTAX_CODE, Analysis
from archon.lsp.analyzer import FastResult
from archon.lsp.documents import path_to_uri, read_file, uri_to_path
from archon.lsp.positions import PositionCodec, split_lines
from archon.runtime.diagnostics import Diagnostic, Span

if TYPE_CHECKING:
    from archon.lsp.server import ArchonLanguageServer

FEATURE = "diagnostics"
SOURCE = "archon"
log = logging.getLogger(f"archon.lsp.features.{FEATURE}")

# Codes the fast pass reports; its result replaces the full pass's for them.
FAST_CODES = frozenset({SYNTAX_CODE, "unknown-op", "unknown-field", "unknown-definition"})


def to_lsp_diagnostic(diagnostic: Diagnostic, codec: PositionCodec, lines_of) -> types.Diagnostic:
    """Convert a runtime diagnostic; lines_of(path) returns the lines of a file or None."""
    span = diagnostic.span
    if span is None:
        lsp_range = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    else:
        lsp_range = codec.span_to_range(span, lines_of(span.file))

    message = diagnostic.message
    if diagnostic.hint:
        message += f"\nhint: {diagnostic.hint}"

    related = None
    if diagnostic.related:
        related = [
            types.DiagnosticRelatedInformation(
                location=types.Location(uri=path_to_uri(info.span.file), range=codec.span_to_range(info.span, lines_of(info.span.file))),
                message=info.message,
            )
            for info in diagnostic.related
        ]

    return types.Diagnostic(
        range=lsp_range,
        message=message,
        severity=types.DiagnosticSeverity(int(diagnostic.severity)),
        code=diagnostic.code,
        source=SOURCE,
        related_information=related,
        data={"hint": diagnostic.hint} if diagnostic.hint else None,
    )


class Publisher:
    """Publishes diagnostics and remembers what each file shows, to clear it later."""

    def __init__(self, server: "ArchonLanguageServer"):
        self._server = server
        # Files whose last published list was not empty, by URI.
        self._shown: set[str] = set()
        # Files each package's last full pass published, by package folder.
        self._package_files: dict[str, set[str]] = {}
        # The last full pass's diagnostics, by file path.
        self._full: dict[str, list[Diagnostic]] = {}

    def publish_fast(self, result: FastResult) -> None:
        carried = [item for item in self._full.get(result.path, []) if item.code not in FAST_CODES]
        snapshot_lines = _lines_reader({result.path: self._server.documents.text_of(path_to_uri(result.path))})
        self._publish(path_to_uri(result.path), result.diagnostics + carried, snapshot_lines, result.version)

    def publish_full(self, analysis: Analysis) -> None:
        package = analysis.package
        files = set(analysis.files)
        fallback = Span.point(sorted(files)[0], 1, 1) if files else None

        by_file: dict[str, list[Diagnostic]] = {path: [] for path in files}
        for diagnostic in analysis.diagnostics:
            if diagnostic.span is None:
                if fallback is None:
                    log.warning("%s", diagnostic.format())
                    continue
                diagnostic = Diagnostic(diagnostic.message, fallback, diagnostic.severity, diagnostic.code, diagnostic.hint, diagnostic.related)
            by_file.setdefault(diagnostic.span.file, []).append(diagnostic)

        lines_of = _lines_reader(analysis.snapshot.texts)
        published: set[str] = set()
        for path, diagnostics in sorted(by_file.items()):
            self._full[path] = diagnostics
            uri = path_to_uri(path)
            published.add(uri)
            if not diagnostics and uri not in self._shown:
                continue
            self._publish(uri, diagnostics, lines_of, analysis.snapshot.versions.get(path))

        # Files this package showed problems in before, that it no longer reports at all.
        for uri in sorted(self._package_files.get(package, set()) - published):
            path = uri_to_path(uri)
            if path is not None:
                self._full.pop(path, None)
            if uri in self._shown:
                self._publish(uri, [], lines_of, None)
        self._package_files[package] = published

    def _publish(self, uri: str, diagnostics: Sequence[Diagnostic], lines_of, version: int | None) -> None:
        codec = self._server.codec
        converted = [to_lsp_diagnostic(item, codec, lines_of) for item in diagnostics]
        if converted:
            self._shown.add(uri)
        else:
            self._shown.discard(uri)
        self._server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=converted, version=version)
        )


def _lines_reader(texts: dict[str, str | None]):
    """Return a function giving the lines of a file: from texts when given there, else from disk."""
    cache: dict[str, list[str] | None] = {}

    def lines_of(path: str) -> list[str] | None:
        if path not in cache:
            text = texts.get(path)
            if text is None:
                text = read_file(path)
            cache[path] = split_lines(text) if text is not None else None
        return cache[path]

    return lines_of


def register(server: "ArchonLanguageServer") -> None:
    publisher = Publisher(server)
    server.analyzer.fast_listeners.append(publisher.publish_fast)
    server.analyzer.full_listeners.append(publisher.publish_full)
    reported_failures: set[str] = set()

    def report_failure(folder: str, failure: str) -> None:
        # One pop-up per distinct problem; the log gets every one.
        log.error("analysis of %s failed: %s", folder, failure)
        if failure not in reported_failures:
            reported_failures.add(failure)
            server.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"Archon: {failure}"))

    server.analyzer.failure_listeners.append(report_failure)

    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        server.analyzer.document_changed(params.text_document.uri)

    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        server.analyzer.document_changed(params.text_document.uri)

    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        server.analyzer.document_saved(params.text_document.uri)

    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        server.analyzer.document_closed(params.text_document.uri)

    def did_change_watched_files(params: types.DidChangeWatchedFilesParams) -> None:
        paths = [path for change in params.changes if (path := uri_to_path(change.uri))]
        server.analyzer.files_changed_on_disk(paths)

    server.register_feature(FEATURE, types.TEXT_DOCUMENT_DID_OPEN, did_open, notification=True)
    server.register_feature(FEATURE, types.TEXT_DOCUMENT_DID_CHANGE, did_change, notification=True)
    server.register_feature(FEATURE, types.TEXT_DOCUMENT_DID_SAVE, did_save, types.SaveOptions(include_text=False), notification=True)
    server.register_feature(FEATURE, types.TEXT_DOCUMENT_DID_CLOSE, did_close, notification=True)
    server.register_feature(FEATURE, types.WORKSPACE_DID_CHANGE_WATCHED_FILES, did_change_watched_files, notification=True)

