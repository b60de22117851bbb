"""Compile benchmark: generated configurations of 10, 100 and 1000 components.

Each configuration is layered: components of one layer load a component of
the layer before, copy from another and run execs with mixed mounts (cache,
tmpfs, a read-only component mount, a secret), so the graph has fan-in and
shared subgraphs but a bounded depth. The benchmark prints, per size, the
time of `cue eval` (through the compact projection of
archon.runtime.projection), the time of Archon's own loading (parsing,
decoding cue's output, the component walk and op checks), the compile time (LLB building and marshalling,
cue excluded), the vertex count and the compile rate, then writes them to
docs/benchmarks.md between the markers of its section.

Run: .venv/bin/python bench/compile.py [--sizes 10,100,1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from archon.runtime.compiler import compile_configuration
from archon.runtime.config import load
from archon.runtime.cuecmd import find_cue
from archon.runtime.evaluate import Evaluator

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks.md"
SECTION = "compile"

# Components per layer: the depth of a configuration of N components is N / WIDTH.
WIDTH = 50


def generate(count: int) -> str:
    lines = ['package bench', "", 'import "archon.dev/op"', "", "token: op.#Secret", 'token: secret: "bench-token"', ""]
    lines.append('c0: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]')
    for index in range(1, count):
        layer = index // WIDTH
        parent = 0 if layer == 0 else (layer - 1) * WIDTH + index % WIDTH
        other = 0 if layer == 0 else (layer - 1) * WIDTH + (index * 7) % WIDTH
        parent = min(parent, index - 1)
        other = min(other, index - 1)
        lines.append(
            f"c{index}: $up: ["
            f"op.Load & {{from: c{parent}}}, "
            f'op.Copy & {{from: c{other}, src: "/etc/hostname", dest: "/in/{index}/"}}, '
            f'op.Exec & {{args: ["sh", "-c", "echo {index} > /out-{index}"], env: STEP: "{index}", '
            f'mount: {{"/cache": {{type: "cache", sharing: "locked"}}, "/tmp": "tmpfs", "/ref": {{from: c{other}, path: "/etc"}}, "/run/token": {{secret: token}}}}}}, '
            f'op.WriteFile & {{dest: "/meta/{index}.txt", content: "step {index}"}}'
            "]"
        )
    return "\n".join(lines) + "\n"


def measure(count: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="archon-bench-") as scratch:
        folder = Path(scratch)
        (folder / "main.cue").write_text(generate(count))

        evaluations, loads, compiles = [], [], []
        vertices = 0
        for _ in range(repeat):
            # A fresh evaluator each time, so cue runs instead of hitting the cache.
            evaluator = Evaluator()
            started = time.perf_counter()
            load(folder, mode="compute", evaluator=evaluator)
            first = time.perf_counter() - started

            started = time.perf_counter()
            configuration = load(folder, mode="compute", evaluator=evaluator)
            loads.append(time.perf_counter() - started)
            # The second load finds cue's output in the cache, so the
            # difference is the time of cue itself.
            evaluations.append(first - loads[-1])
            if not configuration.ok:
                raise SystemExit("\n".join(d.format() for d in configuration.diagnostics[:5]))

            started = time.perf_counter()
            plan = compile_configuration(configuration)
            compiles.append(time.perf_counter() - started)
            vertices = len(plan.vertices)

    compile_seconds = statistics.median(compiles)
    return {
        "components": count,
        "evaluate": statistics.median(evaluations),
        "load": statistics.median(loads),
        "compile": compile_seconds,
        "vertices": vertices,
        "ms_per_vertex": compile_seconds * 1000 / vertices,
        "vertices_per_second": vertices / compile_seconds,
    }


def write_results(rows: list[dict[str, float]], command: str) -> None:
    cue = find_cue()
    table = [
        "| components | vertices | cue eval (s) | load, cue cached (s) | compile (s) | compile per vertex (ms) | vertices/s |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        table.append(
            f"| {row['components']} | {row['vertices']} | {row['evaluate']:.3f} | {row['load']:.3f} | "
            f"{row['compile']:.3f} | {row['ms_per_vertex']:.3f} | {row['vertices_per_second']:.0f} |"
        )
    body = "\n".join(
        [
            f"<!-- {SECTION} -->",
            "## Compile",
            "",
            f"Command: `{command}`. Machine: {platform.machine()}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, cue {cue.version}. Medians of the repetitions.",
            "",
            "`load` is Archon's own work after cue (parsing the files, walking components, checking ops) with the",
            "evaluation served from the cache; `compile` builds and marshals the LLB, cue excluded. Aim: compile",
            "under 1 ms per vertex, growing linearly.",
            "",
            *table,
            f"<!-- /{SECTION} -->",
        ]
    )
    replace_section(RESULTS, SECTION, body)


def replace_section(path: Path, name: str, body: str) -> None:
    """Replace the text between `<!-- name -->` and `<!-- /name -->`, or append it."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\nFigures measured by the scripts in bench/.\n"
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    if start in text and end in text:
        text = text[: text.index(start)] + body + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10,100,1000", help="comma-separated component counts")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per size")
    options = parser.parse_args()

    rows = []
    for size in (int(item) for item in options.sizes.split(",")):
        row = measure(size, options.repeat)
        rows.append(row)
        print(
            f"{size:5d} components {row['vertices']:6d} vertices: cue eval {row['evaluate']:.3f}s, load {row['load']:.3f}s, "
            f"compile {row['compile']:.3f}s ({row['ms_per_vertex']:.3f} ms/vertex, {row['vertices_per_second']:.0f} vertices/s)"
        )
    write_results(rows, "python bench/compile.py " + " ".join(sys.argv[1:]))
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
