"""Code lenses above each component: Run, Preview LLB, and the last run's result.

The lenses carry server commands (`archon.run`, `archon.previewLLB`) with
their arguments, so that any client that executes code lens commands
through `workspace/executeCommand` runs them without extra code. The result
lens has an empty command, so clients show it as text. It appears once a
run from this session, or the run history, includes the component.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from archon.lsp.components import component_places
from archon.lsp.session import history_results
from archon.lsp.view import open_view

if TYPE_CHECKING:
    from archon.lsp.server import ArchonLanguageServer

FEATURE = "codelens"
log = logging.getLogger(f"archon.lsp.features.{FEATURE}")

RUN_COMMAND = "archon.run"
PREVIEW_COMMAND = "archon.previewLLB"
# The command of the result lens: empty, so that clients show its title and run nothing.
NO_OP_COMMAND = ""


async def _recorded_results(server: "ArchonLanguageServer", folder: str, analysis, paths: list[str]) -> dict:
    """Return the run history's result of the components this session has not run itself."""
    if analysis is None or analysis.plan is None or analysis.environment is None:
        return {}
    digests = {
        path: analysis.plan.components[path].digest
        for path in paths
        if path in analysis.plan.components and server.session.result_of(folder, path) is None
    }
    if not digests:
        return {}
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, history_results, folder, analysis.environment.name, digests)


def register(server: "ArchonLanguageServer") -> None:
    async def code_lens(params: types.CodeLensParams) -> list[types.CodeLens] | None:
        view = await open_view(server, params.text_document.uri)
        if view is None:
            return None

        analysis = server.analyzer.latest(view.folder)
        places = component_places(view, analysis)
        recorded = await _recorded_results(server, view.folder, analysis, [place.path for place in places])

        lenses: list[types.CodeLens] = []
        for place in places:
            lens_range = view.range_of(place.span)
            arguments = {"uri": view.uri, "component": place.path}
            lenses.append(types.CodeLens(range=lens_range, command=types.Command(title="▶ Run", command=RUN_COMMAND, arguments=[arguments])))
            lenses.append(types.CodeLens(range=lens_range, command=types.Command(title="Preview LLB", command=PREVIEW_COMMAND, arguments=[{"uri": view.uri}])))
            result = server.session.result_of(view.folder, place.path) or recorded.get(place.path)
            if result is not None:
                lenses.append(types.CodeLens(range=lens_range, command=types.Command(title=result.describe(), command=NO_OP_COMMAND)))
        return lenses

    server.register_feature(FEATURE, types.TEXT_DOCUMENT_CODE_LENS, code_lens, types.CodeLensOptions(resolve_provider=False))
