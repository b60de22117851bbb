"""A document as the request handlers see it: text, lines, syntax tree and conversions.

Request handlers get a `DocumentView` from `open_view`; it pairs the buffer
text with its syntax tree (the fast pass's tree when it matches the buffer's
version, else a fresh parse in the parse thread) and converts positions
with the encoding negotiated for the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from archon.lsp.documents import package_folder, uri_to_path
from archon.lsp.positions import PositionCodec, split_lines
from archon.runtime.diagnostics import Span

if TYPE_CHECKING:
    from archon.lsp.server import ArchonLanguageServer


@dataclass
class DocumentView:
    uri: str
    path: str
    text: str
    lines: list[str]
    version: int | None
    parsed: Any
    codec: PositionCodec

    @property
    def folder(self) -> str:
        return package_folder(self.path)

    def runtime_position(self, position: types.Position) -> tuple[int, int]:
        """Convert a client position into a 1-based line and code-point column."""
        return self.codec.from_lsp(self.lines, position)

    def range_of(self, span: Span) -> types.Range:
        """Convert a span of this document into a client range."""
        return self.codec.span_to_range(span, self.lines)


async def open_view(server: "ArchonLanguageServer", uri: str) -> DocumentView | None:
    """Return the view of a `.cue` document (open or on disk), or None for other documents."""
    path = uri_to_path(uri)
    if path is None or not path.endswith(".cue"):
        return None
    text = server.documents.text_of(uri)
    if text is None:
        return None

    version = server.documents.version_of(path)
    parsed = server.analyzer.parsed(path)
    if parsed is None:
        parsed = await server.analyzer.parse_now(path, text)
    return DocumentView(uri, path, text, split_lines(text), version, parsed, server.codec)
