"""The compiled form of a configuration: one LLB definition and what it means.

A `Plan` is what the compiler hands to the engine. Its definition's root is
the *output bundle*: a scratch file system that holds every value and
directory output and depends on every component, so that one solve builds
the whole configuration:

    /exports/<name>       the file an `export` op reads, for each value output
    /dirs/<name>/...      the file system of each directory output

Components that no output needs are still solved: the bundle copies an
empty wildcard match from each of them, which forces the solve without
copying anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archon.runtime.diagnostics import Span

EXPORTS_DIR = "/exports"
DIRECTORIES_DIR = "/dirs"


@dataclass(frozen=True)
class Vertex:
    """One LLB op of the definition, with what Archon knows about it.

    `digest` is the op's content digest (`sha256:...`). `component` is the
    path of the component whose op produced it (`"app"`, `"stages.build"`),
    `span` the source range of that op in the configuration.
    """

    digest: str
    kind: str
    summary: str
    inputs: tuple[str, ...] = ()
    component: str | None = None
    span: Span | None = None
    ignore_cache: bool = False


@dataclass(frozen=True)
class Edge:
    """A reference from one component to another (`from: base`)."""

    source: str
    target: str
    span: Span | None = None


@dataclass(frozen=True)
class Component:
    path: str
    digest: str
    ops: int
    span: Span | None = None
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalSource:
    """A local directory the daemon reads through the session's FileSync.

    `name` is the session name the `local` source op asks for; `path` is
    absolute.
    """

    name: str
    path: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportOutput:
    """A value output: `path` is inside the bundle, `format` is string, json or yaml."""

    name: str
    path: str
    format: str
    span: Span | None = None


@dataclass(frozen=True)
class DirectoryOutput:
    """A directory output: bundle `path` is written to the absolute local `destination`."""

    name: str
    path: str
    destination: str
    span: Span | None = None


@dataclass(frozen=True)
class ImageOutput:
    """An image output, solved from its own definition after the main solve.

    Its definition is a subgraph of the main one, so solving it again is a
    cache hit. `push` selects a registry push (`push-container`) over the
    Docker image store (`save-image`).
    """

    name: str
    ref: str
    push: bool
    definition: bytes
    span: Span | None = None


@dataclass
class Plan:
    """One configuration compiled for one solve.

    `definition` is the serialized `pb.Definition`. `secrets` lists the
    secret ids the solve will ask the session for; their values are never
    part of the plan. `entitlements` lists what the solve must be allowed
    (such as `network.host`); the daemon must permit each of them.
    """

    definition: bytes
    root: str
    vertices: dict[str, Vertex] = field(default_factory=dict)
    components: dict[str, Component] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    local_sources: dict[str, LocalSource] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    entitlements: tuple[str, ...] = ()
    exports: tuple[ExportOutput, ...] = ()
    directories: tuple[DirectoryOutput, ...] = ()
    images: tuple[ImageOutput, ...] = ()
    inputs: dict[str, Any] = field(default_factory=dict)

    def vertex_for_component(self, path: str) -> Vertex | None:
        component = self.components.get(path)
        return self.vertices.get(component.digest) if component else None
