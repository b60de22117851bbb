"""Input values of an environment and their rendering as CUE.

An input fills a field of the plan that has an `@input()` attribute. Kinds:

| kind   | stored                                   | rendered in the overlay                          |
|--------|------------------------------------------|--------------------------------------------------|
| text   | the string                               | a CUE string                                     |
| json   | the source text, validated               | the value as CUE                                 |
| yaml   | the source text, validated               | the value as CUE                                 |
| bool   | true or false                            | `true` / `false`                                 |
| file   | the file's content, read when set        | a CUE string                                     |
| dir    | a path inside the workspace              | `{$up: [{do: "local", dir: "/abs/path"}]}`       |
| git    | remote, ref, optional subdir             | `{$up: [{do: "fetch-git", ...}]}`                |
| secret | the age ciphertext                       | `{secret: "<name>"}`: the id, never the value    |

`input_overlay` renders the set inputs as one CUE file for the plan's
package; the runtime evaluates it together with the plan.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from archon.engine.secrets import AgeKeyring, SealedSecret, SecretStore
from archon.engine.workspace import Environment, StateError, StoredInput

INPUT_KINDS = ("text", "json", "yaml", "file", "dir", "git", "secret", "bool")

# A CUE identifier. Other labels are written quoted.
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
# Input names are field paths such as `source` or `stages.build.token`.
_INPUT_SEGMENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")
_CUE_KEYWORDS = frozenset({"package", "import", "for", "in", "if", "let", "true", "false", "null", "_", "__"})

_DISPLAY_WIDTH = 60


class InputError(StateError):
    pass


@dataclass(frozen=True)
class DeclaredInput:
    """An `@input()` field of the plan, as the runtime reports it.

    `type` is the field's CUE type as text (`string`, `op.#Dir`); `optional`
    means the field has a default, so leaving it unset is fine.
    """

    name: str
    type: str = ""
    doc: str = ""
    optional: bool = False


@dataclass(frozen=True)
class InputStatus:
    """One row of `dagger input list`.

    `state` is `set`, `missing` (declared, required, not set), `optional`
    (declared with a default, not set) or `undeclared` (set, but the plan
    has no such input). `value` is display text; for secrets it is `***`.
    """

    name: str
    state: str
    kind: str | None
    value: str
    type: str = ""
    doc: str = ""


def validate_input_name(name: str) -> str:
    """Return `name` if it is a field path (`token`, `stages.build.src`), else raise InputError."""
    segments = name.split(".")
    if all(_INPUT_SEGMENT.match(segment) for segment in segments):
        return name
    raise InputError(
        f"invalid input name {name!r}",
        "use the path of the @input() field: names separated by '.', each starting with a letter or '_'",
    )


# Constructors: each validates a value given by the user and returns what to store.


def text_input(value: str) -> StoredInput:
    return StoredInput("text", {"value": value})


def bool_input(value: str) -> StoredInput:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise InputError(f"invalid bool value {value!r}", "use true or false")
    return StoredInput("bool", {"value": lowered == "true"})


def json_input(text: str, name: str = "value") -> StoredInput:
    _parse_json(text, name)
    return StoredInput("json", {"source": text})


def yaml_input(text: str, name: str = "value") -> StoredInput:
    _parse_yaml(text, name)
    return StoredInput("yaml", {"source": text})


def file_input(path: Path) -> StoredInput:
    """Read the text file at `path` now; later changes to the file need another `dagger input file`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"file {path} not found", "pass the path of a readable text file")
    try:
        content = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as problem:
        raise InputError(
            f"file {path} is not UTF-8 text (invalid byte at offset {problem.start})",
            "a file input is a string; pass binary data as a dir input",
        ) from None
    return StoredInput("file", {"content": content, "source": str(path.resolve())})


def dir_input(
    path: Path,
    workspace_root: Path,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    force: bool = False,
) -> StoredInput:
    """Store a local directory; outside the workspace only with `force`.

    A directory inside the workspace is stored relative to the root, so the
    workspace can move; a forced outside directory is stored absolute.
    """
    absolute = Path(path).resolve()
    if not absolute.is_dir():
        raise InputError(f"directory {path} not found", "pass an existing directory")

    root = Path(workspace_root).resolve()
    try:
        stored_path = absolute.relative_to(root).as_posix() or "."
    except ValueError:
        if not force:
            raise InputError(
                f"directory {absolute} is outside the workspace {root}",
                "pass --force to send a directory from outside the workspace to BuildKit",
            ) from None
        stored_path = str(absolute)

    data: dict[str, Any] = {"path": stored_path}
    if include := list(include):
        data["include"] = include
    if exclude := list(exclude):
        data["exclude"] = exclude
    return StoredInput("dir", data)


