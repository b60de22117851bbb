"""The LLB preview: a compiled Plan as the JSON graph that `archon.previewLLB` returns.

The format is documented in docs/lsp-protocol.md. Ranges are LSP ranges in
the session's position encoding; every vertex has a `status`:

- `ran`, `cached` or `failed`: what the last run of this session did with it;
- `cached`: else, when the environment's last successful run built it, so the
  next run will most likely find it in the cache;
- `will-rebuild`: else, when that run exists but did not build it;
- `unknown`: when there is no run to compare with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lsprotocol import types

from archon.lsp.documents import path_to_uri
from archon.lsp.positions import PositionCodec
from archon.runtime.diagnostics import Span

VERTEX_STATUSES = ("cached", "ran", "failed", "will-rebuild", "unknown")


def place_of(span: Span | None, codec: PositionCodec, lines_of: Callable[[str], Sequence[str] | None]) -> tuple[str | None, dict | None]:
    if span is None:
        return None, None
    lsp_range = codec.span_to_range(span, lines_of(span.file))
    return path_to_uri(span.file), _range_json(lsp_range)


def _range_json(lsp_range: types.Range) -> dict[str, Any]:
    return {
        "start": {"line": lsp_range.start.line, "character": lsp_range.start.character},
        "end": {"line": lsp_range.end.line, "character": lsp_range.end.character},
    }


def vertex_status(digest: str, session_statuses: Mapping[str, str], last_success: set[str] | None) -> str:
    if digest in session_statuses:
        return session_statuses[digest]
    if last_success is None:
        return "unknown"
    return "cached" if digest in last_success else "will-rebuild"


def graph_json(
    plan: Any,
    codec: PositionCodec,
    lines_of: Callable[[str], Sequence[str] | None],
    session_statuses: Mapping[str, str] | None = None,
    last_success: set[str] | None = None,
) -> dict[str, Any]:
    """Return the preview graph of plan: vertices, edges between them, components and the root."""
    statuses = session_statuses or {}
    vertices = []
    edges = []
    for vertex in plan.vertices.values():
        uri, vertex_range = place_of(vertex.span, codec, lines_of)
        vertices.append(
            {
                "digest": vertex.digest,
                "kind": vertex.kind,
                "summary": vertex.summary,
                "component": vertex.component,
                "uri": uri,
                "range": vertex_range,
                "status": vertex_status(vertex.digest, statuses, last_success),
                "inputs": list(vertex.inputs),
            }
        )
        for source in vertex.inputs:
            edges.append({"from": source, "to": vertex.digest})

    components = []
    for component in plan.components.values():
        uri, component_range = place_of(component.span, codec, lines_of)
        components.append({"path": component.path, "digest": component.digest, "uri": uri, "range": component_range})

    return {"vertices": vertices, "edges": edges, "components": components, "root": plan.root}
