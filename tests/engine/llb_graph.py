"""A small LLB graph builder for the engine tests, on the generated `ops_pb2`.

It marshals real `pb.Op` messages and digests them the way BuildKit does
(sha256 of the serialized op), so the tests solve genuine definitions
without depending on the compiler.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from archon.runtime.llb.pb import ops_pb2
from archon.runtime.plan import Plan, Vertex

# A mount input or output that is absent (an empty source, or no output).
NONE = -1


@dataclass(frozen=True)
class Ref:
    """Output `index` of the op with `digest`."""

    digest: str
    index: int = 0


@dataclass
class Mount:
    dest: str
    source: Ref | None = None
    output: bool = False
    readonly: bool = False
    secret: str | None = None
    selector: str = ""


@dataclass
class Graph:
    ops: dict[str, bytes] = field(default_factory=dict)
    metadata: dict[str, ops_pb2.OpMetadata] = field(default_factory=dict)

    def add(self, op: ops_pb2.Op, name: str | None = None, ignore_cache: bool = False) -> str:
        data = op.SerializeToString(deterministic=True)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.ops[digest] = data
        meta = ops_pb2.OpMetadata(ignore_cache=ignore_cache)
        if name:
            meta.description["llb.customname"] = name
        self.metadata[digest] = meta
        return digest

    def local(self, name: str, *, include=(), exclude=(), shared_key_hint: str | None = None) -> Ref:
        source = ops_pb2.SourceOp(identifier=f"local://{name}")
        if include:
            source.attrs["local.includepattern"] = json.dumps(list(include))
        if exclude:
            source.attrs["local.excludepatterns"] = json.dumps(list(exclude))
        source.attrs["local.sharedkeyhint"] = shared_key_hint or name
        return Ref(self.add(ops_pb2.Op(source=source), name=f"local {name}"))

    def rootfs(self) -> Ref:
        """The test root file system: the local directory of the `rootfs` fixture."""
        return self.local("rootfs")

    def image(self, ref: str) -> Ref:
        source = ops_pb2.SourceOp(identifier=f"docker-image://{ref}")
        return Ref(self.add(ops_pb2.Op(source=source), name=f"image {ref}"))

    def exec(
        self,
        root: Ref,
        script: str,
        mounts: list[Mount] = (),
        *,
        name: str | None = None,
        env: list[str] | None = None,
        ignore_cache: bool = False,
        network: int = ops_pb2.NONE,
    ) -> list[Ref]:
        """Run `sh -c script`; return the refs of the root output and of each output mount.

        The network is off by default: the development Docker daemon runs
        without a bridge network, and no test needs one.
        """
        inputs: list[Ref] = [root]
        op_mounts = [ops_pb2.Mount(input=0, dest="/", output=0)]
        next_output = 1
        for mount in mounts:
            pb_mount = ops_pb2.Mount(dest=mount.dest, selector=mount.selector, readonly=mount.readonly, input=NONE, output=NONE)
            if mount.secret:
                pb_mount.mountType = ops_pb2.SECRET
                pb_mount.secretOpt.ID = mount.secret
                pb_mount.secretOpt.mode = 0o400
            elif mount.source is not None:
                pb_mount.input = len(inputs)
                inputs.append(mount.source)
            if mount.output:
                pb_mount.output = next_output
                next_output += 1
            op_mounts.append(pb_mount)

        op = ops_pb2.Op(
            inputs=[ops_pb2.Input(digest=ref.digest, index=ref.index) for ref in inputs],
            exec=ops_pb2.ExecOp(
                meta=ops_pb2.Meta(args=["/bin/sh", "-c", script], env=env or ["PATH=/bin:/usr/bin"], cwd="/"),
                mounts=op_mounts,
                network=network,
            ),
            platform=ops_pb2.Platform(OS="linux", Architecture="amd64"),
        )
        digest = self.add(op, name=name or f"sh -c {script}", ignore_cache=ignore_cache)
        return [Ref(digest, index) for index in range(next_output)]

    def copy(self, source: Ref, src: str, dest: str, *, onto: Ref | None = None, name: str | None = None) -> Ref:
        """Copy `src` of `source` to `dest` on top of `onto` (scratch when None)."""
        inputs = [] if onto is None else [onto]
        inputs.append(source)
        action = ops_pb2.FileAction(
            input=0 if onto is not None else NONE,
            secondaryInput=len(inputs) - 1,
            output=0,
            copy=ops_pb2.FileActionCopy(
                src=src, dest=dest, createDestPath=True, allowWildcard=True, dirCopyContents=True, followSymlink=True,
                mode=-1, timestamp=-1,
            ),
        )
        op = ops_pb2.Op(
            inputs=[ops_pb2.Input(digest=ref.digest, index=ref.index) for ref in inputs],
            file=ops_pb2.FileOp(actions=[action]),
        )
        return Ref(self.add(op, name=name or f"copy {src} {dest}"))

    def definition(self, root: Ref) -> bytes:
        """Marshal the graph with `root` as its result (BuildKit's terminal op has it as its only input)."""
        terminal = ops_pb2.Op(inputs=[ops_pb2.Input(digest=root.digest, index=root.index)])
        data = terminal.SerializeToString(deterministic=True)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        definition = ops_pb2.Definition()
        # `def` is a Python keyword, so the field is reached through getattr.
        getattr(definition, "def").extend([*self.ops.values(), data])
        for key, meta in self.metadata.items():
            definition.metadata[key].CopyFrom(meta)
        definition.metadata[digest].CopyFrom(ops_pb2.OpMetadata())
        return definition.SerializeToString(deterministic=True)

    def bundle(self, exports: dict[str, tuple[Ref, str]] | None = None, directories: dict[str, tuple[Ref, str]] | None = None) -> Ref:
        """Build an output bundle: `/exports/<name>` files and `/dirs/<name>/` trees copied from refs."""
        root: Ref | None = None
        for name, (source, path) in (exports or {}).items():
            root = self.copy(source, path, f"/exports/{name}", onto=root, name=f"bundle export {name}")
        for name, (source, path) in (directories or {}).items():
            root = self.copy(source, path, f"/dirs/{name}/", onto=root, name=f"bundle directory {name}")
        return root

    def plan(self, root: Ref, **fields) -> Plan:
        """Wrap the graph in a `Plan` whose vertices are the graph's ops."""
        vertices = {
            digest: Vertex(digest=digest, kind="op", summary=self.metadata[digest].description.get("llb.customname", ""))
            for digest in self.ops
        }
        for digest, (component, span) in fields.pop("components", {}).items():
            vertices[digest] = Vertex(digest=digest, kind="exec", summary=vertices[digest].summary, component=component, span=span)
        return Plan(definition=self.definition(root), root=root.digest, vertices=vertices, **fields)