def git_input(remote: str, ref: str = "HEAD", subdir: str | None = None, keep_git_dir: bool = False) -> StoredInput:
    if not remote or any(character.isspace() for character in remote):
        raise InputError(f"invalid git remote {remote!r}", "pass a URL such as https://host/owner/repo.git")
    if not ref or any(character.isspace() for character in ref):
        raise InputError(f"invalid git ref {ref!r}", "pass a branch, tag or commit")

    data: dict[str, Any] = {"remote": remote, "ref": ref}
    if subdir:
        if subdir.startswith("/") or ".." in subdir.split("/"):
            raise InputError(f"invalid subdirectory {subdir!r}", "pass a path relative to the repository root, without '..'")
        data["subdir"] = subdir.strip("/")
    if keep_git_dir:
        data["keepGitDir"] = True
    return StoredInput("git", data)


def secret_input(value: str, store: SecretStore | None = None) -> StoredInput:
    if not value:
        raise InputError("the secret value is empty", "pass a non-empty value on standard input or at the prompt")
    sealed = (store or AgeKeyring()).encrypt(value)
    return StoredInput("secret", {"ciphertext": sealed.ciphertext, "recipient": sealed.recipient})


# Changing an environment's inputs.


def set_input(environment: Environment, name: str, stored: StoredInput) -> None:
    if stored.kind not in INPUT_KINDS:
        raise InputError(f"unknown input kind {stored.kind!r}", "use one of: " + ", ".join(INPUT_KINDS))
    environment.inputs[validate_input_name(name)] = stored


def unset_input(environment: Environment, name: str) -> None:
    if name not in environment.inputs:
        known = ", ".join(sorted(environment.inputs)) or "none"
        raise InputError(
            f"input {name!r} is not set in environment {environment.name!r}",
            f"inputs set: {known}",
        )
    del environment.inputs[name]


def list_inputs(environment: Environment, declared: Iterable[DeclaredInput] | None = None) -> list[InputStatus]:
    """Return the stored inputs; with `declared`, also the plan's inputs that are not set.

    Declared inputs come first, in the order given, then inputs set for
    names the plan does not declare.
    """
    if declared is None:
        return [
            InputStatus(name, "set", stored.kind, describe_value(stored))
            for name, stored in sorted(environment.inputs.items())
        ]

    rows = []
    declared_names = set()
    for item in declared:
        declared_names.add(item.name)
        stored = environment.inputs.get(item.name)
        if stored is not None:
            rows.append(InputStatus(item.name, "set", stored.kind, describe_value(stored), item.type, item.doc))
        else:
            state = "optional" if item.optional else "missing"
            rows.append(InputStatus(item.name, state, None, "", item.type, item.doc))

    for name, stored in sorted(environment.inputs.items()):
        if name not in declared_names:
            rows.append(InputStatus(name, "undeclared", stored.kind, describe_value(stored)))
    return rows


def describe_value(stored: StoredInput) -> str:
    """Return a one-line display text of a stored value; a secret is `***` and is never decrypted."""
    data = stored.data
    match stored.kind:
        case "secret":
            return "***"
        case "text":
            return _shorten(json.dumps(data["value"], ensure_ascii=False))
        case "bool":
            return "true" if data["value"] else "false"
        case "json" | "yaml":
            return _shorten(json.dumps(_decode(stored, "input"), ensure_ascii=False, default=str))
        case "file":
            return f"{len(data['content'].encode('utf-8'))} bytes from {data['source']}"
        case "dir":
            text = data["path"]
            if data.get("include"):
                text += " include=" + ",".join(data["include"])
            if data.get("exclude"):
                text += " exclude=" + ",".join(data["exclude"])
            return text
        case "git":
            text = f"{data['remote']}#{data['ref']}"
            return text + (f":{data['subdir']}" if data.get("subdir") else "")
    return f"<{stored.kind}>"


def _shorten(text: str) -> str:
    return text if len(text) <= _DISPLAY_WIDTH else text[: _DISPLAY_WIDTH - 1] + "…"


# Parsing JSON and YAML.


def _parse_json(text: str, name: str) -> Any:
    def reject_constant(constant: str) -> None:
        raise InputError(f"invalid JSON for input {name}: {constant} is not a JSON number", "write a finite number")

    try:
        return json.loads(text, parse_constant=reject_constant)
    except json.JSONDecodeError as problem:
        raise InputError(
            f"invalid JSON for input {name} at {problem.lineno}:{problem.colno}: {problem.msg}",
            "fix the value, or read it from a file with --file PATH",
        ) from None


def _parse_yaml(text: str, name: str) -> Any:
    # Imported here: only YAML inputs need it, and it is slow to import.
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark or problem.context_mark
        where = f" at {mark.line + 1}:{mark.column + 1}" if mark else ""
        raise InputError(
            f"invalid YAML for input {name}{where}: {problem.problem or problem.context}",
            "fix the value, or read it from a file with --file PATH",
        ) from None
    except yaml.YAMLError as problem:
        raise InputError(f"invalid YAML for input {name}: {problem}", "fix the value") from None
    return _plain_yaml_value(value, name)


def _plain_yaml_value(value: Any, name: str) -> Any:
    """Convert YAML scalars that JSON lacks: timestamps become ISO 8601 strings, map keys become strings."""
    if isinstance(value, dict):
        return {_yaml_key(key): _plain_yaml_value(item, name) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_yaml_value(item, name) for item in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        raise InputError(f"YAML input {name} contains binary data (!!binary)", "use a file or dir input for binary data")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"YAML input {name} contains {value}, which CUE cannot represent", "write a finite number")
    return value


