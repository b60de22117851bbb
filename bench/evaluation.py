"""Evaluation and compile time against size, with cue's own share measured apart.

For a workload of N components this module times:

- `cue`: the cue command Archon runs for one load (`cue eval -A -E . -e
  _archonOut` on the package plus Archon's projection file), in a copy of
  the package, so the time is cue's alone;
- `cue_spec`: `cue vet` on the package with the op spec but without the
  projection, so `cue - cue_spec` is the projection's cost;
- `cue_rss`: the peak resident memory of the cue command of `cue`, in bytes;
- `cue_plain`: `cue vet` on the same graph written as plain structs under
  `$up`, with no import of the op spec and no projection: cue's cost of
  the references alone;
- `cue_definition`: the same under `#up`, a definition, the form of
  earlier configurations: cue closes every component such a field refers
  to, which makes a chain cost more than linear time;
- `load`: `archon.runtime.config.load` with a new evaluator (cue included),
  so `load - cue` is Archon's parsing, projection, decoding and checks;
- `compile`: `compile_configuration` without an image resolver.

Each figure is the median of `repeat` runs, in seconds.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from archon.runtime import projection
from archon.runtime import source as src
from archon.runtime.compiler import compile_configuration
from archon.runtime.config import COMPUTE, load
from archon.runtime.cue import parse
from archon.runtime.cuecmd import find_cue
from archon.runtime.evaluate import SPEC_FOLDER, SPEC_IMPORT_PATH, Evaluator

import workloads
from modes import PeakReader


def plain_chain(folder: Path, size: int, up: str = "$up") -> None:
    """Write the chain workload's graph as plain structs under the field `up`: no import, no op definitions."""
    lines = ["package bench", ""]
    for index in range(size):
        start = f'{{do: "fetch-container", ref: "{workloads.BASE_IMAGE}"}}' if index == 0 else f'{{do: "load", from: c{index - 1}}}'
        lines.append(f'c{index}: {up}: [{start}, {{do: "exec", args: ["sh", "-c", "echo {index}"]}}]')
    workloads.write_module(folder, "bench", "\n".join(lines) + "\n")


def plain_fan(folder: Path, size: int, up: str = "$up") -> None:
    """Write the fan workload's graph as plain structs under the field `up`."""
    workers = [f"w{index}" for index in range(1, max(size - 1, 0))]
    lines = ["package bench", "", f'base: {up}: [{{do: "fetch-container", ref: "{workloads.BASE_IMAGE}"}}]']
    lines += [f'{name}: {up}: [{{do: "load", from: base}}, {{do: "exec", args: ["echo", "{name}"]}}]' for name in workers]
    if size >= 2:
        mounts = ", ".join(f'"/in/{name}": {{from: {name}}}' for name in workers)
        lines.append(f'join: {up}: [{{do: "load", from: base}}, {{do: "exec", args: ["true"], mount: {{{mounts}}}}}]')
    workloads.write_module(folder, "bench", "\n".join(lines) + "\n")


PLAIN = {"chain": plain_chain, "fan": plain_fan}


def _timed(command: list[str], folder: Path) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=folder, capture_output=True, text=True, env={"CUE_REGISTRY": "none", "PATH": "/usr/bin:/bin"})
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} in {folder} failed: {completed.stderr.strip()[:2000]}")
    return seconds


def _timed_with_peak(command: list[str], folder: Path) -> tuple[float, int | None]:
    """Run a command and return its wall time and peak resident memory in bytes."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={"CUE_REGISTRY": "none", "PATH": "/usr/bin:/bin"})
    peak = PeakReader(process.pid)
    peak.start()
    _, errors = process.communicate()
    seconds = time.perf_counter() - started
    peak.stop()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} in {folder} failed: {errors.decode('utf-8', 'replace').strip()[:2000]}")
    return seconds, peak.value


def time_archon_cue(package: Path, scratch: Path) -> tuple[float, float, int | None]:
    """Time `cue vet` on a copy of `package` with the op spec, then the cue command of one Archon load on it.

    Returns both times, without and with Archon's projection file, and the
    peak memory of the second.
    """
    mirror = scratch / "mirror"
    if mirror.exists():
        shutil.rmtree(mirror)
    shutil.copytree(package, mirror)
    link = mirror / "cue.mod" / "pkg" / SPEC_IMPORT_PATH
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(SPEC_FOLDER, target_is_directory=True)
    without_projection = _timed([find_cue().path, "vet", "-c=false", "."], mirror)

    # The same projection file `load` adds (see archon.runtime.config._evaluate).
    files = [parse(path.read_text(), str(path)) for path in sorted(mirror.glob("*.cue"))]
    package_name = next((parsed.package.name for parsed in files if parsed.package is not None), "main")
    inputs = [path for parsed in files for path, node in src.iter_fields(parsed) if node.attribute("input") is not None]
    (mirror / projection.FILE_NAME).write_text(projection.build(files, package_name, inputs).text)

    seconds, peak = _timed_with_peak([find_cue().path, "eval", "-A", "-E", ".", "-e", projection.EXPRESSION], mirror)
    return without_projection, seconds, peak


def measure(kind: str, size: int, repeat: int) -> dict[str, float]:
    """Measure one workload kind at one size; see the module documentation for the figures."""
    with tempfile.TemporaryDirectory(prefix="archon-eval-bench-") as scratch_name:
        scratch = Path(scratch_name)
        package = scratch / "package"
        workloads.GENERATORS[kind](package, size, "evaluation")
        plain = scratch / "plain"
        PLAIN[kind](plain, size)
        definition = scratch / "definition"
        PLAIN[kind](definition, size, up="#up")

        cue_times, spec_times, plain_times, definition_times, load_times, compile_times = [], [], [], [], [], []
        cue_peaks: list[int] = []
        vertices = 0
        for _ in range(repeat):
            spec_seconds, cue_seconds, cue_peak = time_archon_cue(package, scratch)
            spec_times.append(spec_seconds)
            cue_times.append(cue_seconds)
            if cue_peak is not None:
                cue_peaks.append(cue_peak)
            plain_times.append(_timed([find_cue().path, "vet", "-c=false", "."], plain))
            definition_times.append(_timed([find_cue().path, "vet", "-c=false", "."], definition))

            started = time.perf_counter()
            configuration = load(package, mode=COMPUTE, evaluator=Evaluator())
            load_times.append(time.perf_counter() - started)
            if not configuration.ok:
                raise RuntimeError(json.dumps([item.format() for item in configuration.diagnostics[:3]]))

            started = time.perf_counter()
            plan = compile_configuration(configuration)
            compile_times.append(time.perf_counter() - started)
            vertices = len(plan.vertices)

    return {
        "kind": kind,
        "size": size,
        "cue": statistics.median(cue_times),
        "cue_rss": max(cue_peaks) if cue_peaks else None,
        "cue_spec": statistics.median(spec_times),
        "cue_plain": statistics.median(plain_times),
        "cue_definition": statistics.median(definition_times),
        "load": statistics.median(load_times),
        "compile": statistics.median(compile_times),
        "vertices": vertices,
    }
