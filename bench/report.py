"""Tables, aims and the plot of the run benchmark (bench/run_benchmark.py).

`summarize` reduces the samples to the median, minimum and maximum per
backend, workload, size, cache state and mode. `write` replaces the
benchmark's section of docs/benchmarks.md (between `<!-- run-benchmark -->`
and `<!-- /run-benchmark -->`) and draws docs/benchmark-runs.png.
"""

from __future__ import annotations

import math
import os
import platform
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from profiles import CLI_IMPORTS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "benchmark-runs.png"
SECTION = "run-benchmark"

MODES = ("cli", "inprocess", "raw", "multipass")
MODE_TITLES = {"cli": "CLI", "inprocess": "in-process", "raw": "raw BuildKit", "multipass": "multi-pass"}
STATES = ("cold", "warm", "leaf")
MIB = 2**20

# The aims, as stated for this benchmark.
AIM_COLD_OVERHEAD = 0.10
AIM_WARM_CLI_OVERHEAD = 0.250
AIM_WARM_IN_PROCESS_OVERHEAD = 0.050
AIM_SPEEDUP_WARM = 25.0
AIM_SPEEDUP_COLD = 4.0
AIM_SIZE = 50
LARGEST_SIZE = 300


@dataclass
class Cell:
    """The samples of one mode at one backend, workload, size and cache state."""

    median: float
    low: float
    high: float
    count: int
    evaluate: float | None
    compile: float | None
    solve: float | None
    push: float | None
    rss: int | None
    child_rss: int | None
    errors: list[str]


def summarize(results) -> dict[tuple, Cell]:
    grouped: dict[tuple, list] = {}
    for record in results.records:
        grouped.setdefault((record.backend, record.workload, record.size, record.state, record.mode), []).append(record)

    summary = {}
    for key, records in grouped.items():
        samples = [record.sample for record in records if record.sample is not None]
        errors = [record.error for record in records if record.error]
        if not samples:
            summary[key] = Cell(math.nan, math.nan, math.nan, 0, None, None, None, None, None, None, errors)
            continue
        seconds = [sample.seconds for sample in samples]
        summary[key] = Cell(
            statistics.median(seconds),
            min(seconds),
            max(seconds),
            len(seconds),
            _median(sample.evaluate for sample in samples),
            _median(sample.compile for sample in samples),
            _median(sample.solve for sample in samples),
            _median(sample.push for sample in samples),
            max((sample.rss for sample in samples if sample.rss is not None), default=None),
            max((sample.child_rss for sample in samples if sample.child_rss is not None), default=None),
            errors,
        )
    return summary


def _median(values) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def _seconds(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "–"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def _cell_text(cell: Cell | None) -> str:
    if cell is None:
        return "not run"
    if cell.count == 0:
        return f"failed ({len(cell.errors)} of {len(cell.errors)})"
    text = _seconds(cell.median) if cell.count == 1 else f"{_seconds(cell.median)} ({_seconds(cell.low)}–{_seconds(cell.high)})"
    if cell.errors:
        text += f", {len(cell.errors)} of {cell.count + len(cell.errors)} failed"
    return text


def _ratio(numerator: Cell | None, denominator: Cell | None) -> float | None:
    if numerator is None or denominator is None or numerator.count == 0 or denominator.count == 0:
        return None
    return numerator.median / denominator.median


def _difference(first: Cell | None, second: Cell | None) -> float | None:
    if first is None or second is None or first.count == 0 or second.count == 0:
        return None
    return first.median - second.median


def _keys(summary: dict) -> list[tuple[str, str, int, str]]:
    """(backend, workload, size, state) in table order."""
    found = {key[:4] for key in summary}
    workload_order = {"chain": 0, "fan": 1, "hello": 2}
    return sorted(found, key=lambda key: (key[0] != "docker", workload_order.get(key[1], 9), key[2], STATES.index(key[3])))


def console_table(summary: dict) -> str:
    lines = [f"{'backend':9s} {'workload':8s} {'N':>4s} {'state':5s} " + " ".join(f"{MODE_TITLES[mode]:>12s}" for mode in MODES) + "  multi-pass ÷ CLI"]
    for backend, workload, size, state in _keys(summary):
        cells = [summary.get((backend, workload, size, state, mode)) for mode in MODES]
        texts = []
        for cell in cells:
            if cell is None:
                texts.append("–")
            elif cell.count == 0:
                texts.append("failed")
            else:
                texts.append(_seconds(cell.median))
        ratio = _ratio(cells[3], cells[0])
        lines.append(f"{backend:9s} {workload:8s} {size:4d} {state:5s} " + " ".join(f"{text:>12s}" for text in texts) + (f"  {ratio:15.1f}×" if ratio else ""))
    return "\n".join(lines)


# --- the section of docs/benchmarks.md ---------------------------------------


def machine_description() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) * 1024
    return f"{model}, {os.cpu_count()} cores, {memory / 2**30:.0f} GiB, {platform.system()} {platform.release()}, Python {platform.python_version()}"


