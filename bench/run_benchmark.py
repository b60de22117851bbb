"""Run benchmark: one solve of the whole configuration against the step-by-step baseline.

For each backend (Docker's embedded BuildKit, the standalone buildkitd),
workload (bench/workloads.py), size N and cache state, the benchmark runs
four modes in turn, repetition by repetition, so that their ratios come
from the same conditions:

  cli        `dagger up` in a new process
  inprocess  load, compile and run on an open connection (the language server's calls)
  raw        Archon's definition submitted with Control.Solve alone: the floor
  multipass  one component at a time through the registry (bench/multipass.py)

Cache states: `cold` gives every exec new content (a nonce), `warm` runs
the previous content again, `leaf` changes the exec of one leaf. Then it
measures evaluation and compile time against N (bench/evaluation.py),
profiles a warm run of the CLI and of the in-process calls
(bench/profiles.py), and writes its section of docs/benchmarks.md and
docs/benchmark-runs.png (bench/report.py). The raw samples go to
.state/bench/.

Needs the daemons: `eval "$(scripts/daemons env)"` first.

Run: .venv/bin/python bench/run_benchmark.py [--backend docker|buildkitd|both] [--quick] [--sizes 1,10,50,128,300]
Each run saves its samples under .state/bench/ after every sample. `--report A.json B.json` writes the docs
from saved samples (several runs merge, one per backend for example), `--import-log` reads back the samples
printed by a run that was stopped, and `--analysis-into` redoes the profiles and evaluation table of a saved run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from archon.engine.buildkit.connect import Connection, connect

import evaluation
import modes
import multipass
import profiles
import report
import workloads

ROOT = Path(__file__).resolve().parent.parent
RAW_RESULTS = ROOT / ".state" / "bench"

BACKENDS = {"docker": "ARCHON_DOCKER_ADDR", "buildkitd": "ARCHON_BUILDKITD_ADDR"}
MODES = ("cli", "inprocess", "raw", "multipass")
STATES = ("cold", "warm", "leaf")
WORKLOADS = ("chain", "fan", "hello")
SIZES = (1, 10, 50, 128, 300)
QUICK_SIZES = (1, 10)

# The size whose warm run is profiled, and at which the aims compare modes.
PROFILE_SIZE = 50


@dataclass
class Record:
    """One sample with what it measured; `error` is set when the run failed."""

    backend: str
    workload: str
    size: int
    state: str
    mode: str
    repetition: int
    sample: modes.Sample | None
    load_average: float
    error: str | None = None


@dataclass
class Results:
    records: list[Record] = field(default_factory=list)
    allocations: list[dict] = field(default_factory=list)
    evaluation: list[dict] = field(default_factory=list)
    profiles: dict = field(default_factory=dict)
    startup: dict = field(default_factory=dict)
    daemons: dict = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    # Seconds per cold exec of a raw chain, per backend and exec network mode.
    exec_costs: dict = field(default_factory=dict)
    # The exec network of the generated workloads; runs saved before the
    # option existed used the default sandbox network.
    exec_network: str = "sandbox"

    @classmethod
    def from_json(cls, document: dict) -> "Results":
        """Rebuild the results saved under .state/bench/ by an earlier run."""
        results = cls(**{name: document[name] for name in ("allocations", "evaluation", "profiles", "startup", "daemons", "skipped", "exec_costs", "exec_network") if name in document})
        known = {field.name for field in dataclasses.fields(modes.Sample)}
        for item in document["records"]:
            # Figures that this version no longer reads (tree_rss) are left out.
            sample = modes.Sample(**{key: value for key, value in item["sample"].items() if key in known}) if item["sample"] else None
            results.records.append(Record(**{**item, "sample": sample}))
        return results


def repetitions(size: int, state: str, mode: str, quick: bool) -> int:
    """Repetitions of one mode at one size and cache state: fewer where a run takes long."""
    if quick:
        return 1 if mode == "multipass" else 2
    if size <= 10:
        count = 5
    elif size <= 50:
        count = 3
    elif size <= 128:
        count = 2
    else:
        count = 1 if state == "cold" else 3
    if mode == "multipass":
        count = min(count, 3 if size <= 50 else 1)
    return count


def new_nonce() -> str:
    return uuid.uuid4().hex[:12]


class GitServer:
    """`git daemon` on 127.0.0.1 serving the hello example's greeting library; stopped by its pid."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.process: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> "GitServer":
        work = self.folder / "work"
        shutil.copytree(workloads.HELLO / "greet-lib", work)
        environment = {
            **os.environ,
            "GIT_AUTHOR_NAME": "Archon",
            "GIT_AUTHOR_EMAIL": "archon@example.invalid",
            "GIT_COMMITTER_NAME": "Archon",
            "GIT_COMMITTER_EMAIL": "archon@example.invalid",
            "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
            "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        }
        for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "Greeting library"]):
            subprocess.run(command, cwd=work, check=True, env=environment)
        subprocess.run(["git", "clone", "-q", "--bare", str(work), str(self.folder / "greet.git")], check=True)

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={self.folder}", "--listen=127.0.0.1", f"--port={port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"git://127.0.0.1:{port}/greet.git"
        for _ in range(100):
            if subprocess.run(["git", "ls-remote", self.url], capture_output=True).returncode == 0:
                return self
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"git daemon on port {port} did not serve {self.url} within 10 s")

    def __exit__(self, *exc_info) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


