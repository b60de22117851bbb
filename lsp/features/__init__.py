"""The server's features, one module each.

A feature module exposes `register(server)`, which registers its handlers
through `server.register_feature` and `server.register_command`, so that
each handler runs inside the server's error boundary. A module that fails
to import or register is left out and logged; the others still serve.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archon.lsp.server import ArchonLanguageServer

# Module names under archon.lsp.features, registered in this order.
FEATURE_MODULES = (
    "lifecycle",
    "diagnostics",
    "hover",
    "completion",
    "definition",
    "symbols",
    "formatting",
    "codelens",
    "commands",
)


def register_all(server: "ArchonLanguageServer") -> None:
    for name in FEATURE_MODULES:
        logger = logging.getLogger(f"archon.lsp.features.{name}")
        try:
            module = importlib.import_module(f"archon.lsp.features.{name}")
            module.register(server)
        except Exception as problem:  # noqa: BLE001 - the other features still serve
            logger.exception("feature %s is disabled: registering it failed", name)
            server.startup_problems.append(f"feature {name} is disabled: {type(problem).__name__}: {problem}")
