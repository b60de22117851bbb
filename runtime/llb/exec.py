"""ExecOp: a process run on a root file system with further mounts.

Mount rules follow BuildKit: mounts are sorted by target (the root `/`
sorts first), and only writable bind mounts produce outputs, numbered 0, 1,
2, ... in that order, so the root is always output 0. Cache, tmpfs, secret,
SSH and read-only mounts get output -1, and so does a writable bind mount
created with `output=False`.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Union

from . import caps, paths
from .errors import Problem
from .limits import MAX_LAYER_DEPTH
from .op import InputTable, Node, OpMeta, Output, Platform
from .pb import ops_pb2

if TYPE_CHECKING:
    from .state import State

# The PATH that BuildKit and Docker give a process whose image sets none.
# Daemons without the exec.meta.setsdefaultpath cap do not add it, so the
# builder writes it into the Op whenever the state has no PATH.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

CacheSharing = Literal["shared", "private", "locked"]
Network = Literal["sandbox", "host", "none"]
Security = Literal["sandbox", "insecure"]

_SHARING = {
    "shared": ops_pb2.SHARED,
    "private": ops_pb2.PRIVATE,
    "locked": ops_pb2.LOCKED,
}
_NETWORK = {"sandbox": ops_pb2.UNSET, "host": ops_pb2.HOST, "none": ops_pb2.NONE}
_SECURITY = {"sandbox": ops_pb2.SANDBOX, "insecure": ops_pb2.INSECURE}


@dataclass(frozen=True, eq=False)
class BindMount:
    """The file system of `source` (its directory `path`) mounted at `target`.

    A writable bind mount produces an output, returned by
    `ExecState.get_mount(target)`, unless `output` is False.
    """

    target: str
    source: State
    path: str = "/"
    readonly: bool = False
    output: bool = True


@dataclass(frozen=True, eq=False)
class CacheMount:
    """A persistent cache directory; the ID defaults to the target path."""

    target: str
    id: str | None = None
    sharing: CacheSharing = "shared"
    source: State | None = None


@dataclass(frozen=True)
class TmpfsMount:
    """An in-memory file system; `size` in bytes, 0 for the kernel default."""

    target: str
    size: int = 0


@dataclass(frozen=True)
class SecretMount:
    """A file holding the session secret `id`; the value never enters the definition."""

    target: str
    id: str
    uid: int = 0
    gid: int = 0
    mode: int = 0o400
    optional: bool = False


@dataclass(frozen=True)
class SSHMount:
    """A forwarded SSH agent socket, `id` naming the session's agent."""

    target: str
    id: str = "default"
    uid: int = 0
    gid: int = 0
    mode: int = 0o600
    optional: bool = False


Mount = Union[BindMount, CacheMount, TmpfsMount, SecretMount, SSHMount]


@dataclass(frozen=True)
class SecretEnv:
    """An environment variable read from the session secret `id` (newer BuildKit only)."""

    name: str
    id: str
    optional: bool = False


@dataclass(frozen=True)
class ProxyEnv:
    http_proxy: str = ""
    https_proxy: str = ""
    ftp_proxy: str = ""
    no_proxy: str = ""
    all_proxy: str = ""


@dataclass(frozen=True, eq=False)
class PlannedMount:
    """A mount as it is encoded: normalized target, source output, output index."""

    target: str
    mount: Mount | None  # None for the root mount
    source: Output | None
    selector: str
    output: int

    def to_pb(self, input_index: int) -> ops_pb2.Mount:
        entry = ops_pb2.Mount(input=input_index, dest=self.target, output=self.output, selector=self.selector)
        mount = self.mount

        if isinstance(mount, BindMount):
            entry.readonly = mount.readonly
        elif isinstance(mount, CacheMount):
            entry.mountType = ops_pb2.CACHE
            entry.cacheOpt.ID = mount.id or self.target
            entry.cacheOpt.sharing = _SHARING.get(mount.sharing, ops_pb2.SHARED)
        elif isinstance(mount, TmpfsMount):
            entry.mountType = ops_pb2.TMPFS
            if mount.size > 0:
                entry.TmpfsOpt.size = mount.size
        elif isinstance(mount, SecretMount):
            entry.mountType = ops_pb2.SECRET
            entry.secretOpt.CopyFrom(ops_pb2.SecretOpt(
                ID=mount.id, uid=mount.uid, gid=mount.gid, mode=mount.mode, optional=mount.optional,
            ))
        elif isinstance(mount, SSHMount):
            entry.mountType = ops_pb2.SSH
            entry.SSHOpt.CopyFrom(ops_pb2.SSHOpt(
                ID=mount.id, uid=mount.uid, gid=mount.gid, mode=mount.mode, optional=mount.optional,
            ))
        return entry


