"""Diagnostics latency of dagger-lsp after an edit, on a generated package of 200 components.

The script starts the real server (`.venv/bin/dagger-lsp`) as an editor
would and opens the four files of a generated package: 50 components each,
in layers of 50 that load and copy from the layer before. Each repetition
then measures the time from sending a `didChange` to receiving the
`publishDiagnostics` that reflects it:

- syntax+spec: an edit with a syntax error or an unknown op, which the
  fast pass reports without running cue;
- full: an edit with a conflict only `cue eval` finds, so the time includes
  the 150 ms debounce, cue, decoding, loading and the op checks.

After each measured edit the script reverts it and waits until the package
is clean again. A first round of the same edits warms the server up and is
not counted. It prints p50 and p95 of both, the server's resident
memory (current and peak) and the median duration of the server's own full
pass, and writes them to docs/benchmarks.md between the markers of its
section.

Run: .venv/bin/python bench/lsp_latency.py [--repeat 30] [--components 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks.md"
SECTION = "lsp-latency"
SERVER = ROOT / ".venv" / "bin" / "dagger-lsp"

FILES = 4
WIDTH = 50
TIMEOUT_SECONDS = 60.0

AIMS = {"syntax+spec p95": 0.050, "full p95": 0.500, "rss": 200 * 1024 * 1024}


def generate(folder: Path, components: int) -> list[Path]:
    """Write a package of `components` components over FILES files; return the files."""
    (folder / "cue.mod").mkdir(parents=True)
    (folder / "cue.mod" / "module.cue").write_text('module: "archon.bench/lsp"\nlanguage: version: "v0.17.0"\n')
    per_file = -(-components // FILES)
    paths = []
    for file_index in range(FILES):
        lines = ["package bench", "", 'import "archon.dev/op"', ""]
        for index in range(file_index * per_file, min(components, (file_index + 1) * per_file)):
            if index == 0:
                lines.append('c0: #up: [op.#FetchContainer & {ref: "archon/busybox:latest"}]')
                continue
            layer = index // WIDTH
            parent = 0 if layer == 0 else (layer - 1) * WIDTH + index % WIDTH
            other = 0 if layer == 0 else (layer - 1) * WIDTH + (index * 7) % WIDTH
            lines += [
                f"// Step {index}.",
                f"c{index}: #up: [",
                f"\top.#Load & {{from: c{parent}}},",
                f'\top.#Copy & {{from: c{other}, src: "/etc/hostname", dest: "/in/{index}/"}},',
                f'\top.#Exec & {{args: ["sh", "-c", "echo {index} > /out"], env: STEP: "{index}", mount: "/tmp": "tmpfs"}},',
                f'\t{{do: "write-file", dest: "/meta/{index}.txt", content: "step {index}"}},',
                "]",
            ]
        path = folder / f"part{file_index}.cue"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


class Recorder:
    """The publishDiagnostics notifications and pass durations received, with an event that wakes waiters."""

    def __init__(self) -> None:
        self.latest: dict[str, types.PublishDiagnosticsParams] = {}
        self.event = asyncio.Event()
        self.pass_times: list[float] = []
        self.fast_times: list[float] = []
        self.passes_started = 0

    def publish(self, params: types.PublishDiagnosticsParams) -> None:
        self.latest[params.uri] = params
        self.event.set()

    def log(self, params: types.LogMessageParams) -> None:
        if re.search(r"full pass of .* started$", params.message):
            self.passes_started += 1
        match = re.search(r"analysed .* in (\d+) ms", params.message)
        if match:
            self.pass_times.append(int(match.group(1)) / 1000)
            # A full pass that finds nothing new publishes nothing, so its
            # log line is what wakes a waiter for it.
            self.event.set()
        match = re.search(r"fast pass of .*: (\d+) ms, [1-9]", params.message)
        if match:
            self.fast_times.append(int(match.group(1)) / 1000)

    def idle(self, started_before: int) -> bool:
        """Tell whether a full pass started after the given count and every started pass has finished."""
        return self.passes_started > started_before and len(self.pass_times) >= self.passes_started

    async def wait(self, uri: str, condition) -> float:
        deadline = time.perf_counter() + TIMEOUT_SECONDS
        while True:
            params = self.latest.get(uri)
            if params is not None and condition(params):
                return time.perf_counter()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {TIMEOUT_SECONDS} s waiting for diagnostics of {uri} that reflect the edit")
            self.event.clear()
            try:
                await asyncio.wait_for(self.event.wait(), remaining)
            except asyncio.TimeoutError:
                pass


def codes(params: types.PublishDiagnosticsParams) -> set:
    return {item.code for item in params.diagnostics}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def memory_of(pid: int) -> tuple[int, int]:
    """Return the current and peak resident memory of a process, in bytes (Linux /proc)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


