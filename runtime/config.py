"""Loading a configuration: parse, evaluate once, find components, check ops.

`load` is the runtime's entry point. It parses every file of the package
with Archon's own parser (for syntax errors, attributes, docs and source
ranges), evaluates the package once with `cue`, then walks the evaluated
value for components (structs with `$up`) and checks their ops against the
op spec.

An unchanged configuration is cheap to load again in the same process:
parsed files come from a cache keyed by content (archon.runtime.cue.cache),
what is read from each file's tree alone (spec references, the components'
references, attributed fields, the index of fields by path) is kept with
the cached tree, and the evaluation comes from the Evaluator's cache.

Two modes:
- `validate`: unset inputs and other incomplete values are allowed; they
  are reported as inputs, not errors. For editors and `dagger validate`.
- `compute`: everything a run needs must be concrete; an incomplete value
  is an error naming the input that leaves it unset.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from archon.runtime import projection
from archon.runtime import source as src
from archon.runtime.cue import ast as cue_ast
from archon.runtime.cue import parse, walk
from archon.runtime.cue.cache import derived, parse_cached
from archon.runtime.diagnostics import Diagnostic, RelatedInfo, Severity, Span, has_errors
from archon.runtime.evaluate import SPEC_FOLDER, SPEC_IMPORT_PATH, Evaluation, Evaluator
from archon.runtime.validate import PendingValue, suggest, validate_op
from archon.runtime.values import UP_LABELS, Incomplete, fingerprint, is_component, ops_of

VALIDATE = "validate"
COMPUTE = "compute"

# The file name under which inputs given on the command line join the package.
INPUTS_FILE = "zz_archon_inputs.cue"

_default_evaluator: Evaluator | None = None


@dataclass
class InputDecl:
    """An input declared with `@input()`: `is_set` when the environment gave a value."""

    path: str
    type_text: str
    doc: str | None
    span: Span | None
    has_default: bool = False
    is_set: bool = False
    kind: str = "text"


@dataclass
class OutputDecl:
    """An output declared with `@output()`, or an image output found by its last op.

    `kind` is `directory`, `value` or `image`; `directory` is the folder a
    directory output is written to, relative to the configuration's folder.
    """

    path: str
    kind: str
    span: Span | None
    directory: str | None = None


@dataclass
class ComponentInfo:
    path: str
    value: dict
    span: Span | None
    op_spans: list[Span | None] = field(default_factory=list)
    doc: str | None = None


@dataclass
class Configuration:
    package_dir: str
    mode: str
    files: dict[str, Any] = field(default_factory=dict)
    value: Any = None
    components: dict[str, ComponentInfo] = field(default_factory=dict)
    inputs: dict[str, InputDecl] = field(default_factory=dict)
    outputs: dict[str, OutputDecl] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    evaluation: Evaluation | None = None
    # The fields of `files` by path, built on first use (see `_field_node`).
    _field_index: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    def missing_inputs(self) -> list[InputDecl]:
        return [decl for decl in self.inputs.values() if not decl.is_set and not decl.has_default]


def default_evaluator(cue_path: str | None = None) -> Evaluator:
    global _default_evaluator
    if _default_evaluator is None or cue_path is not None:
        _default_evaluator = Evaluator(cue_path)
    return _default_evaluator


def load(
    package_dir: str | os.PathLike[str],
    *,
    mode: str = VALIDATE,
    overlays: Mapping[str, str] | None = None,
    extra_files: Mapping[str, str] | None = None,
    packages: Mapping[str, str] | None = None,
    set_inputs: set[str] | None = None,
    cue_path: str | None = None,
    evaluator: Evaluator | None = None,
) -> Configuration:
    """Load the CUE package in package_dir; problems land in `diagnostics`, never raised.

    set_inputs names the inputs the caller injected through extra_files
    (their values are not known here); inputs given in the package itself
    count as set when their value is concrete.
    """
    if mode not in (VALIDATE, COMPUTE):
        raise ValueError(f"unknown mode {mode!r}")
    package = Path(package_dir).resolve()
    overlays = {str(Path(path).resolve()): text for path, text in (overlays or {}).items()}
    configuration = Configuration(str(package), mode)

    for path, text in _package_texts(package, overlays).items():
        # Trees are shared with earlier loads of the same text: read them only.
        parsed = parse_cached(text, path)
        configuration.files[path] = parsed
        configuration.diagnostics.extend(parsed.errors)
        configuration.diagnostics.extend(derived(parsed, "config.spec_references", _check_spec_references))

    evaluator = evaluator or default_evaluator(cue_path)
    evaluation, value = _evaluate(configuration, evaluator, package, overlays, extra_files, packages)
    configuration.evaluation = evaluation
    configuration.value = value
    _merge_cue_diagnostics(configuration, evaluation.diagnostics)

    _report_cycles(configuration)

    injected = set(set_inputs or ()) | _names_in_extra_files(extra_files)
    _collect_inputs(configuration, injected)
    _collect_outputs(configuration)
    if value is not None:
        _collect_components(configuration, value, ())
        _check_components(configuration)
    _drop_follow_on_errors(configuration)
    return configuration


def _drop_follow_on_errors(configuration: Configuration) -> None:
    """Leave out "op without a `do` field" where an undefined `op.Name` already explains it."""
    undefined = {d.span.start for d in configuration.diagnostics if d.code == "unknown-op" and d.span and " is not defined in " in d.message}
    configuration.diagnostics[:] = [
        d for d in configuration.diagnostics
        if not (d.code == "unknown-op" and "without a `do` field" in d.message and d.span and d.span.start in undefined)
    ]


def _evaluate(configuration: Configuration, evaluator: Evaluator, package: Path, overlays, extra_files, packages) -> tuple[Evaluation, Any]:
    """Evaluate once through the compact projection; fall back to the full value when the projection itself fails.

    Returns the evaluation and the configuration value: a tree holding every
    component and input at its path, with referenced components shared.
    """
    files = list(configuration.files.values())
    package_name = next((parsed.package.name for parsed in files if parsed.package is not None), "main")
    input_paths = [path for parsed in files for path, _ in _attributed_fields(parsed, "input")]
    compact = projection.build(files, package_name, input_paths)

    evaluation = evaluator.evaluate(
        package,
        overlays=overlays,
        extra_files={**(extra_files or {}), projection.FILE_NAME: compact.text},
        packages=packages,
        expression=projection.EXPRESSION,
    )
    projection_file = str(package / projection.FILE_NAME)
    if any(_mentions(diagnostic, projection_file) for diagnostic in evaluation.diagnostics):
        # The tags or the projection do not fit this configuration (a tag on
        # a field that is not a struct, say): print the whole value instead.
        evaluation = evaluator.evaluate(package, overlays=overlays, extra_files=extra_files, packages=packages)
        return evaluation, evaluation.value
    if evaluation.value is None:
        return evaluation, None

    components, inputs = projection.rebuild(evaluation.value)
    tree: dict[str, Any] = {}
    for path, value in [*inputs.items(), *components.items()]:
        node = tree
        *parents, last = path.split(".")
        for label in parents:
            node = node.setdefault(label, {})
        node[last] = value
    return evaluation, tree


def _mentions(diagnostic: Diagnostic, file: str) -> bool:
    spans = [diagnostic.span, *(info.span for info in diagnostic.related)]
    return any(span is not None and span.file == file for span in spans)


def render_inputs(values: Mapping[str, Any], package_dir: Path) -> dict[str, str]:
    """Render plain input values as one extra CUE file of the package.

    Values are written as JSON, which is valid CUE; the file declares the
    package of the files already in package_dir.
    """
    package_name = _package_name(package_dir)
    lines = [f"package {package_name}", ""]
    for name, value in sorted(values.items()):
        lines.append(f"{json.dumps(name)}: {json.dumps(value)}")
    return {INPUTS_FILE: "\n".join(lines) + "\n"}


def _package_name(package_dir: Path) -> str:
    for path in sorted(package_dir.glob("*.cue")):
        parsed = parse_cached(path.read_text(encoding="utf-8", errors="replace"), str(path))
        if parsed.package is not None:
            return parsed.package.name
    return "main"


def _names_in_extra_files(extra_files: Mapping[str, str] | None) -> set[str]:
    names: set[str] = set()
    for name, text in (extra_files or {}).items():
        parsed = parse_cached(text, name)
        names.update(field.label for field in src.top_fields(parsed))
    return names


def _package_texts(package: Path, overlays: Mapping[str, str]) -> dict[str, str]:
    texts: dict[str, str] = {}
    if package.is_dir():
        for path in sorted(package.glob("*.cue")):
            texts[str(path)] = overlays.get(str(path)) or path.read_text(encoding="utf-8", errors="replace")
    for path, text in overlays.items():
        if Path(path).parent == package and path.endswith(".cue"):
            texts[path] = text
    return texts


def _merge_cue_diagnostics(configuration: Configuration, diagnostics: list[Diagnostic]) -> None:
    """Add cue's errors, leaving out those already reported as syntax errors on the same line."""
    syntax_lines = {(d.span.file, d.span.start.line) for d in configuration.diagnostics if d.span}
    for diagnostic in diagnostics:
        if diagnostic.span and (diagnostic.span.file, diagnostic.span.start.line) in syntax_lines:
            continue
        configuration.diagnostics.append(diagnostic)


