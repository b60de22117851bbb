"""File metadata and tree walks in the form of fsutil, BuildKit's file transfer library.

The FileSync and FileSend protocols describe each file with an
`fsutil.types.Stat` whose `mode` is a Go `os.FileMode`, and send entries in
the order of Go's `filepath.Walk`: depth first, the names of each directory
sorted bytewise, a directory before its contents. The daemon checks that
order and rejects a stream that breaks it.

Include and exclude patterns follow Docker's `.dockerignore` syntax as
BuildKit's patternmatcher implements it. `*` and `?` stay inside one path
component, `**` spans any number of components, `[...]` is a character
class and `\\` escapes. An exclude pattern starting with `!` re-includes
what earlier patterns excluded. A pattern that matches a directory matches
everything below it.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat as statmod
from dataclasses import dataclass
from typing import Iterator, Sequence

from archon.engine.buildkit.pb import stat_pb2

# Go os.FileMode type and permission bits (Go's io/fs package).
MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
MODE_DEVICE = 1 << 26
MODE_NAMED_PIPE = 1 << 25
MODE_SOCKET = 1 << 24
MODE_SETUID = 1 << 23
MODE_SETGID = 1 << 22
MODE_CHAR_DEVICE = 1 << 21
MODE_STICKY = 1 << 20
MODE_IRREGULAR = 1 << 19
MODE_TYPE = MODE_DIR | MODE_SYMLINK | MODE_NAMED_PIPE | MODE_SOCKET | MODE_DEVICE | MODE_CHAR_DEVICE | MODE_IRREGULAR
MODE_PERM = 0o777


def go_mode(st_mode: int) -> int:
    """Convert a Unix `st_mode` to a Go `os.FileMode`."""
    mode = st_mode & MODE_PERM
    if statmod.S_ISDIR(st_mode):
        mode |= MODE_DIR
    elif statmod.S_ISLNK(st_mode):
        mode |= MODE_SYMLINK
    elif statmod.S_ISBLK(st_mode):
        mode |= MODE_DEVICE
    elif statmod.S_ISCHR(st_mode):
        mode |= MODE_DEVICE | MODE_CHAR_DEVICE
    elif statmod.S_ISFIFO(st_mode):
        mode |= MODE_NAMED_PIPE
    elif statmod.S_ISSOCK(st_mode):
        mode |= MODE_SOCKET
    if st_mode & statmod.S_ISUID:
        mode |= MODE_SETUID
    if st_mode & statmod.S_ISGID:
        mode |= MODE_SETGID
    if st_mode & statmod.S_ISVTX:
        mode |= MODE_STICKY
    return mode


def unix_permissions(mode: int) -> int:
    """Return the chmod bits (permissions, setuid, setgid, sticky) of a Go `os.FileMode`."""
    bits = mode & MODE_PERM
    if mode & MODE_SETUID:
        bits |= statmod.S_ISUID
    if mode & MODE_SETGID:
        bits |= statmod.S_ISGID
    if mode & MODE_STICKY:
        bits |= statmod.S_ISVTX
    return bits


def is_dir(mode: int) -> bool:
    return bool(mode & MODE_DIR)


def is_symlink(mode: int) -> bool:
    return bool(mode & MODE_SYMLINK)


def is_regular(mode: int) -> bool:
    """True for a regular file, the only kind whose content the receiver requests."""
    return mode & MODE_TYPE == 0


# --- patterns ---------------------------------------------------------------

_ESCAPED = set(".+()|{}$^")


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Compile one cleaned pattern to a regular expression over slash-separated paths."""
    out = ["^"]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                i += 2
                # "**/" is the same as "**".
                if i < len(pattern) and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= len(pattern) else "(.*/)?")
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1:end]
                if body.startswith("^") or body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif char in _ESCAPED:
            out.append("\\" + char)
        else:
            out.append(char)
        i += 1
    out.append("$")
    return re.compile("".join(out))


def clean_pattern(pattern: str) -> str:
    """Normalize a pattern the way patternmatcher does: clean the path, drop a leading slash."""
    cleaned = posixpath.normpath(pattern.strip())
    cleaned = cleaned.lstrip("/")
    return "" if cleaned == "." else cleaned


@dataclass(frozen=True)
class _Pattern:
    text: str
    regex: re.Pattern[str]
    negated: bool
    components: tuple[str, ...]


class PatternMatcher:
    """An ordered list of patterns; the last pattern that matches decides."""

    def __init__(self, patterns: Sequence[str]):
        self.patterns: list[_Pattern] = []
        for raw in patterns:
            negated = raw.startswith("!")
            text = clean_pattern(raw[1:] if negated else raw)
            if not text:
                continue
            self.patterns.append(_Pattern(text, _pattern_regex(text), negated, tuple(text.split("/"))))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    @property
    def has_negations(self) -> bool:
        return any(pattern.negated for pattern in self.patterns)

    def matches(self, path: str) -> bool:
        """True when `path` or one of its parent directories is matched by the last deciding pattern."""
        parents = _parents(path)
        matched = False
        for pattern in self.patterns:
            hit = bool(pattern.regex.match(path)) or any(pattern.regex.match(parent) for parent in parents)
            if hit:
                matched = not pattern.negated
        return matched

    def may_match_below(self, directory: str) -> bool:
        """True when a non-negated pattern could match an entry inside `directory`."""
        parts = directory.split("/")
        for pattern in self.patterns:
            if not pattern.negated and _prefix_may_match(parts, pattern.components):
                return True
        return False


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:count]) for count in range(1, len(parts))]


