"""The immutable `State`: a file system plus the defaults of later execs.

Every method returns a new state and leaves the receiver unchanged, so a
state can be shared by any number of later ops. A state carries:

- `output`: the vertex output holding its file system (None for scratch);
- `env`, `cwd`, `user`: the defaults of the next `run`, seeded from the
  image config by `State.image` and overridden key by key by `with_env`
  and by the `env` of `run`;
- `depth`: how many overlayfs layers its file system stacks;
- `problems`: invalid values given to `with_*`, reported by `marshal`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import exec as exec_op
from . import file as file_op
from . import paths
from . import source as source_op
from .errors import Problem
from .limits import FLATTEN_DEPTH, MAX_LAYER_DEPTH
from .op import NO_META, OpMeta, Output, Platform

@dataclass(frozen=True)
class ImageConfig:
    """The parts of an OCI image config that set exec defaults."""

    env: tuple[str, ...] = ()
    working_dir: str = ""
    user: str = ""

    @classmethod
    def from_oci(cls, document: Mapping[str, object]) -> ImageConfig:
        """Read `Env`, `WorkingDir` and `User` from an image config document.

        Accepts the whole config JSON (with its `config` object) or the
        `config` object itself.
        """
        config = document.get("config", document)
        if not isinstance(config, Mapping):
            return cls()
        env = config.get("Env") or ()
        return cls(
            env=tuple(str(entry) for entry in env),
            working_dir=str(config.get("WorkingDir") or ""),
            user=str(config.get("User") or ""),
        )


@dataclass(frozen=True, eq=False)
class State:
    output: Output | None = None
    env: tuple[str, ...] = ()
    cwd: str = "/"
    user: str = ""
    depth: int = 0
    platform: Platform | None = None
    problems: tuple[Problem, ...] = ()

    # Sources.

    @classmethod
    def scratch(cls) -> State:
        """Return the empty file system."""
        return cls()

    @classmethod
    def image(
        cls,
        ref: str,
        *,
        config: ImageConfig | None = None,
        layers: int = 1,
        platform: Platform | None = None,
        resolve_mode: str | None = None,
        meta: OpMeta = NO_META,
    ) -> State:
        """Return the root file system of image `ref`.

        `config` seeds env, working directory and user of later execs.
        `layers` is the image's layer count, the starting `depth`.
        """
        config = config or ImageConfig()
        node = source_op.image(ref, resolve_mode, platform, meta)
        if layers < 0:
            problem = meta.problem(f"image layer count {layers} is negative", layers, "give the number of layers of the image")
            node = dataclasses.replace(node, problems=node.problems + (problem,))
        cwd = paths.clean(config.working_dir).path if config.working_dir else "/"
        return cls(
            output=Output(node, 0),
            env=exec_op.merge_env((), [_split_env(entry) for entry in config.env]),
            cwd=cwd,
            user=config.user,
            depth=max(layers, 0),
            platform=platform,
        )

    @classmethod
    def local(
        cls,
        name: str,
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        shared_key: str | None = None,
        meta: OpMeta = NO_META,
    ) -> State:
        """Return the directory `name` that the client session shares."""
        node = source_op.local(name, include, exclude, shared_key, meta)
        return cls(output=Output(node, 0), depth=1)

    @classmethod
    def git(cls, remote: str, ref: str = "", *, keep_git_dir: bool = False, meta: OpMeta = NO_META) -> State:
        """Return a checkout of `ref` (branch, tag or commit; empty for the default branch)."""
        node = source_op.git(remote, ref, keep_git_dir, meta)
        return cls(output=Output(node, 0), depth=1)

    @classmethod
    def http(
        cls,
        url: str,
        *,
        checksum: str | None = None,
        filename: str | None = None,
        chmod: int | None = None,
        meta: OpMeta = NO_META,
    ) -> State:
        """Return a directory holding the one file downloaded from `url`."""
        node = source_op.http(url, checksum, filename, chmod, meta)
        return cls(output=Output(node, 0), depth=1)

    # Exec defaults.

    def with_env(self, key: str, value: str, *, meta: OpMeta = NO_META) -> State:
        """Set one environment variable for later execs."""
        if not key or "=" in key:
            problem = meta.problem(f"invalid environment variable name {key!r}", key, "use a name without '='")
            return self._with(problems=self.problems + (problem,))
        return self._with(env=exec_op.merge_env(self.env, [(key, value)]))

    def get_env(self, key: str) -> str | None:
        for entry in self.env:
            name, _, value = entry.partition("=")
            if name == key:
                return value
        return None

    def with_cwd(self, path: str, *, meta: OpMeta = NO_META) -> State:
        """Set the working directory of later execs; a relative path joins the current one."""
        cleaned = paths.clean(path, self.cwd)
        problems = self.problems
        if not path:
            problems += (meta.problem("working directory is empty", path, "give a path such as /src"),)
        if cleaned.escapes:
            problems += (meta.problem(f"working directory {path!r} escapes its root", path, "remove the '..' components that climb above '/'"),)
        return self._with(cwd=cleaned.path, problems=problems)

    def with_user(self, user: str) -> State:
        """Set the user of later execs: a name, a UID, or `user:group`."""
        return self._with(user=user)

    # Ops.

    def run(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        user: str | None = None,
        mounts: Sequence[exec_op.Mount] = (),
        hosts: Mapping[str, str] | None = None,
        hostname: str = "",
        network: exec_op.Network = "sandbox",
        security: exec_op.Security = "sandbox",
        proxy_env: exec_op.ProxyEnv | None = None,
        secret_env: Sequence[exec_op.SecretEnv] = (),
        valid_exit_codes: Sequence[int] = (),
        meta: OpMeta = NO_META,
    ) -> ExecState:
        """Run `args` on this state's file system.

        `env` overrides the state's variables key by key; `cwd` (relative to
        the state's) and `user` replace the state's values for this exec
        only. The result is the root file system after the exec.
        """
        plan = exec_op.ExecPlan(meta)
        plan.problems.extend(self.problems)
        checked_args = plan.check_args(args)
        overrides = plan.check_env(env or {})
        run_cwd = plan.check_cwd(cwd, self.cwd) if cwd is not None else self.cwd
        checked_hosts = plan.check_hosts(hosts or {})
        planned = plan.plan_mounts(self, mounts)

        if self.depth > MAX_LAYER_DEPTH:
            plan.problem(
                f"exec root stacks {self.depth} layers, more than the {MAX_LAYER_DEPTH} overlayfs allows",
                self.depth,
                "flatten the state before the exec (State.flatten())",
            )

        node = exec_op.ExecNode(
            args=checked_args,
            env=exec_op.sorted_env(exec_op.merge_env(self.env, overrides)),
            cwd=run_cwd,
            user=self.user if user is None else user,
            mounts=planned,
            hosts=checked_hosts,
            hostname=hostname,
            network=network,
            security=security,
            proxy_env=proxy_env,
            secret_env=tuple(secret_env),
            valid_exit_codes=tuple(valid_exit_codes),
            meta=meta,
            problems=tuple(plan.problems),
            platform=self.platform,
        )

        mount_states = {}
        for mount, entry in zip(mounts, _user_mounts(planned, mounts)):
            if entry is None or entry.output < 0:
                continue
            source = mount.source
            mount_states[entry.target] = source._with(
                output=Output(node, entry.output),
                depth=source.depth + 1,
                problems=(),
            )

        return ExecState(
            output=Output(node, node.output_of("/")),
            env=self.env,
            cwd=self.cwd,
            user=self.user,
            depth=self.depth + 1,
            platform=self.platform,
            exec_node=node,
            mount_states=mount_states,
        )

    def file(self, *actions: file_op.FileAction, meta: OpMeta = NO_META) -> State:
        """Apply file actions (copy, mkfile, mkdir, rm, symlink) in one vertex."""
        plan = file_op.FilePlan(self, meta)
        plan.problems.extend(self.problems)
        bound = plan.bind(actions)
        node = file_op.FileNode(
            base=self.output,
            actions=bound,
            meta=meta,
            problems=tuple(plan.problems),
            platform=self.platform,
        )
        return self._with(output=Output(node, 0), depth=self.depth + 1, problems=())

    def flatten(self, *, meta: OpMeta = NO_META) -> State:
        """Copy the whole file system onto scratch, giving a state of depth 1.

        The copy keeps owners, permissions, times and symlinks, so later ops
        see the same files, and the exec defaults are kept.
        """
        if self.output is None:
            return self
        flat = self._with(output=None, depth=0, problems=())
        return flat.file(
            file_op.copy(self, "/", "/", dir_copy_contents=True, create_dest_path=True),
            meta=meta,
        )

    @property
    def is_scratch(self) -> bool:
        return self.output is None

    @property
    def needs_flatten(self) -> bool:
        """Whether the depth has reached FLATTEN_DEPTH, where `flatten()` is due."""
        return self.depth >= FLATTEN_DEPTH

    def _with(self, **changes: object) -> State:
        """Return a plain State (never an ExecState) with `changes` applied."""
        values = {field.name: getattr(self, field.name) for field in dataclasses.fields(State)}
        values.update(changes)
        return State(**values)


@dataclass(frozen=True, eq=False)
class ExecState(State):
    """The root file system after an exec, with access to its mount outputs."""

    exec_node: exec_op.ExecNode | None = None
    mount_states: Mapping[str, State] = dataclasses.field(default_factory=dict)

    def root(self) -> State:
        """Return the root file system after the exec as a plain State."""
        return self._with()

    def get_mount(self, target: str) -> State:
        """Return the content of the writable bind mount at `target` after the exec.

        Raises ValueError when no mount at `target` produces an output.
        """
        cleaned = paths.clean(target).path
        if cleaned == "/":
            return self.root()
        found = self.mount_states.get(cleaned)
        if found is None:
            writable = ", ".join(sorted(self.mount_states)) or "none"
            raise ValueError(
                f"exec has no writable bind mount at {target!r}; mounts with outputs: {writable}"
            )
        return found


def _split_env(entry: str) -> tuple[str, str]:
    key, _, value = entry.partition("=")
    return key, value


def _user_mounts(
    planned: Sequence[exec_op.PlannedMount],
    mounts: Sequence[exec_op.Mount],
) -> list[exec_op.PlannedMount | None]:
    """Return the planned entry of each mount given to `run`, in that order."""
    by_mount = {id(entry.mount): entry for entry in planned if entry.mount is not None}
    return [by_mount.get(id(mount)) for mount in mounts]