@dataclass(frozen=True, eq=False, repr=False)
class ExecNode(Node):
    kind = "exec"

    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    user: str
    mounts: tuple[PlannedMount, ...]
    hosts: tuple[tuple[str, str], ...]
    hostname: str
    network: Network
    security: Security
    proxy_env: ProxyEnv | None
    secret_env: tuple[SecretEnv, ...]
    valid_exit_codes: tuple[int, ...]
    meta: OpMeta
    problems: tuple[Problem, ...] = ()
    platform: Platform | None = None

    def edges(self) -> tuple[Output, ...]:
        return tuple(mount.source for mount in self.mounts if mount.source is not None)

    def encode(self, resolve: Callable[[Output], ops_pb2.Input]) -> ops_pb2.Op:
        table = InputTable(resolve)
        mounts = [mount.to_pb(table.add(mount.source)) for mount in self.mounts]

        meta = ops_pb2.Meta(
            args=self.args,
            env=self.env,
            cwd=self.cwd,
            user=self.user,
            hostname=self.hostname,
            extraHosts=[ops_pb2.HostIP(Host=host, IP=ip) for host, ip in self.hosts],
            validExitCodes=self.valid_exit_codes,
        )
        if self.proxy_env is not None:
            meta.proxy_env.CopyFrom(ops_pb2.ProxyEnv(**vars(self.proxy_env)))

        exec_op = ops_pb2.ExecOp(
            meta=meta,
            mounts=mounts,
            network=_NETWORK.get(self.network, ops_pb2.UNSET),
            security=_SECURITY.get(self.security, ops_pb2.SANDBOX),
            secretenv=[ops_pb2.SecretEnv(ID=item.id, name=item.name, optional=item.optional) for item in self.secret_env],
        )
        return self.finish(ops_pb2.Op(inputs=table.inputs, exec=exec_op))

    def op_caps(self) -> frozenset[str]:
        found = {caps.EXEC_META_BASE, caps.EXEC_MOUNT_BIND}
        for planned in self.mounts:
            found |= _mount_caps(planned)
        if self.network != "sandbox":
            found.add(caps.EXEC_META_NETWORK)
        if self.security != "sandbox":
            found.add(caps.EXEC_META_SECURITY)
        if self.proxy_env is not None:
            found.add(caps.EXEC_META_PROXY)
        if self.secret_env:
            found.add(caps.EXEC_SECRET_ENV)
        if self.valid_exit_codes:
            found.add(caps.EXEC_VALID_EXIT_CODE)
        return frozenset(found)

    def summary(self) -> str:
        return "exec " + shlex.join(self.args)

    def output_of(self, target: str) -> int:
        for planned in self.mounts:
            if planned.target == target:
                return planned.output
        raise KeyError(target)


def _mount_caps(planned: PlannedMount) -> set[str]:
    mount = planned.mount
    found = set()
    if planned.selector:
        found.add(caps.EXEC_MOUNT_SELECTOR)
    if isinstance(mount, BindMount) and not mount.readonly and not mount.output:
        found.add(caps.EXEC_MOUNT_BIND_READWRITE_NO_OUTPUT)
    elif isinstance(mount, CacheMount):
        found |= {caps.EXEC_MOUNT_CACHE, caps.EXEC_MOUNT_CACHE_SHARING}
    elif isinstance(mount, TmpfsMount):
        found.add(caps.EXEC_MOUNT_TMPFS)
        if mount.size > 0:
            found.add(caps.EXEC_MOUNT_TMPFS_SIZE)
    elif isinstance(mount, SecretMount):
        found.add(caps.EXEC_MOUNT_SECRET)
    elif isinstance(mount, SSHMount):
        found.add(caps.EXEC_MOUNT_SSH)
    return found


def env_key(entry: str) -> str:
    return entry.partition("=")[0]


