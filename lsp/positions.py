"""The one place where runtime positions and LSP positions meet.

The runtime counts lines and columns from 1, columns in Unicode code points.
LSP counts both from 0, columns in the code units of the position encoding
negotiated at initialization: UTF-16 unless the client offers UTF-8. Every
conversion needs the text of the line, which `LineSource` provides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lsprotocol import types

from archon.runtime.diagnostics import Span

UTF8 = types.PositionEncodingKind.Utf8
UTF16 = types.PositionEncodingKind.Utf16
UTF32 = types.PositionEncodingKind.Utf32

# The lines of a file, by absolute path; None when the file cannot be read.
LineSource = Callable[[str], Sequence[str] | None]


def _units(character: str, encoding: str) -> int:
    point = ord(character)
    if encoding == UTF8:
        if point < 0x80:
            return 1
        if point < 0x800:
            return 2
        if point < 0x10000:
            return 3
        return 4
    if encoding == UTF32:
        return 1
    return 2 if point > 0xFFFF else 1


def split_lines(text: str) -> list[str]:
    """Split text into lines as LSP does: at \\n, \\r\\n and \\r, without the line ends."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


class PositionCodec:
    """Converts between runtime (line, column) pairs and LSP positions for one encoding."""

    def __init__(self, encoding: str | None = UTF16):
        self.encoding = encoding if encoding in (UTF8, UTF16, UTF32) else UTF16

    def units(self, text: str) -> int:
        """Return the length of text in this encoding's code units."""
        if self.encoding == UTF32:
            return len(text)
        return sum(_units(character, self.encoding) for character in text)

    def to_lsp(self, lines: Sequence[str] | None, line: int, column: int) -> types.Position:
        """Convert a 1-based line and code-point column into an LSP position.

        A column past the end of its line is clamped to the line's end; a
        line past the end of the file is kept, with character 0.
        """
        index = max(line - 1, 0)
        if lines is None or index >= len(lines):
            return types.Position(line=index, character=max(column - 1, 0))
        text = lines[index]
        prefix = text[: max(column - 1, 0)]
        return types.Position(line=index, character=self.units(prefix))

    def from_lsp(self, lines: Sequence[str] | None, position: types.Position) -> tuple[int, int]:
        """Convert an LSP position into a 1-based line and code-point column.

        A character offset that falls inside a character (half of a UTF-16
        surrogate pair, say) moves to the start of that character.
        """
        line = position.line + 1
        if lines is None or position.line >= len(lines):
            return line, position.character + 1
        text = lines[position.line]
        consumed = 0
        for index, character in enumerate(text):
            width = _units(character, self.encoding)
            if consumed + width > position.character:
                return line, index + 1
            consumed += width
        return line, len(text) + 1

    def span_to_range(self, span: Span, lines: Sequence[str] | None) -> types.Range:
        start = self.to_lsp(lines, span.start.line, span.start.column)
        end = self.to_lsp(lines, span.end.line, span.end.column)
        if (end.line, end.character) < (start.line, start.character):
            end = start
        return types.Range(start=start, end=end)

    def whole_document(self, text: str) -> types.Range:
        """Return the range from the start of text to its end."""
        lines = split_lines(text)
        return types.Range(
            start=types.Position(line=0, character=0),
            end=types.Position(line=len(lines) - 1, character=self.units(lines[-1])),
        )


def choose_encoding(offered: Sequence[str] | None) -> str:
    """Pick UTF-8 when the client offers it, else UTF-16, which every client supports."""
    if offered and UTF8 in offered:
        return UTF8
    return UTF16
