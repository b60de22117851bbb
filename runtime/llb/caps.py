"""BuildKit API capabilities that the builder declares in OpMetadata.caps.

A daemon rejects a definition whose metadata names a capability it does not
know, so declaring exactly the features a vertex uses turns "this daemon is
too old" into a clear error before anything runs. The identifiers are
BuildKit's (solver/pb/caps.go); the strings are part of the protocol.

The caps in `NEWER_CAPS` (and the proto fields behind them) are missing from
an older BuildKit tree vendored by Docker, so the compiler should not use
them with Docker 20.10 unless the daemon reports them. docs/protobuf.md
lists the fields concerned.
"""

from __future__ import annotations

SOURCE_IMAGE = "source.image"
SOURCE_IMAGE_RESOLVE_MODE = "source.image.resolvemode"
SOURCE_LOCAL = "source.local"
SOURCE_LOCAL_INCLUDE_PATTERNS = "source.local.includepatterns"
SOURCE_LOCAL_EXCLUDE_PATTERNS = "source.local.excludepatterns"
SOURCE_LOCAL_SHARED_KEY_HINT = "source.local.sharedkeyhint"
SOURCE_GIT = "source.git"
SOURCE_GIT_KEEP_DIR = "source.git.keepgitdir"
SOURCE_GIT_FULL_URL = "source.git.fullurl"
SOURCE_HTTP = "source.http"
SOURCE_HTTP_CHECKSUM = "source.http.checksum"
SOURCE_HTTP_PERM = "source.http.perm"

EXEC_META_BASE = "exec.meta.base"
EXEC_META_NETWORK = "exec.meta.network"
EXEC_META_PROXY = "exec.meta.proxyenv"
EXEC_META_SECURITY = "exec.meta.security"
EXEC_MOUNT_BIND = "exec.mount.bind"
EXEC_MOUNT_BIND_READWRITE_NO_OUTPUT = "exec.mount.bind.readwrite-nooutput"
EXEC_MOUNT_CACHE = "exec.mount.cache"
EXEC_MOUNT_CACHE_SHARING = "exec.mount.cache.sharing"
EXEC_MOUNT_SELECTOR = "exec.mount.selector"
EXEC_MOUNT_TMPFS = "exec.mount.tmpfs"
EXEC_MOUNT_TMPFS_SIZE = "exec.mount.tmpfs.size"
EXEC_MOUNT_SECRET = "exec.mount.secret"
EXEC_MOUNT_SSH = "exec.mount.ssh"
EXEC_SECRET_ENV = "exec.secretenv"
EXEC_VALID_EXIT_CODE = "exec.validexitcode"

FILE_BASE = "file.base"
FILE_RM_WILDCARD = "file.rm.wildcard"
FILE_COPY_INCLUDE_EXCLUDE_PATTERNS = "file.copy.includeexcludepatterns"
FILE_COPY_ALWAYS_REPLACE_EXISTING_DEST_PATHS = "file.copy.alwaysreplaceexistingdestpaths"
FILE_SYMLINK_CREATE = "file.symlink.create"

PLATFORM = "platform"
META_IGNORE_CACHE = "meta.ignorecache"
META_DESCRIPTION = "meta.description"

MERGE_OP = "mergeop"
DIFF_OP = "diffop"

# NOTE: compiled from the fields that BuildKit's v0.8-era ops.proto lacks;
# the exact release that added each cap was not checked one by one.
NEWER_CAPS = frozenset({
    EXEC_MOUNT_TMPFS_SIZE,
    EXEC_SECRET_ENV,
    EXEC_VALID_EXIT_CODE,
    FILE_COPY_INCLUDE_EXCLUDE_PATTERNS,
    FILE_COPY_ALWAYS_REPLACE_EXISTING_DEST_PATHS,
    FILE_SYMLINK_CREATE,
    MERGE_OP,
    DIFF_OP,
})