class BackendRun:
    """The runners of one backend, sharing one connection."""

    def __init__(self, name: str, address: str, registry: str, scratch: Path, results: Results, quick: bool, git_url: str, network: str):
        self.name = name
        self.network = network
        self.address = address
        self.scratch = scratch / name
        self.results = results
        self.quick = quick
        self.git_url = git_url
        self.connection: Connection = connect(address)
        self.in_process = modes.InProcess(self.connection)
        self.raw = modes.Raw(self.connection)
        self.baseline = multipass.Multipass(self.connection, registry)
        # The base nonce each mode last ran with, per workload and size: its warm content.
        self.warm_nonce: dict[tuple[str, int, str], str] = {}
        # Called after each sample is recorded.
        self.on_record: Callable[[], None] = lambda: None

    def close(self) -> None:
        self.connection.close()

    def folder(self, mode: str, workload: str, size: int) -> Path:
        # One stable folder per mode, because a `local` source's cache key contains its path.
        return self.scratch / mode / f"{workload}-{size}"

    def generate(self, mode: str, workload: str, size: int, nonce: str, leaf_nonce: str = "") -> workloads.Workload:
        folder = self.folder(mode, workload, size)
        if workload == "hello":
            return workloads.hello(folder, size, nonce, leaf_nonce, git_url=self.git_url)
        return workloads.GENERATORS[workload](folder, size, nonce, leaf_nonce, network=self.network)

    def run_once(self, mode: str, workload: workloads.Workload, nonce: str) -> modes.Sample:
        if mode == "cli":
            return modes.run_cli(self.address, workload.folder, workload.inputs)
        if mode == "inprocess":
            return self.in_process.run(workload.folder, workload.inputs)
        if mode == "raw":
            plan = self.raw.prepare(workload.folder, workload.inputs)
            return self.raw.run(plan)
        label = f"{workload.name}-{workload.size}-{nonce}"
        return modes.run_multipass(self.baseline, workload.folder, label, workload.inputs)

    def measure(self, workload_name: str, size: int, state: str, mode: str, repetition: int) -> None:
        key = (workload_name, size, mode)
        record = Record(self.name, workload_name, size, state, mode, repetition, None, os.getloadavg()[0])
        try:
            if state == "cold":
                nonce, leaf_nonce = new_nonce(), ""
            else:
                if key not in self.warm_nonce:
                    # Without a cold run before, one unmeasured run makes the content warm.
                    warm = new_nonce()
                    self.run_once(mode, self.generate(mode, workload_name, size, warm), warm)
                    self.warm_nonce[key] = warm
                nonce = self.warm_nonce[key]
                leaf_nonce = new_nonce() if state == "leaf" else ""

            workload = self.generate(mode, workload_name, size, nonce, leaf_nonce)
            record.load_average = os.getloadavg()[0]
            record.sample = self.run_once(mode, workload, nonce)
        except Exception as error:  # noqa: BLE001 - a failed run is reported and the benchmark goes on
            record.error = f"{type(error).__name__}: {error}"[:2000]
        if state == "cold" and record.error is None:
            self.warm_nonce[key] = nonce
        self.results.records.append(record)
        _print_record(record)
        self.on_record()

    def run_workload(self, workload_name: str, sizes: list[int], selected_modes: list[str], states: list[str], multipass_max: int) -> None:
        for size in sizes:
            active = [mode for mode in selected_modes if mode != "multipass" or size <= multipass_max]
            if len(active) < len(selected_modes):
                self.results.skipped.append(f"{self.name} {workload_name} N={size}: multipass not run (above --multipass-max {multipass_max})")
            for state in states:
                count = max(repetitions(size, state, mode, self.quick) for mode in active)
                for repetition in range(count):
                    # Rotate the order so that no mode always runs first.
                    shift = repetition % len(active)
                    for mode in active[shift:] + active[:shift]:
                        if repetition < repetitions(size, state, mode, self.quick):
                            self.measure(workload_name, size, state, mode, repetition)
            self.measure_allocation(workload_name, size)

    def measure_allocation(self, workload_name: str, size: int) -> None:
        key = (workload_name, size, "inprocess")
        if key not in self.warm_nonce:
            return
        workload = self.generate("inprocess", workload_name, size, self.warm_nonce[key])
        try:
            peak = self.in_process.peak_allocation(workload.folder, workload.inputs)
        except modes.RunFailed as error:
            print(f"  peak allocation of {workload_name} N={size} failed: {error}")
            return
        self.results.allocations.append({"backend": self.name, "workload": workload_name, "size": size, "peak": peak})

    def warm_up(self) -> None:
        """Run a one-component chain once per mode, unmeasured: loads the base image and fills bytecode caches."""
        for mode in ("cli", "inprocess", "raw"):
            nonce = new_nonce()
            self.run_once(mode, self.generate(mode, "chain", 1, nonce), nonce)

    def measure_exec_cost(self, repeat: int) -> None:
        """Measure a cold exec with the default (sandbox) network and with none, to tell the daemon's share."""
        costs = {}
        for network in ("sandbox", "none"):
            costs[network] = statistics.median(modes.exec_cost(self.connection, network) for _ in range(repeat))
        self.results.exec_costs[self.name] = costs
        print(f"  cold exec: {costs['sandbox'] * 1000:.0f} ms with the sandbox network, {costs['none'] * 1000:.0f} ms with none", flush=True)

    def profile(self, size: int, largest: int) -> None:
        """Profile a warm chain of `size` from the CLI and in-process, and in-process again at `largest`."""
        cli_workload = self._warm_chain("cli", size)
        in_process = {}
        for count in sorted({size, largest}):
            workload = self._warm_chain("inprocess", count)
            in_process[str(count)] = profiles.profile_in_process(self.in_process, workload.folder, {})
        self.results.profiles[self.name] = {
            "size": size,
            "cli_phases": profiles.cli_phases(self.address, cli_workload.folder, {}),
            "cli": profiles.profile_cli(self.address, cli_workload.folder, {}),
            "inprocess": in_process[str(size)],
            "inprocess_by_size": in_process,
        }

    def _warm_chain(self, mode: str, size: int) -> workloads.Workload:
        """Generate the chain a mode last ran at `size` and run it once, so that it is warm (and evaluated, in-process)."""
        nonce = self.warm_nonce.get(("chain", size, mode)) or new_nonce()
        workload = self.generate(mode, "chain", size, nonce)
        self.run_once(mode, workload, nonce)
        return workload


