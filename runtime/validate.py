"""Op-spec checks done in Python.

The CUE op spec stays cheap to evaluate; the checks that would need wide
disjunctions per op in CUE live here: the op name, each field's type,
unknown fields, empty args, mount kinds, duplicate mount targets and paths
that escape their root. Every check reports a `Problem` naming the value,
and all problems of a configuration are collected, never only the first.
"""

from __future__ import annotations

import difflib
import posixpath
from dataclasses import dataclass
from typing import Any, Callable

from archon.runtime.values import Incomplete, is_component

# Field types of the op spec.
STRING = "string"
BOOL = "bool"
INT = "int"
COMPONENT = "component"
STRINGS = "list of strings"
STRING_MAP = "map of strings"
CONTENT = "string or bytes"
MOUNTS = "map of mounts"
ANY = "any value"


@dataclass(frozen=True)
class FieldSpec:
    type: str
    required: bool = False
    path: bool = False  # a path inside a file system, which must not escape its root


@dataclass(frozen=True)
class OpSpec:
    name: str
    fields: dict[str, FieldSpec]


def _op(name: str, **fields: FieldSpec) -> OpSpec:
    return OpSpec(name, {"do": FieldSpec(STRING, required=True), **fields})


OPS: dict[str, OpSpec] = {
    spec.name: spec
    for spec in (
        _op("fetch-container", ref=FieldSpec(STRING, required=True)),
        _op("fetch-git", remote=FieldSpec(STRING, required=True), ref=FieldSpec(STRING), keepGitDir=FieldSpec(BOOL)),
        _op("fetch-http", url=FieldSpec(STRING, required=True), checksum=FieldSpec(STRING), filename=FieldSpec(STRING), mode=FieldSpec(INT)),
        _op("local", dir=FieldSpec(STRING, required=True), include=FieldSpec(STRINGS), exclude=FieldSpec(STRINGS)),
        _op("load", **{"from": FieldSpec(COMPONENT, required=True)}),
        _op("copy", src=FieldSpec(STRING, path=True), dest=FieldSpec(STRING, path=True), **{"from": FieldSpec(COMPONENT, required=True)}),
        _op(
            "exec",
            args=FieldSpec(STRINGS, required=True),
            env=FieldSpec(STRING_MAP),
            dir=FieldSpec(STRING, path=True),
            user=FieldSpec(STRING),
            always=FieldSpec(BOOL),
            hosts=FieldSpec(STRING_MAP),
            network=FieldSpec(STRING),
            mount=FieldSpec(MOUNTS),
        ),
        _op("subdir", dir=FieldSpec(STRING, required=True, path=True)),
        _op("workdir", path=FieldSpec(STRING, required=True, path=True)),
        _op("write-file", dest=FieldSpec(STRING, required=True, path=True), content=FieldSpec(CONTENT, required=True), mode=FieldSpec(INT)),
        _op("mkdir", path=FieldSpec(STRING, required=True, path=True), mode=FieldSpec(INT), parents=FieldSpec(BOOL)),
        _op("export", source=FieldSpec(STRING, required=True, path=True), format=FieldSpec(STRING)),
        _op("push-container", ref=FieldSpec(STRING, required=True)),
        _op("save-image", tag=FieldSpec(STRING, required=True)),
        _op(
            "docker-build",
            context=FieldSpec(COMPONENT),
            dockerfile=FieldSpec(STRING),
            dockerfilePath=FieldSpec(STRING, path=True),
            buildArg=FieldSpec(STRING_MAP),
            target=FieldSpec(STRING),
        ),
    )
}

EXPORT_FORMATS = ("string", "json", "yaml")
CACHE_SHARING = ("shared", "private", "locked")
NETWORK_MODES = ("sandbox", "none", "host")
MOUNT_KINDS = ("tmpfs", "cache")


@dataclass(frozen=True)
class Problem:
    """A problem in one op. `field` is the dotted path of the offending field inside the op."""

    message: str
    field: str | None = None
    hint: str | None = None
    code: str = "invalid-op"


@dataclass(frozen=True)
class PendingValue:
    """A field that stays incomplete until an input is set."""

    field: str
    value: Incomplete


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def escapes_root(path: str) -> bool:
    """Tell whether a path climbs above its root through `..`."""
    depth = 0
    for part in path.split("/"):
        if part in ("", "."):
            continue
        depth = depth - 1 if part == ".." else depth + 1
        if depth < 0:
            return True
    return False


def normalize_target(path: str) -> str:
    return posixpath.normpath("/" + path.lstrip("/"))