async def measure(components: int, repeat: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="archon-lsp-bench-") as scratch:
        folder = Path(scratch) / "package"
        paths = generate(folder, components)
        recorder = Recorder()
        client = LanguageClient("lsp-latency", "1")
        # pygls marks registered handlers with attributes, which bound methods do not take.
        client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)(lambda params: recorder.publish(params))
        client.feature(types.WINDOW_LOG_MESSAGE)(lambda params: recorder.log(params))

        await client.start_io(str(SERVER), env={**os.environ})
        await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                root_uri=folder.as_uri(),
                initialization_options={"logLevel": "debug"},
            )
        )
        client.initialized(types.InitializedParams())

        texts = {}
        for path in paths:
            texts[path.as_uri()] = path.read_text()
            client.text_document_did_open(
                types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=path.as_uri(), language_id="cue", version=1, text=texts[path.as_uri()]))
            )
        target = paths[1].as_uri()
        await recorder.wait(target, lambda params: params.version == 1 and not params.diagnostics and recorder.pass_times)

        version = 1
        fast: list[float] = []
        full: list[float] = []
        edits = [
            ("fast", texts[target] + "\nbroken: {\n", lambda params: "syntax" in codes(params)),
            ("fast", texts[target].replace('{do: "write-file"', '{do: "write-fiel"', 1), lambda params: "unknown-op" in codes(params)),
            ("full", texts[target] + "\nlimit: 1 & 2\n", lambda params: "cue" in codes(params)),
        ]
        # Round 0 warms the server up (imports, first parses) and is not counted.
        for round_index in range(repeat + 1):
            for kind, edited, matches in edits:
                # A text the server has not seen, as every keystroke makes,
                # so that neither the parse cache nor the evaluator's serves it.
                text = f"{edited}\n// edit {round_index}\n"
                version += 1
                sent = time.perf_counter()
                client.text_document_did_change(
                    types.DidChangeTextDocumentParams(
                        types.VersionedTextDocumentIdentifier(uri=target, version=version),
                        [types.TextDocumentContentChangeWholeDocument(text=text)],
                    )
                )
                received = await recorder.wait(target, lambda params, v=version: params.version == v and matches(params))
                if round_index > 0:
                    (fast if kind == "fast" else full).append(received - sent)

                # Revert, and wait until the full pass of the clean text is
                # done, so that no pass competes with the next measurement.
                version += 1
                started = recorder.passes_started
                client.text_document_did_change(
                    types.DidChangeTextDocumentParams(
                        types.VersionedTextDocumentIdentifier(uri=target, version=version),
                        [types.TextDocumentContentChangeWholeDocument(text=texts[target])],
                    )
                )
                await recorder.wait(target, lambda params, v=version: params.version == v and not params.diagnostics and recorder.idle(started))
            if round_index > 0:
                print(f"round {round_index}/{repeat}: syntax+spec {fast[-1] * 1000:.0f} ms, full {full[-1] * 1000:.0f} ms", file=sys.stderr)

        rss, peak = memory_of(client._server.pid)
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()

    return {
        "fast": fast,
        "full": full,
        "rss": rss,
        "peak": peak,
        "pass": statistics.median(recorder.pass_times),
        "fast_pass": statistics.median(recorder.fast_times),
        "fast_pass_p95": percentile(recorder.fast_times, 0.95),
        "pass_p95": percentile(recorder.pass_times, 0.95),
    }