def _print_record(record: Record) -> None:
    where = f"{record.backend:9s} {record.workload:5s} N={record.size:<3d} {record.state:4s} {record.mode:9s} #{record.repetition}"
    if record.error:
        print(f"{where} FAILED {record.error[:300]}", flush=True)
        return
    sample = record.sample
    parts = [f"{sample.seconds:8.3f} s"]
    for label in ("evaluate", "compile", "solve", "push"):
        value = getattr(sample, label)
        if value is not None:
            parts.append(f"{label} {value:.3f}")
    for label in ("rss", "child_rss"):
        value = getattr(sample, label)
        if value is not None:
            parts.append(f"{label} {value / 2**20:.1f} MiB")
    parts.append(f"load {record.load_average:.1f}")
    print(f"{where} " + "  ".join(parts), flush=True)


_LOG_RECORD = re.compile(r"^(?P<backend>docker|buildkitd)\s+(?P<workload>\w+)\s+N=(?P<size>\d+)\s+(?P<state>\w+)\s+(?P<mode>\w+)\s+#(?P<repetition>\d+)\s+(?P<rest>.*)$")
_LOG_FIELD = re.compile(r"(?P<label>eval|evaluate|compile|solve|push|rss|child_rss|tree_rss|load) (?P<value>[\d.]+)( MiB)?")
_LOG_EXEC_COST = re.compile(r"cold exec: (?P<sandbox>\d+) ms with the sandbox network, (?P<none>\d+) ms with none")