def validate_op(op: Any, pending: Callable[[PendingValue], None], memo: dict[int, bool] | None = None) -> list[Problem]:
    """Check one op against the spec; incomplete values go to `pending`.

    memo caches, by object id, whether a referenced component holds an
    incomplete value; pass one dict for all ops of a configuration.
    """
    memo = {} if memo is None else memo
    if isinstance(op, Incomplete):
        pending(PendingValue("", op))
        return []
    if not isinstance(op, dict):
        return [Problem(f"an op must be a struct with a `do` field, not {_describe(op)}", hint='write it as {do: "exec", args: [...]}')]

    name = op.get("do")
    if name is None:
        if "op" in op:
            return [Problem("unknown field `op` in an op, did you mean `do`?", field="op", hint=f'write do: "{op["op"]}"', code="unknown-op")]
        return [Problem("op without a `do` field", hint=f'add do: with one of {", ".join(OPS)}', code="unknown-op")]
    if isinstance(name, Incomplete):
        pending(PendingValue("do", name))
        return []
    if not isinstance(name, str) or name not in OPS:
        close = suggest(str(name), list(OPS))
        hint = f'did you mean "{close}"?' if close else f"use one of {', '.join(OPS)}"
        return [Problem(f'unknown op "{name}"', field="do", hint=hint, code="unknown-op")]

    spec = OPS[name]
    problems: list[Problem] = []
    for field_name, field_spec in spec.fields.items():
        if field_spec.required and field_name not in op:
            problems.append(Problem(f'op "{name}" is missing its required field `{field_name}`', hint=f"add {field_name}: <{field_spec.type}>", code="missing-field"))

    for field_name, value in op.items():
        if field_name.startswith("#") or field_name.startswith("_"):
            continue
        field_spec = spec.fields.get(field_name)
        if field_spec is None:
            close = suggest(field_name, list(spec.fields))
            hint = f"did you mean `{close}`?" if close else f"fields of {name}: {', '.join(f for f in spec.fields if f != 'do')}"
            problems.append(Problem(f'unknown field `{field_name}` in op "{name}"', field=field_name, hint=hint, code="unknown-field"))
            continue
        problems.extend(_check_field(name, field_name, field_spec, value, pending, memo))

    problems.extend(_check_op_rules(name, op, pending))
    return problems


def _check_field(op_name: str, field_name: str, spec: FieldSpec, value: Any, pending: Callable[[PendingValue], None], memo: dict[int, bool]) -> list[Problem]:
    incomplete = _first_incomplete(value)
    # Maps report their incomplete entries one by one in _check_op_rules.
    if incomplete is not None and spec.type not in (COMPONENT, MOUNTS, STRING_MAP):
        pending(PendingValue(field_name, incomplete))
        return []
    if spec.type == COMPONENT and is_component(value) and holds_incomplete(value, memo):
        pending(PendingValue(field_name, Incomplete("an incomplete component", None)))
        return []

    if not _has_type(spec.type, value, pending, field_name):
        return [Problem(f'field `{field_name}` of op "{op_name}" must be a {spec.type}, not {_describe(value)}', field=field_name, code="invalid-type")]

    if spec.path and isinstance(value, str) and escapes_root(value):
        return [Problem(f'path "{value}" in `{field_name}` escapes its root through ".."', field=field_name, hint="remove the leading .. parts", code="path-escapes")]
    return []


def _has_type(type_name: str, value: Any, pending: Callable[[PendingValue], None], field_name: str) -> bool:
    if type_name == STRING:
        return isinstance(value, str)
    if type_name == BOOL:
        return isinstance(value, bool)
    if type_name == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == CONTENT:
        return isinstance(value, (str, bytes))
    if type_name == STRINGS:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if type_name in (STRING_MAP, MOUNTS):
        return isinstance(value, dict) and (type_name == MOUNTS or all(isinstance(item, (str, Incomplete)) for item in value.values()))
    if type_name == COMPONENT:
        if isinstance(value, Incomplete):
            pending(PendingValue(field_name, value))
            return True
        return is_component(value)
    return True


def _check_op_rules(name: str, op: dict, pending: Callable[[PendingValue], None]) -> list[Problem]:
    problems: list[Problem] = []
    if name == "exec":
        args = op.get("args")
        if isinstance(args, list) and not args:
            problems.append(Problem("exec has an empty args list", field="args", hint='give the command to run, such as args: ["sh", "-c", "make"]', code="empty-args"))
        if isinstance(op.get("mount"), dict):
            problems.extend(_check_mounts(op["mount"], pending))
        network = op.get("network")
        if isinstance(network, str) and network not in NETWORK_MODES:
            close = suggest(network, NETWORK_MODES)
            hint = f'did you mean "{close}"?' if close else f"use one of {', '.join(NETWORK_MODES)}"
            problems.append(Problem(f'unknown exec network "{network}"', field="network", hint=hint, code="invalid-value"))
        for field_name in ("env", "hosts"):
            if isinstance(op.get(field_name), dict):
                for key, value in op[field_name].items():
                    if isinstance(value, Incomplete):
                        pending(PendingValue(f"{field_name}.{key}", value))
    elif name == "export" and isinstance(op.get("format"), str) and op["format"] not in EXPORT_FORMATS:
        problems.append(Problem(f'unknown export format "{op["format"]}"', field="format", hint=f"use one of {', '.join(EXPORT_FORMATS)}", code="invalid-value"))
    elif name == "docker-build" and "dockerfile" not in op and "dockerfilePath" not in op and "context" not in op:
        problems.append(Problem("docker-build needs a `dockerfile` text or a `context` holding a Dockerfile", hint='add dockerfile: """FROM ...""" or context: <component>', code="missing-field"))
    elif name == "workdir" and isinstance(op.get("path"), str) and not op["path"].startswith("/"):
        problems.append(Problem(f'workdir path "{op["path"]}" must be absolute', field="path", hint=f'write "/{op["path"]}"', code="invalid-value"))
    return problems