def render(components: int, repeat: int, result: dict) -> str:
    fast, full = result["fast"], result["full"]
    cue_version = _cue_version()
    rows = [
        ("syntax+spec (fast pass)", percentile(fast, 0.5), percentile(fast, 0.95), AIMS["syntax+spec p95"]),
        ("full validation", percentile(full, 0.5), percentile(full, 0.95), AIMS["full p95"]),
    ]
    lines = [
        "## Language server latency",
        "",
        f"Command: `python bench/lsp_latency.py --components {components} --repeat {repeat}`. "
        f"Machine: {platform.machine()}, Linux {platform.release()}, {os.cpu_count()} cores, Python {platform.python_version()}, cue {cue_version}. "
        f"The 1-minute load average was {result['load'][0]:.1f} before the run and {result['load'][1]:.1f} after it.",
        "",
        f"Time from `didChange` to the `publishDiagnostics` that reflects the edit, on a generated package of {components} components in "
        f"{FILES} files. syntax+spec edits add a syntax error or an unknown op (found without cue); full edits add a conflict that only "
        f"`cue eval` finds, so they include the 150 ms debounce. Every edit's text is new to the server, as a keystroke's is, "
        f"so no cache serves it. {len(fast)} and {len(full)} samples.",
        "",
        "| diagnostics | p50 (ms) | p95 (ms) | aim p95 (ms) |",
        "|---|---:|---:|---:|",
    ]
    for name, p50, p95, aim in rows:
        lines.append(f"| {name} | {p50 * 1000:.0f} | {p95 * 1000:.0f} | {aim * 1000:.0f} |")
    lines += [
        "",
        f"Server resident memory after the run: {result['rss'] / 2**20:.0f} MiB (peak {result['peak'] / 2**20:.0f} MiB; aim 200 MiB). "
        f"Inside the server, the fast pass (parse and op checks of the edited file) took {result['fast_pass'] * 1000:.0f} ms "
        f"at p50 and {result['fast_pass_p95'] * 1000:.0f} ms at p95, the full pass (load with cue, op checks, compile) "
        f"{result['pass'] * 1000:.0f} ms and {result['pass_p95'] * 1000:.0f} ms.",
    ]
    return "\n".join(lines)


def _cue_version() -> str:
    try:
        from archon.runtime.cuecmd import find_cue

        return find_cue().version
    except Exception:  # noqa: BLE001 - the figure is still worth printing
        return "unknown"


def write_section(text: str) -> None:
    start, end = f"<!-- {SECTION} -->", f"<!-- /{SECTION} -->"
    block = f"{start}\n{text}\n{end}"
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n\nFigures measured by the scripts in bench/.\n"
    if start in current and end in current:
        before = current[: current.index(start)]
        after = current[current.index(end) + len(end) :]
        updated = before + block + after
    else:
        updated = current.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(updated)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--components", type=int, default=200, help="Components in the generated package (default: 200).")
    parser.add_argument("--repeat", type=int, default=30, help="Rounds of edits; each round measures 2 syntax+spec edits and 1 full edit (default: 30).")
    parser.add_argument("--no-write", action="store_true", help="Print the figures without updating docs/benchmarks.md.")
    arguments = parser.parse_args()

    load_before = os.getloadavg()[0]
    result = asyncio.run(measure(arguments.components, arguments.repeat))
    result["load"] = (load_before, os.getloadavg()[0])
    text = render(arguments.components, arguments.repeat, result)
    print(text)
    if not arguments.no_write:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
