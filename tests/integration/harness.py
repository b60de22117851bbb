"""Write a configuration into a folder and run it in-process, as `dagger up` does.

`run_configuration` loads the folder in compute mode, compiles it with the
image resolver of the connection's backend and runs the plan in one solve.
It returns an `Outcome` holding the `RunResult`, the `Plan` and what the
progress renderer wrote.
"""

from __future__ import annotations

import io
import os
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from archon.engine.buildkit.connect import Connection
from archon.engine.images import resolver_for
from archon.engine.run import RunResult, VertexRecord, run
from archon.runtime.compiler import compile_configuration
from archon.runtime.config import load, render_inputs
from archon.runtime.plan import Plan

PACKAGE = "main"

CONFIG_FILE = "main.cue"


@dataclass
class Outcome:
    """One run of a configuration: the result, the compiled plan and the progress text."""

    result: RunResult
    plan: Plan
    progress: str

    def failure_text(self) -> str:
        """Return the failure report, for assert messages."""
        failure = self.result.failure
        return failure.format() if failure else f"status {self.result.status}, no failure recorded"

    def records_of(self, component: str) -> list[VertexRecord]:
        """Return the vertex records of the ops of `component`, in solve order."""
        return [record for record in self.result.vertices if record.component == component]


def write_configuration(
    folder: Path,
    body: str,
    files: Mapping[str, str | bytes] | None = None,
    imports: tuple[str, ...] = (),
    replace: Mapping[str, str] | None = None,
) -> Path:
    """Write `body` (dedented, after the package clause and imports) as main.cue in `folder`, and each extra file.

    Returns the path of main.cue. `files` maps paths relative to `folder`
    to their content; `imports` names CUE packages to import besides
    archon.dev/op, such as "list". `replace` maps placeholders of `body`,
    such as NONCE, to their text, which keeps CUE's braces out of f-strings.
    """
    for placeholder, text in (replace or {}).items():
        body = body.replace(placeholder, text)

    folder.mkdir(parents=True, exist_ok=True)
    for relative, content in (files or {}).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    header = f"package {PACKAGE}\n\n" + "".join(f'import "{name}"\n' for name in ("archon.dev/op", *imports)) + "\n"
    config = folder / CONFIG_FILE
    config.write_text(header + textwrap.dedent(body).lstrip("\n"))
    return config


def line_of(config: Path, marker: str) -> int:
    """Return the 1-based number of the only line of `config` that contains `marker`."""
    lines = [number for number, text in enumerate(config.read_text().splitlines(), start=1) if marker in text]
    assert len(lines) == 1, f"{marker!r} is on lines {lines} of {config}, expected exactly one"
    return lines[0]


def read_tree(folder: Path) -> dict[str, str]:
    """Return the text of every file under `folder`, by path relative to it."""
    files = {}
    for parent, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(parent, name)
            with open(path) as stream:
                files[os.path.relpath(path, folder)] = stream.read()
    return files


def compile_folder(folder: Path, connection: Connection, inputs: Mapping[str, Any] | None = None) -> Plan:
    """Load `folder` in compute mode with `inputs` and compile it; fail the test on any diagnostic."""
    configuration = load(folder, mode="compute", extra_files=render_inputs(inputs, folder) if inputs else None)
    problems = "\n".join(diagnostic.format() for diagnostic in configuration.diagnostics)
    assert configuration.ok, f"the configuration in {folder} has errors:\n{problems}"
    missing = [decl.path for decl in configuration.missing_inputs()]
    assert not missing, f"inputs not set: {missing}"
    return compile_configuration(configuration, resolver=resolver_for(connection))


def run_plan(
    plan: Plan,
    connection: Connection,
    *,
    secrets: Mapping[str, str] | None = None,
    progress_mode: str = "plain",
    cancel_event: threading.Event | None = None,
) -> Outcome:
    """Run a compiled plan on `connection` and capture its progress output."""
    stream = io.StringIO()
    result = run(
        plan,
        connection,
        secrets=dict(secrets or {}),
        progress_mode=progress_mode,
        cancel_event=cancel_event,
        stream=stream,
    )
    return Outcome(result, plan, stream.getvalue())


def run_configuration(
    folder: Path,
    connection: Connection,
    *,
    inputs: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    progress_mode: str = "plain",
    cancel_event: threading.Event | None = None,
) -> Outcome:
    """Load, compile and run the configuration in `folder` in one solve."""
    plan = compile_folder(folder, connection, inputs)
    return run_plan(plan, connection, secrets=secrets, progress_mode=progress_mode, cancel_event=cancel_event)