def _prefix_may_match(parts: list[str], components: tuple[str, ...]) -> bool:
    for index, part in enumerate(parts):
        if index >= len(components):
            return False
        component = components[index]
        if "**" in component:
            return True
        if not _pattern_regex(component).match(part):
            return False
    return True


# --- walking ----------------------------------------------------------------


@dataclass
class Entry:
    """One walked file: `path` relative to the root with "/" separators."""

    path: str
    absolute: str
    stat: stat_pb2.Stat


def follow_links(root: str, paths: Sequence[str]) -> list[str]:
    """Return `paths` plus the targets of the symlinks among them (and among their parents).

    Targets outside `root` are dropped. This is how BuildKit's follow
    paths select a file that another file links to.
    """
    result: list[str] = []
    pending = [clean_pattern(path) for path in paths]
    seen: set[str] = set()
    while pending:
        path = pending.pop()
        if not path or path in seen:
            continue
        seen.add(path)
        result.append(path)
        parts = path.split("/")
        for count in range(1, len(parts) + 1):
            prefix = "/".join(parts[:count])
            absolute = os.path.join(root, prefix)
            if not os.path.islink(absolute):
                continue
            target = os.readlink(absolute)
            if os.path.isabs(target):
                resolved = clean_pattern(target)
            else:
                resolved = clean_pattern(posixpath.join(posixpath.dirname(prefix), target))
            if resolved.startswith("../") or resolved == "..":
                break
            rest = parts[count:]
            pending.append("/".join([resolved, *rest]) if rest else resolved)
            break
    return sorted(set(result))


def walk(
    root: str,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    follow_paths: Sequence[str] = (),
    reset_owner: bool = True,
) -> list[Entry]:
    """Walk `root` in fsutil order and return the entries to send.

    Only entries matched by `include` (when not empty) and not matched by
    `exclude` are returned; parent directories of an included entry come
    with it. `reset_owner` sends uid and gid 0, as BuildKit's own client
    does, so the files' owners on the client do not change cache keys.
    Sockets are skipped. Raises `FileNotFoundError` when `root` is missing.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"local directory {root} does not exist or is not a directory")

    includes = list(include)
    if follow_paths:
        includes.extend(follow_links(root, follow_paths))
    include_matcher = PatternMatcher(includes)
    exclude_matcher = PatternMatcher(exclude)
    hard_links: dict[tuple[int, int], str] = {}

    def visit(relative_dir: str, absolute_dir: str, parent_included: bool) -> Iterator[Entry]:
        try:
            names = sorted(os.listdir(absolute_dir), key=os.fsencode)
        except OSError as error:
            raise OSError(error.errno, f"cannot list {absolute_dir}: {error.strerror}") from None

        for name in names:
            path = f"{relative_dir}/{name}" if relative_dir else name
            absolute = os.path.join(absolute_dir, name)
            info = os.lstat(absolute)
            if statmod.S_ISSOCK(info.st_mode):
                continue

            included = parent_included or not include_matcher or include_matcher.matches(path)
            excluded = bool(exclude_matcher) and exclude_matcher.matches(path)

            if not statmod.S_ISDIR(info.st_mode):
                if included and not excluded:
                    yield Entry(path, absolute, _stat(path, absolute, info, hard_links, reset_owner))
                continue

            # A directory is entered when it is included or when a pattern
            # could still match inside it. It is sent only with content,
            # unless it is itself included and not excluded.
            may_include_below = included or include_matcher.may_match_below(path)
            may_survive_exclude = not excluded or exclude_matcher.has_negations
            if not (may_include_below and may_survive_exclude):
                continue

            children = list(visit(path, absolute, included and not excluded))
            if (included and not excluded) or children:
                yield Entry(path, absolute, _stat(path, absolute, info, hard_links, reset_owner))
                yield from children

    return list(visit("", root, False))


def _stat(path: str, absolute: str, info: os.stat_result, hard_links: dict, reset_owner: bool) -> stat_pb2.Stat:
    stat = stat_pb2.Stat(
        path=path,
        mode=go_mode(info.st_mode),
        uid=0 if reset_owner else info.st_uid,
        gid=0 if reset_owner else info.st_gid,
        modTime=info.st_mtime_ns,
    )
    if statmod.S_ISREG(info.st_mode):
        stat.size = info.st_size
        if info.st_nlink > 1:
            key = (info.st_dev, info.st_ino)
            earlier = hard_links.get(key)
            if earlier is None:
                hard_links[key] = path
            else:
                # fsutil sends a later hard link as a zero-size file naming
                # the first path; the receiver links instead of requesting data.
                stat.linkname = earlier
                stat.size = 0
    elif statmod.S_ISLNK(info.st_mode):
        stat.linkname = os.readlink(absolute)
    elif statmod.S_ISBLK(info.st_mode) or statmod.S_ISCHR(info.st_mode):
        stat.devmajor = os.major(info.st_rdev)
        stat.devminor = os.minor(info.st_rdev)
    return stat