def merge_env(base: Sequence[str], overrides: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """Override `KEY=VALUE` entries of `base` key by key; new keys are appended."""
    items = overrides.items() if isinstance(overrides, Mapping) else overrides
    merged = {env_key(entry): entry for entry in base}
    for key, value in items:
        merged[key] = f"{key}={value}"
    return tuple(merged.values())


def sorted_env(entries: Sequence[str]) -> tuple[str, ...]:
    """Sort by key, adding DEFAULT_PATH when PATH is missing.

    The order of environment variables carries no meaning for a process, and
    sorting keeps the digest independent of the order in which keys were set.
    """
    keys = {env_key(entry) for entry in entries}
    if "PATH" not in keys:
        entries = (*entries, "PATH=" + DEFAULT_PATH)
    return tuple(sorted(entries, key=env_key))


class ExecPlan:
    """Validates the arguments of one exec and plans its mounts.

    Problems are appended to `problems` instead of being raised, so that
    one marshal reports all of them.
    """

    def __init__(self, meta: OpMeta):
        self.meta = meta
        self.problems: list[Problem] = []

    def problem(self, message: str, value: object, hint: str | None = None) -> None:
        self.problems.append(self.meta.problem(message, value, hint))

    def check_args(self, args: Sequence[str]) -> tuple[str, ...]:
        if isinstance(args, str):
            self.problem(f"exec args must be a list of strings, not the string {args!r}", args, f"write [{args!r}]")
            return (args,)
        if not args:
            self.problem("exec args are empty", list(args), "give the program to run, for example [\"sh\", \"-c\", \"make\"]")
        for arg in args:
            if not isinstance(arg, str):
                self.problem(f"exec argument {arg!r} is not a string", arg)
        return tuple(str(arg) for arg in args)

    def check_env(self, overrides: Mapping[str, str]) -> list[tuple[str, str]]:
        checked = []
        for key, value in overrides.items():
            if not key or "=" in key:
                self.problem(f"invalid environment variable name {key!r}", key, "use a name without '=' such as GOFLAGS")
                continue
            checked.append((key, str(value)))
        return checked

    def check_hosts(self, hosts: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
        checked = []
        for host, ip in sorted(hosts.items()):
            if not host or any(char.isspace() for char in host):
                self.problem(f"invalid extra host name {host!r}", host)
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                self.problem(f"extra host {host!r} has an invalid IP address {ip!r}", ip, "give an IPv4 or IPv6 address such as 127.0.0.1")
            checked.append((host, ip))
        return tuple(checked)

    def check_cwd(self, cwd: str, state_cwd: str) -> str:
        cleaned = paths.clean(cwd, state_cwd)
        if cleaned.escapes:
            self.problem(f"working directory {cwd!r} escapes its root", cwd, "remove the '..' components that climb above '/'")
        return cleaned.path

    def plan_mounts(self, root: State, mounts: Sequence[Mount]) -> tuple[PlannedMount, ...]:
        """Validate the mounts, sort them and number their outputs."""
        entries: list[tuple[str, Mount | None, Output | None, str]] = [("/", None, root.output, "")]
        seen = {"/"}
        for mount in mounts:
            target = self._check_target(mount.target)
            if target in seen:
                self.problem(f"two mounts on target {target!r}", mount.target, "keep one mount per target")
                continue
            seen.add(target)

            source, selector = self._check_source(mount)
            entries.append((target, mount, source, selector))

            source_state = getattr(mount, "source", None)
            if source_state is not None and source_state.depth > MAX_LAYER_DEPTH:
                self.problem(
                    f"mount {target!r} stacks {source_state.depth} layers, more than the {MAX_LAYER_DEPTH} overlayfs allows",
                    source_state.depth,
                    "flatten the mounted state first (State.flatten())",
                )

        entries.sort(key=lambda entry: entry[0])

        planned = []
        next_output = 0
        for target, mount, source, selector in entries:
            output = -1
            if mount is None or (isinstance(mount, BindMount) and not mount.readonly and mount.output):
                output = next_output
                next_output += 1
            planned.append(PlannedMount(target, mount, source, selector, output))
        return tuple(planned)

    def _check_target(self, target: str) -> str:
        if not isinstance(target, str) or not target:
            self.problem(f"mount target {target!r} is empty", target, "give an absolute path such as /cache")
            return str(target)
        if not paths.is_absolute(target):
            self.problem(
                f"mount target {target!r} is a relative path; mount targets must be absolute",
                target,
                f"write '/{target}'",
            )
        cleaned = paths.clean(target)
        if cleaned.escapes:
            self.problem(f"mount target {target!r} escapes its root", target, "remove the '..' components that climb above '/'")
        return cleaned.path

    def _check_source(self, mount: Mount) -> tuple[Output | None, str]:
        """Return the source output and selector of `mount`, checking its options."""
        if isinstance(mount, BindMount):
            cleaned = paths.clean(mount.path, mount.source.cwd)
            if cleaned.escapes:
                self.problem(f"mount source path {mount.path!r} escapes its root", mount.path, "remove the '..' components that climb above '/'")
            self.problems.extend(mount.source.problems)
            selector = "" if cleaned.path == "/" else cleaned.path
            return mount.source.output, selector

        if isinstance(mount, CacheMount):
            if mount.sharing not in _SHARING:
                self.problem(f"invalid cache sharing mode {mount.sharing!r}", mount.sharing, "use shared, private or locked")
            if mount.id is not None and not mount.id:
                self.problem("cache mount ID is empty", mount.id, "omit the ID to use the target path, or give a name")
            if mount.source is None:
                return None, ""
            self.problems.extend(mount.source.problems)
            return mount.source.output, ""

        if isinstance(mount, TmpfsMount):
            if mount.size < 0:
                self.problem(f"tmpfs size {mount.size} is negative", mount.size, "give a size in bytes, or 0 for the default")
            return None, ""

        if isinstance(mount, (SecretMount, SSHMount)):
            kind = "secret" if isinstance(mount, SecretMount) else "SSH"
            if not mount.id:
                self.problem(f"{kind} mount at {mount.target!r} has an empty ID", mount.id, "name the session secret or agent")
            if not 0 <= mount.mode <= 0o7777:
                self.problem(f"file mode {mount.mode!r} of {kind} mount {mount.target!r} is outside 0 to 0o7777", mount.mode)
            return None, ""

        self.problem(f"unknown mount type {type(mount).__name__}", mount)
        return None, ""
