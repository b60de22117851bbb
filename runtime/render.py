"""Renderings of a Plan: text for people, JSON for tools, dot for Graphviz."""

from __future__ import annotations

import json
from typing import Any

from archon.runtime.diagnostics import Span
from archon.runtime.plan import Plan


def span_dict(span: Span | None) -> dict[str, Any] | None:
    if span is None:
        return None
    return {
        "file": span.file,
        "start": {"line": span.start.line, "column": span.start.column},
        "end": {"line": span.end.line, "column": span.end.column},
    }


def plan_dict(plan: Plan) -> dict[str, Any]:
    """The graph as plain data: the JSON format of `dagger plan --format json`."""
    return {
        "root": plan.root,
        "components": [
            {
                "path": component.path,
                "digest": component.digest,
                "ops": component.ops,
                "dependencies": list(component.dependencies),
                "span": span_dict(component.span),
            }
            for component in plan.components.values()
        ],
        "vertices": [
            {
                "digest": vertex.digest,
                "kind": vertex.kind,
                "summary": vertex.summary,
                "inputs": list(vertex.inputs),
                "component": vertex.component,
                "ignoreCache": vertex.ignore_cache,
                "span": span_dict(vertex.span),
            }
            for vertex in plan.vertices.values()
        ],
        "edges": [{"from": edge.source, "to": edge.target, "span": span_dict(edge.span)} for edge in plan.edges],
        "outputs": {
            "values": [{"name": item.name, "format": item.format} for item in plan.exports],
            "directories": [{"name": item.name, "destination": item.destination} for item in plan.directories],
            "images": [{"name": item.name, "ref": item.ref, "push": item.push} for item in plan.images],
        },
        "localSources": [
            {"name": item.name, "path": item.path, "include": list(item.include), "exclude": list(item.exclude)}
            for item in plan.local_sources.values()
        ],
        "secrets": list(plan.secrets),
        "definitionBytes": len(plan.definition),
    }


def render_json(plan: Plan) -> str:
    return json.dumps(plan_dict(plan), indent=2)


def render_text(plan: Plan) -> str:
    lines = [f"{len(plan.components)} component(s), {len(plan.vertices)} vertices, one definition of {len(plan.definition)} bytes"]
    lines.append("")
    for component in plan.components.values():
        where = f"  ({component.span})" if component.span else ""
        needs = f"  <- {', '.join(component.dependencies)}" if component.dependencies else ""
        lines.append(f"{component.path}: {component.ops} op(s), {_short(component.digest)}{needs}{where}")
    lines.append("")
    lines.append("vertices:")
    for vertex in plan.vertices.values():
        owner = f" [{vertex.component}]" if vertex.component else ""
        lines.append(f"  {_short(vertex.digest)} {vertex.kind:<6} {vertex.summary}{owner}")
    outputs = [f"value {item.name}" for item in plan.exports]
    outputs += [f"directory {item.name} -> {item.destination}" for item in plan.directories]
    outputs += [f"image {item.name} -> {item.ref}" for item in plan.images]
    if outputs:
        lines.append("")
        lines.append("outputs:")
        lines.extend(f"  {item}" for item in outputs)
    return "\n".join(lines)


def render_dot(plan: Plan) -> str:
    lines = ["digraph plan {", "  rankdir=LR;", "  node [shape=box, fontname=monospace];"]
    for vertex in plan.vertices.values():
        label = f"{vertex.kind}\\n{_escape(vertex.summary)[:60]}"
        if vertex.component:
            label += f"\\n[{_escape(vertex.component)}]"
        lines.append(f'  "{vertex.digest}" [label="{label}"];')
    for vertex in plan.vertices.values():
        for source in vertex.inputs:
            lines.append(f'  "{source}" -> "{vertex.digest}";')
    lines.append("}")
    return "\n".join(lines)


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
