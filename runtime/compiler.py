"""Compiling a configuration into one LLB definition.

Every component becomes LLB states; a reference to another component
(`from: base`) becomes an edge of the same graph, never a separate run.
Components are compiled once per content (`fingerprint`), so identical
subgraphs become one vertex, and the builder's digests come from bytes, so
the same configuration always gives the same definition whatever the order
of fields in its files.

The definition's root is the output bundle described in `archon.runtime.plan`.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archon.runtime import llb
from archon.runtime.config import Configuration, ComponentInfo
from archon.runtime.diagnostics import ConfigError, Diagnostic, Span
from archon.runtime.dockerfile_llb import DockerBuildError, translate_docker_build
from archon.runtime.plan import (
    DIRECTORIES_DIR,
    EXPORTS_DIR,
    Component,
    DirectoryOutput,
    Edge,
    ExportOutput,
    ImageOutput,
    LocalSource,
    Plan,
    Vertex,
)
from archon.runtime.resolve import CachingResolver, ImageResolver, ResolvedImage, unresolved_image
from archon.runtime.validate import holds_incomplete
from archon.runtime.values import fingerprint, is_component, ops_of

# Ops that deliver an output and so must end their component.
FINAL_OPS = ("export", "push-container", "save-image")

# The entitlement a solve needs for an exec on the daemon's own network.
NETWORK_HOST_ENTITLEMENT = "network.host"

# A pattern the bundle copies from each component it only needs solved.
# No component has such files and the copy allows an empty match, so
# nothing is copied, but the daemon must still build the component.
FORCE_SOLVE_PATTERN = "/.archon-solve-only-*"


@dataclass
class CompiledComponent:
    state: llb.State
    path: str | None
    ops: int
    final_op: dict | None = None
    dependencies: set[str] = field(default_factory=set)
    # The folder of a component made of one `local` op, which is all a
    # docker-build context can be read from at compile time.
    local_directory: str | None = None


class Compiler:
    """Compiles one configuration; create a new one per compilation."""

    def __init__(self, configuration: Configuration, resolver: ImageResolver | None = None):
        self.configuration = configuration
        self.resolver = resolver if resolver is None or isinstance(resolver, CachingResolver) else CachingResolver(resolver)
        self.diagnostics: list[Diagnostic] = []
        self.local_sources: dict[str, LocalSource] = {}
        self.secrets: set[str] = set()
        self.entitlements: set[str] = set()
        self.edges: dict[tuple[str, str], Edge] = {}

        self._memo: dict[str, CompiledComponent] = {}
        self._fingerprints: dict[int, str] = {}
        self._incomplete: dict[int, bool] = {}
        self._in_progress: list[str] = []
        self._components_by_fingerprint: dict[str, ComponentInfo] = {}
        for info in configuration.components.values():
            if info.path in configuration.inputs:
                continue
            self._components_by_fingerprint.setdefault(self._fingerprint(info.value), info)

    # The whole configuration.

    def compile(self) -> Plan:
        components: dict[str, CompiledComponent] = {}
        for path in sorted(self.configuration.components):
            info = self.configuration.components[path]
            compiled = self.compile_value(info.value, info.span)
            if compiled is not None:
                components[path] = compiled

        if self.diagnostics:
            raise ConfigError(self.diagnostics)

        bundle, exports, directories = self._bundle(components)
        images = self._images(components)
        try:
            # Source locations name files and ranges without the files' text:
            # Archon maps the daemon's errors back to positions itself, and the
            # text would make every solve request carry the whole configuration.
            definition = llb.marshal(bundle, *[item.state for item in components.values()])
        except llb.LLBError as problem:
            raise ConfigError([self._diagnostic_from_problem(item) for item in problem.problems]) from problem

        return self._plan(definition, components, exports, directories, images)

    # One component.

    def compile_value(self, value: Any, span: Span | None) -> CompiledComponent | None:
        """Compile a component value, once per content.

        A value holding an incomplete part (an unset input, in validate
        mode) is left out silently: the loader already reported it.
        """
        key = self._fingerprint(value)
        if key in self._memo:
            return self._memo[key]
        if holds_incomplete(value, self._incomplete):
            return None

        info = self._components_by_fingerprint.get(key)
        path = info.path if info else None
        if key in self._in_progress:
            # CUE rejects structural cycles before this point; this guards
            # against a value that refers to itself through an input.
            self._error(f"cycle between components through {path or 'an inline component'}", span, "cycle")
            return None

        self._in_progress.append(key)
        try:
            compiled = self._compile_ops(value, info, span)
        finally:
            self._in_progress.pop()
        if compiled is not None:
            self._memo[key] = compiled
        return compiled

    def _compile_ops(self, value: dict, info: ComponentInfo | None, span: Span | None) -> CompiledComponent | None:
        ops = ops_of(value) or []
        path = info.path if info else None
        compiled = CompiledComponent(llb.State.scratch(), path, len(ops))
        failed = False

        for index, op in enumerate(ops):
            op_span = self._op_span(info, index) or span
            if not isinstance(op, dict):
                failed = True
                continue
            kind = op.get("do")
            if kind in FINAL_OPS and index != len(ops) - 1:
                self._error(f'{path or "component"}: {kind} must be the last op of its component', op_span, "final-op-not-last", hint="move the following ops into another component that loads this one")
                failed = True
                continue
            meta = llb.OpMeta(
                name=f"{path or 'inline'} #{index + 1} {kind}",
                ignore_cache=bool(op.get("always", False)) if kind == "exec" else False,
                annotations={"component": path, "op": index, "kind": kind},
                span=op_span,
            )
            try:
                state = self._compile_op(compiled, op, meta, op_span)
            except DockerBuildError as problem:
                self._error(f"{path or 'component'}: {problem.message}", op_span, "docker-build", problem.hint)
                failed = True
                continue
            if state is None:
                failed = True
                continue
            if state.needs_flatten:
                state = state.flatten(meta=llb.OpMeta(name=f"{path or 'inline'} flatten layers", annotations={"component": path, "kind": "flatten"}, span=op_span))
            compiled.state = state

        return None if failed else compiled

    def _compile_op(self, compiled: CompiledComponent, op: dict, meta: llb.OpMeta, span: Span | None) -> llb.State | None:
        state = compiled.state
        kind = op["do"]

        if kind == "fetch-container":
            resolved = self._resolve_image(op["ref"])
            return llb.State.image(op["ref"], config=resolved.config, layers=resolved.layers, meta=meta)
        if kind == "fetch-git":
            return llb.State.git(op["remote"], op.get("ref", "HEAD"), keep_git_dir=bool(op.get("keepGitDir", False)), meta=meta)
        if kind == "fetch-http":
            return llb.State.http(op["url"], checksum=op.get("checksum"), filename=op.get("filename"), chmod=op.get("mode"), meta=meta)
        if kind == "local":
            state, directory = self._local(op, meta)
            if compiled.ops == 1:
                compiled.local_directory = directory
            return state
        if kind == "load":
            source = self._reference(compiled, op["from"], span)
            return None if source is None else source.state
        if kind == "copy":
            return self._copy(compiled, op, meta, span)
        if kind == "exec":
            return self._exec(compiled, op, meta, span)
        if kind == "subdir":
            result = llb.State.scratch().file(
                llb.copy(state, op["dir"], "/", dir_copy_contents=True, follow_symlinks=True, create_dest_path=True),
                meta=meta,
            )
            # The exec defaults carry over; the working directory was inside the old root.
            for entry in state.env:
                key, _, value = entry.partition("=")
                result = result.with_env(key, value)
            return result.with_user(state.user)
        if kind == "workdir":
            return state.file(llb.mkdir(op["path"], 0o755, parents=True), meta=meta).with_cwd(op["path"], meta=meta)
        if kind == "write-file":
            return state.file(*self._parents(op["dest"]), llb.mkfile(op["dest"], op["content"], op.get("mode", 0o644)), meta=meta)
        if kind == "mkdir":
            return state.file(llb.mkdir(op["path"], op.get("mode", 0o755), parents=bool(op.get("parents", True))), meta=meta)
        if kind in FINAL_OPS:
            compiled.final_op = op
            return state
        if kind == "docker-build":
            return self._docker_build(compiled, op, meta, span)
        self._error(f'unknown op "{kind}"', span, "unknown-op")
        return None

    def _resolve_image(self, ref: str) -> ResolvedImage:
        if self.resolver is None:
            return unresolved_image()
        return self.resolver.resolve(ref) or unresolved_image()

    def _local(self, op: dict, meta: llb.OpMeta) -> tuple[llb.State, str]:
        directory = Path(self.configuration.package_dir, op["dir"]).resolve()
        if not directory.is_dir():
            # The daemon would only see a failed session transfer, reported
            # on whichever vertex it was building, so it is caught here.
            self._error(
                f'local directory "{op["dir"]}" ({directory}) does not exist or is not a directory',
                meta.span,
                "local-missing",
                hint="create it, or fix `dir` (relative to the configuration's folder)",
            )
        name = f"{directory.name or 'root'}-{hashlib.sha256(str(directory).encode()).hexdigest()[:12]}"
        include = tuple(op.get("include", ()))
        exclude = tuple(op.get("exclude", ()))
        self.local_sources[name] = LocalSource(name, str(directory), include, exclude)
        state = llb.State.local(name, include=include, exclude=exclude, shared_key=str(directory), meta=meta)
        return state, str(directory)

    def _reference(self, compiled: CompiledComponent, value: Any, span: Span | None) -> CompiledComponent | None:
        """Compile a referenced component and record the edge to it."""
        source = self.compile_value(value, span)
        if source is None:
            return None
        if source.path and compiled.path and source.path != compiled.path:
            compiled.dependencies.add(source.path)
            self.edges.setdefault((compiled.path, source.path), Edge(compiled.path, source.path, span))
        return source

    def _copy(self, compiled: CompiledComponent, op: dict, meta: llb.OpMeta, span: Span | None) -> llb.State | None:
        source = self._reference(compiled, op["from"], span)
        if source is None:
            return None
        return compiled.state.file(copy_action(source.state, op.get("src", "/"), op.get("dest", "/")), meta=meta)

    def _exec(self, compiled: CompiledComponent, op: dict, meta: llb.OpMeta, span: Span | None) -> llb.State | None:
        mounts = []
        for target, mount in sorted((op.get("mount") or {}).items()):
            built = self._mount(compiled, target, mount, span)
            if built is None:
                return None
            mounts.append(built)

        executed = compiled.state.run(
            op["args"],
            env=op.get("env") or {},
            cwd=op.get("dir"),
            user=op.get("user"),
            mounts=mounts,
            hosts=op.get("hosts") or {},
            network=op.get("network", "sandbox"),
            meta=meta,
        )
        if op.get("network") == "host":
            self.entitlements.add(NETWORK_HOST_ENTITLEMENT)
        return executed.root()

    def _mount(self, compiled: CompiledComponent, target: str, mount: Any, span: Span | None) -> llb.Mount | None:
        if mount == "tmpfs":
            return llb.TmpfsMount(target)
        if mount == "cache":
            return llb.CacheMount(target)
        if "from" in mount:
            source = self._reference(compiled, mount["from"], span)
            if source is None:
                return None
            return llb.BindMount(target, source.state, path=mount.get("path", "/"), readonly=True, output=False)
        if "secret" in mount:
            secret_id = mount["secret"]["secret"]
            self.secrets.add(secret_id)
            return llb.SecretMount(target, secret_id)
        if "socket" in mount:
            return llb.SSHMount(target, mount["socket"])
        if mount.get("type") == "cache":
            return llb.CacheMount(target, id=mount.get("id"), sharing=mount.get("sharing", "shared"))
        if mount.get("type") == "tmpfs":
            return llb.TmpfsMount(target, size=mount.get("size", 0))
        self._error(f"unknown mount at {target}", span, "invalid-mount")
        return None

    def _parents(self, path: str) -> list:
        parent = posixpath.dirname(posixpath.normpath("/" + path.lstrip("/")))
        return [] if parent == "/" else [llb.mkdir(parent, 0o755, parents=True)]

    def _docker_build(self, compiled: CompiledComponent, op: dict, meta: llb.OpMeta, span: Span | None) -> llb.State | None:
        context = None
        if "context" in op:
            context = self._reference(compiled, op["context"], span)
            if context is None:
                return None
        dockerfile = op.get("dockerfile")
        if dockerfile is None:
            dockerfile = self._read_dockerfile(op, context, span)
            if dockerfile is None:
                return None
        return translate_docker_build(
            dockerfile,
            context.state if context else llb.State.scratch(),
            build_args=op.get("buildArg") or {},
            target=op.get("target"),
            resolve_image=self._resolve_image,
            meta=meta,
        )

    def _read_dockerfile(self, op: dict, context: CompiledComponent | None, span: Span | None) -> str | None:
        """Read `dockerfilePath` from a context that is a local directory, the only kind readable at compile time."""
        relative = op.get("dockerfilePath", "Dockerfile")
        local = context.local_directory if context is not None else None
        if local is None:
            self._error(
                f'docker-build cannot read "{relative}" from a context that is not a local directory',
                span,
                "docker-build",
                hint="give the Dockerfile's text in `dockerfile`, or use a context made by a single local op",
            )
            return None
        path = Path(local, relative.lstrip("/"))
        try:
            return path.read_text(encoding="utf-8")
        except OSError as problem:
            self._error(f"cannot read the Dockerfile {path}: {problem.strerror}", span, "docker-build", hint="check dockerfilePath")
            return None

    # Outputs.

    def _bundle(self, components: dict[str, CompiledComponent]):
        actions = []
        exports: list[ExportOutput] = []
        directories: list[DirectoryOutput] = []
        needed: set[str] = set()

        for path, compiled in sorted(components.items()):
            declared = self.configuration.outputs.get(path)
            final = compiled.final_op
            if final is not None and final.get("do") == "export":
                bundle_path = f"{EXPORTS_DIR}/{path}"
                actions.append(llb.copy(compiled.state, final["source"], bundle_path, follow_symlinks=True, create_dest_path=True))
                exports.append(ExportOutput(path, bundle_path, final.get("format", "string"), declared.span if declared else None))
                needed.add(path)
            elif declared is not None and declared.kind == "directory":
                bundle_path = f"{DIRECTORIES_DIR}/{path}"
                destination = os.path.normpath(os.path.join(self.configuration.package_dir, declared.directory))
                actions.append(llb.copy(compiled.state, "/", bundle_path + "/", dir_copy_contents=True, create_dest_path=True))
                directories.append(DirectoryOutput(path, bundle_path, destination, declared.span))
                needed.add(path)

        used = {dependency for compiled in components.values() for dependency in compiled.dependencies}
        for path, compiled in sorted(components.items()):
            if path in needed or path in used or compiled.state.is_scratch:
                continue
            actions.append(llb.copy(compiled.state, FORCE_SOLVE_PATTERN, "/", allow_wildcard=True, allow_empty_wildcard=True))

        if not actions:
            return llb.State.scratch(), exports, directories
        bundle = llb.State.scratch().file(*actions, meta=llb.OpMeta(name="outputs", annotations={"kind": "bundle"}))
        return bundle, exports, directories

    def _images(self, components: dict[str, CompiledComponent]) -> list[ImageOutput]:
        images = []
        for path, compiled in sorted(components.items()):
            final = compiled.final_op
            if final is None or final.get("do") not in ("push-container", "save-image"):
                continue
            push = final["do"] == "push-container"
            ref = final["ref"] if push else final["tag"]
            definition = llb.marshal(compiled.state).to_bytes()
            info = self.configuration.components.get(path)
            images.append(ImageOutput(path, ref, push, definition, info.span if info else None))
        return images

    def _plan(self, definition: llb.Definition, components, exports, directories, images) -> Plan:
        vertices: dict[str, Vertex] = {}
        for record in definition.vertices:
            annotation = next((item for item in record.annotations if item.get("component")), record.annotations[0] if record.annotations else {})
            vertices[record.digest] = Vertex(
                digest=record.digest,
                kind=record.kind,
                summary=record.summary,
                inputs=tuple(dict.fromkeys(source for source, _ in record.inputs)),
                component=annotation.get("component"),
                span=record.spans[0] if record.spans else None,
                ignore_cache=record.ignore_cache,
            )

        plan_components = {}
        for path, compiled in components.items():
            info = self.configuration.components[path]
            digest = definition.digest_of(compiled.state) if not compiled.state.is_scratch else ""
            plan_components[path] = Component(path, digest, compiled.ops, info.span, tuple(sorted(compiled.dependencies)))

        return Plan(
            definition=definition.to_bytes(),
            root=definition.root[0] if definition.root else "",
            vertices=vertices,
            components=plan_components,
            edges=sorted(self.edges.values(), key=lambda edge: (edge.source, edge.target)),
            local_sources=dict(sorted(self.local_sources.items())),
            secrets=tuple(sorted(self.secrets)),
            entitlements=tuple(sorted(self.entitlements)),
            exports=tuple(exports),
            directories=tuple(directories),
            images=tuple(images),
        )

    # Helpers.

    def _fingerprint(self, value: Any) -> str:
        return fingerprint(value, self._fingerprints)

    def _op_span(self, info: ComponentInfo | None, index: int) -> Span | None:
        if info is None:
            return None
        if index < len(info.op_spans):
            return info.op_spans[index]
        return info.span

    def _error(self, message: str, span: Span | None, code: str, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(message, span, code=code, hint=hint))

    def _diagnostic_from_problem(self, problem: llb.Problem) -> Diagnostic:
        component = problem.annotations.get("component")
        prefix = f"{component}: " if component else ""
        value = f" (value: {problem.value!r})" if problem.value not in (None, "") else ""
        return Diagnostic(f"{prefix}{problem.message}{value}", problem.span, code="invalid-llb", hint=problem.hint)


def copy_action(source: llb.State, src: str, dest: str):
    """Build the copy action for the copy rule of docs/language.md.

    A directory's contents land in dest, a file lands at dest (inside it when
    dest ends with "/"), and a wildcard copies every match into dest under
    its own name, failing when nothing matches. A matched directory keeps
    its name only when BuildKit's dirCopyContents is off for the pattern.
    """
    wildcard = any(character in src for character in "*?[")
    if wildcard and not dest.endswith("/"):
        dest += "/"
    return llb.copy(
        source,
        src,
        dest,
        follow_symlinks=True,
        dir_copy_contents=not wildcard,
        create_dest_path=True,
        allow_wildcard=wildcard,
        allow_empty_wildcard=False,
    )


def compile_configuration(configuration: Configuration, resolver: ImageResolver | None = None) -> Plan:
    """Compile a loaded configuration into a Plan; raise ConfigError with every problem."""
    if not configuration.ok:
        raise ConfigError(configuration.diagnostics)
    return Compiler(configuration, resolver).compile()
