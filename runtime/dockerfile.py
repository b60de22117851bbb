"""Reading Dockerfiles for the `docker-build` op.

A Dockerfile is translated into ops of the same graph instead of being
handed to a separate build, so one definition still covers the whole
configuration. This module parses the text into stages of instructions;
the compiler turns them into LLB.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

SUPPORTED = ("FROM", "RUN", "COPY", "ADD", "ENV", "WORKDIR", "USER", "ARG", "LABEL", "ENTRYPOINT", "CMD")

# Instructions that only describe the image and change no file system.
METADATA_ONLY = ("LABEL", "ENTRYPOINT", "CMD", "EXPOSE", "STOPSIGNAL", "VOLUME", "HEALTHCHECK", "SHELL", "ONBUILD", "MAINTAINER")


class DockerfileError(Exception):
    """A Dockerfile that cannot be translated; `line` is 1-based."""

    def __init__(self, message: str, line: int, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.hint = hint


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int
    flags: dict[str, str] = field(default_factory=dict)

    def words(self) -> list[str]:
        """The arguments in JSON (exec) form when written so, else split like a shell."""
        text = self.arguments.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
                return parsed
        return shlex.split(text)

    def is_exec_form(self) -> bool:
        text = self.arguments.strip()
        if not text.startswith("["):
            return False
        try:
            return isinstance(json.loads(text), list)
        except json.JSONDecodeError:
            return False


@dataclass
class Stage:
    base: str
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)


@dataclass
class Dockerfile:
    global_args: dict[str, str | None]
    stages: list[Stage]

    def stage(self, target: str | None) -> Stage:
        if target is None:
            return self.stages[-1]
        for stage in self.stages:
            if stage.name == target:
                return stage
        names = ", ".join(stage.name for stage in self.stages if stage.name) or "none"
        raise DockerfileError(f'target stage "{target}" not found', self.stages[0].line, hint=f"named stages: {names}")


_FLAG = re.compile(r"^--([a-z-]+)(?:=(\S*))?\s*")


def parse_dockerfile(text: str) -> Dockerfile:
    """Parse Dockerfile text; raise DockerfileError on the first unsupported instruction."""
    global_args: dict[str, str | None] = {}
    stages: list[Stage] = []

    for keyword, arguments, line in _logical_lines(text):
        flags: dict[str, str] = {}
        while True:
            match = _FLAG.match(arguments)
            if not match or keyword not in ("FROM", "COPY", "ADD", "RUN"):
                break
            flags[match.group(1)] = match.group(2) or "true"
            arguments = arguments[match.end():]
        instruction = Instruction(keyword, arguments, line, flags)

        if keyword == "FROM":
            stages.append(_parse_from(instruction))
            continue
        if keyword == "ARG" and not stages:
            name, value = _split_assignment(arguments)
            global_args[name] = value
            continue
        if not stages:
            raise DockerfileError(f"{keyword} before the first FROM", line, hint="start the Dockerfile with FROM <image>")
        if keyword not in SUPPORTED and keyword not in METADATA_ONLY:
            raise DockerfileError(
                f"the Dockerfile instruction {keyword} is not supported by docker-build",
                line,
                hint=f"supported instructions: {', '.join(SUPPORTED)}",
            )
        if keyword in ("RUN", "COPY", "ADD") and set(flags) - {"from", "chown", "chmod"}:
            unsupported = ", ".join(f"--{name}" for name in sorted(set(flags) - {"from", "chown", "chmod"}))
            raise DockerfileError(f"{keyword} flag {unsupported} is not supported by docker-build", line)
        stages[-1].instructions.append(instruction)

    if not stages:
        raise DockerfileError("the Dockerfile has no FROM instruction", 1, hint="start it with FROM <image>")
    return Dockerfile(global_args, stages)


def _parse_from(instruction: Instruction) -> Stage:
    words = instruction.arguments.split()
    if len(words) == 1:
        return Stage(words[0], None, instruction.line)
    if len(words) == 3 and words[1].upper() == "AS":
        return Stage(words[0], words[2], instruction.line)
    raise DockerfileError(f"invalid FROM: {instruction.arguments!r}", instruction.line, hint="write FROM <image> [AS <name>]")


def _split_assignment(text: str) -> tuple[str, str | None]:
    name, separator, value = text.strip().partition("=")
    return name.strip(), _unquote(value.strip()) if separator else None


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_assignments(arguments: str) -> dict[str, str]:
    """Read `ENV`/`LABEL` arguments: `K=V K2="V 2"` or the legacy `K V` form."""
    text = arguments.strip()
    words = shlex.split(text)
    if words and "=" not in words[0]:
        key, _, value = text.partition(" ")
        return {key: value.strip()}
    result = {}
    for word in words:
        key, _, value = word.partition("=")
        result[key] = value
    return result


def expand(text: str, variables: dict[str, str]) -> str:
    """Replace `$NAME`, `${NAME}` and `${NAME:-default}` as Dockerfiles do."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        default = match.group(3)
        value = variables.get(name)
        if value:
            return value
        return default if default is not None else ""

    return re.sub(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})", replace, text)


def _logical_lines(text: str):
    """Yield (KEYWORD, arguments, first line) with continuations joined and comments dropped."""
    escape = "\\"
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        directive = re.match(r"#\s*escape\s*=\s*(\S)", stripped)
        if directive and not pending and start == 0:
            escape = directive.group(1)
            continue
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith(escape):
            pending.append(stripped[: -len(escape)])
            continue
        pending.append(stripped)
        logical = " ".join(part.strip() for part in pending if part.strip())
        pending = []
        keyword, _, arguments = logical.partition(" ")
        yield keyword.upper(), arguments.strip(), start
    if pending:
        logical = " ".join(part.strip() for part in pending if part.strip())
        keyword, _, arguments = logical.partition(" ")
        yield keyword.upper(), arguments.strip(), start
