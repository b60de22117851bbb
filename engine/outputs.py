"""Delivery of a run's outputs: staged directories swapped in whole, export values parsed.

A directory output is received into a staging folder next to its
destination (same file system, so a rename can move it) and replaces the
destination only after the whole run succeeded. On Linux the swap is one
`renameat2(RENAME_EXCHANGE)`, so readers see either the old or the new
tree. Where the file system does not support it, two renames leave a short
window in which the destination is missing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import logging
import os
import shutil
import tempfile
from typing import Any

log = logging.getLogger(__name__)

STAGING_MARKER = ".archon-staging-"

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class OutputError(Exception):
    """An output that cannot be delivered; the message names the output and the fix."""


def check_destination(name: str, destination: str) -> None:
    """Fail before the solve when a directory output cannot be written to `destination`."""
    if not os.path.isabs(destination):
        raise OutputError(f"directory output {name!r}: destination {destination!r} is not an absolute path")
    if os.path.lexists(destination) and not os.path.isdir(destination):
        raise OutputError(
            f"directory output {name!r}: destination {destination} exists and is not a directory; remove it or choose another path"
        )
    if os.path.islink(destination):
        raise OutputError(f"directory output {name!r}: destination {destination} is a symlink; point the output at its target")


def stage_directory(destination: str) -> str:
    """Create and return an empty staging folder next to `destination`."""
    parent = os.path.dirname(destination.rstrip("/")) or "/"
    os.makedirs(parent, exist_ok=True)
    prefix = f".{os.path.basename(destination.rstrip('/'))}{STAGING_MARKER}"
    return tempfile.mkdtemp(prefix=prefix, dir=parent)


def discard(path: str | None) -> None:
    if path and os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)


def replace_directory(staging: str, destination: str) -> None:
    """Move the complete tree in `staging` to `destination`, replacing what was there."""
    if not os.path.lexists(destination):
        os.rename(staging, destination)
        return

    if _exchange(staging, destination):
        # `staging` now contains the previous contents.
        discard(staging)
        return

    backup = staging + ".previous"
    os.rename(destination, backup)
    try:
        os.rename(staging, destination)
    except OSError:
        os.rename(backup, destination)
        raise
    discard(backup)


def _exchange(first: str, second: str) -> bool:
    """Swap two paths atomically; False when the system or file system cannot."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, f"cannot swap {first} and {second}: {os.strerror(code)}")


def parse_export(name: str, data: bytes, format: str) -> Any:
    """Parse the bytes of an export file by `format`: string (stripped text), json or yaml."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise OutputError(f"export {name!r}: the file is not UTF-8 text ({error})") from None

    if format == "string":
        return text.strip()

    if format == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise OutputError(
                f"export {name!r}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
            ) from None

    if format == "yaml":
        try:
            import yaml
        except ImportError:
            raise OutputError(
                f"export {name!r} has format yaml, which needs PyYAML: install it with `pip install pyyaml`, "
                "or export the value as json"
            ) from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise OutputError(f"export {name!r}: invalid YAML: {error}") from None

    raise OutputError(f"export {name!r}: unknown format {format!r}; use string, json or yaml")
