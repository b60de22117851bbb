"""The work behind diagnostics, run in worker threads.

Two passes:

- the fast pass parses one buffer with Archon's own parser and checks the
  op structs written in it against the op spec (`archon.lsp.speccheck`),
  with no `cue` process: syntax errors and misspelled ops appear at once;
- the full pass loads the whole package with the runtime (one `cue eval`),
  compiles it into a Plan, and reports the inputs the selected environment
  leaves unset.

Nothing here touches the LSP connection. The functions return runtime
`Diagnostic`s; `archon.lsp.analyzer` schedules the passes and the
diagnostics feature publishes their results.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

from archon.lsp.documents import Snapshot
from archon.runtime.diagnostics import ConfigError, Diagnostic, Severity

log = logging.getLogger(__name__)

# The code of the syntax errors Archon's parser reports.
SYNTAX_CODE = "syntax"

# Compile diagnostics about values that stay open until an input is set.
# `load` already reports them, at information level, in validate mode.
INCOMPLETE_CODES = frozenset({"input-unset", "incomplete"})

MISSING_INPUT_CODE = "input-missing"


@dataclass
class EnvironmentContext:
    """The environment whose inputs fill a package's `@input()` fields.

    `overlay` is the CUE file that sets the inputs (secrets as ids only),
    `names` the inputs the environment sets.
    """

    name: str
    overlay: str | None = None
    names: frozenset[str] = frozenset()
    problem: str | None = None


@dataclass
class Analysis:
    """One full pass over a package.

    `key` identifies the state it was computed from: the versions of the
    open buffers and the server's settings generation. `configuration` and
    `plan` are None when the runtime could not produce them.
    """

    package: str
    snapshot: Snapshot
    key: tuple
    diagnostics: list[Diagnostic] = field(default_factory=list)
    configuration: Any = None
    plan: Any = None
    environment: EnvironmentContext | None = None
    failure: str | None = None
    seconds: float = 0.0

    @property
    def files(self) -> list[str]:
        """Return every .cue file of the package the analysis saw."""
        if self.configuration is not None:
            return sorted(self.configuration.files)
        return sorted(path for path in self.snapshot.texts if os.path.dirname(path) == self.package)


def bundled_packages() -> dict[str, str]:
    """Return the packages Archon bundles besides the op spec: the catalog, when the engine is there."""
    try:
        from archon.engine.catalog import IMPORT_PREFIX, catalog_root
    except ImportError:
        return {}
    return {IMPORT_PREFIX.rstrip("/"): str(catalog_root())}


def fast_check(path: str, text: str) -> tuple[Any, list[Diagnostic]]:
    """Parse one buffer and check its op structs; return the AST and the diagnostics."""
    from archon.lsp import speccheck
    from archon.runtime.cue import parse_cached

    # Shared with the full pass's load of the same text, which then parses nothing.
    parsed = parse_cached(text, path)
    diagnostics = list(parsed.errors)
    try:
        diagnostics.extend(speccheck.check_file(parsed))
    except Exception:  # noqa: BLE001 - the syntax errors are still worth publishing
        log.exception("op-spec check of %s failed", path)
    return parsed, diagnostics


def analyse_package(
    snapshot: Snapshot,
    key: tuple,
    *,
    evaluator: Any,
    environment: EnvironmentContext | None,
) -> Analysis:
    """Load, validate and compile the package of snapshot; never raises."""
    from archon.runtime.config import INPUTS_FILE, VALIDATE, load

    started = time.perf_counter()
    analysis = Analysis(snapshot.package, snapshot, key, environment=environment)

    extra_files = None
    set_inputs: set[str] = set()
    if environment is not None and environment.overlay:
        extra_files = {INPUTS_FILE: environment.overlay}
        set_inputs = set(environment.names)

    try:
        configuration = load(
            snapshot.package,
            mode=VALIDATE,
            overlays=snapshot.overlays(),
            extra_files=extra_files,
            set_inputs=set_inputs,
            evaluator=evaluator,
            packages=bundled_packages(),
        )
    except Exception as problem:  # noqa: BLE001 - reported to the user, the server goes on
        # Without cue (or with a runtime bug) the syntax and op-spec errors
        # of every file are still worth showing.
        analysis.failure = _describe_failure(problem)
        for path, text in _package_files(snapshot).items():
            analysis.diagnostics.extend(fast_check(path, text)[1])
        analysis.seconds = time.perf_counter() - started
        return analysis

    analysis.configuration = configuration
    analysis.diagnostics.extend(configuration.diagnostics)
    analysis.diagnostics.extend(_spec_diagnostics(configuration, analysis.diagnostics))
    analysis.plan, compile_diagnostics = _compile(configuration)
    analysis.diagnostics.extend(compile_diagnostics)
    analysis.diagnostics.extend(_missing_inputs(configuration, environment))
    analysis.seconds = time.perf_counter() - started
    log.debug(
        "analysed %s in %.0f ms: %d diagnostics, %d components",
        snapshot.package,
        analysis.seconds * 1000,
        len(analysis.diagnostics),
        len(configuration.components),
    )
    return analysis


def _package_files(snapshot: Snapshot) -> dict[str, str]:
    texts = {}
    try:
        names = sorted(name for name in os.listdir(snapshot.package) if name.endswith(".cue"))
    except OSError:
        names = []
    for name in names:
        path = os.path.join(snapshot.package, name)
        text = snapshot.text_of(path)
        if text is not None:
            texts[path] = text
    for path, text in snapshot.texts.items():
        if os.path.dirname(path) == snapshot.package:
            texts.setdefault(path, text)
    return texts


def _spec_diagnostics(configuration: Any, found: list[Diagnostic]) -> list[Diagnostic]:
    """Check the op structs written in each file, leaving out what validation already found there.

    Validation sees only the ops of components that evaluated; the written
    structs are checked even when evaluation failed.
    """
    from archon.lsp import speccheck

    seen = {(item.span.file, item.span.start.line, item.code) for item in found if item.span is not None}
    added = []
    for path, parsed in configuration.files.items():
        try:
            problems = speccheck.check_file(parsed)
        except Exception:  # noqa: BLE001 - the other diagnostics are still valid
            log.exception("op-spec check of %s failed", path)
            continue
        for problem in problems:
            place = (problem.span.file, problem.span.start.line, problem.code) if problem.span else None
            if place not in seen:
                seen.add(place)
                added.append(problem)
    return added


def _compile(configuration: Any) -> tuple[Any, list[Diagnostic]]:
    if configuration.value is None or not configuration.ok:
        return None, []
    try:
        from archon.runtime.compiler import compile_configuration
    except ImportError:
        log.debug("archon.runtime.compiler is not available; compile errors are not reported")
        return None, []

    try:
        return compile_configuration(configuration), []
    except ConfigError as problem:
        return None, [item for item in problem.diagnostics if item.code not in INCOMPLETE_CODES]
    except Exception:  # noqa: BLE001 - a compiler bug is logged, not blamed on the user's files
        log.exception("compiling %s failed", configuration.package_dir)
        return None, []


def _missing_inputs(configuration: Any, environment: EnvironmentContext | None) -> list[Diagnostic]:
    diagnostics = []
    for decl in configuration.missing_inputs():
        if environment is not None:
            message = f"input `{decl.path}` is not set in environment {environment.name!r}"
            hint = f"set it with `dagger input {_input_command(decl.kind)} {decl.path} VALUE -e {environment.name}`"
        else:
            message = f"input `{decl.path}` is not set"
            hint = f"set it with `dagger input {_input_command(decl.kind)} {decl.path} VALUE`, or select an environment that sets it"
        diagnostics.append(Diagnostic(message, decl.span, severity=Severity.WARNING, code=MISSING_INPUT_CODE, hint=hint))
    return diagnostics


def _input_command(kind: str) -> str:
    return kind if kind in ("text", "secret", "dir", "bool") else "text"


def _describe_failure(problem: Exception) -> str:
    hint = getattr(problem, "hint", None)
    text = f"{type(problem).__name__}: {problem}" if not str(problem) else str(problem)
    return f"{text} ({hint})" if hint else text
