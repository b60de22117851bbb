"""End to end with a real third-party client: headless Neovim drives dagger-lsp."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import server_command, server_environment

SCRIPT = Path(__file__).resolve().parent / "neovim" / "diagnostics.lua"


@pytest.mark.skipif(shutil.which("nvim") is None, reason="Neovim is not installed (Debian package neovim)")
def test_neovim_receives_diagnostics(workspace, tmp_path):
    extra = workspace / "extra.cue"
    text = extra.read_text().replace('{do: "mkdir"', '{do: "mkdri"')
    extra.write_text(text)
    output = tmp_path / "received.json"
    environment = server_environment(
        ARCHON_LSP=server_command()[0],
        ARCHON_ROOT=str(workspace),
        ARCHON_FILE=str(extra),
        ARCHON_HOVER="Copy",
        ARCHON_OUT=str(output),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )

    completed = subprocess.run(
        ["nvim", "--headless", "--clean", "-n", "-c", f"luafile {SCRIPT}"],
        env=environment,
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=90,
    )

    assert output.exists(), f"Neovim wrote nothing (exit {completed.returncode}): {completed.stderr[-2000:]}"
    received = json.loads(output.read_text())
    assert received["finished"] is True
    unknown = [item for item in received["diagnostics"] if item.get("code") == "unknown-op"]
    assert len(unknown) == 1
    assert 'did you mean "mkdir"?' in unknown[0]["message"]
    line = text.splitlines().index(next(item for item in text.splitlines() if '"mkdri"' in item))
    assert unknown[0]["range"]["start"] == {"line": line, "character": text.splitlines()[line].index('"mkdri"')}
    assert "op `copy`" in received.get("hover", "")
    assert any("dagger-lsp" in message for message in received["messages"])
