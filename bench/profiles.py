"""Profiles of one warm run: cProfile of the CLI and of the in-process calls.

`profile_cli` runs `dagger up` under `python -m cProfile`; `profile_in_process`
profiles `InProcess.run`. Both return the cumulative seconds of a fixed list
of phases (imports, cue, load, compile, connect, image config lookups,
session, solve) and the functions with the most own time. cProfile slows
Python code down, so the phases are shares of a slower run, not times to
compare with the benchmark's wall times.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Mapping

from modes import ROOT, InProcess, cli_command, cli_environment

# (label, end of the file name, function name); a phase sums every match.
PHASES = (
    ("Python imports", "<frozen importlib._bootstrap>", "_find_and_load"),
    ("cue subprocess (eval and version)", "subprocess.py", "run"),
    ("load (cue included)", "runtime/config.py", "load"),
    ("load: parse the files", "runtime/cue/parser.py", "parse"),
    ("load: read the module's files", "runtime/evaluate.py", "_module_sources"),
    ("load: digest the evaluation cache key", "runtime/evaluate.py", "_cache_key"),
    ("load: read the evaluation from disk", "engine/evaluation_cache.py", "get"),
    ("load: write the projection", "runtime/projection.py", "build"),
    ("load: rebuild components from the projection", "runtime/projection.py", "rebuild"),
    ("load: report cycles", "runtime/config.py", "_report_cycles"),
    ("load: find inputs", "runtime/config.py", "_collect_inputs"),
    ("load: find components", "runtime/config.py", "_collect_components"),
    ("load: check ops", "runtime/config.py", "_check_components"),
    ("compile", "runtime/compiler.py", "compile_configuration"),
    ("connect and probe the daemon", "engine/buildkit/connect.py", "connect_any"),
    ("image config lookups", "engine/images.py", "resolve"),
    ("run (session and solve)", "engine/run.py", "run"),
    ("Control.Solve", "engine/buildkit/client.py", "solve"),
    ("session start", "engine/buildkit/session.py", "__init__"),
    ("session attach", "engine/buildkit/session.py", "attach"),
    ("session close", "engine/buildkit/session.py", "close"),
)

TOP_FUNCTIONS = 8


def summarize(stats: pstats.Stats) -> dict:
    """Return the total, the phases' cumulative seconds and the functions with the most own time."""
    entries = stats.stats  # type: ignore[attr-defined]
    phases = {}
    for label, file_suffix, function in PHASES:
        matches = [values[3] for (file, _, name), values in entries.items() if name == function and file.endswith(file_suffix)]
        phases[label] = sum(matches) if matches else None

    own = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:TOP_FUNCTIONS]
    top = [
        {"function": f"{_short(file)}:{line}({name})", "own": values[2], "cumulative": values[3], "calls": values[1]}
        for (file, line, name), values in own
    ]
    return {"total": stats.total_tt, "phases": phases, "top": top}  # type: ignore[attr-defined]


def _short(file: str) -> str:
    for marker in ("site-packages/", f"{ROOT}/", "python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file.rsplit("/", 1)[-1] if file.startswith("/") else file


def profile_cli(address: str, folder: Path, inputs: Mapping[str, str]) -> dict:
    """Profile one `dagger up` in a new process (with the same environment as the benchmark's CLI runs)."""
    with tempfile.TemporaryDirectory(prefix="archon-profile-") as scratch:
        output = Path(scratch) / "cli.prof"
        command = [sys.executable, "-m", "cProfile", "-o", str(output), *cli_command(address, folder, inputs)]
        completed = subprocess.run(command, capture_output=True, text=True, env=cli_environment())
        if completed.returncode != 0:
            raise RuntimeError(f"profiled dagger up failed: {completed.stderr.strip()[-2000:]}")
        return summarize(pstats.Stats(str(output)))


# Runs the CLI's main in a new interpreter, as the dagger program does,
# and prints, as JSON on stderr, the wall-clock times (time.time) at which
# the imports started, the imports ended and the command ended. The `up`
# command's module is imported with the CLI, so that the imports phase
# contains what `dagger up` imports. main() ends the process itself, after
# the exit callbacks, so the last mark is printed by one of them.
_PHASE_WRAPPER = """
import atexit, json, sys, time
started = time.time()
from archon.cli.main import main
import archon.cli.commands.up
imported = time.time()
atexit.register(lambda: print(json.dumps({"started": started, "imported": imported, "finished": time.time()}), file=sys.stderr, flush=True))
sys.argv = ["dagger", *sys.argv[1:]]
main()
"""


def cli_phases(address: str, folder: Path, inputs: Mapping[str, str], repeat: int = 5) -> dict[str, float]:
    """Split a warm `dagger up` into interpreter start, imports, the command itself and the exit (medians, seconds)."""
    phases: dict[str, list[float]] = {"interpreter start": [], "imports": [], "command": [], "exit": [], "total": []}
    for _ in range(repeat):
        arguments = cli_command(address, folder, inputs)[1:]
        spawned = time.time()
        completed = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", _PHASE_WRAPPER, *arguments], capture_output=True, text=True, env=cli_environment())
        ended = time.time()
        marks = json.loads(completed.stderr.strip().splitlines()[-1])
        phases["interpreter start"].append(marks["started"] - spawned)
        phases["imports"].append(marks["imported"] - marks["started"])
        phases["command"].append(marks["finished"] - marks["imported"])
        phases["exit"].append(ended - marks["finished"])
        phases["total"].append(ended - spawned)
    return {label: statistics.median(values) for label, values in phases.items()}


def profile_in_process(runner: InProcess, folder: Path, inputs: Mapping[str, str]) -> dict:
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        runner.run(folder, inputs)
    finally:
        profiler.disable()
    return summarize(pstats.Stats(profiler))


# The modules `dagger up` imports before it runs the command.
CLI_IMPORTS = "import archon.cli.main, archon.cli.commands.up"


def startup_seconds(repeat: int = 5) -> dict[str, float]:
    """Time a new interpreter that imports the CLI and its `up` command, with and without bytecode caches, and one that imports nothing (medians, seconds)."""
    # Without: every module compiles from source on every start, as none
    # has bytecode in an empty cache folder that nothing writes to.
    empty = tempfile.mkdtemp(prefix="archon-no-bytecode-")
    without = {**cli_environment(), "PYTHONPYCACHEPREFIX": empty, "PYTHONDONTWRITEBYTECODE": "1"}
    results = {}
    for label, environment in (("with bytecode cache", cli_environment()), ("without bytecode cache", without)):
        times = []
        # One unmeasured start fills the bytecode cache where it is on.
        for attempt in range(repeat + 1):
            started = time.perf_counter()
            subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", CLI_IMPORTS], check=True, env=environment)
            if attempt:
                times.append(time.perf_counter() - started)
        results[label] = statistics.median(times)
    Path(empty).rmdir()
    interpreter = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", "pass"], check=True, env=cli_environment())
        interpreter.append(time.perf_counter() - started)
    results["bare interpreter"] = statistics.median(interpreter)
    return results
