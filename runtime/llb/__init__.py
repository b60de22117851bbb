"""An immutable builder for BuildKit LLB, with deterministic marshalling.

The compiler turns a configuration into `State`s and marshals them into one
BuildKit `Definition`:

    from archon.runtime.llb import State, OpMeta, CacheMount, copy, marshal

    base = State.image("alpine:3.19", config=image_config, layers=3)
    built = base.run(
        ["sh", "-c", "make"],
        env={"GOFLAGS": "-mod=vendor"},
        mounts=[CacheMount("/root/.cache", sharing="locked")],
        meta=OpMeta(name="build", span=span, annotations={"component": "build"}),
    )
    out = State.scratch().file(copy(built, "/out/", "/"))
    definition = marshal(out)
    request_bytes = definition.to_bytes()

States (`state.py`) never change: every method returns a new one.

- Sources: `State.scratch()`, `State.image(ref, config=, layers=)`,
  `State.local(name, include=, exclude=, shared_key=)`,
  `State.git(remote, ref, keep_git_dir=)`,
  `State.http(url, checksum=, filename=, chmod=)`.
- Exec defaults: `with_env(key, value)`, `with_cwd(path)`, `with_user(user)`.
  `State.image` seeds them from the image config (`ImageConfig.from_oci`);
  the `env` of `run` overrides them key by key.
- `state.run(args, env=, cwd=, user=, mounts=, hosts=, ...)` returns an
  `ExecState`: itself the root after the exec, with `.root()` and
  `.get_mount(target)` for the outputs of writable bind mounts. Mounts:
  `BindMount`, `CacheMount`, `TmpfsMount`, `SecretMount` (carries only the
  secret ID), `SSHMount`.
- `state.file(*actions)` applies `copy`, `mkfile`, `mkdir`, `rm` and
  `symlink` actions in one vertex.
- `state.depth` counts overlayfs layers; when `state.needs_flatten` is true
  (depth >= `FLATTEN_DEPTH`), `state.flatten()` copies the file system onto
  scratch and restarts the count at 1.

Every op method takes `meta=OpMeta(name=, ignore_cache=, annotations=,
span=)`. The name and ignore_cache go into the definition's per-vertex
metadata. Annotations and span never enter the Op bytes: they come back on
the `Vertex` records of `Definition.vertices`, and the span also fills
Definition.Source.

`definition.digest_of(state)` returns the vertex digest of any state of
the marshalled graph, for plans that map components to vertices.

Invalid values (empty args, bad paths, mount targets, IDs, references) do
not raise at the call. Each becomes a `Problem` carrying the value, a hint,
and the span and annotations of its call.
`validate(*roots)` returns them all, and `marshal(*roots)` raises one
`LLBError` listing them all.

Caps of newer BuildKit only (`caps.NEWER_CAPS`: tmpfs size, secret env,
copy include/exclude patterns, symlink actions, ...) are declared in the
vertex metadata, so an older daemon such as Docker 20.10's rejects them by
name instead of misbehaving; the compiler avoids them by default.
"""

from .caps import NEWER_CAPS
from .definition import Definition, Vertex, marshal, validate
from .digest import digest, serialize
from .errors import LLBError, Problem
from .exec import BindMount, CacheMount, Mount, ProxyEnv, SecretEnv, SecretMount, SSHMount, TmpfsMount
from .file import Chown, FileAction, copy, mkdir, mkfile, rm, symlink
from .limits import FLATTEN_DEPTH, MAX_LAYER_DEPTH
from .op import OpMeta, Output, Platform
from .state import ExecState, ImageConfig, State

__all__ = [
    "BindMount",
    "CacheMount",
    "Chown",
    "Definition",
    "ExecState",
    "FLATTEN_DEPTH",
    "FileAction",
    "ImageConfig",
    "LLBError",
    "MAX_LAYER_DEPTH",
    "Mount",
    "NEWER_CAPS",
    "OpMeta",
    "Output",
    "Platform",
    "Problem",
    "ProxyEnv",
    "SSHMount",
    "SecretEnv",
    "SecretMount",
    "State",
    "TmpfsMount",
    "Vertex",
    "copy",
    "digest",
    "marshal",
    "mkdir",
    "mkfile",
    "rm",
    "serialize",
    "symlink",
    "validate",
]