def results_from_log(path: Path) -> dict:
    """Rebuild the raw samples of a run from its printed lines, for a run stopped before it saved them.

    The printed figures are rounded (ms, and tenths of MiB or whole MiB),
    and a failed line carries the load average of the line before it.
    """
    results = Results()
    backend = None
    load_average = 0.0
    for line in path.read_text().splitlines():
        if line.startswith("== "):
            description = line[3:]
            backend = "docker" if description.startswith("Docker") else "buildkitd"
            results.daemons[backend] = description
            continue
        cost = _LOG_EXEC_COST.search(line)
        if cost and backend:
            results.exec_costs[backend] = {"sandbox": int(cost["sandbox"]) / 1000, "none": int(cost["none"]) / 1000}
            continue
        match = _LOG_RECORD.match(line)
        if not match:
            continue
        rest = match["rest"]
        record = Record(match["backend"], match["workload"], int(match["size"]), match["state"], match["mode"], int(match["repetition"]), None, load_average)
        if rest.startswith("FAILED "):
            record.error = rest[len("FAILED "):]
        else:
            fields = {item["label"]: float(item["value"]) for item in _LOG_FIELD.finditer(rest.split(" s ", 1)[1] if " s " in rest else "")}
            record.load_average = load_average = fields.pop("load", load_average)
            # tree_rss, printed by earlier versions, counted the benchmark's own memory at fork time.
            fields.pop("tree_rss", None)
            megabytes = {label: int(fields.pop(label) * 2**20) for label in ("rss", "child_rss") if label in fields}
            if "eval" in fields:
                fields["evaluate"] = fields.pop("eval")
            record.sample = modes.Sample(float(rest.split()[0]), **fields, **megabytes)
        results.records.append(record)
    return asdict(results)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("docker", "buildkitd", "both"), default="both", help="BuildKit backend(s) to measure (default: both)")
    parser.add_argument("--quick", action="store_true", help="smoke run: sizes 1 and 10, two repetitions, no profiles, no docs unless --write")
    parser.add_argument("--sizes", help="comma-separated component counts N (default: 1,10,50,128,300; quick: 1,10)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated workloads: chain, fan, hello (default: all)")
    parser.add_argument("--states", default=",".join(STATES), help="comma-separated cache states: cold, warm, leaf (default: all)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated modes: cli, inprocess, raw, multipass (default: all)")
    parser.add_argument(
        "--exec-network",
        choices=("none", "sandbox"),
        default=workloads.DEFAULT_NETWORK,
        help="network of the chain's and fan's execs (default: none, so the daemon's network set-up does not dominate a cold run)",
    )
    parser.add_argument("--multipass-max", type=int, default=128, help="largest N the multi-pass baseline runs at (default: 128)")
    parser.add_argument("--write", dest="write", action="store_true", default=None, help="write docs/benchmarks.md and the plot (default unless --quick)")
    parser.add_argument("--no-write", dest="write", action="store_false", help="write only the raw samples under .state/bench/")
    parser.add_argument(
        "--report",
        metavar="JSON",
        nargs="+",
        help="measure nothing: write the docs section and plot from the raw samples of earlier runs, merged in the order given",
    )
    parser.add_argument(
        "--import-log",
        nargs=4,
        metavar=("LOG", "COMMAND", "CODE", "NOTE"),
        help="save the samples printed in the output of a stopped run (LOG, run as COMMAND on Archon CODE) as raw samples for --report, with NOTE on why it stopped",
    )
    parser.add_argument(
        "--analysis-into",
        metavar="JSON",
        help="profile, time the start-up and measure evaluation again, on the backends of an earlier run's raw samples; save them there",
    )
    options = parser.parse_args()

    if options.sizes:
        options.sizes = [int(item) for item in options.sizes.split(",")]
    else:
        options.sizes = list(QUICK_SIZES if options.quick else SIZES)
    options.workloads = _choices(options.workloads, WORKLOADS, "--workloads")
    options.states = _choices(options.states, STATES, "--states")
    options.modes = _choices(options.modes, MODES, "--modes")
    if options.write is None:
        options.write = not options.quick
    return options


