"""Path handling shared by exec mounts and file actions.

LLB paths are POSIX paths inside a container file system. The builder
resolves relative paths against the working directory of a state, as
BuildKit's Go client does, and reports a path whose `..` components climb
above `/` instead of silently clamping it there.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CleanPath:
    """A normalized absolute path, and whether the input climbed above `/`."""

    path: str
    escapes: bool


def clean(path: str, cwd: str = "/", keep_trailing_slash: bool = False) -> CleanPath:
    """Join `path` onto `cwd` when relative and normalize `.` and `..`.

    With `keep_trailing_slash`, a trailing `/` of `path` survives, because a
    copy destination ending in `/` means "into this directory".
    """
    joined = path if path.startswith("/") else cwd.rstrip("/") + "/" + path

    parts: list[str] = []
    escapes = False
    for part in joined.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            else:
                escapes = True
            continue
        parts.append(part)

    result = "/" + "/".join(parts)
    if keep_trailing_slash and path.endswith("/") and result != "/":
        result += "/"
    return CleanPath(result, escapes)


def is_absolute(path: str) -> bool:
    return path.startswith("/")
