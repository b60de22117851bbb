"""How `dagger` ends: exit codes, output flushed into pipes, and the fast exit's limits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hello"

CHAIN_HEADER = 'package main\n\nimport "archon.dev/op"\n\nc0: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]\n'


def environment(**changes: str) -> dict[str, str]:
    """The test's environment with buffered output, as a user's shell has it."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    env.update(changes)
    return env


def dagger(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "archon.cli.main", *args], cwd=cwd, capture_output=True, text=True, env=environment(**env), timeout=120
    )


def chain(folder: Path, size: int) -> Path:
    lines = [CHAIN_HEADER]
    for index in range(1, size):
        lines.append(f'c{index}: $up: [op.Load & {{from: c{index - 1}}}, op.Exec & {{args: ["sh", "-c", "echo {index} > /c{index}"]}}]\n')
    folder.mkdir()
    (folder / "main.cue").write_text("".join(lines))
    return folder


def test_exit_codes(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "main.cue").write_text('package main\n\napp: $up: [{do: "exce"}]\n')
    plan = chain(tmp_path / "plan", 1)

    assert dagger("validate", str(EXAMPLE)).returncode == 0
    assert dagger("validate", str(broken)).returncode == 1
    assert dagger("no-such-command").returncode == 2
    unreachable = dagger("up", str(plan), "--addr", f"unix://{tmp_path}/no-daemon.sock")
    assert unreachable.returncode == 3, unreachable.stderr
    assert "no-daemon.sock" in unreachable.stderr


def test_version_of_both_commands() -> None:
    from importlib.metadata import version

    cli = dagger("--version")
    server = subprocess.run([sys.executable, "-m", "archon.lsp.server", "--version"], capture_output=True, text=True, timeout=60)

    assert cli.returncode == 0
    assert cli.stdout == f"dagger {version('archon')}\n"
    assert server.returncode == 0
    assert server.stdout == f"dagger-lsp {version('archon')}\n"


def test_large_output_is_complete_in_a_pipe(tmp_path: Path) -> None:
    # More than a pipe's buffer and Python's, so that the end of the output
    # is still buffered when the command returns.
    completed = dagger("plan", str(chain(tmp_path / "plan", 300)), "--format", "json")

    assert completed.returncode == 0, completed.stderr
    assert len(completed.stdout) > 256 * 1024
    graph = json.loads(completed.stdout)
    assert len(graph["components"]) == 300


def test_output_piped_into_a_reader_that_stops(tmp_path: Path) -> None:
    # As `dagger plan ... | head -c 100`: the reader closes the pipe early.
    plan = chain(tmp_path / "plan", 300)
    process = subprocess.Popen(
        [sys.executable, "-m", "archon.cli.main", "plan", str(plan), "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment(),
    )
    assert process.stdout.read(100).startswith(b"{")
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.wait(120)

    assert process.returncode in (0, 141)
    assert "Traceback" not in stderr
    assert "Exception ignored" not in stderr


def test_main_with_arguments_returns() -> None:
    # Callers that run the CLI inside their own process (bench/profiles.py) get the code back.
    completed = run_driver(
        """
        from archon.cli.main import main

        code = main(["validate", "--help"])
        print("returned", code)
        """
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.endswith("returned 0\n")


def run_driver(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=environment(), timeout=60)


def test_end_process_finishes_output_and_exit_callbacks() -> None:
    completed = run_driver(
        """
        import atexit, logging, sys
        from archon.cli.errors import end_process

        logging.basicConfig(stream=sys.stderr, format="%(message)s")
        atexit.register(lambda: sys.stdout.write("callback ran\\n"))
        sys.stdout.write("x" * 200000 + "\\n")
        sys.stderr.write("to stderr\\n")
        logging.getLogger("test").warning("logged")
        end_process(7)
        """
    )

    assert completed.returncode == 7
    assert completed.stdout == "x" * 200000 + "\ncallback ran\n"
    assert completed.stderr == "to stderr\nlogged\n"


def test_end_process_waits_for_a_running_thread() -> None:
    completed = run_driver(
        """
        import threading, time
        from archon.cli.errors import end_process

        def late():
            time.sleep(0.3)
            print("thread finished")

        threading.Thread(target=late).start()
        end_process(4)
        """
    )

    assert completed.returncode == 4
    assert completed.stdout == "thread finished\n"


def test_end_process_leaves_a_profiler_its_output(tmp_path: Path) -> None:
    # cProfile writes its file after the script, when it catches SystemExit.
    output = tmp_path / "profile.out"
    script = tmp_path / "script.py"
    script.write_text("from archon.cli.errors import end_process\nend_process(5)\n")

    completed = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(output), str(script)], capture_output=True, env=environment(), timeout=60)

    assert completed.returncode == 0, completed.stderr
    assert output.stat().st_size > 0