@dataclass
class RunInfo:
    """One invocation of bench/run_benchmark.py whose samples the section shows; `seconds` is 0 when unknown."""

    command: str
    date: str
    seconds: float
    code: str
    backends: list[str]


def _run_text(run: RunInfo) -> str:
    duration = f", {run.seconds / 60:.0f} min" if run.seconds else ""
    return f"`{run.command}` ({', '.join(run.backends)}; {run.date}{duration}; Archon {run.code})"


def write(results, summary: dict, *, runs: list[RunInfo], sizes: list[int]) -> None:
    from archon.runtime.cuecmd import find_cue

    loads = [record.load_average for record in results.records]
    lines = [
        f"<!-- {SECTION} -->",
        "## One solve against a run step by step",
        "",
        "Samples from " + "; ".join(_run_text(run) for run in runs) + ".",
        f"Machine: {machine_description()}, cue {find_cue().version}.",
        "Daemons: " + "; ".join(f"{name}: {text}" for name, text in results.daemons.items()) + ".",
        f"The machine was shared with other jobs: the 1-minute load average was {min(loads):.1f} to {max(loads):.1f} "
        "during the samples, on 2 cores, so single samples vary; the modes of one row ran interleaved, repetition by repetition.",
        "",
        "Modes: **CLI** is `dagger up PATH --progress quiet` in a new process. **In-process** is `load`,",
        "`compile_configuration` and `run` on a connection opened once, with one evaluator kept across runs as the language",
        "server keeps it, so an unchanged configuration is not evaluated again. **Raw BuildKit** submits Archon's definition",
        "with `Control.Solve` alone. **Multi-pass** (bench/multipass.py) evaluates, then solves one component at a time in",
        "dependency order and pushes each result to the registry on 127.0.0.1. On buildkitd it uses the image exporter with",
        "push; Docker 20.10 has no image exporter, so there it uses the moby exporter and then a push through Docker's API.",
        "Before each next step it evaluates again with the pushed references, and the step's dependencies are",
        "`fetch-container`s of those images.",
        "",
        "Workloads (bench/workloads.py): **chain** (component i loads i−1 and runs an exec), **fan** (one base, N−2",
        "parallel execs, one exec mounting all of them) and **hello** (examples/hello, 8 components, its library served by",
        f"`git daemon` on 127.0.0.1). The chain's and fan's execs run with `network: \"{results.exec_network}\"`; hello keeps",
        "the example's execs. Cache states: **cold** puts a new nonce in every exec, **warm** runs the same content",
        "again, **leaf** changes one leaf exec (the chain's last component, or the fan's first worker, which also reruns the",
        "join). Cells give the median and, with several repetitions, the range. Times under 1 s are in ms. A dash marks a",
        "figure that was not recorded: a run read back from its printed lines has only its wall time, evaluation and RSS.",
        "",
    ]
    lines += _aims(summary, results)
    lines += _findings(summary, results)
    for backend in results.daemons:
        lines += _time_table(summary, backend)
    lines += _multipass_table(summary)
    lines += _evaluation_table(results.evaluation)
    lines += _memory_table(summary, results.allocations)
    lines += _profile_section(results)
    if results.skipped:
        lines += ["### Not run", ""] + [f"- {item}{_estimate(summary, item)}." for item in results.skipped] + [""]
    failures = [record for record in results.records if record.error]
    if failures:
        lines += ["### Failed runs", ""]
        lines += [f"- {record.backend} {record.workload} N={record.size} {record.state} {record.mode}: {record.error[:300]}" for record in failures[:20]]
        lines.append("")
    lines += [f"![Wall time against N, per mode and cache state]({PLOT.name})", "", f"<!-- /{SECTION} -->"]

    replace_section(RESULTS, SECTION, "\n".join(lines))
    plot(summary, list(results.daemons), sizes)