def _yaml_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def _decode(stored: StoredInput, name: str) -> Any:
    if stored.kind == "json":
        return _parse_json(stored.data["source"], name)
    return _parse_yaml(stored.data["source"], name)


# Rendering as CUE.


def cue_string(value: str) -> str:
    """Return a CUE string literal; JSON's escapes are a subset of CUE's, and `\\(` stays escaped."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("the value contains a lone surrogate code point, which UTF-8 cannot encode",
                         "fix the value's \\u escapes") from None
    return json.dumps(value, ensure_ascii=False)


def cue_label(label: str) -> str:
    if _IDENTIFIER.match(label) and label not in _CUE_KEYWORDS:
        return label
    return cue_string(label)


def cue_literal(value: Any) -> str:
    """Render a JSON-like Python value as a CUE expression."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{value} cannot be written in CUE", "write a finite number")
        return repr(value)
    if isinstance(value, str):
        return cue_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(cue_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        fields = (f"{cue_string(str(key))}: {cue_literal(item)}" for key, item in value.items())
        return "{" + ", ".join(fields) + "}"
    raise InputError(f"a value of type {type(value).__name__} cannot be written in CUE", "use JSON values only")


def secret_id(name: str) -> str:
    """Return the id under which the session serves input `name`'s secret to BuildKit."""
    return name


def _render(environment: Environment, name: str, stored: StoredInput) -> str:
    data = stored.data
    match stored.kind:
        case "text":
            return cue_string(data["value"])
        case "bool":
            return "true" if data["value"] else "false"
        case "json" | "yaml":
            return cue_literal(_decode(stored, name))
        case "file":
            return cue_string(data["content"])
        case "dir":
            return _render_component([_local_op(environment, name, data)])
        case "git":
            return _render_component(_git_ops(data))
        case "secret":
            return "{secret: " + cue_string(secret_id(name)) + "}"
    raise InputError(f"input {name} has unknown kind {stored.kind!r}", "set it again with `dagger input`")


def _render_component(ops: list[dict[str, Any]]) -> str:
    return "{$up: " + cue_literal(ops) + "}"


def _local_op(environment: Environment, name: str, data: dict[str, Any]) -> dict[str, Any]:
    path = Path(data["path"])
    absolute = path if path.is_absolute() else (environment.root / path).resolve()
    if not absolute.is_dir():
        raise InputError(
            f"directory {absolute} of input {name} not found",
            f"create it, or point the input elsewhere with `dagger input dir {name} PATH`",
        )

    op: dict[str, Any] = {"do": "local", "dir": str(absolute)}
    if data.get("include"):
        op["include"] = data["include"]
    if data.get("exclude"):
        op["exclude"] = data["exclude"]
    return op


def _git_ops(data: dict[str, Any]) -> list[dict[str, Any]]:
    fetch: dict[str, Any] = {"do": "fetch-git", "remote": data["remote"], "ref": data["ref"]}
    if data.get("keepGitDir"):
        fetch["keepGitDir"] = True
    ops = [fetch]
    if data.get("subdir"):
        ops.append({"do": "subdir", "dir": "/" + data["subdir"]})
    return ops


def input_overlay(environment: Environment, package: str, names: Collection[str] | None = None) -> str:
    """Render the environment's inputs as a CUE file of package `package`.

    With `names`, only those inputs are rendered (for example the inputs the
    plan declares). Secrets render as their id only.
    """
    if not _IDENTIFIER.match(package):
        raise InputError(f"invalid CUE package name {package!r}", "pass the name from the plan's package clause")

    lines = [f"// Inputs of environment {environment.name}, written by Archon for this evaluation only.", ""]
    lines.append(f"package {package}")
    lines.append("")
    for name, stored in sorted(environment.inputs.items()):
        if names is not None and name not in names:
            continue
        path = ": ".join(cue_label(segment) for segment in name.split("."))
        lines.append(f"{path}: {_render(environment, name, stored)}")
    return "\n".join(lines) + "\n"


def secret_values(environment: Environment, store: SecretStore | None = None) -> dict[str, str]:
    """Decrypt the environment's secret inputs, keyed by secret id, for the run's session."""
    store = store or AgeKeyring()
    values = {}
    for name, stored in sorted(environment.inputs.items()):
        if stored.kind != "secret":
            continue
        sealed = SealedSecret(stored.data["ciphertext"], stored.data.get("recipient", ""))
        try:
            values[secret_id(name)] = store.decrypt(sealed)
        except StateError as problem:
            raise InputError(f"secret input {name}: {problem.message}", problem.hint) from None
    return values


def inputs_digest(environment: Environment) -> str:
    """Return a sha256 digest of the stored inputs, for the run history.

    Secrets count by their ciphertext, which changes on every `dagger input
    secret`; a hash of the plain text could be brute-forced, so it is never used.
    """
    canonical = json.dumps(
        {name: stored.to_json() for name, stored in environment.inputs.items()},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