@lru_cache(maxsize=1)
def _spec_names() -> frozenset[str]:
    """Top-level names of the op spec package (`Exec`, `#Exec`, `#Secret`, ...)."""
    names = set()
    for path in sorted(SPEC_FOLDER.glob("*.cue")):
        parsed = parse(path.read_text(encoding="utf-8"), str(path))
        names.update(field_path[0] for field_path, _ in src.iter_fields(parsed) if len(field_path) == 1)
        names.update(decl.label for decl in parsed.decls if getattr(decl, "label", "").startswith("#"))
    return frozenset(names)


def _check_spec_references(parsed) -> tuple[Diagnostic, ...]:
    """Report `op.Name` selectors that name nothing in the op spec, with the closest name.

    cue leaves such a reference incomplete rather than failing, so without
    this check the op would only show up as one without a `do` field.
    """
    aliases = {item.package_name for item in parsed.imports if item.path.split(":")[0] == SPEC_IMPORT_PATH}
    if not aliases:
        return ()
    names = _spec_names()
    found = []
    for node in walk(parsed):
        if not isinstance(node, cue_ast.SelectorExpr) or not isinstance(node.operand, cue_ast.Ident):
            continue
        if node.operand.name not in aliases or node.name in names:
            continue
        close = suggest(node.name, sorted(names))
        found.append(
            Diagnostic(
                f"{node.operand.name}.{node.name} is not defined in {SPEC_IMPORT_PATH}",
                node.span,
                code="unknown-op",
                hint=f"did you mean {node.operand.name}.{close}?" if close else "see docs/language.md for the ops",
            )
        )
    return tuple(found)


