"""Hover: the op spec's documentation, and a summary of components and inputs.

- an op definition (`op.#Exec`) or a `do:` value: the op's doc comment and fields;
- a field of an op struct: the field's type and doc comment;
- a component (its label, or a reference to it): its doc comment, its
  number of ops and of vertices in the compiled plan, the inputs it
  depends on and the last result of a run that included it;
- an input: its type, doc comment and whether the environment sets it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from archon.lsp import cursor
from archon.lsp.components import ComponentSummary, summarize_component
from archon.lsp.session import history_results
from archon.lsp.view import DocumentView, open_view

if TYPE_CHECKING:
    from archon.lsp.server import ArchonLanguageServer

FEATURE = "hover"
log = logging.getLogger(f"archon.lsp.features.{FEATURE}")

# How long a hover on a component waits for an analysis that is under way, in seconds.
ANALYSIS_WAIT_SECONDS = 2.0


def op_markdown(definition: str) -> str | None:
    from archon.runtime.spec.docs import definition_docs

    doc = definition_docs().get(definition)
    if doc is None:
        return None
    heading = f'op `{doc.op}`' if doc.op else f"`op.{doc.definition}`"
    parts = [f"**{heading}**", "", doc.summary, "", "```cue", doc.signature(), "```"]
    return "\n".join(parts).strip()


def op_name_markdown(op: str) -> str | None:
    from archon.runtime.spec.docs import op_docs

    doc = op_docs().get(op)
    return op_markdown(doc.definition) if doc is not None else None


def field_markdown(op: str, name: str) -> str | None:
    from archon.runtime.spec.docs import op_docs

    doc = op_docs().get(op)
    if doc is None or name not in doc.fields:
        return None
    item = doc.fields[name]
    optional = " (optional)" if item.optional else ""
    return f"**`{name}`**: `{item.type_text}`{optional}, field of op `{op}`\n\n{item.doc}".strip()


def component_markdown(summary: ComponentSummary) -> str:
    lines = [f"**component `{summary.path}`**"]
    if summary.doc:
        lines += ["", summary.doc]
    lines.append("")
    facts = [f"- {summary.ops} op(s)" + (f", {summary.vertices} vertices in the plan" if summary.vertices is not None else "")]
    if summary.dependencies:
        facts.append("- depends on " + ", ".join(f"`{name}`" for name in summary.dependencies))
    if summary.inputs:
        facts.append("- inputs: " + ", ".join(f"`{name}`" for name in summary.inputs))
    if summary.digest:
        facts.append(f"- digest `{summary.digest[:19]}…`")
    facts.append(f"- last run: {summary.last_run}" if summary.last_run else "- not run yet")
    lines += facts
    return "\n".join(lines)


def input_markdown(decl: Any, environment: str | None) -> str:
    lines = [f"**input `{decl.path}`**: `{decl.type_text}`"]
    if decl.doc:
        lines += ["", decl.doc]
    lines.append("")
    where = f" in environment `{environment}`" if environment else ""
    if decl.is_set:
        lines.append(f"set{where}")
    elif decl.has_default:
        lines.append(f"not set{where}; its default applies")
    else:
        lines.append(f"**not set**{where}: set it with `dagger input {decl.kind} {decl.path} VALUE`")
    return "\n".join(lines)


async def _analysis_for(server: "ArchonLanguageServer", view: DocumentView):
    try:
        return await asyncio.wait_for(server.analyzer.current(view.folder), ANALYSIS_WAIT_SECONDS)
    except asyncio.TimeoutError:
        return server.analyzer.latest(view.folder)


async def hover_at(server: "ArchonLanguageServer", view: DocumentView, line: int, column: int) -> types.Hover | None:
    target = cursor.target_at(view.parsed, line, column)
    if target is None:
        return None

    text: str | None = None
    if target.kind == "definition":
        text = op_markdown(target.name)
    elif target.kind == "op-name":
        text = op_name_markdown(target.name)
    elif target.kind == "op-field":
        text = field_markdown(target.op, target.name)
    elif target.kind in ("field", "reference"):
        analysis = await _analysis_for(server, view)
        dotted = ".".join(target.path)
        configuration = analysis.configuration if analysis is not None else None
        if configuration is not None and dotted in configuration.inputs:
            environment = analysis.environment.name if analysis.environment else None
            text = input_markdown(configuration.inputs[dotted], environment)
        else:
            summary = summarize_component(server, view, analysis, target.path)
            if summary is not None and summary.last_run is None and summary.digest and analysis.environment is not None:
                loop = asyncio.get_running_loop()
                recorded = await loop.run_in_executor(None, history_results, view.folder, analysis.environment.name, {summary.path: summary.digest})
                if summary.path in recorded:
                    summary.last_run = recorded[summary.path].describe() + " (run history)"
            if summary is not None:
                text = component_markdown(summary)
    if not text:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
        range=view.range_of(target.span),
    )


def register(server: "ArchonLanguageServer") -> None:
    async def hover(params: types.HoverParams) -> types.Hover | None:
        view = await open_view(server, params.text_document.uri)
        if view is None:
            return None
        line, column = view.runtime_position(params.position)
        return await hover_at(server, view, line, column)

    server.register_feature(FEATURE, types.TEXT_DOCUMENT_HOVER, hover)
