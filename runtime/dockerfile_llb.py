"""Translating a Dockerfile into LLB states of the same graph."""

from __future__ import annotations

import posixpath
from typing import Callable, Mapping

from archon.runtime import llb
from archon.runtime.dockerfile import Dockerfile, DockerfileError, Instruction, expand, parse_assignments, parse_dockerfile


class DockerBuildError(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def translate_docker_build(
    text: str,
    context: llb.State,
    *,
    build_args: Mapping[str, str],
    target: str | None,
    resolve_image: Callable[[str], object],
    meta: llb.OpMeta,
) -> llb.State:
    """Return the state of the target stage (the last one by default)."""
    try:
        dockerfile = parse_dockerfile(text)
        wanted = dockerfile.stage(target)
    except DockerfileError as problem:
        raise DockerBuildError(f"Dockerfile line {problem.line}: {problem.message}", problem.hint) from problem

    return _Translator(dockerfile, context, build_args, resolve_image, meta).stage_state(wanted.name or str(dockerfile.stages.index(wanted)))


class _Translator:
    def __init__(self, dockerfile: Dockerfile, context: llb.State, build_args, resolve_image, meta: llb.OpMeta):
        self.dockerfile = dockerfile
        self.context = context
        self.build_args = dict(build_args)
        self.resolve_image = resolve_image
        self.meta = meta
        self.states: dict[str, llb.State] = {}

    def stage_state(self, key: str) -> llb.State:
        if key in self.states:
            return self.states[key]
        for index, stage in enumerate(self.dockerfile.stages):
            if key in (stage.name, str(index)):
                state = self._build(index)
                self.states[key] = state
                return state
        raise DockerBuildError(f'stage "{key}" not found in the Dockerfile')

    def _build(self, index: int) -> llb.State:
        stage = self.dockerfile.stages[index]
        variables = {name: self.build_args.get(name, value or "") for name, value in self.dockerfile.global_args.items()}
        base = expand(stage.base, variables)
        state = self._base_state(base, index)

        for instruction in stage.instructions:
            state, variables = self._apply(state, instruction, variables)
            if state.needs_flatten:
                state = state.flatten(meta=self._meta(instruction, "flatten"))
        return state

    def _base_state(self, base: str, index: int) -> llb.State:
        for earlier in range(index):
            if self.dockerfile.stages[earlier].name == base:
                return self.stage_state(base)
        if base == "scratch":
            return llb.State.scratch()
        resolved = self.resolve_image(base)
        return llb.State.image(base, config=resolved.config, layers=resolved.layers, meta=self.meta)

    def _apply(self, state: llb.State, instruction: Instruction, variables: dict[str, str]):
        keyword = instruction.keyword
        meta = self._meta(instruction, keyword)
        environment = {**variables, **dict(entry.split("=", 1) for entry in state.env if "=" in entry)}

        if keyword == "RUN":
            args = instruction.words() if instruction.is_exec_form() else ["/bin/sh", "-c", instruction.arguments]
            build_env = {name: value for name, value in variables.items() if name in self.build_args or value}
            return state.run(args, env=build_env, meta=meta).root(), variables
        if keyword in ("COPY", "ADD"):
            return self._copy(state, instruction, environment, meta), variables
        if keyword == "ENV":
            for key, value in parse_assignments(instruction.arguments).items():
                state = state.with_env(key, expand(value, environment), meta=meta)
            return state, variables
        if keyword == "WORKDIR":
            path = posixpath.join(state.cwd, expand(instruction.arguments.strip(), environment))
            return state.file(llb.mkdir(path, 0o755, parents=True), meta=meta).with_cwd(path, meta=meta), variables
        if keyword == "USER":
            return state.with_user(expand(instruction.arguments.strip(), environment)), variables
        if keyword == "ARG":
            name, _, default = instruction.arguments.strip().partition("=")
            variables = {**variables, name: self.build_args.get(name, default.strip('"'))}
            return state, variables
        # LABEL, ENTRYPOINT, CMD and the other metadata instructions change no file system.
        # NOTE: they are not carried into the image config of save-image outputs.
        return state, variables

    def _copy(self, state: llb.State, instruction: Instruction, environment: dict[str, str], meta: llb.OpMeta) -> llb.State:
        words = [expand(word, environment) for word in instruction.words()]
        if len(words) < 2:
            raise DockerBuildError(f"Dockerfile line {instruction.line}: {instruction.keyword} needs a source and a destination")
        *sources, dest = words
        origin = self.context
        if "from" in instruction.flags:
            origin = self.stage_state(instruction.flags["from"])
        if not dest.startswith("/"):
            dest = posixpath.join(state.cwd, dest)
        if len(sources) > 1 and not dest.endswith("/"):
            dest += "/"

        actions = []
        for source in sources:
            if source.startswith(("http://", "https://")):
                raise DockerBuildError(f"Dockerfile line {instruction.line}: ADD from a URL is not supported", "download with a fetch-http op and copy from it")
            wildcard = any(character in source for character in "*?[")
            actions.append(
                llb.copy(
                    origin,
                    source,
                    dest,
                    follow_symlinks=True,
                    dir_copy_contents=True,
                    create_dest_path=True,
                    allow_wildcard=wildcard,
                    attempt_unpack=instruction.keyword == "ADD",
                )
            )
        return state.file(*actions, meta=meta)

    def _meta(self, instruction: Instruction, label: str) -> llb.OpMeta:
        return llb.OpMeta(
            name=f"{self.meta.name or 'docker-build'}: {label} (line {instruction.line})",
            annotations=dict(self.meta.annotations),
            span=self.meta.span,
        )
