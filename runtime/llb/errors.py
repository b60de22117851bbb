"""Problems found while building an LLB graph, reported all together."""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from archon.runtime.diagnostics import Span


@dataclass(frozen=True, eq=False)
class Problem:
    """One invalid value given to the builder.

    `value` is the offending value itself, `hint` the fix when one is known.
    `span` and `annotations` come from the `OpMeta` of the call that received
    the value, so that the compiler can turn the problem into a diagnostic at
    the right place in the configuration.
    """

    message: str
    value: object
    hint: str | None = None
    span: Span | None = None
    annotations: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "annotations", types.MappingProxyType(dict(self.annotations)))

    def __str__(self) -> str:
        where = f"{self.span}: " if self.span else ""
        text = where + self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class LLBError(ValueError):
    """An LLB graph that cannot be marshalled; `problems` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = [f"invalid LLB graph: {count} problem{'s' if count != 1 else ''}"]
        lines.extend(f"  - {problem}" for problem in self.problems)
        super().__init__("\n".join(lines))