def _choices(text: str, allowed: tuple[str, ...], flag: str) -> list[str]:
    chosen = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in allowed]
    if unknown:
        raise SystemExit(f"{flag}: unknown value {unknown[0]!r}; use one or more of {', '.join(allowed)}")
    # Keep the canonical order, so tables and rotations do not depend on the flag's order.
    return [item for item in allowed if item in chosen]


def code_version() -> str:
    """Name the commit the benchmark runs, and tell whether the product's folders differ from it."""
    commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    changed = subprocess.run(["git", "status", "--short", "--", "runtime", "engine", "cli"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    if changed:
        return f"commit {commit} with uncommitted changes in {len(changed.splitlines())} files of runtime/, engine/ or cli/"
    return f"commit {commit}"


def report_only(paths: list[Path]) -> int:
    """Write the docs section from the raw samples of one or more runs (for example one per backend)."""
    documents = [json.loads(path.read_text()) for path in paths]
    results = Results()
    for document in documents:
        part = Results.from_json(document)
        results.records += part.records
        results.allocations += part.allocations
        results.skipped += [item for item in part.skipped if item not in results.skipped]
        results.evaluation = part.evaluation or results.evaluation
        results.startup = part.startup or results.startup
        for name in ("profiles", "daemons", "exec_costs"):
            getattr(results, name).update(getattr(part, name))
        results.exec_network = part.exec_network

    summary = report.summarize(results)
    print(report.console_table(summary))
    sizes = sorted({record.size for record in results.records if record.workload != "hello"})
    runs = [
        report.RunInfo(document["command"], document["date"], document["seconds"], document.get("code", "not recorded"), list(document["daemons"]))
        for document in documents
    ]
    report.write(results, summary, runs=runs, sizes=sizes)
    print(f"wrote {report.RESULTS.relative_to(ROOT)} and {report.PLOT.relative_to(ROOT)} from {', '.join(str(path) for path in paths)}")
    return 0


def analysis_into(path: Path) -> int:
    document = json.loads(path.read_text())
    results = Results()
    sizes = sorted({item["size"] for item in document["records"] if item["workload"] != "hello"})
    scratch = Path(tempfile.mkdtemp(prefix="archon-run-bench-"))
    try:
        for name in document["daemons"]:
            run = BackendRun(name, os.environ[BACKENDS[name]], os.environ["ARCHON_REGISTRY"], scratch, results, False, "")
            try:
                run.profile(PROFILE_SIZE if PROFILE_SIZE in sizes else max(sizes), max(sizes))
            finally:
                run.close()
        results.startup = profiles.startup_seconds()
        kinds = sorted({item["workload"] for item in document["records"]} & {"chain", "fan"})
        results.evaluation = [evaluation.measure(kind, size, 3) for kind in kinds for size in sizes]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    document["profiles"] = results.profiles
    document["startup"] = results.startup
    document["evaluation"] = results.evaluation
    path.write_text(json.dumps(document, indent=1))
    print(f"wrote {path}")
    return 0


def main() -> int:
    options = parse_arguments()
    if options.report:
        return report_only([Path(item) for item in options.report])
    if options.import_log:
        log, original_command, code, note = options.import_log
        document = results_from_log(Path(log))
        document["skipped"].append(note)
        document.update(command=original_command, seconds=0.0, date=time.strftime("%Y-%m-%d", time.localtime(Path(log).stat().st_mtime)), code=code)
        target = RAW_RESULTS / (Path(log).stem + ".json")
        target.write_text(json.dumps(document, indent=1))
        print(f"wrote {target.relative_to(ROOT)}: {len(document['records'])} samples")
        return 0
    if options.analysis_into:
        return analysis_into(Path(options.analysis_into))
    backends = list(BACKENDS) if options.backend == "both" else [options.backend]
    missing = [BACKENDS[name] for name in backends if not os.environ.get(BACKENDS[name])]
    if missing or not os.environ.get("ARCHON_REGISTRY"):
        names = ", ".join(missing + ([] if os.environ.get("ARCHON_REGISTRY") else ["ARCHON_REGISTRY"]))
        raise SystemExit(f"{names} not set; start the daemons and export their addresses: scripts/daemons start && eval \"$(scripts/daemons env)\"")
    registry = os.environ["ARCHON_REGISTRY"]

    command = "python bench/run_benchmark.py " + " ".join(sys.argv[1:])
    code = code_version()
    results = Results(exec_network=options.exec_network)
    started = time.time()
    date = time.strftime("%Y-%m-%d")
    RAW_RESULTS.mkdir(parents=True, exist_ok=True)
    raw_path = RAW_RESULTS / f"run-benchmark-{time.strftime('%Y%m%d-%H%M%S')}.json"

    def save() -> None:
        # Written after every sample, so that an interrupted run keeps what it measured.
        document = {"command": command, "seconds": time.time() - started, "date": date, "code": code, **asdict(results)}
        raw_path.write_text(json.dumps(document, indent=1))

    scratch = Path(tempfile.mkdtemp(prefix="archon-run-bench-"))
    runs: list[BackendRun] = []
    try:
        git = GitServer(scratch / "git") if "hello" in options.workloads else None
        with git or contextlib.nullcontext():
            for name in backends:
                run = BackendRun(name, os.environ[BACKENDS[name]], registry, scratch, results, options.quick, git.url if git else "", options.exec_network)
                run.on_record = save
                runs.append(run)
                results.daemons[name] = run.connection.describe()
                print(f"== {results.daemons[name]}", flush=True)
                run.warm_up()
                run.measure_exec_cost(1 if options.quick else 3)
                for workload in options.workloads:
                    sizes = [workloads.HELLO_COMPONENTS] if workload == "hello" else options.sizes
                    run.run_workload(workload, sizes, options.modes, options.states, options.multipass_max)
                if not options.quick and "inprocess" in options.modes and "cli" in options.modes:
                    run.profile(PROFILE_SIZE if PROFILE_SIZE in options.sizes else max(options.sizes), max(options.sizes))

        print("== evaluation and compile time against N", flush=True)
        for kind in [item for item in ("chain", "fan") if item in options.workloads]:
            for size in options.sizes:
                row = evaluation.measure(kind, size, 1 if options.quick else 3)
                results.evaluation.append(row)
                print(f"{kind:5s} N={size:<3d} cue {row['cue']:.3f} s, cue on plain structs {row['cue_plain']:.3f} s, load {row['load']:.3f} s, compile {row['compile']:.3f} s", flush=True)
        if not options.quick:
            results.startup = profiles.startup_seconds()
    finally:
        for run in runs:
            if run.name == "docker":
                removed = multipass.remove_docker_images(run.connection.docker_socket, registry)
                print(f"removed {removed} image tags of the multi-pass baseline from Docker", flush=True)
            run.close()
        shutil.rmtree(scratch, ignore_errors=True)

    elapsed = time.time() - started
    save()
    print(f"wrote {raw_path.relative_to(ROOT)} ({elapsed / 60:.1f} min)")

    summary = report.summarize(results)
    print(report.console_table(summary))
    if options.write:
        run_info = report.RunInfo(command, date, elapsed, code, list(results.daemons))
        report.write(results, summary, runs=[run_info], sizes=options.sizes)
        print(f"wrote {report.RESULTS.relative_to(ROOT)} and {report.PLOT.relative_to(ROOT)}")
    failed = [record for record in results.records if record.error]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
