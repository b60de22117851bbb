"""Formatting through `cue fmt`.

The buffer is written to a temporary folder and formatted there, so that
unsaved text is formatted and the file on disk is never touched. The result
is one edit replacing the whole document, or no edit when nothing changes.
A buffer that `cue fmt` rejects (a syntax error) is left as it is.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import tempfile
from typing import TYPE_CHECKING

from lsprotocol import types

from archon.lsp.documents import uri_to_path

if TYPE_CHECKING:
    from archon.lsp.server import ArchonLanguageServer

FEATURE = "formatting"
log = logging.getLogger(f"archon.lsp.features.{FEATURE}")

FORMAT_TIMEOUT_SECONDS = 20


class FormatError(Exception):
    pass


def format_text(text: str, cue_path: str | None) -> str:
    """Return text as `cue fmt` formats it; raise FormatError with cue's message if it fails."""
    from archon.runtime.cuecmd import find_cue

    cue = find_cue(cue_path)
    with tempfile.TemporaryDirectory(prefix="archon-fmt-") as folder:
        path = os.path.join(folder, "buffer.cue")
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        try:
            completed = subprocess.run(
                [cue.path, "fmt", "buffer.cue"],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=FORMAT_TIMEOUT_SECONDS,
                env={**os.environ, "CUE_REGISTRY": "none"},
            )
        except subprocess.TimeoutExpired:
            raise FormatError(f"cue fmt did not finish within {FORMAT_TIMEOUT_SECONDS} s") from None
        if completed.returncode != 0:
            message = completed.stderr.strip().replace(path, "buffer.cue") or f"exit status {completed.returncode}"
            raise FormatError(f"cue fmt failed: {message}")
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()


def register(server: "ArchonLanguageServer") -> None:
    async def formatting(params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
        uri = params.text_document.uri
        path = uri_to_path(uri)
        text = server.documents.text_of(uri)
        if path is None or not path.endswith(".cue") or text is None:
            return None

        loop = asyncio.get_running_loop()
        try:
            formatted = await loop.run_in_executor(None, format_text, text, server.session.cue_path)
        except FormatError as problem:
            log.info("%s left unformatted: %s", path, problem)
            return None
        if formatted == text:
            return []
        return [types.TextEdit(range=server.codec.whole_document(text), new_text=formatted)]

    server.register_feature(FEATURE, types.TEXT_DOCUMENT_FORMATTING, formatting)
