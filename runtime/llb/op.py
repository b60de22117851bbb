"""The vertex model shared by every op kind.

A builder vertex (`Node`) contains the values of one LLB Op and the `Output`s
of other vertices it reads. Its digest is only known once its inputs are
serialized, so a node encodes itself on request, given a function that
returns the `pb.Input` of any output it refers to.
"""

from __future__ import annotations

import abc
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from archon.runtime.diagnostics import Span

from . import caps
from .errors import Problem
from .pb import ops_pb2


@dataclass(frozen=True)
class Platform:
    """An OCI platform such as linux/amd64 or linux/arm64/v8."""

    os: str
    architecture: str
    variant: str = ""

    def to_pb(self) -> ops_pb2.Platform:
        return ops_pb2.Platform(OS=self.os, Architecture=self.architecture, Variant=self.variant)

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


@dataclass(frozen=True, eq=False)
class OpMeta:
    """Per-vertex metadata given by the caller of a builder method.

    `name` becomes the vertex name shown by BuildKit (`llb.customname`).
    `ignore_cache` makes the daemon run the vertex on every solve.
    `annotations` and `span` never enter the Op bytes: they come back on the
    `Vertex` records of the marshalled definition and on every `Problem`
    found in the call, and `span` also fills Definition.Source.
    """

    name: str | None = None
    ignore_cache: bool = False
    annotations: Mapping[str, object] = field(default_factory=dict)
    span: Span | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "annotations", types.MappingProxyType(dict(self.annotations)))

    def problem(self, message: str, value: object, hint: str | None = None) -> Problem:
        """Create a problem attributed to the call that carried this metadata."""
        return Problem(message, value, hint=hint, span=self.span, annotations=self.annotations)

    def caps(self) -> frozenset[str]:
        found = set()
        if self.name:
            found.add(caps.META_DESCRIPTION)
        if self.ignore_cache:
            found.add(caps.META_IGNORE_CACHE)
        return frozenset(found)


NO_META = OpMeta()


class Node(abc.ABC):
    """One vertex of the builder graph; subclasses are frozen dataclasses."""

    kind: ClassVar[str]
    meta: OpMeta
    problems: tuple[Problem, ...]
    platform: Platform | None

    @abc.abstractmethod
    def edges(self) -> tuple[Output, ...]:
        """Return the outputs this vertex reads, in the order its Op lists them."""

    @abc.abstractmethod
    def encode(self, resolve: Callable[[Output], ops_pb2.Input]) -> ops_pb2.Op:
        """Build the Op message; `resolve` maps an output to its `pb.Input`."""

    @abc.abstractmethod
    def op_caps(self) -> frozenset[str]:
        """Return the BuildKit capabilities the Op itself needs."""

    @abc.abstractmethod
    def summary(self) -> str:
        """Return a one-line description of the Op for plans and logs."""

    def __repr__(self) -> str:
        # Short on purpose: the default would print the whole graph upstream.
        return f"<{self.kind} vertex: {self.summary()}>"

    def caps(self) -> frozenset[str]:
        found = set(self.op_caps()) | self.meta.caps()
        if self.platform is not None:
            found.add(caps.PLATFORM)
        return frozenset(found)

    def finish(self, op: ops_pb2.Op) -> ops_pb2.Op:
        """Add the fields common to every Op kind."""
        if self.platform is not None:
            op.platform.CopyFrom(self.platform.to_pb())
        return op


@dataclass(frozen=True, eq=False)
class Output:
    """Output number `index` of the vertex `node`."""

    node: Node
    index: int


class InputTable:
    """The `inputs` of one Op under construction.

    Equal inputs (same digest and output index) share one entry, as in
    BuildKit's Go client, and an absent output (scratch) maps to -1.
    """

    def __init__(self, resolve: Callable[[Output], ops_pb2.Input]):
        self._resolve = resolve
        self._positions: dict[tuple[str, int], int] = {}
        self.inputs: list[ops_pb2.Input] = []

    def add(self, output: Output | None) -> int:
        """Return the index of `output` in the inputs, adding it when new."""
        if output is None:
            return -1

        entry = self._resolve(output)
        key = (entry.digest, entry.index)
        position = self._positions.get(key)
        if position is None:
            position = len(self.inputs)
            self._positions[key] = position
            self.inputs.append(entry)
        return position
