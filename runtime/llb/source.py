"""SourceOp: vertices without inputs (images, local directories, git, HTTP).

Identifiers and attribute keys are BuildKit's (solver/pb/attr.go). The
identifier is part of the digest, so image references are normalized
(`alpine` becomes `docker.io/library/alpine:latest`) to let equal sources
deduplicate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from . import caps
from .errors import Problem
from .op import Node, OpMeta, Output, Platform
from .pb import ops_pb2

ATTR_KEEP_GIT_DIR = "git.keepgitdir"
ATTR_FULL_REMOTE_URL = "git.fullurl"
ATTR_INCLUDE_PATTERNS = "local.includepattern"
ATTR_EXCLUDE_PATTERNS = "local.excludepatterns"
ATTR_SHARED_KEY_HINT = "local.sharedkeyhint"
ATTR_HTTP_CHECKSUM = "http.checksum"
ATTR_HTTP_FILENAME = "http.filename"
ATTR_HTTP_PERM = "http.perm"
ATTR_IMAGE_RESOLVE_MODE = "image.resolvemode"

IMAGE_RESOLVE_MODES = ("default", "pull", "local")

# Grammar of github.com/distribution/reference, reduced to what matters here.
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN = re.compile(r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9-]+)*(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}")
_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")

DEFAULT_DOMAIN = "docker.io"


@dataclass(frozen=True, eq=False, repr=False)
class SourceNode(Node):
    kind = "source"

    identifier: str
    attrs: Mapping[str, str]
    needed_caps: frozenset[str]
    meta: OpMeta
    problems: tuple[Problem, ...] = ()
    platform: Platform | None = None

    def edges(self) -> tuple[Output, ...]:
        return ()

    def encode(self, resolve: Callable[[Output], ops_pb2.Input]) -> ops_pb2.Op:
        source = ops_pb2.SourceOp(identifier=self.identifier, attrs=dict(self.attrs))
        return self.finish(ops_pb2.Op(source=source))

    def op_caps(self) -> frozenset[str]:
        return self.needed_caps

    def summary(self) -> str:
        return self.identifier


@dataclass
class _Collector:
    """Attributes, caps and problems gathered while building one source."""

    meta: OpMeta
    attrs: dict[str, str] = field(default_factory=dict)
    caps: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, message: str, value: object, hint: str | None = None) -> None:
        self.problems.append(self.meta.problem(message, value, hint))

    def node(self, identifier: str, platform: Platform | None = None) -> SourceNode:
        return SourceNode(
            identifier=identifier,
            attrs=dict(self.attrs),
            needed_caps=frozenset(self.caps),
            meta=self.meta,
            problems=tuple(self.problems),
            platform=platform,
        )


def normalize_image_ref(ref: str) -> str | None:
    """Return the fully qualified form of an image reference, or None if invalid.

    Adds the default domain `docker.io`, the `library/` namespace of official
    images and the `latest` tag when the reference has neither tag nor digest.
    """
    name, _, image_digest = ref.partition("@")
    if image_digest and not _DIGEST.fullmatch(image_digest):
        return None

    tag = ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG.fullmatch(tag):
            return None

    first, separator, rest = name.partition("/")
    if separator and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
        if not _DOMAIN.fullmatch(domain):
            return None
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = "library/" + path

    if not all(_PATH_COMPONENT.fullmatch(part) for part in path.split("/")):
        return None

    if not tag and not image_digest:
        tag = "latest"
    normalized = f"{domain}/{path}"
    if tag:
        normalized += ":" + tag
    if image_digest:
        normalized += "@" + image_digest
    return normalized


def image(ref: str, resolve_mode: str | None, platform: Platform | None, meta: OpMeta) -> SourceNode:
    collected = _Collector(meta)
    collected.caps.add(caps.SOURCE_IMAGE)

    normalized = normalize_image_ref(ref) if ref else None
    if normalized is None:
        collected.problem(
            f"invalid image reference {ref!r}",
            ref,
            "write a reference such as alpine:3.19, docker.io/library/alpine or registry.local:5000/app@sha256:<hex>",
        )
        normalized = ref

    if resolve_mode is not None:
        if resolve_mode not in IMAGE_RESOLVE_MODES:
            collected.problem(
                f"invalid image resolve mode {resolve_mode!r}",
                resolve_mode,
                f"use one of {', '.join(IMAGE_RESOLVE_MODES)}",
            )
        collected.attrs[ATTR_IMAGE_RESOLVE_MODE] = resolve_mode
        collected.caps.add(caps.SOURCE_IMAGE_RESOLVE_MODE)

    return collected.node("docker-image://" + normalized, platform)


def local(
    name: str,
    include: Sequence[str],
    exclude: Sequence[str],
    shared_key: str | None,
    meta: OpMeta,
) -> SourceNode:
    collected = _Collector(meta)
    collected.caps.add(caps.SOURCE_LOCAL)

    if not name:
        collected.problem("local source name is empty", name, "name the directory the session shares, for example \"context\"")

    # BuildKit reads both pattern lists as JSON arrays of strings.
    if include:
        collected.attrs[ATTR_INCLUDE_PATTERNS] = json.dumps(list(include), separators=(",", ":"))
        collected.caps.add(caps.SOURCE_LOCAL_INCLUDE_PATTERNS)
    if exclude:
        collected.attrs[ATTR_EXCLUDE_PATTERNS] = json.dumps(list(exclude), separators=(",", ":"))
        collected.caps.add(caps.SOURCE_LOCAL_EXCLUDE_PATTERNS)
    if shared_key:
        collected.attrs[ATTR_SHARED_KEY_HINT] = shared_key
        collected.caps.add(caps.SOURCE_LOCAL_SHARED_KEY_HINT)

    return collected.node("local://" + name)


_GIT_PREFIXES = ("https://", "http://", "ssh://", "git://", "git@")


def git(remote: str, ref: str, keep_git_dir: bool, meta: OpMeta) -> SourceNode:
    """Build a git source the way BuildKit's daemon parses it.

    The identifier is `git://<remote without scheme>#<ref>`; the remote as
    given travels in `git.fullurl`, which the daemon prefers for cloning.
    """
    collected = _Collector(meta)
    collected.caps.add(caps.SOURCE_GIT)

    if not remote:
        collected.problem("git remote is empty", remote, "give a URL such as https://github.com/org/repo.git")
    if "#" in remote:
        collected.problem(
            f"git remote {remote!r} contains '#'",
            remote,
            "pass the branch, tag or commit as the ref instead of a URL fragment",
        )

    bare = remote
    for prefix in _GIT_PREFIXES:
        if remote.startswith(prefix):
            bare = remote[len(prefix):]
            collected.attrs[ATTR_FULL_REMOTE_URL] = remote
            collected.caps.add(caps.SOURCE_GIT_FULL_URL)
            break

    if keep_git_dir:
        collected.attrs[ATTR_KEEP_GIT_DIR] = "true"
        collected.caps.add(caps.SOURCE_GIT_KEEP_DIR)

    identifier = "git://" + bare
    if ref:
        identifier += "#" + ref
    return collected.node(identifier)


def http(
    url: str,
    checksum: str | None,
    filename: str | None,
    chmod: int | None,
    meta: OpMeta,
) -> SourceNode:
    collected = _Collector(meta)
    collected.caps.add(caps.SOURCE_HTTP)

    if not url.startswith(("http://", "https://")):
        collected.problem(f"HTTP source URL {url!r} does not start with http:// or https://", url)

    if checksum is not None:
        if not _SHA256.fullmatch(checksum):
            collected.problem(
                f"invalid HTTP checksum {checksum!r}",
                checksum,
                "write sha256: followed by 64 lowercase hex digits",
            )
        collected.attrs[ATTR_HTTP_CHECKSUM] = checksum
        collected.caps.add(caps.SOURCE_HTTP_CHECKSUM)

    if filename is not None:
        if not filename or "/" in filename or filename in (".", ".."):
            collected.problem(f"invalid HTTP file name {filename!r}", filename, "give a plain file name without '/'")
        collected.attrs[ATTR_HTTP_FILENAME] = filename

    if chmod is not None:
        if not 0 <= chmod <= 0o7777:
            collected.problem(f"file mode {chmod!r} is outside 0 to 0o7777", chmod)
        # BuildKit parses the permission bits as an octal string with a leading 0.
        collected.attrs[ATTR_HTTP_PERM] = "0" + format(chmod, "o")
        collected.caps.add(caps.SOURCE_HTTP_PERM)

    return collected.node(url)