def _attributed_fields(parsed, name: str) -> tuple[tuple[tuple[str, ...], cue_ast.Field], ...]:
    """Return the fields of a file with an attribute `@name(...)` (input or output), with their paths, depth first."""
    return derived(parsed, f"config.attributed.{name}", lambda file: tuple((path, node) for path, node in src.fields(file) if node.attribute(name) is not None))


def _component_references(parsed) -> tuple[tuple[str, Span, dict[str, Span]], ...]:
    """For each top-level field of a file written with `$up`: its name, label span and the names its value refers to."""
    return tuple(
        (node.label, node.label_span, src.references_with_spans(node.value))
        for node in src.top_fields(parsed)
        if any(child.label in UP_LABELS for child in src.fields_of(node.value))
    )


def _report_cycles(configuration: Configuration) -> None:
    """Name each cycle between components, component by component.

    cue rejects such a configuration with a "structural cycle" error at one
    place; the source shows which components refer to each other, so the
    cycle is reported as `a -> b -> a` with every reference's position.
    """
    references: dict[str, dict[str, Span]] = {}
    spans: dict[str, Span] = {}
    for parsed in configuration.files.values():
        for name, label_span, targets in derived(parsed, "config.component_references", _component_references):
            spans[name] = label_span
            written = references.setdefault(name, {})
            for target, span in targets.items():
                written.setdefault(target, span)

    cycles = _cycles({name: {target: span for target, span in targets.items() if target in spans} for name, targets in references.items()})
    if not cycles:
        return

    configuration.diagnostics[:] = [d for d in configuration.diagnostics if "structural cycle" not in d.message]
    for cycle in cycles:
        path = " -> ".join(cycle + [cycle[0]])
        related = tuple(
            RelatedInfo(references[name][cycle[(index + 1) % len(cycle)]], f"{name} refers to {cycle[(index + 1) % len(cycle)]} here")
            for index, name in enumerate(cycle)
        )
        configuration.diagnostics.append(
            Diagnostic(
                f"cycle between components: {path}",
                references[cycle[0]][cycle[1 % len(cycle)]],
                code="cycle",
                hint="a component cannot depend on itself; remove one of these references",
                related=related,
            )
        )


