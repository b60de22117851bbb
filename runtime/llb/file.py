"""FileOp: a chain of copy, mkfile, mkdir, rm and symlink actions.

`State.file(*actions)` applies the actions in order inside one vertex. The
first action works on the state's file system, each later one on the result
of the action before it, and only the last action's result is an output
(output 0). Relative paths are resolved against the working directory of
the state they refer to, as BuildKit's Go client does: a copy's `src`
against the source state, every other path against the target state.

Timestamps are Unix times in nanoseconds; None keeps BuildKit's default
(the source's times for a copy, the solve time otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from . import caps, paths
from .errors import Problem
from .limits import MAX_LAYER_DEPTH
from .op import InputTable, Node, OpMeta, Output, Platform
from .pb import ops_pb2

if TYPE_CHECKING:
    from .state import State

# BuildKit reads -1 as "not set" for a copy's mode and for every timestamp.
# Leaving the field out would send 0, which means mode 0 or the year 1970.
UNSET = -1


@dataclass(frozen=True)
class Chown:
    """An owner override; each of user and group is a numeric ID or a name.

    A name is resolved through /etc/passwd or /etc/group of the target state.
    """

    user: int | str | None = None
    group: int | str | None = None


@dataclass(frozen=True, eq=False)
class Copy:
    source: State
    src: str
    dest: str
    follow_symlinks: bool = False
    dir_copy_contents: bool = False
    attempt_unpack: bool = False
    create_dest_path: bool = False
    allow_wildcard: bool = False
    allow_empty_wildcard: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    always_replace_existing: bool = False
    mode: int | None = None
    owner: Chown | None = None
    timestamp: int | None = None


@dataclass(frozen=True)
class MkFile:
    path: str
    data: bytes
    mode: int = 0o644
    owner: Chown | None = None
    timestamp: int | None = None


@dataclass(frozen=True)
class MkDir:
    path: str
    mode: int = 0o755
    parents: bool = False
    owner: Chown | None = None
    timestamp: int | None = None


@dataclass(frozen=True)
class Rm:
    path: str
    allow_not_found: bool = False
    allow_wildcard: bool = False


@dataclass(frozen=True)
class Symlink:
    """A symlink at `newpath` pointing to `oldpath` (newer BuildKit only)."""

    oldpath: str
    newpath: str
    owner: Chown | None = None
    timestamp: int | None = None


FileAction = Union[Copy, MkFile, MkDir, Rm, Symlink]


def copy(
    source: State,
    src: str,
    dest: str,
    *,
    follow_symlinks: bool = False,
    dir_copy_contents: bool = False,
    attempt_unpack: bool = False,
    create_dest_path: bool = False,
    allow_wildcard: bool = False,
    allow_empty_wildcard: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    always_replace_existing: bool = False,
    mode: int | None = None,
    owner: Chown | None = None,
    timestamp: int | None = None,
) -> Copy:
    """Copy `src` of `source` to `dest`; a dest ending in `/` is a directory.

    `include`/`exclude` and `always_replace_existing` need newer BuildKit
    (see caps.NEWER_CAPS).
    """
    return Copy(
        source, src, dest, follow_symlinks, dir_copy_contents, attempt_unpack, create_dest_path,
        allow_wildcard, allow_empty_wildcard, tuple(include), tuple(exclude), always_replace_existing,
        mode, owner, timestamp,
    )


def mkfile(path: str, data: bytes | str, mode: int = 0o644, *, owner: Chown | None = None, timestamp: int | None = None) -> MkFile:
    """Write one file; text is encoded as UTF-8."""
    content = data.encode() if isinstance(data, str) else bytes(data)
    return MkFile(path, content, mode, owner, timestamp)


def mkdir(path: str, mode: int = 0o755, *, parents: bool = False, owner: Chown | None = None, timestamp: int | None = None) -> MkDir:
    return MkDir(path, mode, parents, owner, timestamp)


def rm(path: str, *, allow_not_found: bool = False, allow_wildcard: bool = False) -> Rm:
    return Rm(path, allow_not_found, allow_wildcard)


def symlink(oldpath: str, newpath: str, *, owner: Chown | None = None, timestamp: int | None = None) -> Symlink:
    return Symlink(oldpath, newpath, owner, timestamp)


@dataclass(frozen=True, eq=False)
class BoundAction:
    """An action with its paths resolved and, for a copy, its source output."""

    action: FileAction
    path: str  # dest for copy, newpath for symlink
    src: str = ""  # src for copy, oldpath for symlink
    source: Output | None = None

    def to_pb(self, base_index: int) -> dict[str, object]:
        """Return the keyword arguments of the FileAction oneof for this action."""
        action = self.action
        if isinstance(action, Copy):
            return {"copy": ops_pb2.FileActionCopy(
                src=self.src,
                dest=self.path,
                owner=_chown(action.owner, base_index),
                mode=UNSET if action.mode is None else action.mode,
                followSymlink=action.follow_symlinks,
                dirCopyContents=action.dir_copy_contents,
                attemptUnpackDockerCompatibility=action.attempt_unpack,
                createDestPath=action.create_dest_path,
                allowWildcard=action.allow_wildcard,
                allowEmptyWildcard=action.allow_empty_wildcard,
                timestamp=_timestamp(action.timestamp),
                include_patterns=action.include,
                exclude_patterns=action.exclude,
                alwaysReplaceExistingDestPaths=action.always_replace_existing,
            )}
        if isinstance(action, MkFile):
            return {"mkfile": ops_pb2.FileActionMkFile(
                path=self.path,
                mode=action.mode,
                data=action.data,
                owner=_chown(action.owner, base_index),
                timestamp=_timestamp(action.timestamp),
            )}
        if isinstance(action, MkDir):
            return {"mkdir": ops_pb2.FileActionMkDir(
                path=self.path,
                mode=action.mode,
                makeParents=action.parents,
                owner=_chown(action.owner, base_index),
                timestamp=_timestamp(action.timestamp),
            )}
        if isinstance(action, Rm):
            return {"rm": ops_pb2.FileActionRm(
                path=self.path,
                allowNotFound=action.allow_not_found,
                allowWildcard=action.allow_wildcard,
            )}
        return {"symlink": ops_pb2.FileActionSymlink(
            oldpath=self.src,
            newpath=self.path,
            owner=_chown(action.owner, base_index),
            timestamp=_timestamp(action.timestamp),
        )}

    def caps(self) -> set[str]:
        action = self.action
        found = set()
        if isinstance(action, Copy):
            if action.include or action.exclude:
                found.add(caps.FILE_COPY_INCLUDE_EXCLUDE_PATTERNS)
            if action.always_replace_existing:
                found.add(caps.FILE_COPY_ALWAYS_REPLACE_EXISTING_DEST_PATHS)
        elif isinstance(action, Rm) and action.allow_wildcard:
            found.add(caps.FILE_RM_WILDCARD)
        elif isinstance(action, Symlink):
            found.add(caps.FILE_SYMLINK_CREATE)
        return found

    def summary(self) -> str:
        action = self.action
        if isinstance(action, Copy):
            return f"copy {self.src} -> {self.path}"
        if isinstance(action, Symlink):
            return f"symlink {self.path} -> {self.src}"
        return f"{type(action).__name__.lower()} {self.path}"


def _timestamp(value: int | None) -> int:
    return UNSET if value is None else value


def _user(value: int | str | None, base_index: int) -> ops_pb2.UserOpt | None:
    if value is None:
        return None
    if isinstance(value, int):
        return ops_pb2.UserOpt(byID=value)
    return ops_pb2.UserOpt(byName=ops_pb2.NamedUserOpt(name=value, input=base_index))


def _chown(owner: Chown | None, base_index: int) -> ops_pb2.ChownOpt | None:
    if owner is None:
        return None
    return ops_pb2.ChownOpt(user=_user(owner.user, base_index), group=_user(owner.group, base_index))


@dataclass(frozen=True, eq=False, repr=False)
class FileNode(Node):
    kind = "file"

    base: Output | None
    actions: tuple[BoundAction, ...]
    meta: OpMeta
    problems: tuple[Problem, ...] = ()
    platform: Platform | None = None

    def edges(self) -> tuple[Output, ...]:
        found = [] if self.base is None else [self.base]
        found.extend(action.source for action in self.actions if action.source is not None)
        return tuple(found)

    def encode(self, resolve: Callable[[Output], ops_pb2.Input]) -> ops_pb2.Op:
        # All inputs first: an action index is len(inputs) + its position.
        table = InputTable(resolve)
        base_index = table.add(self.base)
        secondary = [table.add(action.source) for action in self.actions]
        input_count = len(table.inputs)

        encoded = []
        last = len(self.actions) - 1
        for position, action in enumerate(self.actions):
            encoded.append(ops_pb2.FileAction(
                input=base_index if position == 0 else input_count + position - 1,
                secondaryInput=secondary[position],
                output=0 if position == last else -1,
                **action.to_pb(base_index),
            ))

        file_op = ops_pb2.FileOp(actions=encoded)
        return self.finish(ops_pb2.Op(inputs=table.inputs, file=file_op))

    def op_caps(self) -> frozenset[str]:
        found = {caps.FILE_BASE}
        for action in self.actions:
            found |= action.caps()
        return frozenset(found)

    def summary(self) -> str:
        return "; ".join(action.summary() for action in self.actions)


class FilePlan:
    """Validates file actions against their states and binds them."""

    def __init__(self, target: State, meta: OpMeta):
        self.target = target
        self.meta = meta
        self.problems: list[Problem] = []

    def problem(self, message: str, value: object, hint: str | None = None) -> None:
        self.problems.append(self.meta.problem(message, value, hint))

    def bind(self, actions: Sequence[FileAction]) -> tuple[BoundAction, ...]:
        if not actions:
            self.problem("file op has no actions", [], "give at least one of copy, mkfile, mkdir, rm")
        self._check_depth(self.target, "file op base")
        return tuple(self._bind_one(action) for action in actions)

    def _check_depth(self, state: State, label: str) -> None:
        # BuildKit mounts the base and every copy source to apply the actions.
        if state.depth > MAX_LAYER_DEPTH:
            self.problem(
                f"{label} stacks {state.depth} layers, more than the {MAX_LAYER_DEPTH} overlayfs allows",
                state.depth,
                "flatten the state first (State.flatten())",
            )

    def _bind_one(self, action: FileAction) -> BoundAction:
        if isinstance(action, Copy):
            self.problems.extend(action.source.problems)
            self._check_depth(action.source, "copy source")
            src = self._path(action.src, action.source.cwd, "copy source")
            dest = self._path(action.dest, self.target.cwd, "copy destination", keep_trailing_slash=True)
            self._check_mode(action.mode)
            self._check_owner(action.owner)
            return BoundAction(action, dest, src, action.source.output)

        if isinstance(action, (MkFile, MkDir)):
            path = self._path(action.path, self.target.cwd, type(action).__name__.lower() + " path")
            self._check_mode(action.mode)
            self._check_owner(action.owner)
            return BoundAction(action, path)

        if isinstance(action, Rm):
            return BoundAction(action, self._path(action.path, self.target.cwd, "rm path"))

        if isinstance(action, Symlink):
            if not action.oldpath:
                self.problem("symlink target is empty", action.oldpath)
            path = self._path(action.newpath, self.target.cwd, "symlink path")
            self._check_owner(action.owner)
            # The link's content stays as written: a relative target is relative to the link.
            return BoundAction(action, path, action.oldpath)

        self.problem(f"unknown file action {type(action).__name__}", action)
        return BoundAction(action, "/")

    def _path(self, path: str, cwd: str, label: str, keep_trailing_slash: bool = False) -> str:
        if not path:
            self.problem(f"{label} is empty", path)
            return "/"
        cleaned = paths.clean(path, cwd, keep_trailing_slash)
        if cleaned.escapes:
            self.problem(f"{label} {path!r} escapes its root", path, "remove the '..' components that climb above '/'")
        return cleaned.path

    def _check_mode(self, mode: int | None) -> None:
        if mode is not None and not 0 <= mode <= 0o7777:
            self.problem(f"file mode {mode!r} is outside 0 to 0o7777", mode, "write permission bits such as 0o644")

    def _check_owner(self, owner: Chown | None) -> None:
        if owner is None:
            return
        names = [value for value in (owner.user, owner.group) if isinstance(value, str)]
        if names and self.target.output is None:
            self.problem(
                f"owner {names[0]!r} is a name, but the target is scratch and has no /etc/passwd",
                names[0],
                "give a numeric ID",
            )
        for value in (owner.user, owner.group):
            if isinstance(value, int) and not 0 <= value < 2**32:
                self.problem(f"owner ID {value} is outside 0 to 2^32-1", value)
            if isinstance(value, str) and not value:
                self.problem("owner name is empty", value, "give a user name or a numeric ID")
