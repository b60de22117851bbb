"""Positions, spans and diagnostics shared by every layer of Archon.

Lines and columns are 1-based. Columns count Unicode code points, so a
client that needs UTF-16 or UTF-8 offsets converts them from the line text.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Position:
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


@dataclass(frozen=True)
class Span:
    """A range of source text; `end` is exclusive."""

    file: str
    start: Position
    end: Position

    def __str__(self) -> str:
        return f"{self.file}:{self.start}"

    @classmethod
    def point(cls, file: str, line: int, column: int) -> "Span":
        return cls(file, Position(line, column), Position(line, column))


class Severity(enum.IntEnum):
    # Values match the LSP DiagnosticSeverity numbers.
    ERROR = 1
    WARNING = 2
    INFORMATION = 3
    HINT = 4


@dataclass(frozen=True)
class RelatedInfo:
    span: Span
    message: str


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a configuration.

    `code` is a stable identifier of the kind of problem (for example
    `syntax`, `cue`, `unknown-op`, `cycle`), which tests and clients match on.
    `hint` is the exact fix, when one is known.
    """

    message: str
    span: Span | None = None
    severity: Severity = Severity.ERROR
    code: str = "error"
    hint: str | None = None
    related: tuple[RelatedInfo, ...] = field(default_factory=tuple)

    def format(self) -> str:
        """Render as `file:line:col: severity: message`, the hint on its own line."""
        where = f"{self.span}: " if self.span else ""
        text = f"{where}{self.severity.name.lower()}: {self.message}"
        for info in self.related:
            text += f"\n    {info.span}: {info.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ConfigError(Exception):
    """A configuration that cannot be evaluated or compiled.

    Carries every diagnostic found, so callers can report all of them at once.
    """

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = list(diagnostics)
        first = self.diagnostics[0].format() if self.diagnostics else "invalid configuration"
        more = len(self.diagnostics) - 1
        super().__init__(first + (f"\n(and {more} more)" if more > 0 else ""))


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity == Severity.ERROR for d in diagnostics)
