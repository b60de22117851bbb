"""Marshalling: from states to one deterministic BuildKit Definition.

`marshal(*roots)` walks the graph depth first, inputs before the vertex
that reads them and in the order the vertex lists them, so the result
depends only on the graph and never on the order in which Python built it.
Each Op is serialized deterministically and named by the SHA-256 digest of
its bytes. Vertices with equal bytes (identical subgraphs) become one, and
their metadata is merged. BuildKit's terminal Op, whose single input names
the result, comes last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from archon.runtime.diagnostics import Span

from .digest import digest, serialize
from .errors import LLBError, Problem
from .op import Node, Output
from .pb import ops_pb2
from .state import State

CUSTOM_NAME = "llb.customname"


@dataclass(frozen=True)
class Vertex:
    """One vertex of a marshalled definition, as the compiler and plans see it.

    `inputs` lists `(digest, output index)` pairs in Op input order.
    `annotations` contains one mapping per builder call that produced this
    vertex (several when identical ops were deduplicated), in walk order.
    """

    digest: str
    kind: str
    summary: str
    inputs: tuple[tuple[str, int], ...]
    annotations: tuple[Mapping[str, object], ...]
    name: str | None
    ignore_cache: bool
    spans: tuple[Span, ...]
    caps: frozenset[str]


@dataclass(frozen=True)
class Definition:
    """A marshalled LLB graph: the protobuf message and a record per vertex.

    `vertices` follows the order of `message.def` and leaves out the
    terminal Op. `root` is the `(digest, output index)` that the terminal
    names, None when the result is scratch (then `message.def` is empty).
    """

    message: ops_pb2.Definition
    vertices: tuple[Vertex, ...]
    root: tuple[str, int] | None
    terminal: str | None
    # Digest per builder node, keyed by id(); `nodes` keeps those ids valid.
    node_digests: Mapping[int, str] = field(default_factory=dict, repr=False, compare=False)
    nodes: tuple[Node, ...] = field(default=(), repr=False, compare=False)

    def to_bytes(self) -> bytes:
        """Serialize the definition deterministically, for the Solve request."""
        return serialize(self.message)

    def digest_of(self, target: State | Output) -> str:
        """Return the vertex digest of a state or output marshalled into this definition.

        Raises KeyError for scratch or for a state outside the marshalled graph.
        """
        output = target.output if isinstance(target, State) else target
        if output is None:
            raise KeyError("scratch has no vertex")
        return self.node_digests[id(output.node)]

    def vertex(self, vertex_digest: str) -> Vertex:
        for vertex in self.vertices:
            if vertex.digest == vertex_digest:
                return vertex
        raise KeyError(vertex_digest)


@dataclass
class _Merged:
    """A unique Op (by digest) and what the builder nodes behind it carry."""

    digest: str
    data: bytes
    first: Node
    inputs: tuple[tuple[str, int], ...]
    name: str | None = None
    ignore_cache: bool = False
    caps: set[str] = field(default_factory=set)
    annotations: list[Mapping[str, object]] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)

    def add(self, node: Node) -> None:
        meta = node.meta
        if self.name is None and meta.name:
            self.name = meta.name
        self.ignore_cache = self.ignore_cache or meta.ignore_cache
        self.caps |= node.caps()
        if meta.annotations:
            self.annotations.append(meta.annotations)
        if meta.span is not None and meta.span not in self.spans:
            self.spans.append(meta.span)

    def metadata(self) -> ops_pb2.OpMetadata:
        entry = ops_pb2.OpMetadata(ignore_cache=self.ignore_cache)
        if self.name:
            entry.description[CUSTOM_NAME] = self.name
        for cap in self.caps:
            entry.caps[cap] = True
        return entry

    def vertex(self) -> Vertex:
        return Vertex(
            digest=self.digest,
            kind=self.first.kind,
            summary=self.first.summary(),
            inputs=self.inputs,
            annotations=tuple(self.annotations),
            name=self.name,
            ignore_cache=self.ignore_cache,
            spans=tuple(self.spans),
            caps=frozenset(self.caps),
        )


def walk(roots: Sequence[State]) -> list[Node]:
    """Return every node reachable from `roots`, inputs first (post-order).

    Iterative, because configurations can chain more ops than Python's
    recursion limit allows.
    """
    order: list[Node] = []
    seen: set[int] = set()
    for root in roots:
        if root.output is None:
            continue
        stack: list[tuple[Node, bool]] = [(root.output.node, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for edge in reversed(node.edges()):
                if id(edge.node) not in seen:
                    stack.append((edge.node, False))
    return order


def validate(*roots: State) -> tuple[Problem, ...]:
    """Return every problem recorded in the graphs of `roots`, in walk order."""
    problems: list[Problem] = []
    seen: set[int] = set()

    def collect(found: Sequence[Problem]) -> None:
        for problem in found:
            if id(problem) not in seen:
                seen.add(id(problem))
                problems.append(problem)

    for node in walk(roots):
        collect(node.problems)
    for root in roots:
        collect(root.problems)
    return tuple(problems)


def marshal(
    *roots: State,
    source_data: Mapping[str, bytes] | None = None,
    source_language: str | None = None,
) -> Definition:
    """Marshal the graphs of `roots` into one Definition.

    The terminal Op names the first root, which is what BuildKit solves.
    The vertices of further roots are included (and listed in `vertices`),
    but BuildKit builds them only when the first root reaches them.
    Raises LLBError carrying every problem of the graph when there is any.

    When ops carry spans, Definition.Source maps each vertex to its ranges.
    `source_data` adds the file contents, keyed by file name, so that the
    daemon can quote them in errors.
    """
    if not roots:
        raise TypeError("marshal needs at least one root state")

    problems = validate(*roots)
    if problems:
        raise LLBError(problems)

    node_digests: dict[int, str] = {}

    def resolve(output: Output) -> ops_pb2.Input:
        return ops_pb2.Input(digest=node_digests[id(output.node)], index=output.index)

    merged: dict[str, _Merged] = {}
    nodes = walk(roots)
    for node in nodes:
        op = node.encode(resolve)
        data = serialize(op)
        node_digest = digest(data)
        node_digests[id(node)] = node_digest

        entry = merged.get(node_digest)
        if entry is None:
            inputs = tuple((item.digest, item.index) for item in op.inputs)
            entry = _Merged(node_digest, data, node, inputs)
            merged[node_digest] = entry
        entry.add(node)

    message = ops_pb2.Definition()
    serialized_ops = getattr(message, "def")  # `def` is a Python keyword
    for entry in merged.values():
        serialized_ops.append(entry.data)
        message.metadata[entry.digest].CopyFrom(entry.metadata())
    _add_source(message, merged.values(), source_data or {}, source_language)

    root_output = roots[0].output
    root: tuple[str, int] | None = None
    terminal: str | None = None
    if root_output is not None:
        root = (node_digests[id(root_output.node)], root_output.index)
        terminal_op = ops_pb2.Op(inputs=[ops_pb2.Input(digest=root[0], index=root[1])])
        terminal_data = serialize(terminal_op)
        terminal = digest(terminal_data)
        serialized_ops.append(terminal_data)

    vertices = tuple(entry.vertex() for entry in merged.values())
    return Definition(
        message=message,
        vertices=vertices,
        root=root,
        terminal=terminal,
        node_digests=node_digests,
        nodes=tuple(nodes),
    )


def _add_source(
    message: ops_pb2.Definition,
    entries: Sequence[_Merged],
    source_data: Mapping[str, bytes],
    language: str | None,
) -> None:
    """Fill Definition.Source from the spans of the vertices, if any."""
    file_index: dict[str, int] = {}
    for entry in entries:
        if not entry.spans:
            continue

        ranges_by_file: dict[int, list[ops_pb2.Range]] = {}
        for span in entry.spans:
            index = file_index.get(span.file)
            if index is None:
                index = len(file_index)
                file_index[span.file] = index
                info = message.Source.infos.add(filename=span.file, data=source_data.get(span.file, b""))
                if language:
                    info.language = language
            ranges_by_file.setdefault(index, []).append(_range(span))

        locations = message.Source.locations[entry.digest]
        for index, ranges in ranges_by_file.items():
            locations.locations.add(sourceIndex=index, ranges=ranges)


def _range(span: Span) -> ops_pb2.Range:
    # NOTE: lines stay 1-based as in BuildKit's Dockerfile front end; the
    # 0-based `character` follows that front end's reading and is unverified.
    return ops_pb2.Range(
        start=ops_pb2.Position(line=span.start.line, character=max(span.start.column - 1, 0)),
        end=ops_pb2.Position(line=span.end.line, character=max(span.end.column - 1, 0)),
    )