def _check_mounts(mounts: dict, pending: Callable[[PendingValue], None]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for target, mount in mounts.items():
        where = f"mount.{target}"
        normalized = normalize_target(target)
        if escapes_root(target.lstrip("/")):
            problems.append(Problem(f'mount target "{target}" escapes the root through ".."', field=where, code="path-escapes"))
        if normalized == "/":
            problems.append(Problem('a mount cannot replace the root "/"', field=where, hint="mount on a folder such as /src", code="invalid-mount"))
        if normalized in seen:
            problems.append(Problem(f'two mounts on one target: "{seen[normalized]}" and "{target}" are both {normalized}', field=where, hint="keep one of them", code="duplicate-mount"))
        seen.setdefault(normalized, target)
        problems.extend(_check_mount(where, mount, pending))
    return problems


def _check_mount(where: str, mount: Any, pending: Callable[[PendingValue], None]) -> list[Problem]:
    if isinstance(mount, Incomplete):
        pending(PendingValue(where, mount))
        return []
    if isinstance(mount, str):
        if mount in MOUNT_KINDS:
            return []
        close = suggest(mount, MOUNT_KINDS)
        return [Problem(f'unknown mount "{mount}"', field=where, hint=f'did you mean "{close}"?' if close else 'use "tmpfs", "cache", {from: component}, {secret: input} or {socket: id}', code="invalid-mount")]
    if not isinstance(mount, dict):
        return [Problem(f"a mount must be a string or a struct, not {_describe(mount)}", field=where, code="invalid-mount")]

    if "from" in mount:
        source = mount["from"]
        if isinstance(source, Incomplete) or (isinstance(source, (dict, list)) and holds_incomplete(source, {})):
            pending(PendingValue(where + ".from", source if isinstance(source, Incomplete) else Incomplete("an incomplete component", None)))
            return []
        if not is_component(source):
            return [Problem(f"mount `from` must refer to a component (a struct with $up), not {_describe(source)}", field=where + ".from", code="not-a-component")]
        path = mount.get("path", "/")
        if isinstance(path, str) and escapes_root(path):
            return [Problem(f'mount path "{path}" escapes its component\'s root through ".."', field=where + ".path", code="path-escapes")]
        return []
    if "secret" in mount:
        secret = mount["secret"]
        if isinstance(secret, dict) and "secret" in secret:
            if isinstance(secret["secret"], Incomplete):
                pending(PendingValue(where + ".secret", secret["secret"]))
            return []
        if isinstance(secret, Incomplete):
            pending(PendingValue(where + ".secret", secret))
            return []
        return [Problem("a secret mount needs a secret input: {secret: token} where token is op.#Secret", field=where + ".secret", code="invalid-mount")]
    if "socket" in mount:
        return [] if isinstance(mount["socket"], str) else [Problem("a socket mount needs an id string", field=where + ".socket", code="invalid-mount")]

    kind = mount.get("type")
    if kind == "cache":
        sharing = mount.get("sharing", "shared")
        if sharing not in CACHE_SHARING:
            return [Problem(f'unknown cache sharing mode "{sharing}"', field=where + ".sharing", hint=f"use one of {', '.join(CACHE_SHARING)}", code="invalid-mount")]
        return []
    if kind == "tmpfs":
        size = mount.get("size")
        if size is not None and (not isinstance(size, int) or size <= 0):
            return [Problem(f"tmpfs size must be a positive number of bytes, not {size!r}", field=where + ".size", code="invalid-mount")]
        return []
    return [Problem(f"unknown mount {_describe(mount)}", field=where, hint='use "tmpfs", "cache", {type: "cache", sharing: ...}, {from: component}, {secret: input} or {socket: id}', code="invalid-mount")]


def holds_incomplete(value: Any, memo: dict[int, bool]) -> bool:
    """Tell whether value holds an incomplete value anywhere, components included."""
    if isinstance(value, Incomplete):
        return True
    if not isinstance(value, (dict, list)):
        return False
    key = id(value)
    if key not in memo:
        items = value.values() if isinstance(value, dict) else value
        memo[key] = any(holds_incomplete(item, memo) for item in items)
    return memo[key]


def _first_incomplete(value: Any) -> Incomplete | None:
    if isinstance(value, Incomplete):
        return value
    if isinstance(value, list):
        for item in value:
            found = _first_incomplete(item)
            if found is not None:
                return found
    if isinstance(value, dict) and not is_component(value):
        for item in value.values():
            found = _first_incomplete(item)
            if found is not None:
                return found
    return None


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a component" if is_component(value) else "a struct without $up"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the bool {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f'the string "{value}"'
    if isinstance(value, Incomplete):
        return f"the incomplete value {value.text}"
    return type(value).__name__