def _cycles(graph: dict[str, dict[str, Span]]) -> list[list[str]]:
    """Return one list per elementary cycle found by a depth-first search, each starting at its smallest name."""
    found: dict[tuple[str, ...], list[str]] = {}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for target in sorted(graph.get(name, {})):
            if state.get(target) == 1:
                cycle = stack[stack.index(target):]
                start = cycle.index(min(cycle))
                rotated = cycle[start:] + cycle[:start]
                found.setdefault(tuple(rotated), rotated)
            elif target not in state:
                visit(target)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    return list(found.values())


def _collect_inputs(configuration: Configuration, injected: set[str]) -> None:
    for path, parsed in configuration.files.items():
        for field_path, node in _attributed_fields(parsed, "input"):
            dotted = ".".join(field_path)
            value = _value_at(configuration.value, field_path)
            type_text = src.value_text(node)
            decl = InputDecl(
                path=dotted,
                type_text=type_text,
                doc=src.doc(node),
                span=src.label_span(node),
                has_default="*" in type_text,
                kind=_input_kind(type_text),
            )
            decl.is_set = dotted in injected or (value is not _MISSING and _first_incomplete(value) is None and not decl.has_default)
            configuration.inputs.setdefault(dotted, decl)


def _input_kind(type_text: str) -> str:
    if "#Secret" in type_text:
        return "secret"
    if "#Dir" in type_text:
        return "dir"
    if "bool" in type_text:
        return "bool"
    return "text"


def _collect_outputs(configuration: Configuration) -> None:
    for parsed in configuration.files.values():
        for field_path, node in _attributed_fields(parsed, "output"):
            attribute = src.attribute(node, "output")
            dotted = ".".join(field_path)
            arguments = src.attribute_args(attribute)
            directory = arguments.get("dir")
            kind = "directory" if directory else "value"
            configuration.outputs[dotted] = OutputDecl(dotted, kind, src.label_span(node), directory)


def _collect_components(configuration: Configuration, value: Any, path: tuple[str, ...]) -> None:
    if not isinstance(value, dict):
        return
    if is_component(value) and path:
        dotted = ".".join(path)
        node = _field_node(configuration, path)
        info = ComponentInfo(
            path=dotted,
            value=value,
            span=src.label_span(node) if node is not None else None,
            op_spans=_op_spans(configuration, path, len(ops_of(value))),
            doc=src.doc(node) if node is not None else None,
        )
        configuration.components[dotted] = info
        ops = ops_of(value)
        if ops and isinstance(ops[-1], dict) and ops[-1].get("do") in ("push-container", "save-image"):
            configuration.outputs.setdefault(dotted, OutputDecl(dotted, "image", info.span))
    for key, item in value.items():
        if key in UP_LABELS or key.startswith("_"):
            continue
        _collect_components(configuration, item, path + (key,))


def _field_node(configuration: Configuration, path: tuple[str, ...]):
    """The first file's field at path, as `src.find` on each file in turn finds it."""
    files = tuple(configuration.files.values())
    cached = configuration._field_index
    if cached is None or len(cached[0]) != len(files) or any(a is not b for a, b in zip(cached[0], files)):
        cached = configuration._field_index = (files, src.FieldIndex(files))
    return cached[1].find(path)


def _up_node(configuration: Configuration, path: tuple[str, ...]):
    """The written field that holds a component's ops, under either label."""
    for label in UP_LABELS:
        node = _field_node(configuration, path + (label,))
        if node is not None:
            return node
    return None


def _op_spans(configuration: Configuration, path: tuple[str, ...], count: int) -> list[Span | None]:
    """Spans of the ops of a component, where its $up is a list written in the source."""
    up = _up_node(configuration, path)
    spans = src.list_element_spans(up) if up is not None else []
    fallback = src.label_span(up) if up is not None else None
    if fallback is None:
        component = _field_node(configuration, path)
        fallback = src.label_span(component) if component is not None else None
    return [spans[i] if i < len(spans) else fallback for i in range(count)]


