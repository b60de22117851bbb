"""Finding the pinned `cue` command.

Archon takes CUE semantics from the real `cue` binary only. The binary is
looked up, in this order, from an explicit setting, the `ARCHON_CUE`
environment variable, the project's tools folder (`.tools/bin/cue`, where
`scripts/setup` installs it) and `PATH`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CUE_VERSION = "v0.17.1"
CUE_MODULE = "cuelang.org/go/cmd/cue"
ENV_VARIABLE = "ARCHON_CUE"

# The repository root of an editable install: runtime/ sits directly below it.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = PROJECT_ROOT / ".tools" / "bin"

INSTALL_HINT = (
    f"run `scripts/setup` in the Archon repository, or install it by hand with "
    f"`GOBIN={TOOLS_BIN} go install {CUE_MODULE}@{CUE_VERSION}`, "
    f"or point {ENV_VARIABLE} at a cue binary"
)


class CueNotFoundError(Exception):
    def __init__(self, tried: list[str]):
        self.tried = tried
        self.hint = INSTALL_HINT
        super().__init__("the cue command was not found (tried " + ", ".join(tried) + ")")


@dataclass(frozen=True)
class CueCommand:
    path: str
    version: str

    @property
    def is_pinned_version(self) -> bool:
        return self.version == CUE_VERSION


def find_cue(setting: str | None = None) -> CueCommand:
    """Locate `cue`; raise CueNotFoundError naming every place tried."""
    candidates: list[tuple[str, str | None]] = [
        ("setting cue.path", setting),
        (f"environment variable {ENV_VARIABLE}", os.environ.get(ENV_VARIABLE)),
        (f"tools folder {TOOLS_BIN}", str(TOOLS_BIN / "cue")),
        ("PATH", shutil.which("cue")),
    ]

    tried = []
    for origin, path in candidates:
        if not path:
            tried.append(f"{origin} (not set)")
            continue
        if os.path.isfile(path) and os.access(path, os.X_OK):
            path = os.path.abspath(path)
            return CueCommand(path, _version_of(path))
        tried.append(f"{origin} ({path})")
    raise CueNotFoundError(tried)


@lru_cache(maxsize=8)
def _version_of(path: str) -> str:
    try:
        completed = subprocess.run([path, "version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    for line in completed.stdout.splitlines():
        if line.startswith("cue version "):
            return line.split()[2]
    return "unknown"
