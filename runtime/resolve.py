"""Image config resolution: the interface the engine fills in.

LLB has no notion of an image's config, so the client reads `Env`,
`WorkingDir` and `User` of each `fetch-container` image and makes them the
defaults of later execs, as BuildKit's Go client does. Reading a config may
need the daemon or a registry, which the runtime must not reach itself: the
engine passes an `ImageResolver`, and the runtime only caches its answers.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from cachetools import TTLCache

from archon.runtime.llb import ImageConfig

log = logging.getLogger(__name__)

# How long a resolved config is reused, in seconds: a tag can move, but
# within one editing session re-reading it on every keystroke is waste.
CONFIG_TTL_SECONDS = 300


@dataclass(frozen=True)
class ResolvedImage:
    """An image's config and layer count (the starting depth of its state)."""

    config: ImageConfig
    layers: int = 1


class ImageResolver(Protocol):
    def resolve(self, ref: str) -> ResolvedImage | None:
        """Return the config of image `ref`, or None when it cannot be read."""


class CachingResolver:
    """Wrap a resolver so that each ref is resolved once per TTL."""

    def __init__(self, resolver: ImageResolver, ttl: float = CONFIG_TTL_SECONDS, maxsize: int = 256):
        self._resolver = resolver
        self._cache: TTLCache[str, ResolvedImage | None] = TTLCache(maxsize=maxsize, ttl=ttl)
        self._lock = threading.Lock()

    def resolve(self, ref: str) -> ResolvedImage | None:
        with self._lock:
            if ref in self._cache:
                return self._cache[ref]
        try:
            resolved = self._resolver.resolve(ref)
        except Exception as problem:  # noqa: BLE001 - an unreadable config falls back to defaults
            log.warning("could not resolve the config of image %s: %s", ref, problem)
            resolved = None
        with self._lock:
            self._cache[ref] = resolved
        return resolved


# The PATH every Linux image gets when its config cannot be read, matching
# BuildKit's default for execs without one.
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def unresolved_image() -> ResolvedImage:
    return ResolvedImage(ImageConfig(env=(DEFAULT_PATH,)), layers=1)