def _check_components(configuration: Configuration) -> None:
    unset_inputs = {
        fingerprint(value): decl.path
        for decl in configuration.inputs.values()
        if not decl.is_set
        and (value := _value_at(configuration.value, tuple(decl.path.split(".")))) is not _MISSING
    }
    input_names = {decl.path.split(".")[-1]: decl for decl in configuration.inputs.values()}

    memo: dict[int, bool] = {}
    for component in configuration.components.values():
        if component.path in configuration.inputs:
            continue
        ops = ops_of(component.value)
        for index, op in enumerate(ops):
            span = component.op_spans[index] if index < len(component.op_spans) else component.span
            pending: list[PendingValue] = []
            for problem in validate_op(op, pending.append, memo):
                where = _op_field_span(configuration, component.path, index, problem.field) or span
                configuration.diagnostics.append(
                    Diagnostic(f"{component.path}: {problem.message}", where, code=problem.code, hint=problem.hint)
                )
            for item in pending:
                _report_pending(configuration, component, index, op, item, span, unset_inputs, input_names)


def _report_pending(configuration, component, index, op, item, span, unset_inputs, input_names) -> None:
    names = [name for name in item.value.references if name in input_names]
    if not names:
        names = sorted(_source_references(configuration, component.path, index, item.field) & set(input_names))
    if not names and item.value.text == "an incomplete component" and _refers_to_component(configuration, component.path, index, item.field):
        # The component referred to reports its own incomplete values.
        return
    if not names and isinstance(op, dict):
        names = _inputs_matching(op, unset_inputs)
    where = _op_field_span(configuration, component.path, index, item.field) or span
    field_text = f"`{item.field}` of " if item.field else ""
    op_name = op.get("do", "op") if isinstance(op, dict) else "op"

    if names:
        listed = ", ".join(f"`{name}`" for name in names)
        message = f"{component.path}: {field_text}{op_name} is missing because input {listed} is unset"
        hint = set_input_hint(configuration.inputs.get(names[0]) or input_names.get(names[0]))
        code = "input-unset"
    else:
        message = f"{component.path}: {field_text}{op_name} is incomplete ({item.value.text})"
        hint = "give it a concrete value"
        code = "incomplete"
    severity = Severity.ERROR if configuration.mode == COMPUTE else Severity.INFORMATION
    configuration.diagnostics.append(Diagnostic(message, where, severity=severity, code=code, hint=hint))


def _source_references(configuration: Configuration, component: str, index: int, field_path: str | None) -> set[str]:
    """Names referred to by the written value of a field of an op (`args: ["echo", name]` gives name)."""
    up = _up_node(configuration, tuple(component.split(".")))
    if up is None:
        return set()
    written = src.op_field(up, index, field_path) if field_path else None
    return src.identifiers(written.value) if written is not None else set()


def _refers_to_component(configuration: Configuration, component: str, index: int, field_path: str | None) -> bool:
    names = _source_references(configuration, component, index, field_path)
    return any(name in configuration.components for name in names)


def set_input_hint(decl: InputDecl | None) -> str:
    """Return the command that sets an input, by its kind."""
    if decl is None:
        return "set the input"
    commands = {
        "dir": f"dagger input dir {decl.path} PATH",
        "secret": f"dagger input secret {decl.path}",
        "bool": f"dagger input bool {decl.path} true|false",
    }
    command = commands.get(decl.kind, f"dagger input text {decl.path} VALUE")
    flag = f" (or --input {decl.path}=VALUE)" if decl.kind in ("text", "bool") else ""
    return f"set it with `{command}`{flag}"


def _inputs_matching(op: dict, unset_inputs: Mapping[str, str]) -> list[str]:
    """Find unset inputs whose value is used as a whole inside op (such as `from: src`)."""
    found: list[str] = []

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            name = unset_inputs.get(fingerprint(value))
            if name:
                found.append(name)
                return
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    for key, value in op.items():
        if key != "do":
            visit(value)
    return sorted(set(found))


def _op_field_span(configuration: Configuration, component: str, index: int, field_path: str | None) -> Span | None:
    up = _up_node(configuration, tuple(component.split(".")))
    if up is None:
        return None
    return src.op_field_span(up, index, field_path)


_MISSING = object()


def _value_at(value: Any, path: tuple[str, ...]) -> Any:
    for label in path:
        if not isinstance(value, dict) or label not in value:
            return _MISSING
        value = value[label]
    return value


def _first_incomplete(value: Any) -> Incomplete | None:
    if isinstance(value, Incomplete):
        return value
    if isinstance(value, dict):
        items = value.values()
    elif isinstance(value, list):
        items = value
    else:
        items = ()
    for item in items:
        found = _first_incomplete(item)
        if found is not None:
            return found
    return None
