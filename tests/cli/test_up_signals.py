"""`dagger up` stopped by a signal on a real daemon: the run is cancelled and nothing is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.daemon

PLAN = """package main

import "archon.dev/op"

base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]

slow: $up: [op.Load & {from: base}, op.Exec & {args: ["sh", "-c", "mkdir /out && echo NONCE > /out/file && echo started && sleep 60"]}]

report: {$up: [op.Load & {from: slow}, op.Subdir & {dir: "/out"}]} @output(dir="out")
"""

# How long the run may take to reach its exec, and to end once signalled, in seconds.
START_SECONDS = 120
STOP_SECONDS = 20


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_cancels_the_run(tmp_path: Path, buildkitd_address: str, stop_signal: signal.Signals) -> None:
    plan = tmp_path / "plan"
    plan.mkdir()
    (plan / "main.cue").write_text(PLAN.replace("NONCE", uuid.uuid4().hex))
    (plan / "out").mkdir()
    (plan / "out" / "kept").write_text("from an earlier run\n")

    process = subprocess.Popen(
        [sys.executable, "-m", "archon.cli.main", "up", str(plan), "--addr", buildkitd_address, "--progress", "plain"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy(),
    )
    deadline = time.monotonic() + START_SECONDS
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "started" in line or time.monotonic() > deadline:
            break
    process.send_signal(stop_signal)
    rest, _ = process.communicate(timeout=STOP_SECONDS)
    output = "".join(seen) + rest

    assert any("started" in line for line in seen), output
    assert process.returncode == 130, output
    assert "cancelled" in output
    assert sorted(path.name for path in plan.iterdir()) == ["main.cue", "out"]
    assert [path.name for path in (plan / "out").iterdir()] == ["kept"]