def replace_section(path: Path, name: str, body: str) -> None:
    """Replace the text between `<!-- name -->` and `<!-- /name -->`, or append it."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\nFigures measured by the scripts in bench/.\n"
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    if start in text and end in text:
        text = text[: text.index(start)] + body + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    path.write_text(text)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.0f} %"


def _aims(summary: dict, results) -> list[str]:
    lines = ["### Aims", "", "| aim | backend | measured | met |", "|---|---|---|---|"]
    for backend in results.daemons:
        for workload in ("chain", "fan"):
            sizes = sorted({key[2] for key in summary if key[0] == backend and key[1] == workload})
            if not sizes:
                continue

            cold = {size: _relative(summary, backend, workload, size, "cold", "cli") for size in sizes}
            text = ", ".join(f"N={size}: {_percent(value)}" for size, value in cold.items())
            lines.append(f"| CLI overhead over raw, cold ≤ {AIM_COLD_OVERHEAD:.0%} ({workload}) | {backend} | {text} | {_verdict(cold.values(), lambda v: v <= AIM_COLD_OVERHEAD)} |")

            for mode, limit in (("cli", AIM_WARM_CLI_OVERHEAD), ("inprocess", AIM_WARM_IN_PROCESS_OVERHEAD)):
                warm = {size: _difference(summary.get((backend, workload, size, "warm", mode)), summary.get((backend, workload, size, "warm", "raw"))) for size in sizes}
                text = ", ".join(f"N={size}: {_seconds(value)}" for size, value in warm.items())
                lines.append(f"| {MODE_TITLES[mode]} overhead over raw, warm ≤ {limit * 1000:.0f} ms ({workload}) | {backend} | {text} | {_verdict(warm.values(), lambda v: v <= limit)} |")

            for state, limit in (("warm", AIM_SPEEDUP_WARM), ("cold", AIM_SPEEDUP_COLD)):
                multi = summary.get((backend, workload, AIM_SIZE, state, "multipass"))
                ratios = {mode: _ratio(multi, summary.get((backend, workload, AIM_SIZE, state, mode))) for mode in ("cli", "inprocess")}
                text = ", ".join(f"{MODE_TITLES[mode]} {value:.1f}×" if value else f"{MODE_TITLES[mode]} –" for mode, value in ratios.items())
                lines.append(f"| one solve ≥ {limit:.0f}× faster than multi-pass at N={AIM_SIZE}, {state} ({workload}) | {backend} | {text} | {_verdict([ratios['cli']], lambda v: v >= limit)} (CLI) |")

        parts = []
        for workload in ("chain", "fan"):
            cells = [(key, cell) for key, cell in summary.items() if key[:3] == (backend, workload, LARGEST_SIZE) and key[4] != "multipass"]
            failed = sorted({f"{key[3]} {MODE_TITLES[key[4]]}" for key, cell in cells if cell.errors})
            if not cells:
                parts.append((workload, "not run", None))
            elif failed:
                parts.append((workload, "failed: " + ", ".join(failed), False))
            else:
                parts.append((workload, "every run completed", True))
        if any(result is not None for _, _, result in parts):
            text = "; ".join(f"{workload}: {outcome}" for workload, outcome, _ in parts)
            verdicts = [result for _, _, result in parts if result is not None]
            verdict = "yes" if all(verdicts) else "no"
            if any(result is None for _, _, result in parts):
                verdict += " (where run)"
            lines.append(f"| N={LARGEST_SIZE} completes (CLI, in-process, raw) | {backend} | {text} | {verdict} |")
    return lines + [""]


def _relative(summary: dict, backend: str, workload: str, size: int, state: str, mode: str) -> float | None:
    difference = _difference(summary.get((backend, workload, size, state, mode)), summary.get((backend, workload, size, state, "raw")))
    raw = summary.get((backend, workload, size, state, "raw"))
    if difference is None or raw is None or not raw.median:
        return None
    return difference / raw.median


def _verdict(values, test) -> str:
    present = [value for value in values if value is not None]
    if not present:
        return "not measured"
    passed = sum(1 for value in present if test(value))
    if passed == len(present):
        return "yes"
    if passed == 0:
        return "no"
    return f"{passed} of {len(present)} sizes"


def _time_table(summary: dict, backend: str) -> list[str]:
    lines = [
        f"### Wall time on {backend}",
        "",
        "| workload | N | state | CLI | in-process | raw BuildKit | multi-pass | multi-pass ÷ CLI | multi-pass ÷ in-process | CLI − raw | in-process − raw |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in _keys(summary):
        if key[0] != backend:
            continue
        cells = {mode: summary.get((*key, mode)) for mode in MODES}
        over_cli = _ratio(cells["multipass"], cells["cli"])
        over_in_process = _ratio(cells["multipass"], cells["inprocess"])
        lines.append(
            f"| {key[1]} | {key[2]} | {key[3]} | "
            + " | ".join(_cell_text(cells[mode]) for mode in MODES)
            + f" | {f'{over_cli:.1f}×' if over_cli else '–'} | {f'{over_in_process:.1f}×' if over_in_process else '–'}"
            + f" | {_seconds(_difference(cells['cli'], cells['raw']))} | {_seconds(_difference(cells['inprocess'], cells['raw']))} |"
        )
    return lines + [""]


def _multipass_table(summary: dict) -> list[str]:
    rows = [(key, cell) for key, cell in summary.items() if key[4] == "multipass" and cell.count]
    if not rows:
        return []
    lines = [
        "### Multi-pass: where its time goes",
        "",
        "Medians of the whole run divided by N (hello: by its 8 components): evaluation before each step, compiling the",
        "step, its solves with export, and (Docker) the push through Docker's API.",
        "",
        "| backend | workload | N | state | total per step | evaluation | compile | solve and export | push |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    order = {key[:4]: index for index, key in enumerate(_keys(summary))}
    for key, cell in sorted(rows, key=lambda item: order[item[0][:4]]):
        steps = key[2]
        parts = [cell.median, cell.evaluate, cell.compile, cell.solve, cell.push]
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | " + " | ".join(_seconds(None if part is None else part / steps) for part in parts) + " |")
    return lines + [""]


def _growth(rows: list[dict], field: str) -> str:
    """Return the exponent k of t ∝ N^k between the two largest sizes, as text."""
    rows = sorted(rows, key=lambda row: row["size"])
    if len(rows) < 2 or rows[-2]["size"] < 2 or not rows[-2][field] or not rows[-1][field]:
        return "–"
    first, last = rows[-2], rows[-1]
    return f"{math.log(last[field] / first[field]) / math.log(last['size'] / first['size']):.1f}"


def _evaluation_table(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    lines = [
        "### Evaluation and compile time against N",
        "",
        "Medians of 3 runs, one process each (bench/evaluation.py). *cue* is the cue command of one `load`, on the",
        "package with Archon's projection file. *cue, no projection* is `cue vet` on the package without that file.",
        "*cue, plain* is `cue vet` on the same graph written as plain structs under `$up`, with no op spec. *cue, `#up`*",
        "is the same under `#up`, a definition, the form of earlier configurations. *load* is `load` with a new evaluator,",
        "cue included, and *Archon's share* is load − cue. *cue peak RSS* is the largest of the cue command's runs.",
        "",
        "| workload | N | cue | cue, no projection | cue, plain | cue, `#up` | load | Archon's share | compile | vertices | cue peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['kind']} | {row['size']} | {_seconds(row['cue'])} | {_seconds(row.get('cue_spec'))} | {_seconds(row['cue_plain'])} | {_seconds(row['cue_definition'])} | "
            f"{_seconds(row['load'])} | {_seconds(max(row['load'] - row['cue'], 0.0))} | {_seconds(row['compile'])} | {row['vertices']} | {_mib(row.get('cue_rss'))} |"
        )
    lines.append("")
    for kind in ("chain", "fan"):
        kind_rows = [row for row in rows if row["kind"] == kind]
        if len(kind_rows) >= 2:
            lines.append(
                f"Growth exponent k of t ∝ N^k between the two largest sizes ({kind}): cue {_growth(kind_rows, 'cue')}, "
                f"cue plain {_growth(kind_rows, 'cue_plain')}, cue `#up` {_growth(kind_rows, 'cue_definition')}, "
                f"compile {_growth(kind_rows, 'compile')}."
            )
    return lines + [""]


def _memory_table(summary: dict, allocations: list[dict]) -> list[str]:
    peaks: dict[tuple, list[int | None]] = {}
    for key, cell in summary.items():
        if key[4] == "cli" and cell.count:
            entry = peaks.setdefault((key[0], key[1], key[2]), [None, None])
            entry[0] = max(filter(None, [entry[0], cell.rss])) if (entry[0] or cell.rss) else None
            entry[1] = max(filter(None, [entry[1], cell.child_rss])) if (entry[1] or cell.child_rss) else None
    allocated = {(row["backend"], row["workload"], row["size"]): row["peak"] for row in allocations}
    if not peaks and not allocated:
        return []
    lines = [
        "### Peak memory",
        "",
        "*CLI RSS* is the peak resident set of the `dagger` process (VmHWM, read every 5 ms), the largest over all its",
        "runs; *cue child* is the same for the `cue` process it runs.",
        "*In-process* is the peak of Python allocations (tracemalloc) during load with a new evaluator, compile and a warm run.",
        "",
        "| backend | workload | N | CLI RSS | cue child | in-process allocations |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for key in sorted(set(peaks) | set(allocated), key=lambda item: (item[0] != "docker", item[1], item[2])):
        rss, tree = peaks.get(key, [None, None])
        peak = allocated.get(key)
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {_mib(rss)} | {_mib(tree)} | {_mib(peak)} |")
    return lines + [""]


def _mib(value: int | None) -> str:
    return "–" if value is None else f"{value / MIB:.0f} MiB"


def _profile_section(results) -> list[str]:
    if not results.profiles and not results.startup:
        return []
    lines = ["### Where a warm run's time goes", ""]
    if results.startup:
        lines += [
            f"Start of a new interpreter that imports what `dagger up` imports (`python -c '{CLI_IMPORTS}'`, median of 5): "
            + ", ".join(f"{label} {_seconds(value)}" for label, value in results.startup.items())
            + ". The CLI runs above use a bytecode cache under .state/bench/pycache.",
            "",
        ]
    for backend, profile in results.profiles.items():
        phases = profile.get("cli_phases")
        if phases:
            lines += [
                f"A warm `dagger up` of the chain of N={profile['size']} on {backend}, split by wall-clock marks (median of 5): "
                + ", ".join(f"{label} {_seconds(value)}" for label, value in phases.items())
                + ".",
                "",
            ]
        by_size = profile.get("inprocess_by_size") or {str(profile["size"]): profile["inprocess"]}
        lines += [
            f"cProfile of one warm chain on {backend}; cumulative seconds of each phase (profiling slows Python code",
            "down, so compare phases with each other, not with the wall times above):",
            "",
            f"| phase | CLI, N={profile['size']} | " + " | ".join(f"in-process, N={size}" for size in by_size) + " |",
            "|---|---:|" + "---:|" * len(by_size),
        ]
        for label in profile["cli"]["phases"]:
            cells = [_seconds(profile["cli"]["phases"].get(label))] + [_seconds(item["phases"].get(label)) for item in by_size.values()]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append(f"| total | {_seconds(profile['cli']['total'])} | " + " | ".join(_seconds(item["total"]) for item in by_size.values()) + " |")
        lines += ["", "Most own time, CLI: " + "; ".join(f"`{item['function']}` {_seconds(item['own'])}" for item in profile["cli"]["top"][:5]) + "."]
        largest = list(by_size)[-1]
        lines += [
            "",
            f"Most own time, in-process at N={largest}: " + "; ".join(f"`{item['function']}` {_seconds(item['own'])}" for item in by_size[largest]["top"][:6]) + ".",
            "",
        ]
    return lines


def _in_process_hot_spots(profile: dict | None) -> str:
    """Name the phases that take the most of a warm in-process run at the largest profiled size."""
    if not profile or not profile.get("inprocess_by_size"):
        return ""
    size, largest = list(profile["inprocess_by_size"].items())[-1]
    phases = largest["phases"]
    load_parts = sorted(
        ((label.removeprefix("load: "), value) for label, value in phases.items() if label.startswith("load: ") and value),
        key=lambda item: item[1],
        reverse=True,
    )[:4]
    listed = ", ".join(f"{label} {_seconds(value)}" for label, value in load_parts)
    return (
        f" Under cProfile at N={size}, `load` takes {_seconds(phases.get('load (cue included)'))} with the evaluation cached, "
        f"compiling {_seconds(phases.get('compile'))} and the solve itself {_seconds(phases.get('Control.Solve'))}."
        + (f" The largest parts of `load` are {listed}." if listed else "")
    )


def _estimate(summary: dict, skipped: str) -> str:
    """Estimate a skipped multi-pass run as N steps at the per-step cost of the largest size that ran.

    It is a lower bound, because each step's evaluation grows with N.
    """
    match = re.match(r"(?P<backend>\S+) (?P<workload>\S+) N=(?P<size>\d+): multipass not run", skipped)
    if match is None:
        return ""
    backend, workload, size = match["backend"], match["workload"], int(match["size"])
    parts = []
    for state in STATES:
        measured = [(key[2], cell) for key, cell in summary.items() if key[:2] == (backend, workload) and key[3] == state and key[4] == "multipass" and cell.count]
        if measured:
            largest, cell = max(measured, key=lambda item: item[0])
            parts.append(f"{state} ≥ {_seconds(cell.median / largest * size)}")
    if not parts:
        return ""
    return f"; estimated from the per-step cost at the largest N that ran: {', '.join(parts)}"


def _findings(summary: dict, results) -> list[str]:
    """Write the sentences that read the tables: what the daemon costs, what Archon adds, what multi-pass adds."""
    lines = ["### Findings", ""]
    backends = list(results.daemons)

    for backend in backends:
        costs = results.exec_costs.get(backend)
        if costs:
            lines.append(
                f"- **The daemon's exec cost.** A cold exec of a raw chain costs {_seconds(costs['sandbox'])} on {backend} "
                f"with the default sandbox network and {_seconds(costs['none'])} with `network: \"none\"`. "
                + (
                    "The exec and its network set-up are the same in every mode and make most of a cold run, so a step "
                    "that needs no network should say so."
                    if costs["sandbox"] > 1.5 * costs["none"]
                    else "The sandbox network costs this daemon next to nothing."
                )
            )

    for backend in backends:
        for workload in ("chain", "fan"):
            sizes = sorted({key[2] for key in summary if key[:2] == (backend, workload) and key[3] == "cold"})
            if not sizes:
                continue
            largest = sizes[-1]
            cold_cli = _relative(summary, backend, workload, largest, "cold", "cli")
            cold_in_process = _relative(summary, backend, workload, largest, "cold", "inprocess")
            fixed = _difference(summary.get((backend, workload, sizes[0], "warm", "cli")), summary.get((backend, workload, sizes[0], "warm", "raw")))
            if cold_cli is not None:
                lines.append(
                    f"- **Cold overhead, {workload} on {backend}.** At N={largest} the CLI takes {_percent(cold_cli)} and the "
                    f"in-process calls {_percent(cold_in_process)} against raw BuildKit. At small N the CLI's fixed cost "
                    f"(its warm run minus raw: {_seconds(fixed)} at N={sizes[0]}) is larger than the solve itself, so the "
                    "10 % aim can only hold where the solve takes several seconds."
                )

    for backend, profile in results.profiles.items():
        phases = profile.get("cli_phases")
        cli = profile.get("cli", {}).get("phases", {})
        if phases:
            lines.append(
                f"- **Where the CLI's warm time goes ({backend}, chain of N={profile['size']}).** Interpreter start "
                f"{_seconds(phases['interpreter start'])}, imports {_seconds(phases['imports'])}, the command itself "
                f"{_seconds(phases['command'])} and the interpreter's exit {_seconds(phases['exit'])}. Under cProfile the "
                f"command spends {_seconds(cli.get('cue subprocess (eval and version)'))} in cue processes and "
                f"{_seconds(cli.get('run (session and solve)'))} in the run"
                + (
                    f", and {_seconds(cli.get('connect and probe the daemon'))} connecting to and probing the daemon. "
                    if cli.get("connect and probe the daemon") is not None
                    else "; the daemon's probe runs on another thread while the configuration loads. "
                )
                + "Python's start-up and imports are the largest part, and an editor or a long-running process pays "
                "them once."
            )
    if results.startup:
        startup = results.startup
        lines.append(
            "- **What the CLI's fixed cost is made of.** A warm `dagger up` reads cue's evaluation from the cache on disk "
            "(engine/evaluation_cache.py) instead of running cue. It probes the daemon while the configuration loads. "
            "It ends with `os._exit` once its output is flushed, so the *exit* above is the operating system's. What "
            "remains is the interpreter and its imports. Importing the CLI and its `up` command takes "
            f"{_seconds(startup.get('with bytecode cache'))} with the bytecode that `scripts/setup` writes and "
            f"{_seconds(startup.get('without bytecode cache'))} without any, against "
            f"{_seconds(startup.get('bare interpreter'))} for a bare interpreter; grpc, protobuf, click and the LLB "
            "modules make most of it. Parsing the files and compiling grow with N, and every new process pays them "
            "again. A resident process (the language server, or a CLI talking to one) pays them once."
        )

    for backend in backends:
        warm = [
            (key[1], key[2], _difference(cell, summary.get((*key[:4], "raw"))))
            for key, cell in summary.items()
            if key[0] == backend and key[3] == "warm" and key[4] == "inprocess" and key[1] != "hello"
        ]
        warm = [item for item in warm if item[2] is not None]
        if warm:
            worst = max(warm, key=lambda item: item[2])
            lines.append(
                f"- **In-process overhead, warm, {backend}.** At most {_seconds(worst[2])} over raw BuildKit "
                f"({worst[0]}, N={worst[1]}), although the evaluation comes from the evaluator's cache."
                + _in_process_hot_spots(results.profiles.get(backend))
            )

    for backend in backends:
        for workload in ("chain", "fan"):
            warm = summary.get((backend, workload, AIM_SIZE, "warm", "multipass"))
            cold = summary.get((backend, workload, AIM_SIZE, "cold", "multipass"))
            if not warm or not warm.count:
                continue
            step = warm.median / AIM_SIZE
            evaluate = (warm.evaluate or 0) / AIM_SIZE
            lines.append(
                f"- **Multi-pass, {workload} on {backend}.** A warm step costs {_seconds(step)} at N={AIM_SIZE}, and "
                f"{_seconds(evaluate)} of it is the evaluation before the step. The rest is a solve with an image export and "
                f"the push, and a pull of that image by the next step. The whole run is {_ratio(warm, summary.get((backend, workload, AIM_SIZE, 'warm', 'cli'))) or 0:.1f}× "
                f"the CLI and {_ratio(warm, summary.get((backend, workload, AIM_SIZE, 'warm', 'inprocess'))) or 0:.0f}× the in-process run warm, "
                f"and {_ratio(cold, summary.get((backend, workload, AIM_SIZE, 'cold', 'cli'))) or 0:.1f}× the CLI cold."
            )

    for backend in backends:
        single = summary.get((backend, "chain", AIM_SIZE, "cold", "raw"))
        multi = summary.get((backend, "chain", AIM_SIZE, "cold", "multipass"))
        if single and multi and single.count and multi.count:
            exec_seconds = single.median / AIM_SIZE
            extra = (multi.median - single.median) / AIM_SIZE
            lines.append(
                f"- **The cold ratio of a chain on {backend}.** Neither strategy can run a chain's execs in "
                f"parallel. Per component both pay the exec ({_seconds(exec_seconds)} here, from raw BuildKit at N={AIM_SIZE}), "
                f"and multi-pass adds {_seconds(extra)} for evaluation, export, push and pull. The ratio is about "
                f"(exec + extra) ÷ exec = {(exec_seconds + extra) / exec_seconds:.1f}; with a 55 ms exec it would be about "
                f"{(0.055 + extra) / 0.055:.1f} (an estimate from these two figures). A fan gains more, because its execs run in parallel "
                "in one solve and one after another in multi-pass."
            )

    flightcontrol = [record for record in results.records if record.error and "flightcontrol" in record.error]
    retried = [record for record in results.records if record.sample is not None and (record.sample.retries or 0) > 0]
    if flightcontrol or retried:
        where = sorted({(record.backend, record.workload, record.size) for record in flightcontrol + retried})
        text = (
            f"- **A daemon limit.** BuildKit's flightcontrol gives up on a step once a waiter's back-off reaches 3 s "
            "(moby/buildkit#1822). Docker 20.10's builder meets it when many execs wait on one shared step, as the "
            f"fan's workers wait on `base` ({', '.join(f'{backend} {workload} N={size}' for backend, workload, size in where)}). "
            "A run solves the definition again after this error, up to three solves in all (engine/run.py). The "
            "raw mode does the same, so the times of both include those solves. "
            f"In-process and raw runs solved again {sum(record.sample.retries for record in retried)} times in "
            f"{len(retried)} runs that then succeeded; a CLI run does not report its own. "
        )
        if flightcontrol:
            text += f"{len(flightcontrol)} runs still failed with it, and their rows count them as failed. "
        text += "Multi-pass runs one exec at a time and does not meet it."
        lines.append(text)

    chain = sorted((row for row in results.evaluation if row["kind"] == "chain"), key=lambda row: row["size"])
    if len(chain) >= 2:
        last = chain[-1]
        lines.append(
            f"- **cue's share of evaluation.** For a chain of {last['size']}, the cue command of a load takes "
            f"{_seconds(last['cue'])} (growth exponent {_growth(chain, 'cue')}). cue alone takes {_seconds(last['cue_plain'])} "
            f"on the same graph as plain structs and {_seconds(last['cue_definition'])} under a `#up` definition (exponent "
            f"{_growth(chain, 'cue_definition')}). A definition makes cue close every component it refers to, which is cue's "
            "own cost, and `$up`, a regular field, avoids it. "
            + (
                f"Without Archon's projection file cue takes {_seconds(last['cue_spec'])}, so the projection, which prints each "
                f"component once, costs {_seconds(last['cue'] - last['cue_spec'])} of the {_seconds(last['cue'])}. "
                if last.get("cue_spec") is not None
                else ""
            )
            + "Archon's own share of a load is in the table above."
        )
    return lines + [""]


# --- the plot ----------------------------------------------------------------


def plot(summary: dict, backends: list[str], sizes: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot
    from matplotlib.lines import Line2D

    workloads = [name for name in ("chain", "fan") if any(key[1] == name for key in summary)]
    if not workloads:
        return
    colors = {"cli": "tab:blue", "inprocess": "tab:green", "raw": "tab:gray", "multipass": "tab:red"}
    styles = {"cold": "-", "warm": "--", "leaf": ":"}
    figure, axes = pyplot.subplots(len(workloads), len(backends), figsize=(6 * len(backends), 4.2 * len(workloads)), squeeze=False)
    for row, workload in enumerate(workloads):
        for column, backend in enumerate(backends):
            axis = axes[row][column]
            for mode in MODES:
                for state in STATES:
                    points = [
                        (size, summary[(backend, workload, size, state, mode)].median)
                        for size in sizes
                        if (backend, workload, size, state, mode) in summary and summary[(backend, workload, size, state, mode)].count
                    ]
                    if points:
                        axis.plot(*zip(*points), color=colors[mode], linestyle=styles[state], marker="o", markersize=3)
            axis.set_xscale("log")
            axis.set_yscale("log")
            axis.set_xticks(sizes, [str(size) for size in sizes])
            axis.minorticks_off()
            axis.set_title(f"{workload} on {backend}")
            axis.set_xlabel("components N")
            axis.set_ylabel("wall time (s)")
            axis.grid(True, which="both", alpha=0.3)
    handles = [Line2D([], [], color=colors[mode], label=MODE_TITLES[mode]) for mode in MODES]
    handles += [Line2D([], [], color="black", linestyle=styles[state], label=state) for state in STATES]
    figure.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    figure.savefig(PLOT, dpi=110)
    pyplot.close(figure)
