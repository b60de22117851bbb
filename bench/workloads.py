"""Generated configurations for the run benchmark (bench/run_benchmark.py).

Each workload writes a CUE package into a folder and names the component
a leaf change touches:

- chain: `c0` fetches the base image and runs an exec; every later `c<i>`
  loads `c<i-1>` and runs an exec, so the graph is one path of N execs;
- fan: `base` runs an exec on the base image, `w1` ... `w<N-2>` each load
  `base` and run an exec in parallel, and `join` runs one exec that mounts
  the `/out` folder of every worker, so N components in all;
- hello: a copy of examples/hello (7 components, a Debian toolchain, a git
  checkout, a C build and its tests), whatever N is.

Every generated exec runs with the exec network given (`network`, default
"none": the execs need no network, and the daemon's network set-up would
otherwise dominate a cold run; "sandbox" measures with it). The hello
workload keeps the example's own execs.

Cache states come from the text of the execs, never from pruning the
daemon's cache: every exec carries a `nonce`, and `leaf_nonce` changes only
the exec of the leaf (the last component of the chain, or worker `w1` of
the fan, whose change also reruns `join`; `base` when the fan has no
workers). A new nonce makes every exec a
cache miss (cold); the same nonce again is a fully cached run (warm).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "examples" / "hello"
BASE_IMAGE = "archon/busybox:latest"

# The number of components of examples/hello, whatever size is asked for.
HELLO_COMPONENTS = 8


@dataclass(frozen=True)
class Workload:
    """A generated package in `folder`: `size` components, `leaf` the one a leaf change touches.

    `inputs` gives the values of the package's `@input()` fields.
    """

    name: str
    size: int
    folder: Path
    leaf: str
    inputs: dict[str, str]


def write_module(folder: Path, package: str, text: str) -> None:
    """Write `text` as main.cue of a fresh CUE module in `folder`."""
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "cue.mod").mkdir(parents=True)
    (folder / "cue.mod" / "module.cue").write_text(f'module: "archon.bench/{package}"\nlanguage: version: "v0.17.0"\n')
    (folder / "main.cue").write_text(text)


# The exec network of generated workloads unless another one is requested.
DEFAULT_NETWORK = "none"


def _exec(script: str, network: str, extra: str = "") -> str:
    return f'op.Exec & {{args: ["sh", "-c", {json.dumps(script)}], network: "{network}"{extra}}}'


def chain(folder: Path, size: int, nonce: str, leaf_nonce: str = "", *, network: str = DEFAULT_NETWORK) -> Workload:
    """Write a chain of `size` components, each loading the one before and running an exec."""
    last = size - 1
    lines = ["package bench", "", 'import "archon.dev/op"', ""]
    for index in range(size):
        token = f"{nonce}{leaf_nonce}" if index == last else nonce
        script = f"echo {index} {token} > /c{index}"
        start = f'op.FetchContainer & {{ref: "{BASE_IMAGE}"}}' if index == 0 else f"op.Load & {{from: c{index - 1}}}"
        lines.append(f"c{index}: $up: [{start}, {_exec(script, network)}]")
    write_module(folder, "bench", "\n".join(lines) + "\n")

    return Workload("chain", size, folder, f"c{last}", {})


def fan(folder: Path, size: int, nonce: str, leaf_nonce: str = "", *, network: str = DEFAULT_NETWORK) -> Workload:
    """Write a fan-out/fan-in of `size` components: base, size-2 parallel workers, join.

    Sizes 1 and 2 have no workers: `base` alone, or `base` and `join`.
    """
    workers = [f"w{index}" for index in range(1, max(size - 1, 0))]
    lines = ["package bench", "", 'import "archon.dev/op"', ""]
    # Without workers, the leaf change goes to base.
    base_token = nonce if workers else f"{nonce}{leaf_nonce}"
    lines.append(f'base: $up: [op.FetchContainer & {{ref: "{BASE_IMAGE}"}}, {_exec(f"echo base {base_token} > /base", network)}]')
    for index, name in enumerate(workers, start=1):
        token = f"{nonce}{leaf_nonce}" if index == 1 else nonce
        script = f"mkdir -p /out && echo {name} {token} > /out/{name}"
        lines.append(f"{name}: $up: [op.Load & {{from: base}}, {_exec(script, network)}]")

    leaf = workers[0] if workers else "base"
    if size >= 2:
        mounts = ", ".join(f'"/in/{name}": {{from: {name}, path: "/out"}}' for name in workers)
        script = f"cat /in/*/* | wc -l > /joined && echo {nonce}"
        lines += [
            "join: $up: [",
            "\top.Load & {from: base},",
            f"\t{_exec(script, network, f', mount: {{{mounts}}}')},",
            "]",
        ]
    write_module(folder, "bench", "\n".join(lines) + "\n")
    return Workload("fan", size, folder, leaf, {})


def hello(folder: Path, size: int, nonce: str, leaf_nonce: str = "", *, git_url: str, network: str = DEFAULT_NETWORK) -> Workload:
    """Copy examples/hello to `folder`, with the nonce in its source and the leaf nonce in its test.

    The nonce lands in `src/BENCH_NONCE`, which the `source` component sends
    to the daemon, so a new nonce rebuilds and retests the program. The leaf
    nonce lands in the environment of the `test` exec only. `size` and
    `network` are ignored: the pipeline always has HELLO_COMPONENTS
    components and keeps the example's execs as they are.
    """
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(HELLO, folder, ignore=shutil.ignore_patterns("dist", "hello", "*.o", "greet-lib"))
    (folder / "src" / "BENCH_NONCE").write_text(nonce + "\n")

    main = folder / "main.cue"
    text = main.read_text()
    marker = 'mount: "/tmp": "tmpfs"'
    if marker not in text:
        raise RuntimeError(f"{main}: the test exec no longer has `{marker}`; update bench/workloads.py:hello to the example")
    main.write_text(text.replace(marker, f'{marker}\n\t\tenv: BENCH_LEAF: "{leaf_nonce}"', 1))

    return Workload("hello", HELLO_COMPONENTS, folder, "test", {"libRemote": git_url})


GENERATORS = {"chain": chain, "fan": fan, "hello": hello}
